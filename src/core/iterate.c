/*
 * Copyright (c) 2025-2026, the n2 developers
 * iterate.c
 *		Resumable nearest-neighbour search for index scans.  Pure C.
 *
 * An evaluated node among the ef closest enters best (which sets the
 * stopping distance), where it waits to be expanded and to be yielded; one
 * pushed out of best, or tied with its farthest, goes to the heaps: cand (to
 * expand), pending (to yield) and spare.  A node that does not match the
 * filter goes to cand only.  One farther than the ef closest waits in the
 * far list until the search widens.  Nothing is dropped, so widening ef
 * later resumes the same search instead of starting over.
 */
#include "iterate.h"

#include <stdlib.h>
#include <string.h>

/* Whether a comes before b: nearer first, ties by ref. */
static inline bool
nearer(N2Candidate a, N2Candidate b)
{
	if (a.dist != b.dist)
		return a.dist < b.dist;
	return a.ref < b.ref;
}

/* Room for one more item; false when out of memory. */
static bool
heap_reserve(N2Heap *h)
{
	size_t		cap;
	N2Candidate *items;

	if (h->n < h->cap)
		return true;
	cap = h->cap ? h->cap * 2 : 64;
	items = realloc(h->items, cap * sizeof(N2Candidate));
	if (items == NULL)
		return false;
	h->items = items;
	h->cap = cap;
	return true;
}

/* cand, spare and pending are min-heaps: the nearest on top */
static bool
heap_push(N2Heap *h, N2Candidate c)
{
	size_t		i;

	if (!heap_reserve(h))
		return false;
	i = h->n++;
	while (i > 0)
	{
		size_t		parent = (i - 1) / 2;

		if (!nearer(c, h->items[parent]))
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i] = c;
	return true;
}

