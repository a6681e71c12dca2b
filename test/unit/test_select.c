/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_select.c
 *		Neighbour selection on small planar cases with known answers.
 */
#include <string.h>

#include "select.h"
#include "unit.h"

/* Points in the plane, base at the origin; refs index this table. */
static const float pts[][2] = {
	{0.0f, 0.0f},				/* 0: base */
	{1.0f, 0.0f},				/* 1: A, closest */
	{2.0f, 0.0f},				/* 2: B, behind A */
	{0.0f, 1.5f},				/* 3: C, off to the side */
	{-2.0f, 0.0f},				/* 4: D, opposite A */
	{0.5f, 2.0f},				/* 5: F, as far from the base as from A */
	{1.0f, 1.0f},				/* 6: E, behind A and C */
};

static int	npairs;

static float
sqdist(int a, int b)
{
	float		dx = pts[a][0] - pts[b][0];
	float		dy = pts[a][1] - pts[b][1];

	return dx * dx + dy * dy;
}

static float
pairdist(void *ctx, N2Ref a, N2Ref b)
{
	npairs++;
	return sqdist((int) a, (int) b);
}

/* Candidates for the base, sorted, from a list of point indexes. */
static int
make_cands(const int *ids, int n, N2Candidate *out)
{
	for (int i = 0; i < n; i++)
	{
		out[i].ref = ids[i];
		out[i].dist = sqdist(0, ids[i]);
	}
	n2_candidates_sort(out, n);
	return n;
}

static bool
same_refs(const N2Candidate *c, int n, const int *want, int nwant)
{
	if (n != nwant)
		return false;
	for (int i = 0; i < n; i++)
	{
		if (c[i].ref != (N2Ref) want[i])
			return false;
	}
	return true;
}

int
main(void)
{
	N2Candidate cands[8];
	N2Candidate out[8];
	int			n;

	/* By distance A 1, E 2, C 2.25, B 4, D 4: E and B hide behind A. */
	{
		int			ids[] = {1, 2, 3, 4, 6};
		int			want[] = {1, 3, 4};
		int			want2[] = {1, 3};

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, out);
		CHECK(same_refs(out, n, want, 3), "heuristic kept %d", n);
		for (int i = 1; i < n; i++)
			CHECK(out[i - 1].dist <= out[i].dist, "ascending at %d", i);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 2, pairdist, NULL, out);
		CHECK(same_refs(out, n, want2, 2), "heuristic capped kept %d", n);
	}

	/* Naive keeps the closest, hidden or not. */
	{
		int			ids[] = {1, 2, 3, 4, 6};
		int			want[] = {1, 6, 3};

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_NAIVE, cands, n, 3, pairdist, NULL, out);
		CHECK(same_refs(out, n, want, 3), "naive kept %d", n);

		npairs = 0;
		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_NAIVE, cands, n, 10, pairdist, NULL, out);
		CHECK(n == 5, "naive keeps all when under the cap: %d", n);
		CHECK(npairs == 0, "naive needs no pair distances: %d", npairs);
	}

	/* Equal distance to the base and to a kept one prunes (strict test). */
	{
		int			ids[] = {1, 5};
		int			want[] = {1};

		CHECK(sqdist(5, 0) == sqdist(5, 1), "F is equidistant");
		n = make_cands(ids, 2, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, out);
		CHECK(same_refs(out, n, want, 1), "tie pruned, kept %d", n);
	}

	/* In place: out aliasing cands. */
	{
		int			ids[] = {6, 4, 3, 2, 1};
		int			want[] = {1, 3, 4};

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, cands);
		CHECK(same_refs(cands, n, want, 3), "in-place heuristic kept %d", n);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_NAIVE, cands, n, 2, pairdist, NULL, cands);
		CHECK(n == 2 && cands[0].ref == 1 && cands[1].ref == 6, "in-place naive");
	}

	/* Degenerate inputs. */
	{
		int			ids[] = {1, 2};

		n = make_cands(ids, 2, cands);
		CHECK(n2_select_neighbors(N2_SELECT_HEURISTIC, cands, 0, 4, pairdist, NULL, out) == 0,
			  "no candidates");
		CHECK(n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 0, pairdist, NULL, out) == 0,
			  "no room");
		CHECK(n2_select_neighbors(N2_SELECT_NAIVE, cands, n, 0, pairdist, NULL, out) == 0,
			  "no room, naive");
	}

	/* A duplicate of a kept neighbour is pruned, since 0 <= its distance. */
	{
		N2Candidate dup[2] = {{1.0f, 1}, {1.0f, 1}};

		n = n2_select_neighbors(N2_SELECT_HEURISTIC, dup, 2, 4, pairdist, NULL, out);
		CHECK(n == 1, "duplicate pruned: %d", n);
	}

	UNIT_DONE();
}
