/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_iterate.c
 *		Unit tests for the resumable search (core/iterate.c) over a small
 *		in-memory graph: order, completeness, the single-round mode, the
 *		visit and memory limits, filtered walks, the beam over the upper
 *		levels, and the widening steps.
 */
#include <math.h>
#include <string.h>

#include "distance.h"
#include "iterate.h"
#include "unit.h"

#define NPOINTS 600
#define DIM 8
#define DEGREE 10

static float points[NPOINTS][DIM];
static uint32_t links[NPOINTS][DEGREE];
static const float *query;

static float
dist_to(const float *a, const float *b)
{
	return n2_kernels.l2sq(a, b, DIM);
}

static int
graph_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	int			n = 0;

	if (level > 0)
		return 0;
	for (int i = 0; i < DEGREE && n < max; i++)
		out[n++] = links[ref][i];
	return n;
}

static void
graph_distances(void *ctx, const N2Ref *refs, int n, float *out)
{
	for (int i = 0; i < n; i++)
		out[i] = dist_to(points[refs[i]], query);
}

static const N2GraphOps ops = {graph_neighbors, graph_distances, NULL, NULL};

/* Filtered walks: a node matches when its id is a multiple of match_mod. */
static int	match_mod = 1;

static void
graph_distances_match(void *ctx, const N2Ref *refs, int n, float *out, bool *ok)
{
	graph_distances(ctx, refs, n, out);
	for (int i = 0; i < n; i++)
		ok[i] = refs[i] % match_mod == 0;
}

static const N2GraphOps filtered_ops = {graph_neighbors, graph_distances,
graph_distances_match, NULL};

/* The member walk's test, with the same rule. */
static bool
is_member(void *arg, N2Ref ref)
{
	return ref % match_mod == 0;
}

/* Each point links to its DEGREE nearest (a connected kNN graph here). */
static void
make_graph(void)
{
	uint64_t	state = 42;

	for (int i = 0; i < NPOINTS; i++)
	{
		for (int d = 0; d < DIM; d++)
		{
			points[i][d] = (float) (unit_rng(&state) % 1000) / 100.0f;
		}
	}
	for (int i = 0; i < NPOINTS; i++)
	{
		float		best[DEGREE];
		int			n = 0;

		for (int j = 0; j < NPOINTS; j++)
		{
			float		d;
			int			k;

			if (j == i)
				continue;
			d = dist_to(points[i], points[j]);
			if (n == DEGREE && d >= best[n - 1])
				continue;
			if (n < DEGREE)
				n++;
			for (k = n - 1; k > 0 && best[k - 1] > d; k--)
			{
				best[k] = best[k - 1];
				links[i][k] = links[i][k - 1];
			}
			best[k] = d;
			links[i][k] = (uint32_t) j;
		}
	}
	/* a ring as well, so every point is reachable from every other */
	for (int i = 0; i < NPOINTS; i++)
		links[i][DEGREE - 1] = (uint32_t) ((i + 1) % NPOINTS);
}

static bool stop_at_bound;

/* when set, count_yielded's walks mark nodes in it (n2_iter_init_visited) */
static N2Visited *shared_visited;

static int
count_yielded(N2IterMode mode, int ef, uint64_t max_visited, size_t max_memory,
			  bool *ordered, bool *unique, N2IterStop *stop)
{
	N2Iterator	it;
	N2Candidate c;
	int			n = 0;
	float		last = -1;
	static bool seen[NPOINTS];

	memset(seen, 0, sizeof(seen));
	*ordered = true;
	*unique = true;
	CHECK(n2_iter_init_visited(&it, &ops, NULL, mode, ef, DEGREE, max_visited,
							   max_memory, shared_visited),
		  "init");
	it.stop_at_bound = stop_at_bound;
	CHECK(n2_iter_start(&it, 0, 0), "start");
	while (n2_iter_next(&it, &c))
	{
		if (c.dist < last)
			*ordered = false;
		last = c.dist;
		if (seen[c.ref])
			*unique = false;
		seen[c.ref] = true;
		n++;
	}
	*stop = it.stop;
	n2_iter_free(&it);
	return n;
}

