/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_build.c
 *		The threaded builder on bigann10k: recall, determinism, merge_level0,
 *		naive selection, other metrics, the grouped insertion order, builds
 *		on exact 8-bit codes, cancellation and graph invariants.
 */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "quantize.h"

#define K 10
#define DATASET "bigann10k-128-euclidean"

static Vecs base,
			query,
			gt,
			gtdist;

static N2GraphParams
params(N2Metric metric, int dim, N2SelectMethod sel)
{
	N2GraphParams p = {0};

	p.metric = metric;
	p.dim = dim;
	p.m = 12;
	p.max_m0 = 24;
	p.ef_construction = 100;
	p.mult = 1.0 / log(12.0);
	p.select = sel;
	p.seed = 42;
	return p;
}

static bool
build(N2Graph *g, const N2GraphParams *p, const float *vecs, int n,
	  int threads, bool merge)
{
	uint8_t    *levels = draw_levels(vecs, n, p->dim, p);
	N2BuildOptions o = {threads, merge, false, N2_ORDER_AUTO};
	N2BuildPhase r;
	double		t0 = now();

	if (n2_graph_init(g, p, vecs, n, levels) != 0)
	{
		free(levels);
		return false;
	}
	free(levels);
	r = n2_build_graph(g, &o);
	printf("  built %d nodes, %d thread(s)%s, %s: %.2f s, max level %d\n",
		   n, threads, merge ? ", merge_level0" : "",
		   p->select == N2_SELECT_NAIVE ? "naive" :
		   p->select == N2_SELECT_KEEP_PRUNED ? "keep pruned" :
		   p->select == N2_SELECT_KEEP_HALF ? "keep half" : "heuristic",
		   now() - t0, g->max_level);
	return r == N2_BUILD_DONE;
}

/* Tie-aware recall@10 against the disjoint ground truth (Euclidean). */
static double
recall(const N2Graph *g, int ef)
{
	return recall_l2(g, g->vectors, &query, &gtdist, K, ef);
}

/* Structural invariants every finished graph must satisfy. */
static void
check_invariants(const N2Graph *g, const char *what)
{
	int			bad_self = 0,
				bad_dup = 0,
				bad_deg = 0,
				bad_target = 0,
				bad_level = 0;
	long		total0 = 0;

	for (uint32_t i = 0; i < g->n; i++)
	{
		for (int l = 0; l <= g->levels[i]; l++)
		{
			const uint32_t *lk = n2_graph_links(g, i, l);
			int			cap = l == 0 ? g->params.max_m0 : g->params.m;

			if ((int) lk[0] > cap)
			{
				bad_deg++;
				continue;
			}
			if (l == 0)
				total0 += lk[0];
			for (uint32_t a = 0; a < lk[0]; a++)
			{
				uint32_t	t = lk[1 + a];

				bad_self += t == i;
				if (t >= g->n)
				{
					bad_target++;
					continue;
				}
				bad_level += g->levels[t] < l;
				for (uint32_t b = a + 1; b < lk[0]; b++)
					bad_dup += lk[1 + b] == t;
			}
		}
	}
	CHECK(bad_self == 0, "%s: %d self links", what, bad_self);
	CHECK(bad_dup == 0, "%s: %d duplicate links", what, bad_dup);
	CHECK(bad_deg == 0, "%s: %d lists over their cap", what, bad_deg);
	CHECK(bad_target == 0, "%s: %d links out of range", what, bad_target);
	CHECK(bad_level == 0, "%s: %d links to a lower-level node", what, bad_level);
	CHECK(g->max_level == g->levels[g->entry], "%s: entry on the top level", what);
	for (uint32_t i = 0; i < g->n; i++)
		bad_level += g->levels[i] > g->max_level;
	CHECK(bad_level == 0, "%s: %d nodes above the entry point", what, bad_level);
	printf("  %s: mean level-0 degree %.1f\n", what, (double) total0 / g->n);
}

static bool
same_graph(const N2Graph *a, const N2Graph *b)
{
	uint64_t	words;

	if (a->n != b->n || a->entry != b->entry || a->max_level != b->max_level)
		return false;
	words = a->n == 0 ? 0 :
		a->upper_start[a->n - 1] + (uint64_t) a->levels[a->n - 1] * (1 + a->params.m);
	return memcmp(a->links0, b->links0,
				  sizeof(uint32_t) * a->n * (1 + a->params.max_m0)) == 0 &&
		memcmp(a->upper, b->upper, sizeof(uint32_t) * words) == 0;
}

static void
test_levels(void)
{
	int			counts[N2_MAX_LEVEL + 1] = {0};
	double		mult = 1.0 / log(12.0);
	int			n = 200000;

	for (int i = 0; i < n; i++)
		counts[n2_random_level(7, i, mult)]++;
	/* P(level >= 1) = exp(-1 / mult) = 1/12. */
	CHECK(fabs((double) (n - counts[0]) / n - 1.0 / 12) < 0.005,
		  "level >= 1 fraction %.4f", (double) (n - counts[0]) / n);
	CHECK(n2_random_level(7, 123, mult) == n2_random_level(7, 123, mult), "reproducible");
	CHECK(n2_random_level(7, 5, 0.0) == 0, "mult 0 gives level 0");
	CHECK(n2_random_level(7, 5, 1e9) == N2_MAX_LEVEL, "capped");
	CHECK(n2_hash_bytes("abcdefghij", 10, 1) == n2_hash_bytes("abcdefghij", 10, 1) &&
		  n2_hash_bytes("abcdefghij", 10, 1) != n2_hash_bytes("abcdefghij", 10, 2) &&
		  n2_hash_bytes("abcdefghij", 10, 1) != n2_hash_bytes("abcdefghik", 10, 1) &&
		  n2_hash_bytes("abcdefghij", 9, 1) != n2_hash_bytes("abcdefghij", 10, 1),
		  "hash depends on seed, bytes and length");
}

