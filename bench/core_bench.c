/*
 * Copyright (c) 2025-2026, the n2 developers
 * core_bench.c
 *		Core-only benchmark: builds an in-memory graph from .fvecs files and
 *		measures recall@10 and single-threaded QPS over an ef sweep, with no
 *		PostgreSQL and no buffer manager in the way.
 *
 * usage: core_bench base.fvecs query.fvecs gt.ivecs gt_dist.fvecs|-
 *                   m max_m0 ef_construction threads [merge]
 *                   [graph=FILE] [ef=10,16,...] [nq=N] [nosearch]
 *                   [select=heuristic|keep_pruned|keep_half|naive] [fullreselect]
 *                   [mult=X] [seed=N] [order=auto|id|grouped]
 *
 * graph=FILE searches, instead of a graph of its own, the graph an index
 * holds (written by n2bench graph, see graphfile.h): the same graph the SQL
 * search walks.  ef= sets the ef sweep, nq= how many queries (the first N,
 * default all); nosearch only builds.  select= is the neighbour selection
 * of the build (default heuristic), mult= the level multiplier (default
 * 1 / ln(m)), seed= the seed of the level draws (default 42); fullreselect
 * makes keep pruned re-select whole lists instead of using its level-0 cache
 * (the same graph, for the build time); order= the insertion order
 * (core/build.c, default auto).
 *
 * gt_dist holds the true Euclidean distances; with it a result counts as a
 * hit when it is no farther than the 10th true neighbour (ties), without it
 * only the ids are compared.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build.h"
#include "graphfile.h"
#include "hugepage.h"
#include "score.h"
#include "vecs.h"

#define K 10


static void
die(const char *msg, const char *arg)
{
	fprintf(stderr, "core_bench: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	exit(1);
}

static void
read_vecs(const char *path, Vecs *v)
{
	const char *err = vecs_read(path, v);

	if (err)
		die(err, path);
}

/*
 * The base vectors in memory advised for huge pages, as CREATE INDEX holds
 * them (core/hugepage.c).
 */
static void
advise_vectors(Vecs *v)
{
	size_t		bytes = (size_t) v->n * v->dim * sizeof(float);
	float	   *data = malloc(bytes);

	if (data == NULL)
		die("out of memory", NULL);
	n2_advise_huge(data, bytes);
	memcpy(data, v->data, bytes);
	free(v->data);
	v->data = data;
}

static double
clock_seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
now(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}

#define MAXPASS 1000

/* A hit: tie-aware with true distances, else one of the k true ids. */
static int
is_hit(const Vecs *base, const Vecs *gt, const Vecs *gtdist, const float *q,
	   int qi, int id)
{
	if (gtdist->data != NULL)
		return score_hit(base, gtdist, K, q, qi, id);
	for (int j = 0; j < K; j++)
		if (((const int32_t *) gt->data)[(size_t) qi * gt->dim + j] == id)
			return 1;
	return 0;
}

/* Builds g over base and prints the build's time and memory. */
static void
build(const Vecs *base, const N2GraphParams *p, const N2BuildOptions *o,
	  N2Graph *g)
{
	uint8_t    *levels;
	uint64_t	upper_lists = 0;
	double		t0,
				cpu0,
				build_time,
				build_cpu;
	size_t		mem;

	levels = malloc(base->n);
	for (int i = 0; i < base->n; i++)
	{
		levels[i] = (uint8_t) n2_random_level(p->seed,
											  n2_hash_bytes((float *) base->data + (size_t) i * base->dim,
															sizeof(float) * base->dim, 0),
											  p->mult);
		upper_lists += levels[i];
	}

	/* CPU time too: on a shared machine it shows what wall time hides. */
	t0 = now();
	cpu0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	if (n2_graph_init(g, p, base->data, base->n, levels) != 0)
		die("out of memory", NULL);
	mem = (size_t) base->n * base->dim * sizeof(float) +
		n2_graph_memory(p, base->n, upper_lists) +
		n2_builder_memory(p, base->n, upper_lists, o);
	if (n2_build_graph(g, o) != N2_BUILD_DONE)
		die("build failed", NULL);
	build_time = now() - t0;
	build_cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	free(levels);

	printf("# core_bench: %d x %d, m %d, max_m0 %d, ef_construction %d, "
		   "%d thread(s)%s, simd %s\n\n",
		   base->n, base->dim, p->m, p->max_m0, p->ef_construction, o->n_threads,
		   o->merge_level0 ? ", merge_level0" : "",
		   n2_simd_name(n2_simd_active()));
	printf("build: %.2f s wall, %.2f s CPU, max level %d, vectors + graph + builder memory %.1f MB\n\n",
		   build_time, build_cpu, g->max_level, mem / 1048576.0);
}

