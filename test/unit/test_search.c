/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_search.c
 *		Heaps, visited sets and layer searches over hand-made graphs.
 */
#include <math.h>
#include <string.h>

#include "search.h"
#include "unit.h"

/* A test graph: adjacency lists and points, refs mapped by a stride. */
typedef struct TestGraph
{
	int			n;
	int			dim;
	const float *pts;
	int		  **adj;
	int		   *deg;
	const float *query;
	N2Ref		base;			/* refs are base + id * stride */
	N2Ref		stride;
	int			ncalls;
} TestGraph;

static inline int
ref_id(const TestGraph *t, N2Ref ref)
{
	return (int) ((ref - t->base) / t->stride);
}

static float
pt_dist(const TestGraph *t, int id)
{
	float		s = 0;

	for (int d = 0; d < t->dim; d++)
	{
		float		x = t->pts[(size_t) id * t->dim + d] - t->query[d];

		s += x * x;
	}
	return s;
}

/*
 * Expansions in order, and each prefetch with the number of expansions
 * before it, to tell whether it named the node expanded next.
 */
#define LOG_CAP 4096
static N2Ref expanded[LOG_CAP];
static int	nexpanded;
static N2Ref prefetched[LOG_CAP];
static int	prefetched_at[LOG_CAP];
static int	nprefetched;

static int
tg_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	TestGraph  *t = ctx;
	int			id = ref_id(t, ref);
	int			n = t->deg[id] < max ? t->deg[id] : max;

	if (nexpanded < LOG_CAP)
		expanded[nexpanded++] = ref;

	for (int i = 0; i < n; i++)
		out[i] = t->base + (N2Ref) t->adj[id][i] * t->stride;
	return n;
}

static void
tg_distances(void *ctx, const N2Ref *refs, int n, float *out)
{
	TestGraph  *t = ctx;

	t->ncalls++;
	for (int i = 0; i < n; i++)
		out[i] = pt_dist(t, ref_id(t, refs[i]));
}

static void
tg_prefetch(void *ctx, N2Ref ref, int level)
{
	if (nprefetched < LOG_CAP)
	{
		prefetched[nprefetched] = ref;
		prefetched_at[nprefetched++] = nexpanded;
	}
}

static const N2GraphOps tg_ops = {tg_neighbors, tg_distances, NULL, NULL};
static const N2GraphOps tg_prefetch_ops = {
	tg_neighbors, tg_distances, NULL, tg_prefetch
};

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static float
frand(void)
{
	return (float) (rng() >> 40) / (float) (1 << 24);
}

static int
cmp_cand(const void *a, const void *b)
{
	const N2Candidate *x = a;
	const N2Candidate *y = b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->ref < y->ref ? -1 : x->ref > y->ref;
}

/* Field by field: N2Candidate has padding that memcmp would compare. */
static bool
same_cands(const N2Candidate *a, const N2Candidate *b, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (a[i].dist != b[i].dist || a[i].ref != b[i].ref)
			return false;
	}
	return true;
}

static void
test_heaps_and_sort(void)
{
	N2Candidate h[600];
	N2Candidate a[600];
	N2Candidate b[600];
	int			n = 0;
	bool		ok = true;

	/* Few distinct distances, so ties are common and must order by ref. */
	for (int i = 0; i < 500; i++)
	{
		a[i].dist = (float) (rng() % 20);
		a[i].ref = rng() % 1000;
		n2_minheap_push(h, &n, a[i]);
	}
	memcpy(b, a, sizeof(N2Candidate) * 500);
	qsort(b, 500, sizeof(N2Candidate), cmp_cand);
	for (int i = 0; i < 500; i++)
	{
		N2Candidate c = n2_minheap_pop(h, &n);

		ok = ok && c.dist == b[i].dist && c.ref == b[i].ref;
	}
	CHECK(ok && n == 0, "min-heap pops in (dist, ref) order");

	for (int i = 0; i < 500; i++)
		n2_maxheap_push(h, &n, a[i]);
	ok = true;
	for (int i = 499; i >= 0; i--)
	{
		N2Candidate c = n2_maxheap_pop(h, &n);

		ok = ok && c.dist == b[i].dist && c.ref == b[i].ref;
	}
	CHECK(ok && n == 0, "max-heap pops in reverse order");

	for (int len = 0; len <= 500; len += (len < 40 ? 1 : 97))
	{
		memcpy(h, a, sizeof(N2Candidate) * len);
		memcpy(b, a, sizeof(N2Candidate) * len);
		n2_candidates_sort(h, len);
		qsort(b, len, sizeof(N2Candidate), cmp_cand);
		CHECK(same_cands(h, b, len), "sort of %d", len);
	}
}