/*
 * A chain 0 -> 1 -> ... -> 9 on level 0 with 0, the entry point, linking
 * straight to 9 on level 1: a query near 9 descends to 9, from which level
 * 0 leads nowhere.  Everything is reachable from the entry on level 0, so
 * a search that also starts level 0 from the entry still finds it all.
 */
#define CHAIN 10

static int
chain_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	if (level == 1)
	{
		if (ref != 0)
			return 0;
		out[0] = CHAIN - 1;
		return 1;
	}
	if (ref + 1 >= CHAIN)
		return 0;
	out[0] = ref + 1;
	return 1;
}

static void
chain_distances(void *ctx, const N2Ref *refs, int n, float *out)
{
	for (int i = 0; i < n; i++)
		out[i] = (float) (CHAIN - 1 - refs[i]);
}

static void
entry_seeds_level0(void)
{
	static const N2GraphOps chain = {chain_neighbors, chain_distances, NULL, NULL};
	N2Iterator	it;
	N2Candidate c;
	int			n = 0;

	CHECK(n2_iter_init(&it, &chain, NULL, N2_ITER_RELAXED, 4, 2, 0, 0), "init chain");
	CHECK(n2_iter_start(&it, 0, 1), "start chain");
	while (n2_iter_next(&it, &c))
		n++;
	CHECK(n == CHAIN, "the entry point seeds level 0 too: %d of %d nodes", n, CHAIN);
	n2_iter_free(&it);
}

/*
 * A local minimum on level 1: from the entry 0 the greedy descent stops at
 * node 1, whose level-0 neighbours are all farther, while 4, the nearest
 * node, lies beyond 3, which is farther than 1.  A single round at ef 1
 * then returns 1; a beam of two on level 1 keeps 3, reaches 4 and seeds
 * level 0 with it.
 */
static const float trap_dist[5] = {5.0f, 3.0f, 6.0f, 4.0f, 0.5f};

static int
trap_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	static const N2Ref up[5][2] = {{1, 3}, {0, 0}, {0, 0}, {0, 4}, {3, 3}};
	static const int nup[5] = {2, 1, 0, 2, 1};
	static const N2Ref down[5][2] = {{1, 1}, {0, 2}, {1, 3}, {2, 4}, {3, 3}};
	static const int ndown[5] = {1, 2, 2, 2, 1};
	int			n = level == 1 ? nup[ref] : ndown[ref];

	for (int i = 0; i < n && i < max; i++)
		out[i] = level == 1 ? up[ref][i] : down[ref][i];
	return n < max ? n : max;
}

static void
trap_distances(void *ctx, const N2Ref *refs, int n, float *out)
{
	for (int i = 0; i < n; i++)
		out[i] = trap_dist[refs[i]];
}

static N2Ref
trap_first(int upper_ef)
{
	static const N2GraphOps trap = {trap_neighbors, trap_distances, NULL, NULL};
	N2Iterator	it;
	N2Candidate c = {0.0f, N2_INVALID_REF};

	CHECK(n2_iter_init(&it, &trap, NULL, N2_ITER_SINGLE, 1, 2, 0, 0), "init trap");
	it.upper_ef = upper_ef;
	CHECK(n2_iter_start(&it, 0, 1), "start trap");
	CHECK(n2_iter_next(&it, &c), "the trap yields a node");
	n2_iter_free(&it);
	return c.ref;
}

