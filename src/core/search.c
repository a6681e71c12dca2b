/*
 * Copyright (c) 2025-2026, the n2 developers
 * search.c
 *		Visited sets, candidate heaps and the HNSW layer searches.  Pure C.
 */
#include "search.h"

#include <stdlib.h>
#include <string.h>

#define HASH_MIN_SLOTS 256
#define HASH_MAX_PRESIZE 65536	/* slots sized up front; more by growing */

/* Fibonacci hashing spreads packed (block, offset) refs well enough. */
static inline uint64_t
visited_slot(N2Ref ref, uint64_t mask)
{
	uint64_t	h = ref * UINT64_C(0x9E3779B97F4A7C15);

	return (h ^ (h >> 29)) & mask;
}

bool
n2_visited_init(N2Visited *v, uint64_t dense_capacity)
{
	if (dense_capacity == 0)
		return n2_visited_init_hash(v, 0);
	memset(v, 0, sizeof(*v));
	v->dense_capacity = dense_capacity;
	v->epochs = calloc(dense_capacity, sizeof(uint32_t));
	if (v->epochs == NULL)
		return false;
	v->epoch = 1;
	return true;
}

bool
n2_visited_init_hash(N2Visited *v, uint64_t expected)
{
	uint64_t	nslots = HASH_MIN_SLOTS;

	/* room for expected marks at the load limit of one half */
	while (nslots < 2 * expected && nslots < HASH_MAX_PRESIZE)
		nslots *= 2;
	memset(v, 0, sizeof(*v));
	v->slots = malloc(nslots * sizeof(N2Ref));
	if (v->slots == NULL)
		return false;
	v->nslots = nslots;
	memset(v->slots, 0xff, nslots * sizeof(N2Ref));
	return true;
}

bool
n2_visited_init_paged(N2Visited *v, uint64_t npages, uint64_t expected)
{
	N2VisitedPage *pages = calloc(npages > 0 ? npages : 1, sizeof(N2VisitedPage));

	if (pages == NULL)
		return false;
	if (!n2_visited_init_hash(v, expected))
	{
		free(pages);
		return false;
	}
	v->pages = pages;
	v->npages = npages;
	v->epoch = 1;
	return true;
}

void
n2_visited_free(N2Visited *v)
{
	free(v->epochs);
	free(v->slots);
	free(v->pages);
	memset(v, 0, sizeof(*v));
}

void
n2_visited_reset(N2Visited *v)
{
	if (v->dense_capacity > 0)
	{
		/* After a wrap-around old marks could equal the new epoch. */
		if (++v->epoch == 0)
		{
			memset(v->epochs, 0, v->dense_capacity * sizeof(uint32_t));
			v->epoch = 1;
		}
		return;
	}
	if (v->pages != NULL && ++v->epoch == 0)
	{
		for (uint64_t i = 0; i < v->npages; i++)
			v->pages[i].epoch = 0;
		v->epoch = 1;
	}
	if (v->nused > 0)
		memset(v->slots, 0xff, v->nslots * sizeof(N2Ref));
	v->nused = 0;
}

/* Doubles the hash table; false when out of memory (the old one stays). */
static bool
visited_grow(N2Visited *v)
{
	uint64_t	nslots = v->nslots * 2;
	uint64_t	mask = nslots - 1;
	N2Ref	   *slots = malloc(nslots * sizeof(N2Ref));

	if (slots == NULL)
		return false;
	memset(slots, 0xff, nslots * sizeof(N2Ref));
	for (uint64_t i = 0; i < v->nslots; i++)
	{
		N2Ref		ref = v->slots[i];
		uint64_t	j;

		if (ref == N2_INVALID_REF)
			continue;
		for (j = visited_slot(ref, mask); slots[j] != N2_INVALID_REF; j = (j + 1) & mask)
			;
		slots[j] = ref;
	}
	free(v->slots);
	v->slots = slots;
	v->nslots = nslots;
	return true;
}

int
n2_visited_hash_test_and_set(N2Visited *v, N2Ref ref)
{
	uint64_t	mask;
	uint64_t	j;

	/* Keep the load at most one half so probe sequences stay short. */
	if ((v->nused + 1) * 2 > v->nslots && !visited_grow(v))
		return -1;
	mask = v->nslots - 1;
	for (j = visited_slot(ref, mask); v->slots[j] != N2_INVALID_REF; j = (j + 1) & mask)
	{
		if (v->slots[j] == ref)
			return 1;
	}
	v->slots[j] = ref;
	v->nused++;
	return 0;
}