static void
test_visited(void)
{
	N2Visited	v;
	bool		ok = true;

	/* Dense: marks vanish on reset, also across an epoch wrap-around. */
	CHECK(n2_visited_init(&v, 10), "dense init");
	CHECK(n2_visited_test_and_set(&v, 3) == 0, "new");
	CHECK(n2_visited_test_and_set(&v, 3) == 1, "seen");
	CHECK(n2_visited_test_and_set(&v, 10) == 1, "out of range counts as seen");
	n2_visited_reset(&v);
	CHECK(n2_visited_test_and_set(&v, 3) == 0, "forgotten after reset");

	v.epoch = UINT32_MAX - 1;
	v.epochs[5] = 1;			/* a stale mark that epoch 1 would revive */
	CHECK(n2_visited_test_and_set(&v, 4) == 0, "new before wrap");
	n2_visited_reset(&v);
	CHECK(v.epoch == UINT32_MAX, "last epoch before wrap");
	CHECK(n2_visited_test_and_set(&v, 4) == 0, "new at last epoch");
	n2_visited_reset(&v);
	CHECK(v.epoch == 1, "wrapped to 1: %u", v.epoch);
	for (int i = 0; i < 10; i++)
		ok = ok && n2_visited_test_and_set(&v, i) == 0;
	CHECK(ok, "nothing visited after wrap");
	n2_visited_free(&v);

	/* Hash: arbitrary 64-bit refs, growing well past the initial size. */
	CHECK(n2_visited_init(&v, 0), "hash init");
	{
		uint64_t	initial = v.nslots;
		uint64_t	saved = rng_state;

		ok = true;
		for (int i = 0; i < 20000; i++)
			ok = ok && n2_visited_test_and_set(&v, rng() | 1) == 0;
		CHECK(ok, "all new");
		CHECK(v.nslots > initial && v.nused == 20000, "grew to %llu slots",
			  (unsigned long long) v.nslots);
		rng_state = saved;
		ok = true;
		for (int i = 0; i < 20000; i++)
			ok = ok && n2_visited_test_and_set(&v, rng() | 1) == 1;
		CHECK(ok, "all found after growth");
		ok = true;
		for (int i = 0; i < 1000; i++)
			ok = ok && n2_visited_test_and_set(&v, (uint64_t) i * 2) == 0;
		CHECK(ok, "even refs were never added");
		CHECK(n2_visited_test_and_set(&v, 0) == 1, "zero is a ref like any other");
		n2_visited_reset(&v);
		CHECK(v.nused == 0 && n2_visited_test_and_set(&v, 0) == 0, "reset");
	}
	n2_visited_free(&v);

	/* Hash sized up front: expected marks fit without growing; more still do. */
	CHECK(n2_visited_init_hash(&v, 1000), "sized hash init");
	{
		uint64_t	initial = v.nslots;

		CHECK(initial >= 2000, "room for 1000 marks at half load: %llu slots",
			  (unsigned long long) initial);
		ok = true;
		for (int i = 0; i < 1000; i++)
			ok = ok && n2_visited_test_and_set(&v, (uint64_t) i << 16 | 3) == 0;
		CHECK(ok && v.nslots == initial, "1000 marks, no growth");
		ok = true;
		for (int i = 1000; i < 5000; i++)
			ok = ok && n2_visited_test_and_set(&v, (uint64_t) i << 16 | 3) == 0;
		CHECK(ok && v.nslots > initial, "grows past what was expected");
		ok = true;
		for (int i = 0; i < 5000; i++)
			ok = ok && n2_visited_contains(&v, (uint64_t) i << 16 | 3) &&
				!n2_visited_contains(&v, (uint64_t) i << 16 | 4);
		CHECK(ok, "every mark found, no other");
	}
	n2_visited_free(&v);
	CHECK(n2_visited_init_hash(&v, UINT64_C(1) << 40), "huge expectation");
	CHECK(v.nslots <= 65536, "sized up front only so far: %llu slots",
		  (unsigned long long) v.nslots);
	n2_visited_free(&v);

	/*
	 * Paged: (block << 16) | offset refs of the first 8 blocks with offsets
	 * below N2_VISITED_OFFSETS in bitmaps, others in the hash; a reset
	 * forgets both, also across an epoch wrap-around.
	 */
	CHECK(n2_visited_init_paged(&v, 8, 16), "paged init");
	ok = true;
	for (uint64_t b = 0; b < 10; b++)
		for (uint64_t o = 1; o < 400; o += 7)
			ok = ok && n2_visited_test_and_set(&v, b << 16 | o) == 0;
	CHECK(ok, "paged: all new");
	CHECK(v.nused == 2 * 57 + 8 * 11, "paged: the hash holds the rest: %llu",
		  (unsigned long long) v.nused);
	ok = true;
	for (uint64_t b = 0; b < 10; b++)
		for (uint64_t o = 1; o < 400; o++)
			ok = ok && n2_visited_contains(&v, b << 16 | o) == ((o - 1) % 7 == 0) &&
				n2_visited_test_and_set(&v, b << 16 | o) == ((o - 1) % 7 == 0);
	CHECK(ok, "paged: marks found where set, and only there");
	n2_visited_reset(&v);
	CHECK(v.nused == 0 && !n2_visited_contains(&v, 3 << 16 | 8) &&
		  !n2_visited_contains(&v, 9 << 16 | 8) &&
		  n2_visited_test_and_set(&v, 3 << 16 | 8) == 0, "paged: reset");
	v.epoch = UINT32_MAX;
	v.pages[5].epoch = 1;		/* a stale page that epoch 1 would revive */
	v.pages[5].bits[0] = 2;
	n2_visited_reset(&v);
	CHECK(v.epoch == 1 && !n2_visited_contains(&v, 5 << 16 | 1) &&
		  n2_visited_test_and_set(&v, 5 << 16 | 1) == 0, "paged: wrapped to 1");
	n2_visited_free(&v);
}

