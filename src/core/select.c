/*
 * Copyright (c) 2025-2026, the n2 developers
 * select.c
 *		Neighbour selection (HNSW paper algorithm 4, or the closest).  Pure C.
 */
#include "select.h"

int
n2_select_neighbors(N2SelectMethod method,
					const N2Candidate *cands, int ncand, int max,
					N2PairDistanceFn pairdist, void *ctx,
					N2Candidate *out)
{
	int			nkept = 0;

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

	/*
	 * Keep e only if it is closer to the base than to every neighbour kept so
	 * far: otherwise the base reaches e through that neighbour already.  out
	 * never overtakes cands (nkept <= i), so aliasing is safe.
	 */
	for (int i = 0; i < ncand && nkept < max; i++)
	{
		N2Candidate e = cands[i];
		bool		keep = true;

		for (int j = 0; j < nkept; j++)
		{
			if (pairdist(ctx, e.ref, out[j].ref) <= e.dist)
			{
				keep = false;
				break;
			}
		}
		if (keep)
			out[nkept++] = e;
	}
	return nkept;
}