static const char *select_names[] = {"heuristic", "naive", "keep_pruned", "keep_half"};
static const char *order_names[] = {"auto", "id", "grouped"};

/* Which of n names follows the prefix of arg ("name=") ends; dies if none. */
static int
name_index(const char *arg, int prefix, const char **names, int n)
{
	for (int k = 0; k < n; k++)
	{
		if (strcmp(arg + prefix, names[k]) == 0)
			return k;
	}
	die("unknown value", arg);
	return -1;
}

/* Mean level-0 out-degree and how many nodes no level-0 list points to. */
static void
print_degree(const N2Graph *g)
{
	uint64_t	links = 0;
	uint32_t	unreached = 0;
	uint8_t    *seen = calloc(g->n ? g->n : 1, 1);

	for (uint32_t i = 0; i < g->n; i++)
	{
		const uint32_t *l = n2_graph_links(g, i, 0);

		links += l[0];
		for (uint32_t j = 0; j < l[0]; j++)
			seen[l[1 + j]] = 1;
	}
	for (uint32_t i = 0; i < g->n; i++)
		unreached += !seen[i];
	printf("level-0 degree %.2f, nodes without an in-link on level 0: %u\n\n",
		   g->n ? (double) links / g->n : 0.0, unreached);
	free(seen);
}

static int32_t
get_i32(FILE *f, const char *path)
{
	int32_t		v;

	if (fread(&v, sizeof(v), 1, f) != 1)
		die("truncated graph file", path);
	return v;
}

/* Loads a graph file over base's vectors into g (p gets its m and max_m0). */
static void
load_graph(const char *path, const Vecs *base, N2GraphParams *p, N2Graph *g)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *levels;
	int32_t		nodes,
				entry,
				entry_level,
				id;

	if (f == NULL)
		die("cannot open", path);
	if (get_i32(f, path) != GRAPHFILE_MAGIC || get_i32(f, path) != GRAPHFILE_VERSION)
		die("not a graph file of this version", path);
	nodes = get_i32(f, path);
	p->m = get_i32(f, path);
	p->max_m0 = get_i32(f, path);
	entry = get_i32(f, path);
	entry_level = get_i32(f, path);
	if (nodes != base->n || p->m < 2 || p->max_m0 < 1 || entry < 0 ||
		entry >= nodes || entry_level < 0 || entry_level > N2_MAX_LEVEL)
		die("graph file does not fit the base vectors", path);
	levels = malloc(nodes);
	if (levels == NULL || fread(levels, 1, nodes, f) != (size_t) nodes)
		die("truncated graph file", path);
	if (n2_graph_init(g, p, base->data, nodes, levels) != 0)
		die("out of memory", NULL);
	while (fread(&id, sizeof(id), 1, f) == 1)
	{
		int32_t		level = get_i32(f, path);
		int32_t		n = get_i32(f, path);
		uint32_t   *list;

		if (id < 0 || id >= nodes || level < 0 || level > levels[id] ||
			n < 0 || n > (level == 0 ? p->max_m0 : p->m))
			die("bad neighbour list in graph file", path);
		list = n2_graph_links(g, (uint32_t) id, level);
		list[0] = (uint32_t) n;
		for (int i = 0; i < n; i++)
		{
			int32_t		nb = get_i32(f, path);

			if (nb < 0 || nb >= nodes)
				die("bad neighbour in graph file", path);
			list[1 + i] = (uint32_t) nb;
		}
	}
	fclose(f);
	g->entry = (uint32_t) entry;
	g->max_level = entry_level;
	free(levels);
}