static N2Candidate
heap_pop(N2Heap *h)
{
	N2Candidate top = h->items[0];
	N2Candidate last = h->items[--h->n];
	size_t		i = 0;

	for (;;)
	{
		size_t		child = 2 * i + 1;

		if (child >= h->n)
			break;
		if (child + 1 < h->n && nearer(h->items[child + 1], h->items[child]))
			child++;
		if (!nearer(h->items[child], last))
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	if (h->n > 0)
		h->items[i] = last;
	return top;
}

static inline N2Candidate
beam_candidate(const N2BeamItem *b)
{
	N2Candidate c = {b->dist, b->ref};

	return c;
}

/* The farthest of a beam that is not empty */
static inline N2Candidate
beam_top(const N2Beam *b)
{
	return beam_candidate(&b->items[b->n - 1]);
}

/* Room for n items in *items of *cap; false when out of memory. */
static bool
beam_reserve(N2BeamItem **items, size_t *cap, size_t n)
{
	size_t		newcap = *cap ? *cap : 32;
	N2BeamItem *p;

	if (n <= *cap)
		return true;
	while (newcap < n)
		newcap *= 2;
	p = realloc(*items, newcap * sizeof(N2BeamItem));
	if (p == NULL)
		return false;
	*items = p;
	*cap = newcap;
	return true;
}

/*
 * Inserts c in order, open and waiting unless the heaps hold it.  Its place
 * is found by a binary search without a branch on the comparisons, which
 * are coin tosses.
 */
static bool
beam_insert(N2Beam *b, N2Candidate c, bool in_heaps)
{
	const N2BeamItem *base;
	size_t		len = b->n;
	size_t		pos = 0;

	if (!beam_reserve(&b->items, &b->cap, b->n + 1))
		return false;
	base = b->items;
	if (len > 0)
	{
		while (len > 1)
		{
			size_t		half = len / 2;

			base += half * (size_t) nearer(beam_candidate(&base[half - 1]), c);
			len -= half;
		}
		pos = (size_t) (base - b->items) + nearer(beam_candidate(base), c);
	}
	memmove(b->items + pos + 1, b->items + pos, (b->n - pos) * sizeof(N2BeamItem));
	b->items[pos].dist = c.dist;
	b->items[pos].open = !in_heaps;
	b->items[pos].waiting = !in_heaps;
	b->items[pos].ref = c.ref;
	b->n++;
	if (!in_heaps)
	{
		b->next_open = pos < b->next_open ? pos : b->next_open;
		b->next_waiting = pos < b->next_waiting ? pos : b->next_waiting;
	}
	return true;
}

/* Removes and returns the farthest item. */
static N2BeamItem
beam_pop_top(N2Beam *b)
{
	N2BeamItem	out = b->items[--b->n];

	if (b->next_open > b->n)
		b->next_open = b->n;
	if (b->next_waiting > b->n)
		b->next_waiting = b->n;
	return out;
}

/* Whether an item is open; b->next_open is then the nearest. */
static inline bool
beam_has_open(N2Beam *b)
{
	while (b->next_open < b->n && !b->items[b->next_open].open)
		b->next_open++;
	return b->next_open < b->n;
}

/* Whether an item is waiting; b->next_waiting is then the nearest. */
static inline bool
beam_has_waiting(N2Beam *b)
{
	while (b->next_waiting < b->n && !b->items[b->next_waiting].waiting)
		b->next_waiting++;
	return b->next_waiting < b->n;
}

int
n2_upper_ef_for(int setting, double rows)
{
	if (setting > 0)
		return setting;
	return rows >= N2_UPPER_EF_AUTO_ROWS ? N2_UPPER_EF_AUTO : 1;
}

bool
n2_iter_init(N2Iterator *it, const N2GraphOps *ops, void *ctx,
			 N2IterMode mode, int ef, int max_degree,
			 uint64_t max_visited, size_t max_memory)
{
	return n2_iter_init_visited(it, ops, ctx, mode, ef, max_degree,
								max_visited, max_memory, NULL);
}

bool
n2_iter_init_visited(N2Iterator *it, const N2GraphOps *ops, void *ctx,
					 N2IterMode mode, int ef, int max_degree,
					 uint64_t max_visited, size_t max_memory,
					 N2Visited *visited)
{
	memset(it, 0, sizeof(*it));
	it->ops = ops;
	it->ctx = ctx;
	it->mode = mode;
	it->ef = ef < 1 ? 1 : ef;
	it->ef_step = it->ef;
	it->step = it->ef_step;
	it->max_visited = max_visited;
	it->max_memory = max_memory;
	it->nbuf_cap = max_degree < 1 ? 1 : max_degree;
	it->filtered = ops->distances_match != NULL;
	it->nbuf = malloc(it->nbuf_cap * sizeof(N2Ref));
	it->dbuf = malloc(it->nbuf_cap * sizeof(float));
	it->okbuf = malloc(it->nbuf_cap * sizeof(bool));
	it->bbuf = malloc((size_t) it->nbuf_cap * (it->nbuf_cap + 1) * sizeof(N2Ref));
	it->lbuf = malloc(it->nbuf_cap * sizeof(N2Ref));
	it->visited = &it->own_visited;
	if (visited != NULL)
	{
		n2_visited_reset(visited);
		it->visited = visited;
	}
	/* a search of width ef evaluates some ef * degree / 2 nodes */
	if (it->nbuf == NULL || it->dbuf == NULL || it->okbuf == NULL ||
		it->bbuf == NULL || it->lbuf == NULL ||
		(visited == NULL &&
		 !n2_visited_init_hash(&it->own_visited,
							   (uint64_t) it->ef * it->nbuf_cap / 2)))
	{
		n2_iter_free(it);
		return false;
	}
	return true;
}

void
n2_iter_free(N2Iterator *it)
{
	free(it->cand.items);
	free(it->best.items);
	free(it->best.out);
	free(it->spare.items);
	free(it->pending.items);
	free(it->far.items);
	free(it->farx.items);
	free(it->nbuf);
	free(it->dbuf);
	free(it->okbuf);
	free(it->bbuf);
	free(it->lbuf);
	n2_visited_free(&it->own_visited);
	memset(it, 0, sizeof(*it));
}

size_t
n2_iter_memory(const N2Iterator *it)
{
	return (it->cand.cap + it->spare.cap + it->pending.cap + it->far.cap +
			it->farx.cap) * sizeof(N2Candidate) +
		(it->best.cap + it->best.out_cap) * sizeof(N2BeamItem) +
		it->visited->nslots * sizeof(N2Ref) +
		it->visited->npages * sizeof(N2VisitedPage) +
		it->nbuf_cap * (sizeof(N2Ref) + sizeof(float) + sizeof(bool)) +
		(size_t) it->nbuf_cap * (it->nbuf_cap + 2) * sizeof(N2Ref);
}

/* Appends c to the unordered far list. */
static bool
far_push(N2Heap *far, N2Candidate c)
{
	if (!heap_reserve(far))
		return false;
	far->items[far->n++] = c;
	return true;
}

/* Hands an item that left best to the heaps that still need it. */
static bool
iter_unbeam(N2Iterator *it, const N2BeamItem *x)
{
	N2Candidate c = beam_candidate(x);

	return (!x->open || heap_push(&it->cand, c)) &&
		(!x->waiting || heap_push(&it->pending, c)) &&
		heap_push(&it->spare, c);
}

/*
 * An item pushed out of best: farther than the ef best, it waits in best.out
 * (see N2Beam) unless its distance ties with theirs, which the heaps compare.
 */
static bool
iter_push_out(N2Iterator *it, const N2BeamItem *x)
{
	N2Beam	   *b = &it->best;

	if (x->dist == beam_top(b).dist)
		return iter_unbeam(it, x);
	if (!beam_reserve(&b->out, &b->out_cap, b->nout + 1))
		return false;
	b->out[b->nout++] = *x;
	return true;
}

/* Hands what waits in best.out to the heaps: before widening or once stopped. */
static bool
iter_flush_out(N2Iterator *it)
{
	N2Beam	   *b = &it->best;

	for (size_t i = 0; i < b->nout; i++)
	{
		if (!iter_unbeam(it, &b->out[i]))
			return false;
	}
	b->nout = 0;
	return true;
}

/*
 * Records a node where it belongs: a node that does not match the filter is
 * only expanded.  One that enters best is open and waiting there.
 */
static bool
iter_place(N2Iterator *it, N2Candidate c, bool match)
{
	if (!match)
		return heap_push(&it->cand, c);
	if (it->best.n < (size_t) it->ef)
		return beam_insert(&it->best, c, false);
	if (nearer(c, beam_top(&it->best)))
	{
		/* c is closer than the current ef-th best: swap them */
		N2BeamItem	out = beam_pop_top(&it->best);

		return beam_insert(&it->best, c, false) && iter_push_out(it, &out);
	}
	return heap_push(&it->cand, c) && heap_push(&it->pending, c) &&
		heap_push(&it->spare, c);
}

/*
 * Records a newly evaluated node.  One farther than the ef best can be
 * neither expanded nor yielded before the search widens (the ef-th best
 * distance only falls until then), and most nodes a search evaluates are:
 * they wait in an unordered list, which costs no heap work unless the search
 * does widen.
 */
static bool
iter_add(N2Iterator *it, N2Candidate c, bool match)
{
	it->nvisited++;
	it->nmatched += match;
	if (it->best.n >= (size_t) it->ef && c.dist > beam_top(&it->best).dist)
		return far_push(match ? &it->far : &it->farx, c);
	return iter_place(it, c, match);
}

/* Moves the far lists into the heaps, before widening or once stopped. */
static bool
iter_flush_far(N2Iterator *it)
{
	for (size_t i = 0; i < it->far.n; i++)
	{
		if (!iter_place(it, it->far.items[i], true))
			return false;
	}
	it->far.n = 0;
	for (size_t i = 0; i < it->farx.n; i++)
	{
		if (!iter_place(it, it->farx.items[i], false))
			return false;
	}
	it->farx.n = 0;
	return true;
}

/* Distances to n nodes and whether each matches (all do unfiltered). */
static void
iter_distances(N2Iterator *it, const N2Ref *refs, int n, float *out, bool *ok)
{
	if (it->filtered)
	{
		it->ops->distances_match(it->ctx, refs, n, out, ok);
		return;
	}
	it->ops->distances(it->ctx, refs, n, out);
	for (int i = 0; i < n; i++)
		ok[i] = true;
}

static void
iter_fail(N2Iterator *it, N2IterStop why)
{
	if (it->stop == N2_ITER_RUNNING)
		it->stop = why;
}

/*
 * Beam of width w over one upper level from the n seeds in beam (sorted
 * ascending, at most w): leaves there the w nearest found, sorted, and
 * returns how many; *ok false when out of memory.  Every node of the beam is
 * expanded once, nearest first; w is small, so the beam is a sorted array.
 */
static int
upper_beam(N2Iterator *it, N2Visited *seen, N2Candidate *beam, bool *done,
		   int n, int w, int level, bool *ok)
{
	for (;;)
	{
		int			pick = -1;
		int			nn;

		for (int i = 0; i < n; i++)
		{
			if (!done[i])
			{
				pick = i;
				break;
			}
		}
		if (pick < 0)
			return n;
		done[pick] = true;
		nn = it->ops->neighbors(it->ctx, beam[pick].ref, level,
								it->nbuf, it->nbuf_cap);
		if (nn <= 0)
			continue;
		it->ops->distances(it->ctx, it->nbuf, nn, it->dbuf);
		for (int j = 0; j < nn; j++)
		{
			N2Candidate c = {it->dbuf[j], it->nbuf[j]};
			int			pos;
			int			was;

			if (n == w && c.dist >= beam[n - 1].dist)
				continue;
			was = n2_visited_test_and_set(seen, c.ref);
			if (was < 0)
			{
				*ok = false;
				return n;
			}
			if (was > 0)
				continue;
			if (n < w)
				n++;
			pos = n - 1;
			while (pos > 0 && beam[pos - 1].dist > c.dist)
			{
				beam[pos] = beam[pos - 1];
				done[pos] = done[pos - 1];
				pos--;
			}
			beam[pos] = c;
			done[pos] = false;
		}
	}
}

/*
 * The start with a beam of width it->upper_ef on each upper level: every
 * node the beam holds on level 1 seeds level 0, and so does the entry.
 */
static bool
iter_start_beam(N2Iterator *it, N2Candidate first, bool first_ok, int top_level)
{
	int			w = it->upper_ef;
	N2Candidate *beam = malloc(w * sizeof(N2Candidate));
	bool	   *done = malloc(w * sizeof(bool));
	N2Visited	seen;
	int			n = 1;
	bool		ok = beam != NULL && done != NULL;

	if (ok)
		beam[0] = first;
	for (int level = top_level; ok && level >= 1; level--)
	{
		if (!n2_visited_init_hash(&seen, (uint64_t) w * it->nbuf_cap))
		{
			ok = false;
			break;
		}
		for (int i = 0; i < n; i++)
		{
			done[i] = false;
			if (n2_visited_test_and_set(&seen, beam[i].ref) < 0)
				ok = false;
		}
		if (ok)
			n = upper_beam(it, &seen, beam, done, n, w, level, &ok);
		n2_visited_free(&seen);
	}
	for (int i = 0; ok && i < n; i++)
	{
		N2Candidate c = beam[i];
		bool		match;
		int			was = n2_visited_test_and_set(it->visited, c.ref);

		if (was < 0)
			ok = false;
		else if (was == 0)
		{
			iter_distances(it, &c.ref, 1, &c.dist, &match);
			ok = iter_add(it, c, match);
		}
	}
	if (ok)
	{
		int			was = n2_visited_test_and_set(it->visited, first.ref);

		ok = was >= 0 && (was > 0 || iter_add(it, first, first_ok));
	}
	free(beam);
	free(done);
	if (!ok)
		iter_fail(it, N2_ITER_OUT_OF_MEMORY);
	return ok;
}

bool
n2_iter_start(N2Iterator *it, N2Ref entry, int top_level)
{
	N2Candidate cur;
	N2Candidate first;
	bool		first_ok;
	bool		cur_ok;
	int			level;

	it->started = true;
	if (entry == N2_INVALID_REF)
	{
		it->stop = N2_ITER_EXHAUSTED;
		return true;
	}
	cur.ref = entry;
	iter_distances(it, &cur.ref, 1, &cur.dist, &first_ok);
	first = cur;

	/*
	 * A beam over the upper levels: on clustered data the greedy descent can
	 * end in a cluster far from the query's, which a narrow level-0 search
	 * does not leave.  The beam's nodes on level 1 all seed level 0.
	 */
	if (it->upper_ef > 1 && top_level >= 1)
		return iter_start_beam(it, first, first_ok, top_level);

	/* Greedy descent: on each upper level move while a neighbour is closer. */
	for (level = top_level; level >= 1; level--)
	{
		bool		moved = true;

		while (moved)
		{
			int			n = it->ops->neighbors(it->ctx, cur.ref, level,
											   it->nbuf, it->nbuf_cap);

			moved = false;
			if (n == 0)
				break;
			it->ops->distances(it->ctx, it->nbuf, n, it->dbuf);
			for (int i = 0; i < n; i++)
			{
				if (it->dbuf[i] < cur.dist)
				{
					cur.dist = it->dbuf[i];
					cur.ref = it->nbuf[i];
					moved = true;
				}
			}
		}
	}

	if (cur.ref == entry)
		cur_ok = first_ok;
	else
		iter_distances(it, &cur.ref, 1, &cur.dist, &cur_ok);
	if (n2_visited_test_and_set(it->visited, cur.ref) < 0 ||
		!iter_add(it, cur, cur_ok))
	{
		iter_fail(it, N2_ITER_OUT_OF_MEMORY);
		return false;
	}

	/*
	 * The entry point seeds level 0 too.  Far from the query, it is only
	 * expanded once the search has widened past everything nearer; but from
	 * it every node is reachable on level 0, which the node the descent
	 * reached need not be, so a search that keeps widening finds them all.
	 */
	if (cur.ref != entry)
	{
		if (n2_visited_test_and_set(it->visited, entry) < 0 ||
			!iter_add(it, first, first_ok))
		{
			iter_fail(it, N2_ITER_OUT_OF_MEMORY);
			return false;
		}
	}
	return true;
}

/* Evaluates the n nodes in bbuf, which the walk has marked visited. */
static bool
iter_evaluate(N2Iterator *it, int n)
{
	for (int start = 0; start < n; start += it->nbuf_cap)
	{
		int			take = n - start < it->nbuf_cap ? n - start : it->nbuf_cap;

		iter_distances(it, it->bbuf + start, take, it->dbuf, it->okbuf);
		for (int i = 0; i < take; i++)
		{
			N2Candidate nc = {it->dbuf[i], it->bbuf[start + i]};

			if (!iter_add(it, nc, it->okbuf[i]))
				return false;
		}
	}
	return true;
}

/*
 * Member walk: appends to bbuf, from position nb, the unvisited nodes that
 * pass among the neighbours of ref, and through each neighbour that does
 * not, among that one's; returns the new count, or -1 when out of memory.
 */
static int
iter_gather_members(N2Iterator *it, N2Ref ref, int nb)
{
	int			n = it->ops->neighbors(it->ctx, ref, 0, it->nbuf, it->nbuf_cap);
	int			nbridge = 0;

	for (int i = 0; i < n; i++)
	{
		N2Ref		x = it->nbuf[i];
		int			seen;

		if (!it->member(it->member_arg, x))
		{
			it->nbuf[nbridge++] = x;
			continue;
		}
		seen = n2_visited_test_and_set(it->visited, x);
		if (seen < 0)
			return -1;
		if (seen == 0)
			it->bbuf[nb++] = x;
	}
	for (int j = 0; j < nbridge; j++)
	{
		int			m = it->ops->neighbors(it->ctx, it->nbuf[j], 0, it->lbuf,
										   it->nbuf_cap);

		it->nbridged++;
		for (int k = 0; k < m; k++)
		{
			N2Ref		y = it->lbuf[k];
			int			seen;

			if (!it->member(it->member_arg, y))
				continue;
			seen = n2_visited_test_and_set(it->visited, y);
			if (seen < 0)
				return -1;
			if (seen == 0)
				it->bbuf[nb++] = y;
		}
	}
	return nb;
}

bool
n2_iter_add_seeds(N2Iterator *it, const N2Ref *seeds, int n)
{
	while (n > 0)
	{
		int			take = n < it->nbuf_cap ? n : it->nbuf_cap;
		int			nb = 0;

		for (int i = 0; i < take; i++)
		{
			int			seen = n2_visited_test_and_set(it->visited, seeds[i]);

			if (seen < 0)
			{
				iter_fail(it, N2_ITER_OUT_OF_MEMORY);
				return false;
			}
			if (seen == 0)
				it->bbuf[nb++] = seeds[i];
		}
		if (!iter_evaluate(it, nb))
		{
			iter_fail(it, N2_ITER_OUT_OF_MEMORY);
			return false;
		}
		seeds += take;
		n -= take;
	}
	return true;
}

/*
 * True when the closest unexpanded candidate cannot improve the ef best: an
 * open one in best can.
 */
static inline bool
iter_converged(N2Iterator *it)
{
	if (beam_has_open(&it->best))
		return false;
	if (it->cand.n == 0)
		return true;
	return it->best.n >= (size_t) it->ef &&
		it->cand.items[0].dist > beam_top(&it->best).dist;
}

/* Takes the closest candidate to expand, open in best or in cand. */
static N2Candidate
iter_take(N2Iterator *it)
{
	N2Beam	   *b = &it->best;

	if (beam_has_open(b) &&
		(it->cand.n == 0 ||
		 nearer(beam_candidate(&b->items[b->next_open]), it->cand.items[0])))
	{
		b->items[b->next_open].open = false;
		return beam_candidate(&b->items[b->next_open++]);
	}
	return heap_pop(&it->cand);
}

/* Expands the closest candidate: evaluates its unvisited neighbours. */
static void
iter_expand(N2Iterator *it)
{
	N2Candidate c = iter_take(it);
	int			n;
	int			nnew = 0;

	if (it->member != NULL)
	{
		/* what did not pass was visited before the walk knew the members */
		if (!it->member(it->member_arg, c.ref))
			return;
		n = iter_gather_members(it, c.ref, 0);
		if (n < 0 || !iter_evaluate(it, n))
			iter_fail(it, N2_ITER_OUT_OF_MEMORY);
		return;
	}
	n = it->ops->neighbors(it->ctx, c.ref, 0, it->nbuf, it->nbuf_cap);
	for (int i = 0; i < n; i++)
	{
		int			seen = n2_visited_test_and_set(it->visited, it->nbuf[i]);

		if (seen < 0)
		{
			iter_fail(it, N2_ITER_OUT_OF_MEMORY);
			return;
		}
		/* kept without a branch: whether a neighbour was seen is a coin toss */
		it->nbuf[nnew] = it->nbuf[i];
		nnew += seen == 0;
	}
	if (nnew == 0)
		return;
	iter_distances(it, it->nbuf, nnew, it->dbuf, it->okbuf);
	for (int i = 0; i < nnew; i++)
	{
		N2Candidate nc = {it->dbuf[i], it->nbuf[i]};

		if (!iter_add(it, nc, it->okbuf[i]))
		{
			iter_fail(it, N2_ITER_OUT_OF_MEMORY);
			return;
		}
	}
}

/* Whether the walk is within its bounds; else records the one it reached. */
static bool
iter_in_bounds(N2Iterator *it)
{
	if (it->max_visited > 0 && it->nvisited >= it->max_visited)
		iter_fail(it, N2_ITER_TUPLE_LIMIT);
	else if (it->max_memory > 0 && n2_iter_memory(it) >= it->max_memory)
		iter_fail(it, N2_ITER_MEMORY_LIMIT);
	else
		return true;
	return false;
}

/* Widens the search by step, or records why it cannot go on. */
static void
iter_widen(N2Iterator *it)
{
	if (it->mode == N2_ITER_SINGLE)
	{
		/* classic HNSW: the ef best and nothing more */
		it->pending.n = 0;
		it->best.nout = 0;
		iter_fail(it, N2_ITER_EXHAUSTED);
		return;
	}
	if (!iter_flush_far(it) || !iter_flush_out(it))
	{
		iter_fail(it, N2_ITER_OUT_OF_MEMORY);
		return;
	}
	if (it->cand.n == 0 && !beam_has_open(&it->best))
	{
		iter_fail(it, N2_ITER_EXHAUSTED);
		return;
	}
	if (!iter_in_bounds(it))
		return;
	it->ef += it->step;
	it->step = it->step < it->ef_step / 2 ? it->step * 2 : it->ef_step;
	/* what moves up from spare was expanded, or cand holds it */
	while (it->best.n < (size_t) it->ef && it->spare.n > 0)
	{
		if (!beam_insert(&it->best, heap_pop(&it->spare), true))
		{
			iter_fail(it, N2_ITER_OUT_OF_MEMORY);
			return;
		}
	}
}

/*
 * The nearest node not yet yielded, waiting in best or in pending: returns
 * where (WAIT_NONE when there is none).
 */
typedef enum IterWaiting
{
	WAIT_NONE,
	WAIT_BEST,
	WAIT_PENDING
} IterWaiting;

static IterWaiting
iter_waiting(N2Iterator *it, N2Candidate *c)
{
	N2Beam	   *b = &it->best;

	if (beam_has_waiting(b) &&
		(it->pending.n == 0 ||
		 nearer(beam_candidate(&b->items[b->next_waiting]), it->pending.items[0])))
	{
		*c = beam_candidate(&b->items[b->next_waiting]);
		return WAIT_BEST;
	}
	if (it->pending.n == 0)
		return WAIT_NONE;
	*c = it->pending.items[0];
	return WAIT_PENDING;
}

bool
n2_iter_next(N2Iterator *it, N2Candidate *out)
{
	for (;;)
	{
		N2Candidate c;
		IterWaiting where;

		if (it->stop == N2_ITER_RUNNING && !iter_converged(it))
		{
			if (it->pause_at > 0 && it->nvisited >= it->pause_at)
			{
				it->pause_at = 0;
				it->paused = true;
				return false;
			}

			/*
			 * A round ends once it holds ef nodes: under a filter few nodes
			 * near the query pass, that can be the whole graph, so the bounds
			 * hold within a round too where the caller finishes exactly from
			 * the last node yielded (stop_at_bound); elsewhere a round cut
			 * short would lose the nodes it had not reached.  Without a
			 * filter a round is bounded by ef, and they are checked as it
			 * widens.
			 */
			if (it->stop_at_bound &&
				(it->member != NULL || it->ops->distances_match != NULL) &&
				!iter_in_bounds(it))
				continue;
			iter_expand(it);
			continue;
		}

		if (it->stop_at_bound &&
			(it->stop == N2_ITER_TUPLE_LIMIT || it->stop == N2_ITER_MEMORY_LIMIT))
			return false;

		/*
		 * Converged (or stopped): everything pending within the ef best is
		 * final; once stopped, whatever is pending is all there will be.
		 */
		if (it->stop != N2_ITER_RUNNING && !iter_flush_out(it))
			return false;
		where = iter_waiting(it, &c);
		if (where != WAIT_NONE &&
			(it->stop != N2_ITER_RUNNING || it->best.n == 0 ||
			 c.dist <= beam_top(&it->best).dist))
		{
			if (where == WAIT_BEST)
				it->best.items[it->best.next_waiting++].waiting = false;
			else
				(void) heap_pop(&it->pending);
			if (it->yielded_any && c.dist < it->last_dist &&
				it->mode == N2_ITER_STRICT)
			{
				it->nskipped++;
				continue;
			}
			if (!it->yielded_any || c.dist > it->last_dist)
				it->last_dist = c.dist;
			it->yielded_any = true;
			*out = c;
			return true;
		}
		if (it->stop != N2_ITER_RUNNING)
			return false;
		iter_widen(it);
	}
}
