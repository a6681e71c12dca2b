/*
 * Copyright (c) 2025-2026, the n2 developers
 * select.c
 *		Neighbour selection (HNSW paper algorithm 4, with or without its
 *		pruned candidates kept up to a fill target, or the closest).  Pure C.
 */
#include "select.h"

#include <string.h>

static bool
has_ref(const N2Candidate *c, int n, N2Ref ref)
{
	for (int i = 0; i < n; i++)
	{
		if (c[i].ref == ref)
			return true;
	}
	return false;
}

int
n2_select_neighbors(N2SelectMethod method,
					const N2Candidate *cands, int ncand, int max,
					N2PairDistanceFn pairdist, void *ctx,
					N2Candidate *out, float copydist)
{
	bool		in_place = out == cands;
	int			fill;
	int			nkept = 0;
	int			nseen;
	int			first;

	if (max <= 0)
		return 0;

	if (method == N2_SELECT_NAIVE)
	{
		nkept = ncand < max ? ncand : max;
		/* Forward copy is safe when out aliases cands. */
		for (int i = 0; i < nkept; i++)
			out[i] = cands[i];
		return nkept;
	}
	fill = method == N2_SELECT_KEEP_PRUNED ? max :
		method == N2_SELECT_KEEP_HALF ? max / 2 : 0;

	/*
	 * Keep e only if it is closer to the base than to every neighbour kept so
	 * far: otherwise the base reaches e through that neighbour already.  out
	 * never overtakes cands (nkept <= i), so aliasing is safe.
	 */
	for (nseen = 0; nseen < ncand && nkept < max; nseen++)
	{
		N2Candidate e = cands[nseen];
		bool		keep = true;

		for (int j = 0; j < nkept && !n2_is_copy(e.dist, copydist); j++)
		{
			if (!n2_is_copy(out[j].dist, copydist) &&
				pairdist(ctx, e.ref, out[j].ref) <= e.dist)
			{
				keep = false;
				break;
			}
		}
		if (!keep)
			continue;

		/*
		 * In place, the rejected ones seen so far move up behind e, so that
		 * they survive, in order, for the fill below.
		 */
		if (fill > 0 && in_place && nseen > nkept)
			memmove(out + nkept + 1, out + nkept,
					(size_t) (nseen - nkept) * sizeof(N2Candidate));
		out[nkept++] = e;
	}
	if (nkept >= fill)
		return nkept;

	/*
	 * Every candidate was seen and the list is short of the fill target: fill
	 * it with the closest rejected ones.  In place they sit right behind the
	 * kept ones; otherwise they are the candidates not kept.  has_ref also
	 * keeps out a ref the input repeats.
	 */
	first = in_place ? nkept : 0;
	for (int i = first; i < nseen && nkept < fill; i++)
	{
		if (!has_ref(out, nkept, cands[i].ref))
			out[nkept++] = cands[i];
	}
	n2_candidates_sort(out, nkept);
	return nkept;
}