/* Brute-force top-K agreement on a subset, for metrics without a gt file. */
static void
test_metric(N2Metric metric, const char *name, double min_recall)
{
	int			n = 3000;
	int			dim = base.dim;
	float	   *vecs = malloc(sizeof(float) * n * dim);
	float	   *qs = malloc(sizeof(float) * query.n * dim);
	N2GraphParams p = params(metric, dim, N2_SELECT_HEURISTIC);
	N2Graph		g;
	N2Search	s;
	N2Candidate out[K];
	N2Candidate *all = malloc(sizeof(N2Candidate) * n);
	double		hits = 0;

	memcpy(vecs, base.data, sizeof(float) * n * dim);
	memcpy(qs, query.data, sizeof(float) * query.n * dim);
	if (metric == N2_METRIC_ANGULAR)
	{
		for (int i = 0; i < n; i++)
			n2_normalize(vecs + (size_t) i * dim, dim);
		for (int i = 0; i < query.n; i++)
			n2_normalize(qs + (size_t) i * dim, dim);
	}
	else
	{
		/* Spread the norms so inner product differs from cosine. */
		for (int i = 0; i < n * dim; i++)
			vecs[i] *= 1.0f + (float) (i / dim % 7) * 0.1f;
	}
	CHECK(build(&g, &p, vecs, n, 2, false), "%s build", name);
	check_invariants(&g, name);
	n2_search_init(&s, n, 64, p.max_m0, false);
	for (int qi = 0; qi < query.n; qi++)
	{
		const float *q = qs + (size_t) qi * dim;
		int			k = n2_graph_search(&g, &s, q, K, 64, out);

		for (int j = 0; j < n; j++)
		{
			all[j].ref = j;
			all[j].dist = n2_metric_distance(metric, vecs + (size_t) j * dim, q, dim);
		}
		n2_candidates_sort(all, n);
		for (int i = 0; i < k; i++)
			hits += out[i].dist <= all[K - 1].dist;
	}
	CHECK(hits / (query.n * K) >= min_recall, "%s recall@10 %.3f", name,
		  hits / (query.n * K));
	printf("  %s recall@10 at ef 64: %.3f\n", name, hits / (query.n * K));
	n2_search_free(&s);
	n2_graph_free(&g);
	free(vecs);
	free(qs);
	free(all);
}

static void
test_cancel(void)
{
	N2GraphParams p = params(N2_METRIC_L2, base.dim, N2_SELECT_HEURISTIC);
	uint8_t    *levels = draw_levels(base.data, base.n, base.dim, &p);
	N2BuildOptions o = {2, true, false, N2_ORDER_AUTO};
	N2Graph		g;
	N2Builder  *b;
	N2BuildPhase phase;
	uint64_t	done,
				total;
	double		t0;

	CHECK(n2_graph_init(&g, &p, base.data, base.n, levels) == 0, "init");
	b = n2_builder_create(&g, &o);
	CHECK(b != NULL, "create");
	CHECK(n2_builder_memory(&p, base.n, 0, &o) > (size_t) base.n * 4 * 2,
		  "memory estimate");
	CHECK(!n2_builder_poll(b, &phase, &done, &total) && phase == N2_BUILD_IDLE,
		  "idle before start");
	t0 = now();
	CHECK(n2_builder_start(b) == 0, "start");
	n2_builder_cancel(b);
	phase = n2_builder_join(b);
	CHECK(phase == N2_BUILD_CANCELLED, "cancelled: %d", phase);
	CHECK(now() - t0 < 1.0, "stopped quickly: %.3f s", now() - t0);
	CHECK(n2_builder_poll(b, &phase, &done, &total) && phase == N2_BUILD_CANCELLED &&
		  total == (uint64_t) base.n && done < total, "poll after cancel");
	n2_builder_free(b);

	/* Freeing a running build cancels and joins it. */
	n2_graph_free(&g);
	CHECK(n2_graph_init(&g, &p, base.data, base.n, levels) == 0, "init");
	b = n2_builder_create(&g, &o);
	CHECK(n2_builder_start(b) == 0, "start");
	n2_builder_free(b);
	n2_graph_free(&g);
	free(levels);
}

/* A 1-thread build of the base vectors whose searches compare codes. */
static bool
build_on_codes(N2Graph *g, const N2GraphParams *p, const uint8_t *codes)
{
	uint8_t    *levels = draw_levels(base.data, base.n, p->dim, p);
	N2BuildOptions o = {1, false, false, N2_ORDER_AUTO};
	bool		ok = n2_graph_init(g, p, base.data, base.n, levels) == 0;

	free(levels);
	if (!ok)
		return false;
	g->codes = codes;
	return n2_build_graph(g, &o) == N2_BUILD_DONE;
}

/*
 * SIFT's values are integers from 0 to 255, so they are their own exact
 * 8-bit codes: a build comparing them makes the float build's graph (every
 * float sum is exact too).  Codes that are not the vectors make another
 * graph, which shows the build does compare them.
 */