bool
n2_visited_contains(const N2Visited *v, N2Ref ref)
{
	uint64_t	mask;
	const N2VisitedPage *page;

	if (v->dense_capacity > 0)
		return ref >= v->dense_capacity || v->epochs[ref] == v->epoch;
	if ((page = n2_visited_page(v, ref)) != NULL)
		return page->epoch == v->epoch &&
			(page->bits[(ref & 0xFFFF) / 64] >> ((ref & 0xFFFF) % 64)) & 1;
	if (v->nslots == 0)
		return false;
	mask = v->nslots - 1;
	for (uint64_t j = visited_slot(ref, mask); v->slots[j] != N2_INVALID_REF; j = (j + 1) & mask)
	{
		if (v->slots[j] == ref)
			return true;
	}
	return false;
}

bool
n2_search_init(N2Search *s, uint64_t dense_capacity, int ef_max,
			   int max_degree, bool fixed)
{
	memset(s, 0, sizeof(*s));
	if (ef_max < 1)
		ef_max = 1;
	if (max_degree < 1)
		max_degree = 1;
	s->fixed = fixed;

	/*
	 * Candidates: after compaction at most ef_max remain, and expanding one
	 * node adds at most max_degree; one more keeps the arithmetic simple.
	 */
	s->cand_cap = ef_max + max_degree + 1;
	s->res_cap = ef_max + 1;
	s->nbuf_cap = max_degree;
	s->cand = malloc(s->cand_cap * sizeof(N2Candidate));
	s->res = malloc(s->res_cap * sizeof(N2Candidate));
	s->nbuf = malloc(s->nbuf_cap * sizeof(N2Ref));
	s->dbuf = malloc(s->nbuf_cap * sizeof(float));
	if (s->cand == NULL || s->res == NULL || s->nbuf == NULL ||
		s->dbuf == NULL || !n2_visited_init(&s->visited, dense_capacity))
	{
		n2_search_free(s);
		return false;
	}
	return true;
}

void
n2_search_free(N2Search *s)
{
	n2_visited_free(&s->visited);
	free(s->cand);
	free(s->res);
	free(s->nbuf);
	free(s->dbuf);
	memset(s, 0, sizeof(*s));
}

void
n2_search_reset(N2Search *s)
{
	n2_visited_reset(&s->visited);
	s->ncand = 0;
	s->nres = 0;
}

/* Grows an array of elements to at least need; false when out of memory. */
static bool
grow_array(void **p, int *cap, int need, size_t elsize)
{
	int			newcap = *cap;
	void	   *q;

	while (newcap < need)
		newcap = newcap * 2 + 16;
	q = realloc(*p, (size_t) newcap * elsize);
	if (q == NULL)
		return false;
	*p = q;
	*cap = newcap;
	return true;
}

/* Replaces the farthest result with c, which is closer. */
static inline void
maxheap_replace_top(N2Candidate *h, int n, N2Candidate c)
{
	int			i = 0;

	for (;;)
	{
		int			k = 2 * i + 1;

		if (k >= n)
			break;
		if (k + 1 < n && n2_cand_less(h[k], h[k + 1]))
			k++;
		if (!n2_cand_less(c, h[k]))
			break;
		h[i] = h[k];
		i = k;
	}
	h[i] = c;
}

/*
 * Makes room in a fixed candidate heap.  A candidate farther than the worst
 * result can never be expanded (the loop stops first).  Every other one is
 * still a result (it entered the results when it became a candidate, and
 * leaving them would make it worse than the worst), so at most ef survive and
 * ef < cand_cap.  Returns false if nothing could be dropped, which that
 * bound rules out; the caller then drops the new candidate rather than
 * overflow.
 */
static bool
compact_candidates(N2Search *s)
{
	N2Candidate worst = s->res[0];
	int			n = 0;

	for (int i = 0; i < s->ncand; i++)
	{
		if (!n2_cand_less(worst, s->cand[i]))
			s->cand[n++] = s->cand[i];
	}
	if (n == s->ncand)
		return false;
	/* Re-heapify in place: each push writes only at indexes <= i. */
	s->ncand = 0;
	for (int i = 0; i < n; i++)
		n2_minheap_push(s->cand, &s->ncand, s->cand[i]);
	return true;
}

N2Candidate
n2_search_greedy(N2Search *s, const N2GraphOps *ops, void *ctx,
				 N2Candidate ep, int level)
{
	N2Candidate cur = ep;

	for (;;)
	{
		N2Candidate best = cur;
		int			nn = ops->neighbors(ctx, cur.ref, level, s->nbuf, s->nbuf_cap);

		if (nn <= 0)
			break;
		ops->distances(ctx, s->nbuf, nn, s->dbuf);
		s->ndistances += nn;
		for (int i = 0; i < nn; i++)
		{
			N2Candidate c = {s->dbuf[i], s->nbuf[i]};

			if (n2_cand_less(c, best))
				best = c;
		}
		if (best.ref == cur.ref)
			break;
		cur = best;
	}
	return cur;
}