static void
upper_beam_escapes(void)
{
	CHECK(trap_first(1) == 1, "greedy descent stops at the local minimum: %d",
		  (int) trap_first(1));
	CHECK(trap_first(2) == 4, "a beam of two on level 1 finds the nearest: %d",
		  (int) trap_first(2));
	CHECK(trap_first(64) == 4, "a beam wider than the level: %d",
		  (int) trap_first(64));

	/* the setting wins; 0 picks by the index's size */
	CHECK(n2_upper_ef_for(3, 10.0) == 3 && n2_upper_ef_for(1, 1e7) == 1,
		  "an explicit upper_ef_search is used as it is");
	CHECK(n2_upper_ef_for(0, -1.0) == 1 && n2_upper_ef_for(0, 99999.0) == 1,
		  "automatic: greedy descent below 100,000 rows");
	CHECK(n2_upper_ef_for(0, 100000.0) == N2_UPPER_EF_AUTO &&
		  n2_upper_ef_for(0, 1e6) == N2_UPPER_EF_AUTO && N2_UPPER_EF_AUTO > 1,
		  "automatic: a beam from 100,000 rows on");
}

/*
 * Widening by steps that double from 1 (what a scan on codes sets) against
 * widening by ef: with 17 nodes yielded from a walk of width 16, the first
 * has widened by 1 or 2 (the seventeenth might be skipped), the second by
 * 16, after evaluating more nodes.  The steps never exceed ef.
 */
static void
small_first_steps(void)
{
	int			ef_at[2];
	uint64_t	visited_at[2];
	int			widest_step = 0;

	for (int small = 0; small < 2; small++)
	{
		N2Iterator	it;
		N2Candidate c;
		int			n = 0;
		int			ef = 16;

		CHECK(n2_iter_init(&it, &ops, NULL, N2_ITER_STRICT, 16, DEGREE, 0, 0), "init");
		if (small)
			it.step = 1;
		CHECK(n2_iter_start(&it, 0, 0), "start");
		while (n2_iter_next(&it, &c))
		{
			if (small && it.ef - ef > widest_step)
				widest_step = it.ef - ef;
			ef = it.ef;
			if (++n == 17)
			{
				ef_at[small] = it.ef;
				visited_at[small] = it.nvisited;
			}
		}
		n2_iter_free(&it);
	}
	CHECK(ef_at[1] == 17 || ef_at[1] == 19,
		  "doubling steps: the seventeenth node at width %d", ef_at[1]);
	CHECK(ef_at[0] == 32, "steps of ef: the seventeenth node at width %d", ef_at[0]);
	CHECK(visited_at[1] < visited_at[0],
		  "the small step evaluated fewer nodes (%llu against %llu)",
		  (unsigned long long) visited_at[1], (unsigned long long) visited_at[0]);
	CHECK(widest_step == 16, "steps double up to ef and no further: %d", widest_step);
}

/*
 * A reference walk: the iterator's rules (see iterate.c) on plain arrays
 * searched whole, slow and plain.  On a graph where distances tie all the
 * time (23 values over 300 nodes), the iterator must yield the same nodes in
 * the same order, and stop the same way, in every mode and width, with and
 * without a filter and a visit limit: so the way it keeps its best, its
 * candidates and what it has still to yield can change, but not what it does.
 */
#define REF_N 300
#define REF_DEGREE 7

static N2Ref ref_links[REF_N][REF_DEGREE];
static unsigned ref_mult;
static unsigned ref_add_to;

static int
ref_graph_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	int			n = 0;

	if (level > 0)
		return 0;
	for (int i = 0; i < REF_DEGREE && n < max; i++)
		out[n++] = ref_links[ref][i];
	return n;
}

static void
ref_graph_distances(void *ctx, const N2Ref *refs, int n, float *out)
{
	for (int i = 0; i < n; i++)
		out[i] = (float) ((refs[i] * ref_mult + ref_add_to) % 23);
}

static void
ref_graph_match(void *ctx, const N2Ref *refs, int n, float *out, bool *ok)
{
	ref_graph_distances(ctx, refs, n, out);
	for (int i = 0; i < n; i++)
		ok[i] = refs[i] % 3 == 0;
}

