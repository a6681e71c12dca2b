/*
 * Copyright (c) 2025-2026, the n2 developers
 * search.h
 *		HNSW beam search over any graph reachable through N2GraphOps: the
 *		in-memory graph while building, index pages while scanning.
 *
 * Pure C.  Memory comes from malloc; a search created by the PostgreSQL layer
 * is freed by a memory-context reset callback, so an error cannot leak it.
 */
#ifndef N2_CORE_SEARCH_H
#define N2_CORE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A node: a dense id in memory, a packed (block, offset) on pages. */
typedef uint64_t N2Ref;
#define N2_INVALID_REF UINT64_MAX

/* pg_attribute_always_inline, for a core without PostgreSQL's headers */
#define N2_ALWAYS_INLINE inline __attribute__((always_inline))

typedef struct N2Candidate
{
	float		dist;
	N2Ref		ref;
} N2Candidate;

typedef struct N2GraphOps
{
	/*
	 * Neighbours of ref on level, written to out (room for max); returns how
	 * many.  May return fewer than stored (e.g. skipping deleted nodes).
	 */
	int			(*neighbors) (void *ctx, N2Ref ref, int level, N2Ref *out, int max);

	/* Distances from the query to n nodes (batched so callers can prefetch). */
	void		(*distances) (void *ctx, const N2Ref *refs, int n, float *out);

	/*
	 * Optional, for filtered scans (core/iterate.c): distances as above, and
	 * whether each node passes the scan's filter.
	 */
	void		(*distances_match) (void *ctx, const N2Ref *refs, int n,
									float *out, bool *ok);

	/*
	 * Optional: starts loading what neighbors will read for ref on level,
	 * without waiting for it.
	 */
	void		(*prefetch) (void *ctx, N2Ref ref, int level);
} N2GraphOps;

/* Paged mode's marks for one block: its offsets below N2_VISITED_OFFSETS. */
#define N2_VISITED_OFFSETS 320

typedef struct N2VisitedPage
{
	uint32_t	epoch;			/* the marks are the set's when it is its */
	uint64_t	bits[N2_VISITED_OFFSETS / 64];
} N2VisitedPage;

/*
 * Visited set: an epoch array for dense ids, an open-addressing hash
 * otherwise.  Paged mode, for refs that pack (block << 16) | offset: a
 * bitmap per block of the first npages, each cleared when first touched
 * after a reset, and the hash for other refs.
 */
typedef struct N2Visited
{
	uint32_t   *epochs;			/* dense mode: one per id */
	uint32_t	epoch;			/* dense and paged modes */
	uint64_t	dense_capacity; /* 0 = hash mode */
	N2Ref	   *slots;			/* hash mode */
	uint64_t	nslots;			/* power of two */
	uint64_t	nused;
	N2VisitedPage *pages;		/* paged mode */
	uint64_t	npages;
} N2Visited;

typedef struct N2Search
{
	N2Visited	visited;
	N2Candidate *cand;			/* min-heap: nodes still to expand */
	int			ncand;
	int			cand_cap;
	N2Candidate *res;			/* max-heap: the best ef found */
	int			nres;
	int			res_cap;
	N2Ref	   *nbuf;			/* scratch for one node's neighbours */
	float	   *dbuf;
	int			nbuf_cap;
	bool		fixed;			/* never reallocate after init (build threads) */
	uint64_t	ndistances;		/* distance evaluations, for statistics */
} N2Search;

/*
 * Visited set on its own (n2_search_init sets one up).  Dense mode never
 * allocates after init; hash mode grows as needed.
 */
extern bool n2_visited_init(N2Visited *v, uint64_t dense_capacity);

/* Hash mode with room for about expected marks before it first grows. */
extern bool n2_visited_init_hash(N2Visited *v, uint64_t expected);

/*
 * Paged mode over npages blocks, the hash sized as above: a reset costs
 * nothing, so a set kept from search to search saves clearing the hash.
 */
extern bool n2_visited_init_paged(N2Visited *v, uint64_t npages,
								  uint64_t expected);
extern void n2_visited_free(N2Visited *v);
extern void n2_visited_reset(N2Visited *v);

/* Hash mode's n2_visited_test_and_set. */
extern int	n2_visited_hash_test_and_set(N2Visited *v, N2Ref ref);

/* Paged mode: the marks of ref's block; NULL when the hash holds ref. */
static inline N2VisitedPage *
n2_visited_page(const N2Visited *v, N2Ref ref)
{
	uint64_t	block = ref >> 16;

	if (block >= v->npages || (ref & 0xFFFF) >= N2_VISITED_OFFSETS)
		return NULL;
	return &v->pages[block];
}

/*
 * Marks ref visited.  Returns 1 if it already was, 0 if newly marked, -1 when
 * out of memory (hash mode).  Dense refs at or beyond the capacity count as
 * visited, so they are never followed.  Inline but for the hash: searches
 * test every neighbour they read.
 */