static void
test_codes(const N2Graph *floats, const N2GraphParams *p)
{
	size_t		nv = (size_t) base.n * base.dim;
	uint8_t    *codes = malloc(nv);
	bool		integral = true;
	N2Graph		g;

	n2_code_init();
	for (size_t i = 0; i < nv; i++)
	{
		integral &= base.data[i] == (float) (uint8_t) base.data[i];
		codes[i] = (uint8_t) base.data[i];
	}
	CHECK(integral, "bigann10k's values are integers 0..255");
	CHECK(build_on_codes(&g, p, codes), "build on exact codes");
	CHECK(same_graph(&g, floats), "exact codes build the float build's graph");
	n2_graph_free(&g);

	for (size_t i = 0; i < nv; i++)
		codes[i] = (uint8_t) (codes[i] / 64);
	CHECK(build_on_codes(&g, p, codes), "build on coarse codes");
	CHECK(!same_graph(&g, floats), "coarse codes build another graph");
	n2_graph_free(&g);
	free(codes);
}

/* A build of the first n base vectors in the given order; levels as given. */
static bool
build_ordered(N2Graph *g, const N2GraphParams *p, int n, const uint8_t *levels,
			  int threads, bool merge, N2BuildOrder order)
{
	N2BuildOptions o = {threads, merge, false, order};

	if (n2_graph_init(g, p, base.data, n, levels) != 0)
		return false;
	return n2_build_graph(g, &o) == N2_BUILD_DONE;
}

/*
 * Nodes with no level-0 link of their own: none in a graph of two or more
 * nodes built by inserting every node (each links to what its search found).
 */
static uint32_t
unlinked_nodes(const N2Graph *g)
{
	uint32_t	n = 0;

	for (uint32_t i = 0; i < g->n; i++)
		n += n2_graph_links(g, i, 0)[0] == 0;
	return n;
}

/*
 * A grouped build's order: every node once, those above level 0 first and in
 * id order, then the level-0 nodes in groups of neighbours, which makes
 * consecutive ones closer than in id order.
 */
static void
check_order(const N2Builder *b, const N2Graph *g)
{
	const uint32_t *order;
	uint32_t	nupper;
	uint8_t    *seen = calloc(g->n, 1);
	bool		ok;
	bool		perm = true,
				upper_first = true;
	double		grouped_gap = 0,
				id_gap = 0;
	uint32_t	prev = UINT32_MAX;
	long		pairs = 0;

	ok = n2_builder_order(b, &order, &nupper);
	CHECK(ok, "a grouped build has an order");
	if (!ok)
	{
		free(seen);
		return;
	}
	for (uint32_t i = 0; i < g->n; i++)
	{
		perm &= order[i] < g->n && !seen[order[i]];
		if (order[i] < g->n)
			seen[order[i]] = 1;
		upper_first &= (i < nupper) == (g->levels[order[i]] > 0) &&
			(i == 0 || i >= nupper || order[i] > order[i - 1]);
	}
	CHECK(perm, "the order holds every node once");
	CHECK(nupper > 0 && upper_first, "%u nodes above level 0 first, in id order",
		  nupper);
	for (uint32_t i = nupper + 1; i < g->n; i++)
		grouped_gap += sqrt(n2_metric_distance(N2_METRIC_L2, n2_graph_vector(g, order[i - 1]),
											   n2_graph_vector(g, order[i]), g->params.dim));
	for (uint32_t i = 0; i < g->n; i++)
	{
		if (g->levels[i] > 0)
			continue;
		if (prev != UINT32_MAX)
		{
			id_gap += sqrt(n2_metric_distance(N2_METRIC_L2, n2_graph_vector(g, prev),
											  n2_graph_vector(g, i), g->params.dim));
			pairs++;
		}
		prev = i;
	}
	printf("  mean distance of consecutive level-0 nodes: grouped %.1f, id order %.1f\n",
		   grouped_gap / pairs, id_gap / pairs);
	CHECK(grouped_gap < 0.92 * id_gap, "grouped neighbours closer: %.1f, id %.1f",
		  grouped_gap / pairs, id_gap / pairs);
	free(seen);
}

/*
 * The grouped order (nodes above level 0 first, then level-0 nodes grouped
 * by where their descent reaches the route level): a different graph from
 * id order's, as sound and as good, deterministic on one thread; with merge,
 * two threads, a cancel, no node above level 0, one or two nodes.  AUTO
 * groups only vectors over 32 MB.
 */