/* A path 0 - 1 - ... - 9 on a line, query at 7.2. */
static void
test_path(void)
{
	float		pts[10];
	int			adjbuf[10][2];
	int		   *adj[10];
	int			deg[10];
	float		q = 7.2f;
	TestGraph	t = {10, 1, pts, adj, deg, &q, 0, 1, 0};
	N2Search	s;
	N2Candidate entry;
	N2Candidate out[10];
	int			n;

	for (int i = 0; i < 10; i++)
	{
		pts[i] = (float) i;
		adj[i] = adjbuf[i];
		deg[i] = 0;
		if (i > 0)
			adj[i][deg[i]++] = i - 1;
		if (i < 9)
			adj[i][deg[i]++] = i + 1;
	}
	CHECK(n2_search_init(&s, 10, 4, 2, false), "init");
	entry.ref = 0;
	entry.dist = pt_dist(&t, 0);

	entry = n2_search_greedy(&s, &tg_ops, &t, entry, 0);
	CHECK(entry.ref == 7, "greedy reaches 7, got %d", (int) entry.ref);

	entry.ref = 0;
	entry.dist = pt_dist(&t, 0);
	n = n2_search_layer(&s, &tg_ops, &t, &entry, 1, 3, 0, out);
	CHECK(n == 3 && out[0].ref == 7 && out[1].ref == 8 && out[2].ref == 6,
		  "ef 3 finds 7 8 6 (n %d)", n);
	CHECK(fabsf(out[0].dist - 0.04f) < 1e-5f, "distance kept: %g", out[0].dist);
	/* The state stays for a caller that wants to continue. */
	CHECK(s.nres == 3, "results kept in s");

	/* Wider than the graph: everything, in order; and in place. */
	out[0] = entry;
	n = n2_search_layer(&s, &tg_ops, &t, out, 1, 20, 0, out);
	CHECK(n == 10, "all 10 found: %d", n);
	for (int i = 1; i < n; i++)
		CHECK(out[i - 1].dist <= out[i].dist, "ascending at %d", i);
	n2_search_free(&s);
}