typedef struct RefList
{
	N2Candidate items[REF_N];
	int			n;
} RefList;

typedef struct RefWalk
{
	N2IterMode	mode;
	bool		filtered;
	bool		stop_at_bound;
	uint64_t	max_visited;
	int			ef;
	int			ef_step;
	int			step;
	bool		visited[REF_N];
	RefList		cand;
	RefList		best;
	RefList		spare;
	RefList		pending;
	RefList		far;
	RefList		farx;
	N2IterStop	stop;
	uint64_t	nvisited;
	uint64_t	nskipped;
	bool		yielded_any;
	float		last_dist;
} RefWalk;

static bool
ref_nearer(N2Candidate a, N2Candidate b)
{
	return a.dist != b.dist ? a.dist < b.dist : a.ref < b.ref;
}

/* index of the nearest (far: the farthest) item of a list that is not empty */
static int
ref_pick(const RefList *l, bool far)
{
	int			k = 0;

	for (int i = 1; i < l->n; i++)
	{
		if (far ? ref_nearer(l->items[k], l->items[i]) :
			ref_nearer(l->items[i], l->items[k]))
			k = i;
	}
	return k;
}

static N2Candidate
ref_take(RefList *l, int k)
{
	N2Candidate c = l->items[k];

	l->items[k] = l->items[--l->n];
	return c;
}

static void
ref_put(RefList *l, N2Candidate c)
{
	l->items[l->n++] = c;
}

static void
ref_place(RefWalk *w, N2Candidate c, bool match)
{
	int			k;

	ref_put(&w->cand, c);
	if (!match)
		return;
	ref_put(&w->pending, c);
	if (w->best.n < w->ef)
	{
		ref_put(&w->best, c);
		return;
	}
	k = ref_pick(&w->best, true);
	if (ref_nearer(c, w->best.items[k]))
	{
		ref_put(&w->spare, w->best.items[k]);
		w->best.items[k] = c;
	}
	else
		ref_put(&w->spare, c);
}

static void
ref_add(RefWalk *w, N2Candidate c, bool match)
{
	w->nvisited++;
	if (w->best.n >= w->ef && c.dist > w->best.items[ref_pick(&w->best, true)].dist)
		ref_put(match ? &w->far : &w->farx, c);
	else
		ref_place(w, c, match);
}

static void
ref_evaluate(RefWalk *w, const N2Ref *refs, int n)
{
	float		d[REF_DEGREE + 1];
	bool		ok[REF_DEGREE + 1];

	ref_graph_match(NULL, refs, n, d, ok);
	for (int i = 0; i < n; i++)
	{
		N2Candidate c = {d[i], refs[i]};

		ref_add(w, c, !w->filtered || ok[i]);
	}
}

static bool
ref_in_bounds(RefWalk *w)
{
	if (w->max_visited > 0 && w->nvisited >= w->max_visited)
	{
		w->stop = N2_ITER_TUPLE_LIMIT;
		return false;
	}
	return true;
}

static void
ref_widen(RefWalk *w)
{
	if (w->mode == N2_ITER_SINGLE)
	{
		w->pending.n = 0;
		w->stop = N2_ITER_EXHAUSTED;
		return;
	}
	for (int i = 0; i < w->far.n; i++)
		ref_place(w, w->far.items[i], true);
	for (int i = 0; i < w->farx.n; i++)
		ref_place(w, w->farx.items[i], false);
	w->far.n = w->farx.n = 0;
	if (w->cand.n == 0)
	{
		w->stop = N2_ITER_EXHAUSTED;
		return;
	}
	if (!ref_in_bounds(w))
		return;
	w->ef += w->step;
	w->step = w->step < w->ef_step / 2 ? w->step * 2 : w->ef_step;
	while (w->best.n < w->ef && w->spare.n > 0)
		ref_put(&w->best, ref_take(&w->spare, ref_pick(&w->spare, false)));
}