static void
test_grouped(const N2Graph *by_id)
{
	N2GraphParams p = params(N2_METRIC_L2, base.dim, N2_SELECT_HEURISTIC);
	uint8_t    *levels = draw_levels(base.data, base.n, base.dim, &p);
	uint8_t    *flat = calloc(base.n, 1);
	N2BuildOptions id = {1, false, false, N2_ORDER_ID};
	N2BuildOptions grouped = {2, false, false, N2_ORDER_GROUPED};
	N2BuildOptions grouped1 = {1, false, false, N2_ORDER_GROUPED};
	N2BuildOptions autom = {1, false, false, N2_ORDER_AUTO};
	N2Graph		g,
				g2;
	N2Builder  *b;
	N2BuildPhase phase;
	uint64_t	done,
				total,
				last = 0;
	N2BuildPhase last_phase = N2_BUILD_INSERTING;
	bool		monotonic = true;
	double		r_id = recall(by_id, 16),
				r;

	CHECK(build_ordered(&g, &p, base.n, levels, 1, false, N2_ORDER_GROUPED),
		  "grouped build");
	check_invariants(&g, "grouped");
	CHECK(unlinked_nodes(&g) == 0, "grouped: every node inserted, %u without links",
		  unlinked_nodes(&g));
	CHECK(!same_graph(&g, by_id), "grouped differs from id order");
	r = recall(&g, 16);
	printf("  recall@10 ef 16: id order %.3f, grouped %.3f; ef 64: %.3f\n",
		   r_id, r, recall(&g, 64));
	CHECK(r >= r_id - 0.03, "grouped recall %.3f, id order %.3f", r, r_id);
	CHECK(recall(&g, 64) >= 0.95, "grouped recall at ef 64");
	CHECK(build_ordered(&g2, &p, base.n, levels, 1, false, N2_ORDER_GROUPED),
		  "second grouped build");
	CHECK(same_graph(&g, &g2), "1-thread grouped builds are identical");
	n2_graph_free(&g2);
	CHECK(build_ordered(&g2, &p, base.n, levels, 1, false, N2_ORDER_AUTO) &&
		  same_graph(&g2, by_id), "AUTO on 5 MB of vectors is id order");
	n2_graph_free(&g2);
	n2_graph_free(&g);

	CHECK(build_ordered(&g, &p, base.n, levels, 2, true, N2_ORDER_GROUPED),
		  "grouped merge_level0 build, 2 threads");
	check_invariants(&g, "grouped, merge_level0, 2 threads");
	CHECK(unlinked_nodes(&g) == 0, "grouped merge_level0: %u nodes without links",
		  unlinked_nodes(&g));
	CHECK(recall(&g, 64) >= 0.95, "grouped merge_level0 recall at ef 64");
	n2_graph_free(&g);

	/* no node above level 0: one group, the first node the entry point */
	CHECK(build_ordered(&g, &p, 2000, flat, 2, false, N2_ORDER_GROUPED),
		  "grouped build, every node on level 0");
	check_invariants(&g, "grouped, level 0 only");
	n2_graph_free(&g);
	for (int n = 1; n <= 2; n++)
	{
		CHECK(build_ordered(&g, &p, n, levels, 2, false, N2_ORDER_GROUPED),
			  "grouped build of %d node(s)", n);
		check_invariants(&g, n == 1 ? "grouped, 1 node" : "grouped, 2 nodes");
		CHECK(n == 1 || n2_graph_links(&g, 0, 0)[0] == 1, "2 nodes linked");
		n2_graph_free(&g);
	}

	CHECK(n2_builder_memory(&p, base.n, 0, &grouped1) >=
		  n2_builder_memory(&p, base.n, 0, &id) + (size_t) base.n * 12,
		  "the order's memory is counted");
	CHECK(n2_builder_memory(&p, base.n, 0, &autom) ==
		  n2_builder_memory(&p, base.n, 0, &id), "AUTO: 5 MB, not grouped");
	p.dim = 1000;
	CHECK(n2_builder_memory(&p, base.n, 0, &autom) ==
		  n2_builder_memory(&p, base.n, 0, &grouped1),
		  "AUTO groups 40 MB of vectors");
	p.dim = base.dim;

	/* progress only advances; a cancel stops a grouped build */
	CHECK(n2_graph_init(&g, &p, base.data, base.n, levels) == 0, "init");
	b = n2_builder_create(&g, &grouped);
	CHECK(b != NULL && n2_builder_start(b) == 0, "start grouped");
	while (!n2_builder_poll(b, &phase, &done, &total))
	{
		/* inserting, then relinking, which counts from 0 again */
		if (phase == N2_BUILD_RELINKING && last_phase == N2_BUILD_INSERTING)
			last = 0;
		monotonic &= (phase == N2_BUILD_INSERTING || phase == N2_BUILD_RELINKING) &&
			phase >= last_phase && done >= last && done <= total;
		last = done;
		last_phase = phase;
	}
	CHECK(monotonic, "grouped progress only advances");
	CHECK(n2_builder_join(b) == N2_BUILD_DONE && done == total,
		  "grouped build done: %llu of %llu", (unsigned long long) done,
		  (unsigned long long) total);
	check_order(b, &g);
	n2_builder_free(b);
	n2_graph_free(&g);
	for (int wait_us = 0; wait_us <= 20000; wait_us += 5000)
	{
		struct timespec ts = {0, wait_us * 1000L};

		CHECK(n2_graph_init(&g, &p, base.data, base.n, levels) == 0, "init");
		b = n2_builder_create(&g, &grouped);
		CHECK(n2_builder_start(b) == 0, "start");
		nanosleep(&ts, NULL);
		n2_builder_cancel(b);
		phase = n2_builder_join(b);
		CHECK(phase == N2_BUILD_CANCELLED || phase == N2_BUILD_DONE,
			  "cancelled after %d us: %d", wait_us, phase);
		n2_builder_free(b);
		n2_graph_free(&g);
	}
	free(flat);
	free(levels);
}

/* Blocked-signal mask of one thread of this process, from /proc. */
static unsigned long long
thread_sigblk(const char *tid)
{
	char		path[320];
	char		line[256];
	unsigned long long mask = 0;
	FILE	   *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		if (sscanf(line, "SigBlk: %llx", &mask) == 1)
			break;
	}
	fclose(f);
	return mask;
}

/*
 * Workers must block every signal, so that a backend's handlers only run on
 * its own thread, and the caller's mask must come back unchanged.
 */