/*
 * A random graph: each node linked to its 8 nearest and to the next one
 * (connected).  Compared against brute force, in dense and hash modes.
 */
static void
test_random_graph(void)
{
	enum
	{
		N = 1500, DIM = 8, K = 8, NQ = 20
	};
	float	   *pts = malloc(sizeof(float) * N * DIM);
	int		   *adjbuf = malloc(sizeof(int) * N * (K + 2));
	int		   *adj[N];
	int			deg[N];
	float		q[DIM];
	TestGraph	t = {N, DIM, pts, adj, deg, q, 0, 1, 0};
	N2Candidate *all = malloc(sizeof(N2Candidate) * N);
	N2Candidate out[N];
	N2Search	dense,
				hash;
	double		hits = 0;
	int			nprefetch = 0;
	int			nprefetch_next = 0;

	for (int i = 0; i < N * DIM; i++)
		pts[i] = frand();
	for (int i = 0; i < N; i++)
	{
		adj[i] = adjbuf + i * (K + 2);
		deg[i] = 0;
		t.query = pts + (size_t) i * DIM;
		for (int j = 0; j < N; j++)
		{
			all[j].ref = j;
			all[j].dist = pt_dist(&t, j);
		}
		qsort(all, N, sizeof(N2Candidate), cmp_cand);
		for (int j = 1; j <= K; j++)
			adj[i][deg[i]++] = (int) all[j].ref;
		adj[i][deg[i]++] = (i + 1) % N;
	}
	t.query = q;

	CHECK(n2_search_init(&dense, N, 16, K + 1, false), "dense init");
	CHECK(n2_search_init(&hash, 0, 16, K + 1, false), "hash init");
	for (int qi = 0; qi < NQ; qi++)
	{
		N2Candidate entry;
		int			n;
		bool		ok = true;

		for (int d = 0; d < DIM; d++)
			q[d] = frand();
		for (int j = 0; j < N; j++)
		{
			all[j].ref = j;
			all[j].dist = pt_dist(&t, j);
		}
		qsort(all, N, sizeof(N2Candidate), cmp_cand);

		/* ef = N on a connected graph is exhaustive. */
		t.base = 0;
		t.stride = 1;
		entry.ref = qi;
		entry.dist = pt_dist(&t, qi);
		n = n2_search_layer(&dense, &tg_ops, &t, &entry, 1, N, 0, out);
		CHECK(n == N && same_cands(out, all, N),
			  "exhaustive search equals brute force (n %d)", n);

		n = n2_search_layer(&dense, &tg_ops, &t, &entry, 1, 40, 0, out);
		CHECK(n == 40, "ef 40 fills: %d", n);
		for (int i = 0; i < 10; i++)
		{
			for (int j = 0; j < 10; j++)
				hits += out[i].ref == all[j].ref;
		}
		for (int i = 0; i < n; i++)
			ok = ok && out[i].dist == pt_dist(&t, (int) out[i].ref) &&
				(i == 0 || cmp_cand(&out[i - 1], &out[i]) < 0);
		CHECK(ok, "distances exact, strictly ascending (no duplicates)");

		/* A prefetch op changes nothing but what is loaded early. */
		{
			N2Candidate pout[40];

			nexpanded = nprefetched = 0;
			n = n2_search_layer(&dense, &tg_prefetch_ops, &t, &entry, 1, 40, 0,
								pout);
			CHECK(n == 40 && same_cands(pout, out, n), "prefetching search agrees");
			for (int i = 0; i < nprefetched; i++)
			{
				int			next = prefetched_at[i] + 1;

				nprefetch++;
				nprefetch_next += next < nexpanded && expanded[next] == prefetched[i];
			}
		}

		/* Hash mode with sparse 64-bit refs gives the same answer. */
		{
			N2Candidate hout[40];

			t.base = UINT64_C(1) << 40;
			t.stride = 1000003;
			entry.ref = t.base + (N2Ref) qi * t.stride;
			n = n2_search_layer(&hash, &tg_ops, &t, &entry, 1, 40, 0, hout);
			ok = n == 40;
			for (int i = 0; i < n && ok; i++)
				ok = ref_id(&t, hout[i].ref) == (int) out[i].ref &&
					hout[i].dist == out[i].dist;
			CHECK(ok, "hash mode agrees");
		}
	}
	CHECK(hits / (NQ * 10) >= 0.95, "recall@10 at ef 40: %.3f", hits / (NQ * 10));

	/*
	 * The search prefetches the candidate it will expand next, which is what
	 * it expands next unless a closer one turns up in between.
	 */
	CHECK(nprefetch >= NQ * 40 && nprefetch_next >= 0.6 * nprefetch,
		  "prefetches %d, of the node expanded next %d", nprefetch, nprefetch_next);
	n2_search_free(&dense);
	n2_search_free(&hash);
	free(pts);
	free(adjbuf);
	free(all);
}

