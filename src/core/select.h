/*
 * Copyright (c) 2025-2026, the n2 developers
 * select.h
 *		Neighbour selection: HNSW paper algorithm 4 ("heuristic"), the same
 *		with its pruned candidates kept to fill the list to its cap ("keep
 *		pruned") or to half of it ("keep half"), or the closest ones
 *		("naive").  Pure C.
 */
#ifndef N2_CORE_SELECT_H
#define N2_CORE_SELECT_H

#include "search.h"

typedef enum N2SelectMethod
{
	N2_SELECT_HEURISTIC = 0,
	N2_SELECT_NAIVE = 1,
	N2_SELECT_KEEP_PRUNED = 2,
	N2_SELECT_KEEP_HALF = 3
} N2SelectMethod;

/* Distance between two candidate nodes (not involving the base node). */
typedef float (*N2PairDistanceFn) (void *ctx, N2Ref a, N2Ref b);

/*
 * Chooses at most max neighbours for a base node from cands, which must be
 * sorted by ascending distance to it (n2_candidates_sort).  Heuristic keeps a
 * candidate only if it is closer to the base than to every one already kept.
 * Keep pruned does the same, then fills the list up to max with the closest
 * candidates the heuristic rejected (the paper's keepPrunedConnections), never
 * taking a ref twice; keep half fills it only up to max / 2.  Writes the chosen ones to out in ascending distance
 * and returns the count.  out may alias cands (cands is then clobbered).
 *
 * copydist is the base's distance to itself as cands' distances are
 * computed, or NAN when there is none to tell copies by.  A candidate at exactly that distance
 * is a copy of the base (another node with its vector: rows that differ in
 * their filter values): the heuristic keeps it, and it prunes nothing.  A
 * copy would otherwise prune every later candidate (each is exactly as far
 * from it as from the base), leaving the base one link.
 */
extern int	n2_select_neighbors(N2SelectMethod method,
								const N2Candidate *cands, int ncand, int max,
								N2PairDistanceFn pairdist, void *ctx,
								N2Candidate *out, float copydist);

/* Whether a candidate at dist is a copy of a base whose copydist is given. */
static inline bool
n2_is_copy(float dist, float copydist)
{
	return dist == copydist;
}

#endif							/* N2_CORE_SELECT_H */