static inline int
n2_visited_test_and_set(N2Visited *v, N2Ref ref)
{
	N2VisitedPage *page;

	if (v->dense_capacity > 0)
	{
		if (ref >= v->dense_capacity)
			return 1;
		if (v->epochs[ref] == v->epoch)
			return 1;
		v->epochs[ref] = v->epoch;
		return 0;
	}
	if ((page = n2_visited_page(v, ref)) != NULL)
	{
		unsigned	off = ref & 0xFFFF;
		uint64_t	word;

		if (page->epoch != v->epoch)
		{
			/* a few words: a loop, not a call of memset */
			for (int w = 0; w < N2_VISITED_OFFSETS / 64; w++)
				page->bits[w] = 0;
			page->epoch = v->epoch;
		}
		/* no branch on the mark, which the walk cannot predict */
		word = page->bits[off / 64];
		page->bits[off / 64] = word | (uint64_t) 1 << (off % 64);
		return (int) (word >> (off % 64) & 1);
	}
	return n2_visited_hash_test_and_set(v, ref);
}

/* Whether ref is marked, without marking it. */
extern bool n2_visited_contains(const N2Visited *v, N2Ref ref);

/*
 * dense_capacity > 0: refs are ids below it (epoch array); 0: any refs (hash).
 * ef_max and max_degree size the buffers; with fixed = true they never grow,
 * so a worker thread can search without allocating (use dense mode then: the
 * hash set grows regardless), and ef is clamped to ef_max.  Every search
 * reads at most max_degree neighbours per node.  Returns false when out of
 * memory.
 */
extern bool n2_search_init(N2Search *s, uint64_t dense_capacity, int ef_max,
						   int max_degree, bool fixed);
extern void n2_search_free(N2Search *s);

/* Forgets visited nodes and candidates (start of a layer or a query). */
extern void n2_search_reset(N2Search *s);

/*
 * Greedy walk on one level from ep to a local minimum (ef = 1).  Uses no
 * visited set: the distance strictly decreases at every step.
 */
extern N2Candidate n2_search_greedy(N2Search *s, const N2GraphOps *ops,
									void *ctx, N2Candidate ep, int level);

/*
 * Beam search of width ef on level from the given entries (whose distances
 * must be set).  Resets s first; afterwards s keeps the state (visited set,
 * unexpanded candidates, result heap) for a caller that wants to go on.
 * Writes the best min(ef, found) nodes to out in ascending distance and
 * returns how many; out may alias entries, and may be NULL to leave the
 * results in s->res only.  Returns -1 when out of memory (only possible when
 * not fixed).
 */
extern int	n2_search_layer(N2Search *s, const N2GraphOps *ops, void *ctx,
							const N2Candidate *entries, int nentries,
							int ef, int level, N2Candidate *out);

/* Sorts candidates by ascending distance, ties by ref (deterministic). */
extern void n2_candidates_sort(N2Candidate *c, int n);

/*
 * Candidate order used everywhere: distance, then ref, so that equal
 * distances never make a result depend on heap layout.
 */
static inline bool
n2_cand_less(N2Candidate a, N2Candidate b)
{
	return a.dist < b.dist || (a.dist == b.dist && a.ref < b.ref);
}

/*
 * Binary heaps over N2Candidate arrays: the caller guarantees room for one
 * more on push and a non-empty heap on pop.  The min-heap has the closest at
 * [0], the max-heap the farthest.
 */
static inline void
n2_minheap_push(N2Candidate *h, int *n, N2Candidate c)
{
	int			i = (*n)++;

	while (i > 0)
	{
		int			p = (i - 1) >> 1;

		if (!n2_cand_less(c, h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = c;
}

static inline N2Candidate
n2_minheap_pop(N2Candidate *h, int *n)
{
	N2Candidate top = h[0];
	N2Candidate last = h[--(*n)];
	int			len = *n;
	int			i = 0;

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= len)
			break;
		if (c + 1 < len && n2_cand_less(h[c + 1], h[c]))
			c++;
		if (!n2_cand_less(h[c], last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (len > 0)
		h[i] = last;
	return top;
}

static inline void
n2_maxheap_push(N2Candidate *h, int *n, N2Candidate c)
{
	int			i = (*n)++;

	while (i > 0)
	{
		int			p = (i - 1) >> 1;

		if (!n2_cand_less(h[p], c))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = c;
}

static inline N2Candidate
n2_maxheap_pop(N2Candidate *h, int *n)
{
	N2Candidate top = h[0];
	N2Candidate last = h[--(*n)];
	int			len = *n;
	int			i = 0;

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= len)
			break;
		if (c + 1 < len && n2_cand_less(h[c], h[c + 1]))
			c++;
		if (!n2_cand_less(last, h[c]))
			break;
		h[i] = h[c];
		i = c;
	}
	if (len > 0)
		h[i] = last;
	return top;
}

#endif							/* N2_CORE_SEARCH_H */