static void
test_signal_mask(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2,
	SIGALRM, SIGCHLD, SIGHUP, SIGPIPE};
	unsigned long long want = 0;
	N2GraphParams p = params(N2_METRIC_L2, base.dim, N2_SELECT_HEURISTIC);
	uint8_t    *levels = draw_levels(base.data, base.n, base.dim, &p);
	N2BuildOptions o = {2, false, false, N2_ORDER_AUTO};
	N2Graph		g;
	N2Builder  *b;
	sigset_t	mine;
	DIR		   *d;
	struct dirent *e;
	int			workers = 0,
				unblocked = 0;
	char		self[32];

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		want |= 1ULL << (sigs[i] - 1);
	snprintf(self, sizeof(self), "%d", (int) getpid());

	CHECK(n2_graph_init(&g, &p, base.data, base.n, levels) == 0, "init");
	b = n2_builder_create(&g, &o);
	CHECK(n2_builder_start(b) == 0, "start");

	/*
	 * glibc starts a thread with everything blocked until it has set it up,
	 * so look only once the workers are well under way.
	 */
	for (;;)
	{
		struct timespec ms = {0, 1000000};
		uint64_t	done;

		if (n2_builder_poll(b, NULL, &done, NULL) || done > 1000)
			break;
		nanosleep(&ms, NULL);
	}
	d = opendir("/proc/self/task");
	CHECK(d != NULL, "/proc/self/task");
	while (d != NULL && (e = readdir(d)) != NULL)
	{
		if (e->d_name[0] == '.' || strcmp(e->d_name, self) == 0)
			continue;
		workers++;
		unblocked += (thread_sigblk(e->d_name) & want) != want;
	}
	if (d != NULL)
		closedir(d);
	CHECK(workers >= 2, "worker threads seen: %d", workers);
	CHECK(unblocked == 0, "%d workers with signals unblocked", unblocked);
	pthread_sigmask(SIG_SETMASK, NULL, &mine);
	CHECK(!sigismember(&mine, SIGINT) && !sigismember(&mine, SIGTERM),
		  "caller's mask restored");
	CHECK(n2_builder_join(b) == N2_BUILD_DONE, "done");
	n2_builder_free(b);
	n2_graph_free(&g);
	free(levels);
}

static void
test_progress(void)
{
	N2GraphParams p = params(N2_METRIC_L2, base.dim, N2_SELECT_HEURISTIC);
	int			n = 2000;
	uint8_t    *levels = draw_levels(base.data, n, base.dim, &p);
	N2BuildOptions o = {2, true, false, N2_ORDER_AUTO};
	N2Graph		g;
	N2Builder  *b;
	N2BuildPhase phase,
				last = N2_BUILD_IDLE;
	uint64_t	done,
				total;
	bool		ordered = true;

	CHECK(n2_graph_init(&g, &p, base.data, n, levels) == 0, "init");
	b = n2_builder_create(&g, &o);
	CHECK(n2_builder_start(b) == 0, "start");
	while (!n2_builder_poll(b, &phase, &done, &total))
	{
		struct timespec ms = {0, 1000000};

		ordered = ordered && phase >= last && done <= total;
		last = phase;
		nanosleep(&ms, NULL);
	}
	CHECK(ordered, "phases only advance");
	CHECK(n2_builder_join(b) == N2_BUILD_DONE, "done");
	n2_builder_free(b);
	check_invariants(&g, "2000 nodes merged");
	n2_graph_free(&g);
	free(levels);
}

/* A deterministic 53-bit draw in (0, 1) from a 64-bit LCG. */
static double
uniform(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((*state >> 11) + 0.5) / 9007199254740992.0;
}

/* A standard normal draw (Box-Muller). */
static double
gauss(uint64_t *state)
{
	double		u = uniform(state);

	return sqrt(-2 * log(u)) * cos(2 * M_PI * uniform(state));
}

/*
 * 300 well separated clusters of about 10 nodes in 1,024 dimensions, in
 * random order: the first node of a cluster finds only far nodes, and the
 * later ones need not find it.  A search at ef 64 for each node's own vector
 * misses 37 nodes when the build does not insert its weakly linked nodes
 * again, and 5 when it does.  Each cluster is a centre plus a few
 * directions, as t/090's data.
 */
static void
test_weak_links(void)
{
	const int	n = 3000,
				dim = 1024,
				nclusters = 300,
				ndirs = 4,
				ef = 64;
	float	   *centres = malloc(sizeof(float) * nclusters * (1 + ndirs) * dim);
	float	   *vecs = malloc(sizeof(float) * n * dim);
	uint64_t	state = 2026;
	N2GraphParams p = params(N2_METRIC_L2, dim, N2_SELECT_HEURISTIC);
	N2Graph		g;
	N2Search	s;
	N2Candidate out[K];
	int			missed = 0;

	for (int i = 0; i < nclusters * (1 + ndirs) * dim; i++)
		centres[i] = (float) gauss(&state) * (i % ((1 + ndirs) * dim) < dim ? 1.0f : 0.2f);
	for (int i = 0; i < n; i++)
	{
		const float *c = centres + (size_t) (uniform(&state) * nclusters) * (1 + ndirs) * dim;
		float	   *v = vecs + (size_t) i * dim;
		double		wts[4];

		for (int k = 0; k < ndirs; k++)
			wts[k] = gauss(&state);
		for (int d = 0; d < dim; d++)
		{
			double		x = c[d] + 0.05 * gauss(&state);

			for (int k = 0; k < ndirs; k++)
				x += wts[k] * c[(1 + k) * dim + d];
			v[d] = (float) x;
		}
	}
	p.m = 16;
	p.max_m0 = 32;
	p.ef_construction = 64;
	p.mult = 1.0 / log(16.0);
	CHECK(build(&g, &p, vecs, n, 1, false), "clustered build");
	CHECK(n2_search_init(&s, g.n, ef, p.max_m0, false), "search init");
	for (int i = 0; i < n; i++)
	{
		int			nf = n2_graph_search(&g, &s, vecs + (size_t) i * dim, K, ef, out);
		bool		found = false;

		for (int j = 0; j < nf; j++)
			found |= out[j].ref == (N2Ref) i;
		missed += !found;
	}
	printf("  clustered: %d of %d nodes missed by their own vector at ef %d\n",
		   missed, n, ef);
	CHECK(missed <= 10, "clustered: %d nodes missed", missed);
	n2_search_free(&s);
	n2_graph_free(&g);
	free(vecs);
	free(centres);
}