static bool
ref_next(RefWalk *w, N2Candidate *out)
{
	for (;;)
	{
		bool		converged = w->cand.n == 0 ||
		(w->best.n >= w->ef &&
		 w->cand.items[ref_pick(&w->cand, false)].dist >
		 w->best.items[ref_pick(&w->best, true)].dist);

		if (w->stop == N2_ITER_RUNNING && !converged)
		{
			N2Candidate c;
			N2Ref		nb[REF_DEGREE];
			int			n = 0;

			if (w->stop_at_bound && w->filtered && !ref_in_bounds(w))
				continue;
			c = ref_take(&w->cand, ref_pick(&w->cand, false));
			for (int i = 0; i < REF_DEGREE; i++)
			{
				N2Ref		x = ref_links[c.ref][i];

				if (!w->visited[x])
					nb[n++] = x;
				w->visited[x] = true;
			}
			ref_evaluate(w, nb, n);
			continue;
		}
		if (w->stop_at_bound && w->stop == N2_ITER_TUPLE_LIMIT)
			return false;
		if (w->pending.n > 0)
		{
			int			k = ref_pick(&w->pending, false);

			if (w->stop != N2_ITER_RUNNING || w->best.n == 0 ||
				w->pending.items[k].dist <= w->best.items[ref_pick(&w->best, true)].dist)
			{
				N2Candidate c = ref_take(&w->pending, k);

				if (w->yielded_any && c.dist < w->last_dist && w->mode == N2_ITER_STRICT)
				{
					w->nskipped++;
					continue;
				}
				if (!w->yielded_any || c.dist > w->last_dist)
					w->last_dist = c.dist;
				w->yielded_any = true;
				*out = c;
				return true;
			}
		}
		if (w->stop != N2_ITER_RUNNING)
			return false;
		ref_widen(w);
	}
}

static void
matches_reference(void)
{
	static const N2GraphOps plain = {ref_graph_neighbors, ref_graph_distances, NULL, NULL};
	static const N2GraphOps match = {ref_graph_neighbors, ref_graph_distances,
	ref_graph_match, NULL};
	static const int widths[] = {1, 2, 5, 16};
	static RefWalk w;
	uint64_t	state = 7;
	int			walks = 0;
	int			differ = 0;
	uint64_t	yielded = 0;

	for (int i = 0; i < REF_N; i++)
	{
		for (int j = 0; j < REF_DEGREE - 1; j++)
			ref_links[i][j] = unit_rng(&state) % REF_N;
		ref_links[i][REF_DEGREE - 1] = (i + 1) % REF_N;
	}
	for (int query = 0; query < 4; query++)
	{
		ref_mult = 5 + 6 * query;
		ref_add_to = 3 * query;
		for (int mode = N2_ITER_SINGLE; mode <= N2_ITER_RELAXED; mode++)
			for (int wi = 0; wi < 4; wi++)
				for (int filtered = 0; filtered < 2; filtered++)
					for (int bound = 0; bound < 3; bound++)
					{
						N2Iterator	it;
						N2Candidate a;
						N2Candidate b;
						N2Candidate first;
						bool		ok = true;
						bool		more_a;
						bool		more_b;

						memset(&w, 0, sizeof(w));
						w.mode = (N2IterMode) mode;
						w.filtered = filtered;
						w.ef = w.ef_step = w.step = widths[wi];
						w.max_visited = bound > 0 ? 40 : 0;
						w.stop_at_bound = bound == 2;
						CHECK(n2_iter_init(&it, filtered ? &match : &plain, NULL, w.mode,
										   w.ef, REF_DEGREE, w.max_visited, 0),
							  "init");
						it.stop_at_bound = w.stop_at_bound;
						n2_iter_start(&it, 0, 0);
						first.ref = 0;
						ref_graph_distances(NULL, &first.ref, 1, &first.dist);
						w.visited[0] = true;
						ref_add(&w, first, true);	/* 0 matches */
						do
						{
							more_a = n2_iter_next(&it, &a);
							more_b = ref_next(&w, &b);
							if (more_a != more_b ||
								(more_a && (a.ref != b.ref || a.dist != b.dist)))
								ok = false;
							yielded += more_a;
						} while (ok && more_a);
						ok &= it.stop == w.stop && it.nvisited == w.nvisited &&
							it.nskipped == w.nskipped;
						walks++;
						differ += !ok;
						n2_iter_free(&it);
					}
	}
	CHECK(differ == 0, "%d of %d walks differ from the reference (%llu nodes yielded)",
		  differ, walks, (unsigned long long) yielded);
	CHECK(yielded > 10000, "the walks yielded %llu nodes", (unsigned long long) yielded);
}