int
main(int argc, char **argv)
{
	int			efs[32] = {10, 16, 32, 64, 128, 256, 512};
	int			nefs = 7;
	const char *graph_path = NULL;
	bool		search = true;
	Vecs		base,
				query,
				gt,
				gtdist = {0};
	N2GraphParams p = {0};
	N2BuildOptions o = {0};
	N2Graph		g;
	N2Search	s;
	N2Candidate *out;
	int			nq = 0;

	if (argc < 9)
	{
		fprintf(stderr, "usage: %s base.fvecs query.fvecs gt.ivecs gt_dist.fvecs|- "
				"m max_m0 ef_construction threads [merge] [graph=FILE] "
				"[metric=dot] [ef=10,16,...] [nq=N] [nosearch]\n", argv[0]);
		return 2;
	}
	n2_distance_init();
	read_vecs(argv[1], &base);
	advise_vectors(&base);
	read_vecs(argv[2], &query);
	read_vecs(argv[3], &gt);
	if (strcmp(argv[4], "-") != 0)
		read_vecs(argv[4], &gtdist);
	if (query.dim != base.dim || gt.n < query.n || gt.dim < K ||
		(gtdist.data != NULL && (gtdist.n < query.n || gtdist.dim < K)))
		die("inconsistent input shapes", NULL);

	p.metric = N2_METRIC_L2;
	p.dim = base.dim;
	p.m = atoi(argv[5]);
	p.max_m0 = atoi(argv[6]);
	p.ef_construction = atoi(argv[7]);
	p.mult = 1.0 / log((double) p.m);
	p.select = N2_SELECT_HEURISTIC;
	p.seed = 42;
	o.n_threads = atoi(argv[8]);
	for (int i = 9; i < argc; i++)
	{
		if (strcmp(argv[i], "merge") == 0)
			o.merge_level0 = true;
		else if (strncmp(argv[i], "graph=", 6) == 0)
			graph_path = argv[i] + 6;
		else if (strncmp(argv[i], "select=", 7) == 0)
			p.select = (N2SelectMethod) name_index(argv[i], 7, select_names, 4);
		else if (strcmp(argv[i], "metric=dot") == 0)
			p.metric = N2_METRIC_DOT;
		else if (strncmp(argv[i], "mult=", 5) == 0)
			p.mult = atof(argv[i] + 5);
		else if (strncmp(argv[i], "seed=", 5) == 0)
			p.seed = strtoull(argv[i] + 5, NULL, 10);
		else if (strcmp(argv[i], "fullreselect") == 0)
			o.full_reselect = true;
		else if (strncmp(argv[i], "order=", 6) == 0)
			o.order = (N2BuildOrder) name_index(argv[i], 6, order_names, 3);
		else if (strcmp(argv[i], "nosearch") == 0)
			search = false;
		else if (strncmp(argv[i], "nq=", 3) == 0)
			nq = atoi(argv[i] + 3);
		else if (strncmp(argv[i], "ef=", 3) == 0)
		{
			char	   *s = argv[i] + 3;

			for (nefs = 0; *s && nefs < 32; nefs++)
			{
				efs[nefs] = (int) strtol(s, &s, 10);
				if (efs[nefs] < 1 || (*s != ',' && *s != '\0'))
					die("bad ef list", argv[i]);
				s += *s == ',';
			}
		}
		else
			die("unknown option", argv[i]);
	}
	if (p.m < 2 || p.max_m0 < 1 || p.ef_construction < 1 || o.n_threads < 1)
		die("bad parameters", NULL);

	if (graph_path != NULL)
	{
		load_graph(graph_path, &base, &p, &g);
		printf("# core_bench: %d x %d, the graph of an index (%s): m %d, max_m0 %d, "
			   "max level %d, simd %s\n\n",
			   base.n, base.dim, graph_path, p.m, p.max_m0, g.max_level,
			   n2_simd_name(n2_simd_active()));
	}
	else
	{
		printf("# selection %s, mult %.4f, seed %llu\n", select_names[p.select],
			   p.mult, (unsigned long long) p.seed);
		build(&base, &p, &o, &g);
	}
	print_degree(&g);
	if (!search)
		return 0;
	if (nq <= 0 || nq > query.n)
		nq = query.n;

	printf("| ef | recall@10 | QPS | distances/query |\n");
	printf("|---:|---:|---:|---:|\n");
	out = malloc(sizeof(N2Candidate) * K);
	if (!n2_search_init(&s, base.n, 512, p.max_m0 > p.m ? p.max_m0 : p.m, false))
		die("out of memory", NULL);
	for (int e = 0; e < nefs; e++)
	{
		int			ef = efs[e];
		double		hits = 0;
		double		rates[MAXPASS];
		double		t0 = now();
		int			reps = 0;

		/* Passes over the queries until a second has gone; median pass rate. */
		s.ndistances = 0;
		do
		{
			double		p0 = now();

			for (int qi = 0; qi < nq; qi++)
			{
				const float *q = query.data + (size_t) qi * query.dim;
				int			n = n2_graph_search(&g, &s, q, K, ef, out);

				if (reps > 0)
					continue;
				for (int i = 0; i < n; i++)
					hits += is_hit(&base, &gt, &gtdist, q, qi, (int) out[i].ref);
			}
			rates[reps++] = nq / (now() - p0);
		} while (now() - t0 < 1.0 && reps < MAXPASS);
		printf("| %d | %.4f | %.0f | %.0f |\n", ef, hits / ((double) nq * K),
			   score_median(rates, reps), (double) s.ndistances / ((double) nq * reps));
	}
	n2_search_free(&s);
	n2_graph_free(&g);
	free(out);
	return 0;
}