/* Mean level-0 degree of g. */
static double
mean_degree(const N2Graph *g)
{
	long		links = 0;

	for (uint32_t i = 0; i < g->n; i++)
		links += n2_graph_links(g, i, 0)[0];
	return (double) links / g->n;
}

/*
 * Copies: nodes with one vector, as rows that differ only in their filter
 * values make.  A copy of a base must not prune the base's other
 * candidates (each is exactly as far from it as from the base).  With four
 * copies of each of 1,000 SIFT vectors, when a copy pruned them the mean
 * level-0 degree was 4.2 against 14.5 for the vectors alone, and 164 of the
 * 4,000 nodes were not found by their own vector at ef 16; now 10.6 and 24
 * (the search's ef_construction candidates hold a quarter as many distinct
 * vectors).  And keep pruned's cached re-selection still builds the graph
 * whole re-selection builds.
 */
static void
test_copies(void)
{
	const int	nvec = 1000,
				ncopies = 4,
				n = nvec * ncopies;
	int			dim = base.dim;
	float	   *vecs = malloc(sizeof(float) * n * dim);
	N2GraphParams p = params(N2_METRIC_L2, dim, N2_SELECT_HEURISTIC);
	N2GraphParams pk = params(N2_METRIC_L2, dim, N2_SELECT_KEEP_PRUNED);
	N2BuildOptions full = {1, false, true, N2_ORDER_AUTO};
	N2Graph		gu,
				gc,
				gk,
				gkf;
	N2Search	s;
	N2Candidate out[K];
	uint8_t    *levels;
	int			missed = 0;
	double		du,
				dc;

	for (int i = 0; i < n; i++)
		memcpy(vecs + (size_t) i * dim, base.data + (size_t) (i / ncopies) * dim,
			   sizeof(float) * dim);
	CHECK(build(&gu, &p, base.data, nvec, 1, false), "build of the vectors alone");
	CHECK(build(&gc, &p, vecs, n, 1, false), "build with %d copies of each", ncopies);
	check_invariants(&gc, "copies");
	du = mean_degree(&gu);
	dc = mean_degree(&gc);
	printf("  level-0 degree: %.2f alone, %.2f with %d copies of each vector\n",
		   du, dc, ncopies);
	CHECK(dc >= 0.6 * du,
		  "copies keep their other links: degree %.2f, alone %.2f", dc, du);
	CHECK(n2_search_init(&s, gc.n, 16, p.max_m0, false), "search init");
	for (int i = 0; i < n; i++)
	{
		int			nf = n2_graph_search(&gc, &s, vecs + (size_t) i * dim, K, 16, out);
		bool		found = false;

		for (int j = 0; j < nf; j++)
			found |= out[j].ref == (N2Ref) i;
		missed += !found;
	}
	printf("  copies: %d of %d nodes missed by their own vector at ef 16\n",
		   missed, n);
	CHECK(missed <= n / 80, "copies: %d of %d nodes missed by their own vector at ef 16",
		  missed, n);
	n2_search_free(&s);

	levels = draw_levels(vecs, n, dim, &pk);
	CHECK(build(&gk, &pk, vecs, n, 1, false), "keep pruned build with copies");
	CHECK(n2_graph_init(&gkf, &pk, vecs, n, levels) == 0, "init");
	CHECK(n2_build_graph(&gkf, &full) == N2_BUILD_DONE, "full re-selection build");
	CHECK(same_graph(&gk, &gkf),
		  "with copies, cached and full re-selection give the same graph");
	free(levels);
	n2_graph_free(&gkf);
	n2_graph_free(&gk);
	n2_graph_free(&gc);
	n2_graph_free(&gu);
	free(vecs);
}

/*
 * Two nodes above the entry point's level inserted at once (levels 6 and 5
 * over a graph of level 1): each must be linked on every level it has, so
 * the level-5 nodes inserted later are reached from the entry on level 5.
 * Without the raises going one at a time, most 2-thread builds left the
 * level-5 node unlinked there.
 */
static void
test_entry_raises(void)
{
	enum
	{
		N = 300, TRIALS = 20
	};
	uint8_t		levels[N];
	int			bad = 0;

	for (int i = 0; i < N; i++)
		levels[i] = i > 151 && i % 7 == 0 ? 5 : (i % 3 == 0);
	levels[150] = 6;
	levels[151] = 5;
	for (int t = 0; t < TRIALS; t++)
	{
		N2GraphParams p = params(N2_METRIC_L2, base.dim, N2_SELECT_HEURISTIC);
		N2BuildOptions o = {2, false, false, N2_ORDER_ID};
		N2Graph		g;
		int			islands = 0;

		p.m = 8;
		p.max_m0 = 16;
		p.ef_construction = 40;
		CHECK(n2_graph_init(&g, &p, base.data, N, levels) == 0, "init");
		CHECK(n2_build_graph(&g, &o) == N2_BUILD_DONE, "build");
		for (int v = 0; v < N; v++)
		{
			int			in = 0;

			if (levels[v] < 5 || (uint32_t) v == g.entry)
				continue;
			for (int u = 0; u < N; u++)
			{
				const uint32_t *l;

				if (levels[u] < 5)
					continue;
				l = n2_graph_links(&g, u, 5);
				for (uint32_t k = 0; k < l[0]; k++)
					in += l[1 + k] == (uint32_t) v;
			}
			islands += in == 0;
		}
		bad += islands > 0;
		n2_graph_free(&g);
	}
	CHECK(bad == 0, "%d of %d 2-thread builds left a level-5 node unlinked there",
		  bad, TRIALS);
}

/* The process's address space in bytes (VmSize), or 0. */
static long
vm_size(void)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];
	long		kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb * 1024;
}

