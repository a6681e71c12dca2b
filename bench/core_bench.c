/*
 * core_bench.c
 *		Core-only benchmark: builds an in-memory graph from .fvecs files and
 *		measures recall@10 and single-threaded QPS over an ef sweep, with no
 *		PostgreSQL and no buffer manager in the way.
 *
 * usage: core_bench base.fvecs query.fvecs gt.ivecs gt_dist.fvecs|-
 *                   m max_m0 ef_construction threads [merge] [sq8]
 *
 * sq8 builds over 8-bit codes, as an index build short of memory does, then
 * searches those links with the float vectors, as the index stores them.
 *
 * gt_dist holds the true Euclidean distances; with it a result counts as a
 * hit when it is no farther than the 10th true neighbour (ties), without it
 * only the ids are compared.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <float.h>
#include <time.h>

#include "build.h"
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

int
main(int argc, char **argv)
{
	static const int efs[] = {10, 16, 32, 64, 128, 256, 512};
	Vecs		base,
				query,
				gt,
				gtdist = {0};
	N2GraphParams p = {0};
	N2BuildOptions o = {0};
	N2Graph		g;
	N2Quantizer q;
	uint8_t    *codes = NULL;
	bool		sq8 = false;
	N2Search	s;
	N2Candidate *out;
	uint8_t    *levels;
	double		t0,
				cpu0,
				build_time,
				build_cpu;
	size_t		mem;

	if (argc < 9 || argc > 11)
	{
		fprintf(stderr, "usage: %s base.fvecs query.fvecs gt.ivecs gt_dist.fvecs|- "
				"m max_m0 ef_construction threads [merge] [sq8]\n", argv[0]);
		return 2;
	}
	n2_distance_init();
	read_vecs(argv[1], &base);
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
		else if (strcmp(argv[i], "sq8") == 0)
			sq8 = true;
		else
			die("unknown option", argv[i]);
	}
	if (p.m < 2 || p.max_m0 < 1 || p.ef_construction < 1 || o.n_threads < 1)
		die("bad parameters", NULL);

	levels = malloc(base.n);
	for (int i = 0; i < base.n; i++)
		levels[i] = (uint8_t) n2_random_level(p.seed,
											  n2_hash_bytes((float *) base.data + (size_t) i * base.dim,
															sizeof(float) * base.dim, 0),
											  p.mult);

	/* CPU time too: on a shared machine it shows what wall time hides. */
	t0 = now();
	cpu0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	if (sq8)
	{
		float	   *mins = malloc(sizeof(float) * base.dim);
		float	   *maxs = malloc(sizeof(float) * base.dim);
		const float *v = base.data;

		/* The quantizer's two passes are part of the build's cost. */
		for (int d = 0; d < base.dim; d++)
		{
			mins[d] = FLT_MAX;
			maxs[d] = -FLT_MAX;
		}
		for (size_t i = 0; i < (size_t) base.n * base.dim; i++)
		{
			int			d = (int) (i % base.dim);

			mins[d] = v[i] < mins[d] ? v[i] : mins[d];
			maxs[d] = v[i] > maxs[d] ? v[i] : maxs[d];
		}
		codes = malloc((size_t) base.n * base.dim);
		if (mins == NULL || maxs == NULL || codes == NULL ||
			n2_quantizer_fit(&q, mins, maxs, base.dim) != 0)
			die("out of memory", NULL);
		for (int i = 0; i < base.n; i++)
			n2_quantize(&q, v + (size_t) i * base.dim, codes + (size_t) i * base.dim);
		free(mins);
		free(maxs);
		if (n2_graph_init_sq8(&g, &p, codes, &q, base.n, levels) != 0)
			die("out of memory", NULL);
	}
	else if (n2_graph_init(&g, &p, base.data, base.n, levels) != 0)
		die("out of memory", NULL);
	mem = n2_graph_memory(&p, base.n, levels, sq8 ? N2_VECTORS_SQ8 : N2_VECTORS_FLOAT) +
		n2_builder_memory(&g, &o);
	if (n2_build_graph(&g, &o) != N2_BUILD_DONE)
		die("build failed", NULL);
	build_time = now() - t0;
	build_cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;

	/* Search the links with exact distances, as the index does. */
	g.vectors = base.data;
	g.codes = NULL;
	g.quant = NULL;

	printf("# core_bench: %d x %d, m %d, max_m0 %d, ef_construction %d, "
		   "%d thread(s)%s%s, simd %s\n\n",
		   base.n, base.dim, p.m, p.max_m0, p.ef_construction, o.n_threads,
		   o.merge_level0 ? ", merge_level0" : "", sq8 ? ", sq8" : "",
		   n2_simd_name(n2_simd_active()));
	printf("build: %.2f s wall, %.2f s CPU, max level %d, vectors + graph + builder memory %.1f MB\n\n",
		   build_time, build_cpu, g.max_level, mem / 1048576.0);

	printf("| ef | recall@10 | QPS | distances/query |\n");
	printf("|---:|---:|---:|---:|\n");
	out = malloc(sizeof(N2Candidate) * K);
	if (!n2_search_init(&s, base.n, 512, p.max_m0 > p.m ? p.max_m0 : p.m, false))
		die("out of memory", NULL);
	for (size_t e = 0; e < sizeof(efs) / sizeof(efs[0]); e++)
	{
		int			ef = efs[e];
		double		hits = 0;
		double		elapsed;
		int			reps = 0;
		uint64_t	ndist;

		/* Repeat the query set until timing is meaningful. */
		s.ndistances = 0;
		t0 = now();
		do
		{
			for (int qi = 0; qi < query.n; qi++)
			{
				const float *q = (const float *) query.data + (size_t) qi * query.dim;
				int			n = n2_graph_search(&g, &s, q, K, ef, out);

				if (reps > 0)
					continue;
				for (int i = 0; i < n; i++)
				{
					if (gtdist.data != NULL)
					{
						float		limit = ((float *) gtdist.data)[(size_t) qi * gtdist.dim + K - 1];
						float		d = sqrtf(n2_metric_distance(N2_METRIC_L2, q,
																 n2_graph_vector(&g, (uint32_t) out[i].ref),
																 base.dim));

						hits += d <= limit + 1e-4f;
					}
					else
					{
						for (int j = 0; j < K; j++)
							hits += out[i].ref == (N2Ref) ((int32_t *) gt.data)[(size_t) qi * gt.dim + j];
					}
				}
			}
			reps++;
			elapsed = now() - t0;
		} while (elapsed < 0.5);
		ndist = s.ndistances;
		printf("| %d | %.4f | %.0f | %.0f |\n", ef, hits / ((double) query.n * K),
			   (double) query.n * reps / elapsed, (double) ndist / ((double) query.n * reps));
	}
	n2_search_free(&s);
	n2_graph_free(&g);
	if (sq8)
	{
		n2_quantizer_free(&q);
		free(codes);
	}
	free(out);
	free(levels);
	return 0;
}
