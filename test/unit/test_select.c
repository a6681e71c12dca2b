/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_select.c
 *		Neighbour selection on small planar cases with known answers.
 */
#include <math.h>
#include <stdint.h>
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
	{0.0f, 0.0f},				/* 7: a copy of the base */
	{0.0f, 0.0f},				/* 8: another copy */
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

/* Random points for the property checks; base is point 0. */
#define NRAND 200
static float rpts[NRAND][3];

static float
rsqdist(int a, int b)
{
	float		d = 0;

	for (int k = 0; k < 3; k++)
		d += (rpts[a][k] - rpts[b][k]) * (rpts[a][k] - rpts[b][k]);
	return d;
}

static float
rpairdist(void *ctx, N2Ref a, N2Ref b)
{
	return rsqdist((int) a, (int) b);
}

static bool
in_list(const N2Candidate *c, int n, N2Ref ref)
{
	for (int i = 0; i < n; i++)
	{
		if (c[i].ref == ref)
			return true;
	}
	return false;
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

	/*
	 * Copies of the base (nodes with its vector, at its distance to itself, 0
	 * here).  Unmarked, the first prunes every later candidate: each is as
	 * far from it as from the base.  Marked (copydist 0), both are kept and
	 * prune nothing: the rest is chosen as without them (A, C, D).
	 */
	{
		int			ids[] = {7, 8, 1, 2, 3, 4, 6};
		int			unmarked[] = {7};
		int			marked[] = {7, 8, 1, 3, 4};

		n = make_cands(ids, 7, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, unmarked, 1), "an unmarked copy prunes all the rest");
		n = make_cands(ids, 7, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, out, 0.0f);
		CHECK(same_refs(out, n, marked, 5), "copies kept, pruning nothing: %d kept", n);
		n = make_cands(ids, 7, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, cands, 0.0f);
		CHECK(same_refs(cands, n, marked, 5), "the same in place");
		n = make_cands(ids, 7, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 3, pairdist, NULL, out, 0.0f);
		CHECK(same_refs(out, n, marked, 3), "copies first under a cap of 3");
		n = make_cands(ids, 7, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_PRUNED, cands, n, 7, pairdist, NULL, out, 0.0f);
		CHECK(n == 7 && in_list(out, n, 2) && in_list(out, n, 6),
			  "keep pruned fills after the copies: %d", n);
	}

	/* By distance A 1, E 2, C 2.25, B 4, D 4: E and B hide behind A. */
	{
		int			ids[] = {1, 2, 3, 4, 6};
		int			want[] = {1, 3, 4};
		int			want2[] = {1, 3};

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want, 3), "heuristic kept %d", n);
		for (int i = 1; i < n; i++)
			CHECK(out[i - 1].dist <= out[i].dist, "ascending at %d", i);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 2, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want2, 2), "heuristic capped kept %d", n);
	}

	/* Naive keeps the closest, hidden or not. */
	{
		int			ids[] = {1, 2, 3, 4, 6};
		int			want[] = {1, 6, 3};

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_NAIVE, cands, n, 3, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want, 3), "naive kept %d", n);

		npairs = 0;
		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_NAIVE, cands, n, 10, pairdist, NULL, out, NAN);
		CHECK(n == 5, "naive keeps all when under the cap: %d", n);
		CHECK(npairs == 0, "naive needs no pair distances: %d", npairs);
	}

	/* Equal distance to the base and to a kept one prunes (strict test). */
	{
		int			ids[] = {1, 5};
		int			want[] = {1};

		CHECK(sqdist(5, 0) == sqdist(5, 1), "F is equidistant");
		n = make_cands(ids, 2, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want, 1), "tie pruned, kept %d", n);
	}

	/* In place: out aliasing cands. */
	{
		int			ids[] = {6, 4, 3, 2, 1};
		int			want[] = {1, 3, 4};

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 8, pairdist, NULL, cands, NAN);
		CHECK(same_refs(cands, n, want, 3), "in-place heuristic kept %d", n);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_NAIVE, cands, n, 2, pairdist, NULL, cands, NAN);
		CHECK(n == 2 && cands[0].ref == 1 && cands[1].ref == 6, "in-place naive");
	}

	/* Degenerate inputs. */
	{
		int			ids[] = {1, 2};

		n = make_cands(ids, 2, cands);
		CHECK(n2_select_neighbors(N2_SELECT_HEURISTIC, cands, 0, 4, pairdist, NULL, out, NAN) == 0,
			  "no candidates");
		CHECK(n2_select_neighbors(N2_SELECT_HEURISTIC, cands, n, 0, pairdist, NULL, out, NAN) == 0,
			  "no room");
		CHECK(n2_select_neighbors(N2_SELECT_NAIVE, cands, n, 0, pairdist, NULL, out, NAN) == 0,
			  "no room, naive");
	}

	/* A duplicate of a kept neighbour is pruned, since 0 <= its distance. */
	{
		N2Candidate dup[2] = {{1.0f, 1}, {1.0f, 1}};

		n = n2_select_neighbors(N2_SELECT_HEURISTIC, dup, 2, 4, pairdist, NULL, out, NAN);
		CHECK(n == 1, "duplicate pruned: %d", n);
	}

	/*
	 * Keep pruned: the heuristic's choice ({A, C, D}), then the closest
	 * rejected (E at 2, then B at 4), all in ascending distance.
	 */
	{
		int			ids[] = {1, 2, 3, 4, 6};
		int			want[] = {1, 6, 3, 2, 4};
		int			want4[] = {1, 6, 3, 4};
		int			want2[] = {1, 3};
		int			heur[] = {1, 3, 4};

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_PRUNED, cands, n, 8, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want, 5), "keep pruned takes all five: %d", n);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_PRUNED, cands, n, 4, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want4, 4), "keep pruned fills with the closest rejected: %d", n);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_PRUNED, cands, n, 4, pairdist, NULL, cands, NAN);
		CHECK(same_refs(cands, n, want4, 4), "in-place keep pruned: %d", n);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_PRUNED, cands, n, 2, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want2, 2), "a list the heuristic fills gets no pruned: %d", n);

		n = make_cands(ids, 5, cands);
		CHECK(n2_select_neighbors(N2_SELECT_KEEP_PRUNED, cands, n, 0, pairdist, NULL, out, NAN) == 0,
			  "keep pruned, no room");

		/* Keep half fills only to half the cap. */
		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_HALF, cands, n, 8, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want4, 4), "keep half fills to 4 of 8: %d", n);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_HALF, cands, n, 8, pairdist, NULL, cands, NAN);
		CHECK(same_refs(cands, n, want4, 4), "in-place keep half: %d", n);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_HALF, cands, n, 10, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want, 5), "keep half, 5 of 10 takes all five: %d", n);

		n = make_cands(ids, 5, cands);
		n = n2_select_neighbors(N2_SELECT_KEEP_HALF, cands, n, 4, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, heur, 3),
			  "keep half past half the cap is the heuristic: %d", n);
	}

	/* A repeated ref is never taken twice, in place or not. */
	{
		N2Candidate dup[3] = {{1.0f, 1}, {1.0f, 1}, {4.0f, 2}};
		int			want[] = {1, 2};

		n = n2_select_neighbors(N2_SELECT_KEEP_PRUNED, dup, 3, 4, pairdist, NULL, out, NAN);
		CHECK(same_refs(out, n, want, 2), "keep pruned skips the repeat: %d", n);
		n = n2_select_neighbors(N2_SELECT_KEEP_PRUNED, dup, 3, 4, pairdist, NULL, dup, NAN);
		CHECK(same_refs(dup, n, want, 2), "in place too: %d", n);
	}

	/*
	 * Properties over random sets: keep pruned returns min(cap, candidates)
	 * distinct refs, keep half max(heuristic's, min(cap / 2, candidates)), in
	 * ascending distance, every one the heuristic keeps, and no rejected
	 * candidate left out is closer than one taken; in place gives the same
	 * list.
	 */
	{
		uint64_t	x = 88172645463325252ULL;
		N2Candidate rc[NRAND],
					rin[NRAND],
					rout[NRAND],
					rheur[NRAND];
		int			bad = 0;

		for (int trial = 0; trial < 400; trial++)
		{
			N2SelectMethod method = trial % 2 ? N2_SELECT_KEEP_HALF : N2_SELECT_KEEP_PRUNED;
			int			ncand = 1 + trial / 2 % (NRAND - 1);
			int			cap = 1 + (trial / 2 * 7) % 40;
			int			fill = method == N2_SELECT_KEEP_HALF ? cap / 2 : cap;
			int			want;
			int			nh,
						nk,
						ni;

			for (int i = 0; i < NRAND; i++)
			{
				for (int k = 0; k < 3; k++)
				{
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					rpts[i][k] = (float) (x % 1000) / 100.0f;
				}
			}
			for (int i = 0; i < ncand; i++)
			{
				rc[i].ref = (N2Ref) (i + 1);
				rc[i].dist = rsqdist(0, i + 1);
			}
			n2_candidates_sort(rc, ncand);
			memcpy(rin, rc, sizeof(N2Candidate) * ncand);

			nh = n2_select_neighbors(N2_SELECT_HEURISTIC, rc, ncand, cap, rpairdist, NULL, rheur, NAN);
			nk = n2_select_neighbors(method, rc, ncand, cap, rpairdist, NULL, rout, NAN);
			ni = n2_select_neighbors(method, rin, ncand, cap, rpairdist, NULL, rin, NAN);

			want = ncand < fill ? ncand : fill;
			bad += nk != (nh > want ? nh : want);
			bad += ni != nk;
			for (int i = 0; i < nk && i < ni; i++)
			{
				bad += rin[i].ref != rout[i].ref;
				bad += i > 0 && rout[i - 1].dist > rout[i].dist;
				bad += in_list(rout, i, rout[i].ref);
			}
			for (int i = 0; i < nh; i++)
				bad += !in_list(rout, nk, rheur[i].ref);
			for (int i = 0; i < ncand; i++)
			{
				if (in_list(rout, nk, rc[i].ref))
					continue;
				for (int j = 0; j < nk; j++)
					bad += !in_list(rheur, nh, rout[j].ref) && rout[j].dist > rc[i].dist;
			}
		}
		CHECK(bad == 0, "keep pruned and keep half properties: %d violations", bad);
	}

	UNIT_DONE();
}