/* Adds a result; the caller has checked it belongs among the best ef. */
static inline void
add_result(N2Search *s, N2Candidate c, int ef)
{
	if (s->nres < ef)
		n2_maxheap_push(s->res, &s->nres, c);
	else
		maxheap_replace_top(s->res, s->nres, c);
}

/* Adds a candidate to expand; false when out of memory. */
static inline bool
add_candidate(N2Search *s, N2Candidate c)
{
	if (s->ncand >= s->cand_cap)
	{
		if (s->fixed)
		{
			if (!compact_candidates(s))
				return true;
		}
		else if (!grow_array((void **) &s->cand, &s->cand_cap, s->ncand + 1,
							 sizeof(N2Candidate)))
			return false;
	}
	n2_minheap_push(s->cand, &s->ncand, c);
	return true;
}

int
n2_search_layer(N2Search *s, const N2GraphOps *ops, void *ctx,
				const N2Candidate *entries, int nentries,
				int ef, int level, N2Candidate *out)
{
	N2Visited  *v = &s->visited;

	if (ef < 1)
		ef = 1;
	if (ef >= s->res_cap)
	{
		if (s->fixed)
			ef = s->res_cap - 1;
		else if (!grow_array((void **) &s->res, &s->res_cap, ef + 1,
							 sizeof(N2Candidate)))
			return -1;
	}
	n2_search_reset(s);

	for (int i = 0; i < nentries; i++)
	{
		N2Candidate e = entries[i];
		int			r = n2_visited_test_and_set(v, e.ref);

		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (s->nres < ef || n2_cand_less(e, s->res[0]))
		{
			add_result(s, e, ef);
			if (!add_candidate(s, e))
				return -1;
		}
	}

	while (s->ncand > 0)
	{
		N2Candidate c = s->cand[0];
		int			nn;
		int			k = 0;

		if (s->nres >= ef && n2_cand_less(s->res[0], c))
			break;
		n2_minheap_pop(s->cand, &s->ncand);
		if (ops->prefetch != NULL && s->ncand > 0)
			ops->prefetch(ctx, s->cand[0].ref, level);

		nn = ops->neighbors(ctx, c.ref, level, s->nbuf, s->nbuf_cap);
		for (int i = 0; i < nn; i++)
		{
			int			r = n2_visited_test_and_set(v, s->nbuf[i]);

			if (r < 0)
				return -1;
			if (r == 0)
				s->nbuf[k++] = s->nbuf[i];
		}
		if (k == 0)
			continue;
		ops->distances(ctx, s->nbuf, k, s->dbuf);
		s->ndistances += k;

		for (int i = 0; i < k; i++)
		{
			N2Candidate e = {s->dbuf[i], s->nbuf[i]};

			if (s->nres < ef || n2_cand_less(e, s->res[0]))
			{
				add_result(s, e, ef);
				if (!add_candidate(s, e))
					return -1;
			}
		}
	}

	if (out != NULL)
	{
		memcpy(out, s->res, s->nres * sizeof(N2Candidate));
		n2_candidates_sort(out, s->nres);
	}
	return s->nres;
}

/* Sifts c[i] down a max-heap of n under n2_cand_less. */
static void
sift_down(N2Candidate *c, int n, int i)
{
	N2Candidate x = c[i];

	for (;;)
	{
		int			k = 2 * i + 1;

		if (k >= n)
			break;
		if (k + 1 < n && n2_cand_less(c[k], c[k + 1]))
			k++;
		if (!n2_cand_less(x, c[k]))
			break;
		c[i] = c[k];
		i = k;
	}
	c[i] = x;
}

void
n2_candidates_sort(N2Candidate *c, int n)
{
	if (n <= 24)
	{
		for (int i = 1; i < n; i++)
		{
			N2Candidate x = c[i];
			int			j = i;

			for (; j > 0 && n2_cand_less(x, c[j - 1]); j--)
				c[j] = c[j - 1];
			c[j] = x;
		}
		return;
	}
	/* Heapsort: no recursion, no allocation, O(n log n) worst case. */
	for (int i = n / 2 - 1; i >= 0; i--)
		sift_down(c, n, i);
	for (int end = n - 1; end > 0; end--)
	{
		N2Candidate t = c[0];

		c[0] = c[end];
		c[end] = t;
		sift_down(c, end, 0);
	}
}