/*
 * A build asked for 16 threads where the system lets only a few start (an
 * address space limit leaves room for about three thread stacks): those do
 * the whole build.  In a child process, which the limit would hamper.
 */
static void
test_partial_start(void)
{
	pid_t		pid = fork();
	int			status = 0;

	if (pid == 0)
	{
		N2GraphParams p = params(N2_METRIC_L2, base.dim, N2_SELECT_HEURISTIC);
		N2BuildOptions o = {16, false, false, N2_ORDER_ID};
		uint8_t    *levels = draw_levels(base.data, 2000, p.dim, &p);
		N2Graph		g;
		N2Builder  *b;
		struct rlimit rl;
		long		stack;
		int			err;
		int			threads;

		if (n2_graph_init(&g, &p, base.data, 2000, levels) != 0 ||
			(b = n2_builder_create(&g, &o)) == NULL)
			_exit(2);
		/* glibc gives a thread RLIMIT_STACK of stack (8 MB when unlimited) */
		if (getrlimit(RLIMIT_STACK, &rl) != 0)
			_exit(3);
		stack = rl.rlim_cur == RLIM_INFINITY ? 8L << 20 : (long) rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max = vm_size() + 3 * stack + (4L << 20);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
		err = n2_builder_start(b);
		threads = n2_builder_threads(b);
		if (err != 0 || threads < 1 || threads >= 16)
			_exit(4);
		if (n2_builder_join(b) != N2_BUILD_DONE || g.n != 2000)
			_exit(5);
		for (uint32_t i = 0; i < g.n; i++)
		{
			if (n2_graph_links(&g, i, 0)[0] == 0)
				_exit(6);
		}
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "16 threads asked, a few started: the build is done by those (child exit %d)",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int
main(void)
{
	N2GraphParams p;
	N2Graph		g1,
				g1b,
				g2,
				gm,
				gn;
	double		r;

	n2_distance_init();
	CHECK(read_vecs(DATASET, "base_disjoint.fvecs", &base), "base_disjoint.fvecs");
	CHECK(read_vecs(DATASET, "query.fvecs", &query), "query.fvecs");
	CHECK(read_vecs(DATASET, "groundtruth_disjoint.ivecs", &gt), "groundtruth_disjoint.ivecs");
	CHECK(read_vecs(DATASET, "groundtruth_disjoint_distances.fvecs", &gtdist),
		  "groundtruth_disjoint_distances.fvecs");
	if (unit_failed > 0)
		UNIT_DONE();
	CHECK(base.n == 9900 && base.dim == 128 && query.n == 100 && gt.n == 100,
		  "dataset shape %d x %d", base.n, base.dim);

	test_weak_links();
	test_copies();
	test_levels();
	test_entry_raises();
	test_partial_start();

	p = params(N2_METRIC_L2, base.dim, N2_SELECT_HEURISTIC);
	CHECK(build(&g1, &p, base.data, base.n, 1, false), "1-thread build");
	check_invariants(&g1, "1 thread");
	r = recall(&g1, 64);
	printf("  1 thread: recall@10 ef 64 %.3f\n", r);
	CHECK(r >= 0.95, "1-thread recall %.3f", r);

	CHECK(build(&g1b, &p, base.data, base.n, 1, false), "second 1-thread build");
	CHECK(same_graph(&g1, &g1b), "1-thread builds are identical");
	n2_graph_free(&g1b);
	test_codes(&g1, &p);

	CHECK(build(&g2, &p, base.data, base.n, 2, false), "2-thread build");
	check_invariants(&g2, "2 threads");
	r = recall(&g2, 64);
	printf("  2 threads: recall@10 ef 64 %.3f\n", r);
	CHECK(r >= 0.95, "2-thread recall %.3f", r);
	n2_graph_free(&g2);

	CHECK(build(&gm, &p, base.data, base.n, 2, true), "merge_level0 build");
	check_invariants(&gm, "merge_level0");
	{
		double		skip = recall(&g1, 16);
		double		merged = recall(&gm, 16);

		printf("  recall@10 ef 16: skip %.3f, merge_level0 %.3f\n", skip, merged);
		CHECK(merged >= skip, "merge_level0 %.3f >= skip %.3f", merged, skip);
		CHECK(recall(&gm, 64) >= 0.95, "merge_level0 recall at ef 64");
	}
	/* Upper levels come from the forward graph. */
	{
		uint64_t	words = g1.upper_start[g1.n - 1] +
		(uint64_t) g1.levels[g1.n - 1] * (1 + p.m);
		N2Graph		gm1;

		CHECK(build(&gm1, &p, base.data, base.n, 1, true), "1-thread merge build");
		CHECK(memcmp(gm1.upper, g1.upper, words * sizeof(uint32_t)) == 0 &&
			  gm1.entry == g1.entry, "upper levels as in the forward build");
		n2_graph_free(&gm1);
	}
	n2_graph_free(&gm);

	/*
	 * Keep pruned: full level-0 lists and a better recall per ef than the
	 * heuristic alone.  The incremental re-selection of cached lists builds
	 * exactly the graph that re-selecting whole lists builds.
	 */
	{
		N2GraphParams pk = params(N2_METRIC_L2, base.dim, N2_SELECT_KEEP_PRUNED);
		N2BuildOptions full = {1, false, true, N2_ORDER_AUTO};
		N2Graph		gk,
					gkf,
					gk2;
		uint8_t    *levels = draw_levels(base.data, base.n, pk.dim, &pk);
		long		links = 0;
		double		heur = recall(&g1, 16),
					kept;

		CHECK(build(&gk, &pk, base.data, base.n, 1, false), "keep pruned build");
		check_invariants(&gk, "keep pruned");
		for (uint32_t i = 0; i < gk.n; i++)
			links += n2_graph_links(&gk, i, 0)[0];
		CHECK(links >= (long) gk.n * pk.max_m0 * 99 / 100,
			  "keep pruned fills level 0: mean degree %.2f", (double) links / gk.n);
		kept = recall(&gk, 16);
		printf("  recall@10 ef 16: heuristic %.3f, keep pruned %.3f\n", heur, kept);
		CHECK(kept > heur, "keep pruned %.3f > heuristic %.3f at ef 16", kept, heur);

		CHECK(n2_graph_init(&gkf, &pk, base.data, base.n, levels) == 0, "init");
		CHECK(n2_build_graph(&gkf, &full) == N2_BUILD_DONE, "full re-selection build");
		CHECK(same_graph(&gk, &gkf), "cached and full re-selection give the same graph");
		n2_graph_free(&gkf);

		/*
		 * The merge rewrites level 0 and the weakly linked nodes are inserted
		 * again after it: the cache must follow the merged lists.  Gaussian
		 * 256-d data at m = 4 has such nodes.
		 */
		{
			N2BuildOptions merged = {1, true, false, N2_ORDER_AUTO};
			N2BuildOptions merged_full = {1, true, true, N2_ORDER_AUTO};
			N2GraphParams pm = params(N2_METRIC_L2, 256, N2_SELECT_KEEP_PRUNED);
			int			nm = 3000;
			float	   *vm = malloc(sizeof(float) * nm * pm.dim);
			uint64_t	state = 1;
			uint8_t    *lm;
			N2Graph		gmc,
						gmf;

			pm.m = 4;
			pm.max_m0 = 8;
			pm.mult = 1.0 / log(8.0);
			for (int i = 0; i < nm * pm.dim; i++)
				vm[i] = (float) gauss(&state);
			lm = draw_levels(vm, nm, pm.dim, &pm);
			CHECK(n2_graph_init(&gmc, &pm, vm, nm, lm) == 0, "init");
			CHECK(n2_graph_init(&gmf, &pm, vm, nm, lm) == 0, "init");
			CHECK(n2_build_graph(&gmc, &merged) == N2_BUILD_DONE, "cached merge_level0 build");
			CHECK(n2_build_graph(&gmf, &merged_full) == N2_BUILD_DONE,
				  "full re-selection merge_level0 build");
			CHECK(same_graph(&gmc, &gmf),
				  "merge_level0: cached and full re-selection give the same graph");
			n2_graph_free(&gmc);
			n2_graph_free(&gmf);
			free(lm);
			free(vm);
		}

		CHECK(build(&gk2, &pk, base.data, base.n, 2, true), "keep pruned merge_level0 build");
		check_invariants(&gk2, "keep pruned, 2 threads, merge_level0");
		CHECK(recall(&gk2, 64) >= 0.95, "keep pruned merge_level0 recall at ef 64");
		n2_graph_free(&gk2);
		n2_graph_free(&gk);
		free(levels);
	}

	/*
	 * Keep half: level-0 lists filled to at least half the cap (the few short
	 * ones are nodes with fewer candidates than that), fuller than the
	 * heuristic's and short of keep pruned's, and a better recall per ef than
	 * the heuristic alone.
	 */
	{
		N2GraphParams ph = params(N2_METRIC_L2, base.dim, N2_SELECT_KEEP_HALF);
		N2Graph		gh,
					gh2;
		long		links = 0,
					heur_links = 0;
		uint32_t	short_lists = 0;
		double		heur = recall(&g1, 16),
					half;

		CHECK(build(&gh, &ph, base.data, base.n, 1, false), "keep half build");
		check_invariants(&gh, "keep half");
		for (uint32_t i = 0; i < gh.n; i++)
		{
			uint32_t	d = n2_graph_links(&gh, i, 0)[0];

			links += d;
			heur_links += n2_graph_links(&g1, i, 0)[0];
			short_lists += d < (uint32_t) ph.max_m0 / 2;
		}
		printf("  keep half: mean level-0 degree %.2f (heuristic %.2f), %u below half the cap\n",
			   (double) links / gh.n, (double) heur_links / gh.n, short_lists);
		CHECK(short_lists <= gh.n / 100, "keep half: %u lists below half the cap", short_lists);
		CHECK(links > heur_links && links < (long) gh.n * ph.max_m0,
			  "keep half between the heuristic and full lists: %ld links", links);
		half = recall(&gh, 16);
		printf("  recall@10 ef 16: heuristic %.3f, keep half %.3f\n", heur, half);
		CHECK(half > heur, "keep half %.3f > heuristic %.3f at ef 16", half, heur);

		CHECK(build(&gh2, &ph, base.data, base.n, 2, true), "keep half merge_level0 build");
		check_invariants(&gh2, "keep half, 2 threads, merge_level0");
		CHECK(recall(&gh2, 64) >= 0.95, "keep half merge_level0 recall at ef 64");
		n2_graph_free(&gh2);
		n2_graph_free(&gh);
	}
	test_grouped(&g1);
	n2_graph_free(&g1);

	p = params(N2_METRIC_L2, base.dim, N2_SELECT_NAIVE);
	CHECK(build(&gn, &p, base.data, base.n, 2, false), "naive build");
	check_invariants(&gn, "naive");
	r = recall(&gn, 64);
	printf("  naive: recall@10 ef 64 %.3f\n", r);
	CHECK(r >= 0.9, "naive recall %.3f", r);
	n2_graph_free(&gn);

	test_metric(N2_METRIC_ANGULAR, "angular", 0.95);
	test_metric(N2_METRIC_DOT, "dot", 0.9);
	test_cancel();
	test_signal_mask();
	test_progress();

	UNIT_DONE();
}
