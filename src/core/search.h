/*
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
#include <stdint.h>

/* A node: a dense id in memory, a packed (block, offset) on pages. */
typedef uint64_t N2Ref;
#define N2_INVALID_REF UINT64_MAX

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
} N2GraphOps;

/* Visited set: an epoch array for dense ids, an open-addressing hash otherwise. */
typedef struct N2Visited
{
	uint32_t   *epochs;			/* dense mode: one per id */
	uint32_t	epoch;
	uint64_t	dense_capacity; /* 0 = hash mode */
	N2Ref	   *slots;			/* hash mode */
	uint64_t	nslots;			/* power of two */
	uint64_t	nused;
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
 * dense_capacity > 0: refs are ids below it (epoch array); 0: any refs (hash).
 * ef_max and max_degree size the buffers; with fixed = true they never grow,
 * so a worker thread can search without allocating.  Returns false when out
 * of memory.
 */
extern bool n2_search_init(N2Search *s, uint64_t dense_capacity, int ef_max,
						   int max_degree, bool fixed);
extern void n2_search_free(N2Search *s);

/* Forgets visited nodes and candidates (start of a layer or a query). */
extern void n2_search_reset(N2Search *s);

/* Greedy walk on one level from ep to a local minimum (ef = 1). */
extern N2Candidate n2_search_greedy(N2Search *s, const N2GraphOps *ops,
									void *ctx, N2Candidate ep, int level);

/*
 * Beam search of width ef on level from the given entries.  Writes the best
 * min(ef, found) nodes to out in ascending distance and returns how many;
 * returns -1 when out of memory (only possible when not fixed).
 */
extern int	n2_search_layer(N2Search *s, const N2GraphOps *ops, void *ctx,
							const N2Candidate *entries, int nentries,
							int ef, int level, N2Candidate *out);

/* Sorts candidates by ascending distance, ties by ref (deterministic). */
extern void n2_candidates_sort(N2Candidate *c, int n);

#endif							/* N2_CORE_SEARCH_H */