int
main(void)
{
	float		q[DIM];
	bool		ordered;
	bool		unique;
	N2IterStop	stop;
	int			n;

	n2_distance_init();
	entry_seeds_level0();
	upper_beam_escapes();
	matches_reference();
	make_graph();
	for (int d = 0; d < DIM; d++)
		q[d] = 5.0f;
	query = q;
	small_first_steps();

	/* strict, unlimited: every node once, in ascending distance */
	n = count_yielded(N2_ITER_STRICT, 16, 0, 0, &ordered, &unique, &stop);
	CHECK(ordered, "strict mode yields in ascending distance");
	CHECK(unique, "no node yielded twice");
	CHECK(stop == N2_ITER_EXHAUSTED, "strict mode ends exhausted (stop %d)", stop);
	CHECK(n > NPOINTS * 9 / 10, "strict mode reaches nearly every node (%d of %d)",
		  n, NPOINTS);

	/* relaxed: every node exactly once */
	n = count_yielded(N2_ITER_RELAXED, 16, 0, 0, &ordered, &unique, &stop);
	CHECK(unique, "relaxed mode yields no node twice");
	CHECK(n == NPOINTS, "relaxed mode yields every node (%d of %d)", n, NPOINTS);

	/*
	 * The same walks marking a paged visited set kept from walk to walk (the
	 * nodes are refs of block 0, offsets past its bitmap in the hash): each
	 * starts from a reset set.
	 */
	{
		N2Visited	v;

		CHECK(n2_visited_init_paged(&v, 1, 16), "paged init");
		shared_visited = &v;
		for (int round = 0; round < 3; round++)
		{
			n = count_yielded(N2_ITER_RELAXED, 16, 0, 0, &ordered, &unique, &stop);
			CHECK(unique && n == NPOINTS,
				  "shared visited set, walk %d: every node once (%d of %d)",
				  round, n, NPOINTS);
		}
		shared_visited = NULL;
		n2_visited_free(&v);
	}

	/* single: at most ef, ordered, and the true nearest first */
	n = count_yielded(N2_ITER_SINGLE, 16, 0, 0, &ordered, &unique, &stop);
	CHECK(n <= 16 && n > 0, "single mode yields at most ef (%d)", n);
	CHECK(ordered, "single mode yields in ascending distance");
	{
		N2Iterator	it;
		N2Candidate c;
		int			best = 0;

		for (int i = 1; i < NPOINTS; i++)
		{
			if (dist_to(points[i], q) < dist_to(points[best], q))
				best = i;
		}
		n2_iter_init(&it, &ops, NULL, N2_ITER_SINGLE, 32, DEGREE, 0, 0);
		n2_iter_start(&it, 0, 0);
		CHECK(n2_iter_next(&it, &c) && c.ref == (N2Ref) best,
			  "nearest node comes first (got %llu, want %d)",
			  (unsigned long long) c.ref, best);
		n2_iter_free(&it);
	}

	/* visit limit: stops early, says why, stays ordered */
	n = count_yielded(N2_ITER_STRICT, 8, 50, 0, &ordered, &unique, &stop);
	CHECK(stop == N2_ITER_TUPLE_LIMIT, "visit limit reported (stop %d)", stop);
	CHECK(n < NPOINTS && n > 0, "visit limit stops early (%d)", n);
	CHECK(ordered, "ordered under the visit limit");

	/*
	 * stop_at_bound: the bound ends the iteration without yielding what is
	 * pending, so fewer nodes come out, every one within the converged
	 * region, and the limit is still reported.
	 */
	{
		int			drained = n;

		stop_at_bound = true;
		n = count_yielded(N2_ITER_STRICT, 8, 50, 0, &ordered, &unique, &stop);
		stop_at_bound = false;
		CHECK(stop == N2_ITER_TUPLE_LIMIT, "stop_at_bound: limit reported (stop %d)", stop);
		CHECK(n > 0 && n < drained, "stop_at_bound: pending left unyielded (%d of %d)",
			  n, drained);
		CHECK(ordered && unique, "stop_at_bound: ordered, no repeats");
	}

	/* memory limit */
	n = count_yielded(N2_ITER_STRICT, 8, 0, 8192, &ordered, &unique, &stop);
	CHECK(stop == N2_ITER_MEMORY_LIMIT, "memory limit reported (stop %d)", stop);
	CHECK(n < NPOINTS && n > 0, "memory limit stops early (%d)", n);

	/*
	 * Filtered: only matching nodes are yielded, in strict order, each once;
	 * the first k are the k nearest matching nodes; a relaxed walk yields
	 * every matching node.  Non-matching nodes are walked through (1 in 10
	 * match here).
	 */
	{
		N2Iterator	it;
		N2Candidate c;
		int			nmatch = 0;
		int			bad = 0;
		int			ny = 0;
		float		last = -1;
		bool		inorder = true;
		float		kth[5];
		int			nk = 0;

		match_mod = 10;
		for (int i = 0; i < NPOINTS; i += match_mod)
			nmatch++;
		/* the 5 nearest matching distances, by brute force */
		for (int i = 0; i < NPOINTS; i += match_mod)
		{
			float		d = dist_to(points[i], q);
			int			k;

			if (nk == 5 && d >= kth[4])
				continue;
			if (nk < 5)
				nk++;
			for (k = nk - 1; k > 0 && kth[k - 1] > d; k--)
				kth[k] = kth[k - 1];
			kth[k] = d;
		}
		CHECK(n2_iter_init(&it, &filtered_ops, NULL, N2_ITER_STRICT, 8, DEGREE, 0, 0),
			  "init filtered");
		CHECK(it.filtered, "filtered when the graph offers distances_match");
		n2_iter_start(&it, 1, 0);	/* entry 1 does not match */
		while (n2_iter_next(&it, &c))
		{
			if (c.ref % match_mod != 0)
				bad++;
			if (ny < 5 && c.dist != kth[ny])
				inorder = false;
			if (c.dist < last)
				inorder = false;
			last = c.dist;
			ny++;
		}
		CHECK(bad == 0, "filtered: no non-matching node yielded (%d)", bad);
		CHECK(inorder, "filtered strict: the nearest matching nodes first, ascending");
		CHECK(ny > nmatch * 9 / 10 && ny <= nmatch,
			  "filtered strict: nearly every matching node (%d of %d)", ny, nmatch);
		CHECK(it.nmatched <= it.nvisited && it.nvisited > (uint64_t) ny,
			  "filtered: walked through non-matching nodes (%llu visited)",
			  (unsigned long long) it.nvisited);
		n2_iter_free(&it);

		n = 0;
		CHECK(n2_iter_init(&it, &filtered_ops, NULL, N2_ITER_RELAXED, 8, DEGREE, 0, 0),
			  "init filtered relaxed");
		n2_iter_start(&it, 1, 0);
		while (n2_iter_next(&it, &c))
			n += c.ref % match_mod == 0;
		CHECK(n == nmatch, "filtered relaxed: every matching node (%d of %d)", n, nmatch);
		n2_iter_free(&it);

		match_mod = 1;
	}

	/*
	 * Pause: next returns false once with paused set after pause_at visits,
	 * then goes on to the same answer as a walk that never paused.
	 */
	{
		N2Iterator	it;
		N2Candidate c;
		int			pauses = 0;
		int			n = 0;
		N2Ref		first[10];
		N2Ref		plain[10];

		query = points[7];
		CHECK(n2_iter_init(&it, &ops, NULL, N2_ITER_STRICT, 16, DEGREE, 0, 0), "init");
		it.pause_at = 20;
		n2_iter_start(&it, 0, 0);
		for (;;)
		{
			if (!n2_iter_next(&it, &c))
			{
				if (!it.paused)
					break;
				it.paused = false;
				pauses++;
				CHECK(it.nvisited >= 20, "paused after %llu visits",
					  (unsigned long long) it.nvisited);
				continue;
			}
			if (n < 10)
				first[n] = c.ref;
			n++;
		}
		n2_iter_free(&it);
		CHECK(pauses == 1, "paused once (%d)", pauses);
		n2_iter_init(&it, &ops, NULL, N2_ITER_STRICT, 16, DEGREE, 0, 0);
		n2_iter_start(&it, 0, 0);
		for (int i = 0; i < 10 && n2_iter_next(&it, &c); i++)
			plain[i] = c.ref;
		n2_iter_free(&it);
		CHECK(n >= 10 && memcmp(first, plain, sizeof(first)) == 0,
			  "a paused walk yields what an unpaused one does");
	}

	/*
	 * Member walk: once member is set, only matching nodes are evaluated
	 * (reached through non-matching neighbours too), seeds join it, and in
	 * relaxed order it yields every matching node of the connected graph,
	 * each once, and nothing else.
	 */
	{
		N2Iterator	it;
		N2Candidate c;
		static bool seen[NPOINTS];
		int			nmatch = 0;
		int			n = 0;
		bool		only_members = true;
		bool		unique = true;
		N2Ref		seeds[4] = {5, 105, 305, 505};

		match_mod = 5;
		for (int i = 0; i < NPOINTS; i++)
			nmatch += i % match_mod == 0;
		memset(seen, 0, sizeof(seen));
		query = points[123];
		CHECK(n2_iter_init(&it, &filtered_ops, NULL, N2_ITER_RELAXED, 8, DEGREE, 0, 0),
			  "init");
		it.member = is_member;
		n2_iter_start(&it, 1, 0);
		CHECK(n2_iter_add_seeds(&it, seeds, 4), "seeds");
		while (n2_iter_next(&it, &c))
		{
			only_members &= c.ref % match_mod == 0;
			unique &= !seen[c.ref];
			seen[c.ref] = true;
			n++;
		}
		CHECK(only_members, "member walk yields matching nodes only");
		CHECK(unique, "member walk yields each node once");
		CHECK(n == nmatch, "member walk: every matching node (%d of %d)", n, nmatch);
		CHECK(it.nbridged > 0, "member walk went through non-matching nodes");
		CHECK(it.nvisited - it.nmatched <= 1,
			  "member walk evaluated %llu non-matching nodes (the start only)",
			  (unsigned long long) (it.nvisited - it.nmatched));
		n2_iter_free(&it);
		match_mod = 1;
	}

	/* empty graph */
	{
		N2Iterator	it;
		N2Candidate c;

		n2_iter_init(&it, &ops, NULL, N2_ITER_STRICT, 8, DEGREE, 0, 0);
		n2_iter_start(&it, N2_INVALID_REF, 0);
		CHECK(!n2_iter_next(&it, &c), "empty graph yields nothing");
		n2_iter_free(&it);
	}
	UNIT_DONE();
}
