/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_sweep.c
 *		Unit tests for the bounded-memory exact sweep (sweep.c) and
 *		n2_visited_contains.
 */
#include <stdlib.h>

#include "search.h"
#include "sweep.h"
#include "unit.h"

#define N 1000

static int
cmp_key(const void *pa, const void *pb)
{
	const N2Candidate *a = pa;
	const N2Candidate *b = pb;

	if (a->dist != b->dist)
		return a->dist < b->dist ? -1 : 1;
	return a->ref < b->ref ? -1 : a->ref > b->ref ? 1 : 0;
}

/*
 * Sweeps keys with room for cap and an optional floor; returns how many
 * passes it took and writes the yielded keys to out.
 */
static int
sweep_all(const N2Candidate *keys, int n, size_t cap, bool floor, float fdist,
		  N2Candidate *out, int *nout)
{
	N2Sweep		s;
	int			passes = 0;
	N2Candidate c;

	*nout = 0;
	CHECK(n2_sweep_init(&s, cap), "init");
	if (floor)
		n2_sweep_set_floor(&s, fdist);
	do
	{
		n2_sweep_begin_pass(&s);
		for (int i = 0; i < n; i++)
			n2_sweep_offer(&s, keys[i]);
		n2_sweep_end_pass(&s);
		passes++;
		while (n2_sweep_next(&s, &c))
			out[(*nout)++] = c;
	} while (n2_sweep_needs_pass(&s) && passes <= n + 1);
	n2_sweep_free(&s);
	return passes;
}

static void
test_order_and_passes(void)
{
	static N2Candidate keys[N];
	static N2Candidate sorted[N];
	static N2Candidate out[N];
	int			nout;
	int			passes;
	bool		same = true;

	srand(7);
	for (int i = 0; i < N; i++)
	{
		/* few distinct distances: ties must be broken by ref, none lost */
		keys[i].dist = (float) (rand() % 50);
		keys[i].ref = (N2Ref) i * 3 + 1;
	}
	for (int i = 0; i < N; i++)
		sorted[i] = keys[i];
	qsort(sorted, N, sizeof(N2Candidate), cmp_key);

	for (size_t cap = 1; cap <= 2 * N; cap = cap * 3 + 1)
	{
		passes = sweep_all(keys, N, cap, false, 0, out, &nout);
		CHECK(nout == N, "cap %zu: yielded %d of %d", cap, nout, N);
		same = nout == N;
		for (int i = 0; same && i < N; i++)
			same = out[i].ref == sorted[i].ref && out[i].dist == sorted[i].dist;
		CHECK(same, "cap %zu: every key once, in ascending (dist, ref)", cap);
		CHECK(passes == (int) ((N + cap - 1) / cap) ||
			  passes == (int) ((N + cap - 1) / cap) + 1,
			  "cap %zu: %d passes", cap, passes);
	}
	passes = sweep_all(keys, N, N, false, 0, out, &nout);
	CHECK(passes == 1, "room for all: one pass, got %d", passes);
}

static void
test_floor(void)
{
	static N2Candidate keys[N];
	static N2Candidate out[N];
	int			nout;
	int			expect = 0;
	bool		ok = true;

	for (int i = 0; i < N; i++)
	{
		keys[i].dist = (float) (i % 100);
		keys[i].ref = (N2Ref) i + 1;
		if (keys[i].dist >= 40.0f)
			expect++;
	}
	sweep_all(keys, N, 64, true, 40.0f, out, &nout);
	CHECK(nout == expect, "floor 40: %d keys at or above it, yielded %d", expect, nout);
	for (int i = 0; i < nout; i++)
		ok = ok && out[i].dist >= 40.0f && (i == 0 || cmp_key(&out[i - 1], &out[i]) < 0);
	CHECK(ok, "floor 40: nothing below the floor, strictly ascending");

	sweep_all(keys, N, 64, true, 1000.0f, out, &nout);
	CHECK(nout == 0, "floor above every key: nothing, got %d", nout);
}

/* The array grows with the keys, to the cap and no further. */
static void
test_growth(void)
{
	enum
	{
		MANY = 5000
	};
	static N2Candidate keys[MANY];
	static N2Candidate out[MANY];
	N2Sweep		s;
	int			nout;
	int			passes;
	bool		ok = true;

	for (int i = 0; i < MANY; i++)
	{
		keys[i].dist = (float) ((i * 7919) % MANY);
		keys[i].ref = (N2Ref) i + 1;
	}
	passes = sweep_all(keys, MANY, 3000, false, 0, out, &nout);
	CHECK(nout == MANY && passes == 2, "cap 3000: %d keys in %d passes", nout, passes);
	for (int i = 1; i < nout; i++)
		ok = ok && cmp_key(&out[i - 1], &out[i]) < 0;
	CHECK(ok, "cap 3000: strictly ascending across the growth");

	CHECK(n2_sweep_init(&s, (size_t) 1 << 40), "a bound of 2^40 keys");
	n2_sweep_begin_pass(&s);
	for (int i = 0; i < MANY; i++)
		n2_sweep_offer(&s, keys[i]);
	n2_sweep_end_pass(&s);
	CHECK(s.alloc >= MANY && s.alloc <= 2 * MANY,
		  "room for %zu keys after %d, not the bound", s.alloc, MANY);
	CHECK(!n2_sweep_needs_pass(&s), "all %d fit: one pass", MANY);
	n2_sweep_free(&s);
}

static void
test_visited_contains(void)
{
	N2Visited	hash;
	N2Visited	dense;

	CHECK(n2_visited_init(&hash, 0), "hash init");
	CHECK(!n2_visited_contains(&hash, 42), "empty hash: 42 not visited");
	for (N2Ref r = 0; r < 5000; r += 2)
		n2_visited_test_and_set(&hash, r << 16 | 7);
	CHECK(n2_visited_contains(&hash, (N2Ref) 4000 << 16 | 7), "marked ref found after growth");
	CHECK(!n2_visited_contains(&hash, (N2Ref) 4001 << 16 | 7), "unmarked ref not found");
	CHECK(n2_visited_test_and_set(&hash, (N2Ref) 4001 << 16 | 7) == 0,
		  "contains did not mark it");
	n2_visited_free(&hash);

	CHECK(n2_visited_init(&dense, 100), "dense init");
	n2_visited_test_and_set(&dense, 5);
	CHECK(n2_visited_contains(&dense, 5) && !n2_visited_contains(&dense, 6),
		  "dense: 5 marked, 6 not");
	n2_visited_reset(&dense);
	CHECK(!n2_visited_contains(&dense, 5), "dense: reset forgets 5");
	n2_visited_free(&dense);
}

int
main(void)
{
	test_order_and_passes();
	test_floor();
	test_growth();
	test_visited_contains();
	UNIT_DONE();
}