/*
 * A comb: spine nodes approach the query, each with two leaves just behind
 * the next spine node.  Every expansion leaves stale candidates behind, so a
 * fixed heap must compact while a growable one grows.
 */
static void
test_compaction(void)
{
	enum
	{
		SPINE = 40, N = SPINE * 3
	};
	float		pts[N];
	int			adjbuf[N][3];
	int		   *adj[N];
	int			deg[N];
	float		q = 0.0f;
	TestGraph	t = {N, 1, pts, adj, deg, &q, 0, 1, 0};
	N2Search	fixed,
				grow;
	N2Candidate entry = {0, 0};
	N2Candidate out[4];
	N2Candidate *cand_before;
	int			n;

	for (int i = 0; i < SPINE; i++)
	{
		int			s = 3 * i;

		pts[s] = 1000.0f - 10.0f * i;
		pts[s + 1] = pts[s] - 10.0f + 1.0f;
		pts[s + 2] = pts[s] - 10.0f + 2.0f;
		adj[s] = adjbuf[s];
		adj[s + 1] = adjbuf[s + 1];
		adj[s + 2] = adjbuf[s + 2];
		deg[s] = deg[s + 1] = deg[s + 2] = 0;
		if (i + 1 < SPINE)
			adj[s][deg[s]++] = s + 3;
		adj[s][deg[s]++] = s + 1;
		adj[s][deg[s]++] = s + 2;
	}
	entry.dist = pt_dist(&t, 0);

	CHECK(n2_search_init(&fixed, N, 2, 3, true), "fixed init");
	cand_before = fixed.cand;
	n = n2_search_layer(&fixed, &tg_ops, &t, &entry, 1, 2, 0, out);
	CHECK(n == 2 && out[0].ref == 3 * (SPINE - 1) + 1 && out[1].ref == 3 * (SPINE - 1) + 2,
		  "fixed search finds the last leaves (n %d, %d %d)", n,
		  (int) out[0].ref, (int) out[1].ref);
	CHECK(fixed.cand == cand_before && fixed.cand_cap == 2 + 3 + 1,
		  "fixed buffers untouched");
	CHECK(fixed.ncand <= fixed.cand_cap, "within capacity");

	/* ef above ef_max is clamped, not grown. */
	n = n2_search_layer(&fixed, &tg_ops, &t, &entry, 1, 50, 0, out);
	CHECK(n == 2 && fixed.res_cap == 3, "ef clamped to ef_max: %d", n);

	CHECK(n2_search_init(&grow, N, 2, 3, false), "growable init");
	n = n2_search_layer(&grow, &tg_ops, &t, &entry, 1, 2, 0, out);
	CHECK(n == 2 && out[0].ref == 3 * (SPINE - 1) + 1, "growable search agrees");
	CHECK(grow.cand_cap > 2 + 3 + 1, "growable heap grew to %d", grow.cand_cap);
	n2_search_free(&fixed);
	n2_search_free(&grow);
}

int
main(void)
{
	test_heaps_and_sort();
	test_visited();
	test_path();
	test_random_graph();
	test_compaction();
	UNIT_DONE();
}
