/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_reach.c
 *		Unit tests of the level-0 reachability walk and its reconnection.
 */
#include <string.h>

#include "reach.h"
#include "unit.h"

/*
 * A graph on refs 100 + slot, so that a walk confusing refs with slots
 * fails: adjacency lists of up to 4 links, -1 terminated.
 */
#define N 200
#define DEG 4

static int	adj[N][DEG];
static int	nlinked;
static int	polls;
static int64_t parent[N];

static int
neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	int			n = 0;

	for (int i = 0; i < DEG && i < max && adj[ref - 100][i] >= 0; i++)
		out[n++] = (N2Ref) adj[ref - 100][i] + 100;
	return n;
}

static const N2GraphOps graph = {neighbors, NULL, NULL, NULL};

static int64_t
slot_of(void *ctx, N2Ref ref)
{
	return ref >= 100 && ref < 100 + N ? (int64_t) (ref - 100) : -1;
}

static N2Ref
ref_of(void *ctx, uint64_t slot)
{
	return slot + 100;
}

static void
reached(void *ctx, uint64_t slot, int64_t from)
{
	parent[slot] = from;
}

static void
poll(void *ctx)
{
	polls++;
}

static const N2ReachOps ops = {slot_of, ref_of, reached, poll};

static void
clear(void)
{
	memset(adj, -1, sizeof(adj));
	for (int i = 0; i < N; i++)
		parent[i] = -2;
	polls = 0;
}

static void
link(int from, int to)
{
	for (int i = 0; i < DEG; i++)
	{
		if (adj[from][i] < 0)
		{
			adj[from][i] = to;
			return;
		}
	}
}

/* Caller-kept marks: the walk's two bitmaps and a live map, counted. */
static uint64_t own_bits[3][N / 64 + 1];
static int	own_calls;

static uint64_t *
own_word(void *ctx, int map, uint64_t word, bool dirty)
{
	own_calls++;
	return &own_bits[map][word];
}

static const N2ReachMarks own_marks = {own_word, NULL};

/* Links the orphan from slot 0, a reachable node. */
static bool
connect(void *ctx, uint64_t slot)
{
	N2Reach    *r = (N2Reach *) ctx;

	if (!n2_reach_seen(r, 0) || n2_reach_seen(r, slot))
		return false;
	adj[0][DEG - 1] = (int) slot;
	nlinked++;
	return true;
}

int
main(void)
{
	N2Reach		r;
	uint64_t	slot;
	int			nseen;

	/*
	 * A binary tree over 0..126 plus a cycle among 150..159; the rest
	 * unlinked.
	 */
	for (uint64_t stack = 1; stack <= 1024; stack *= 32)
	{
		clear();
		for (int i = 1; i < 127; i++)
			link((i - 1) / 2, i);
		for (int i = 150; i < 160; i++)
			link(i, i == 159 ? 150 : i + 1);
		CHECK(n2_reach_init(&r, &graph, NULL, &ops, NULL, NULL, N, stack, DEG),
			  "init with stack %lu", (unsigned long) stack);
		n2_reach_from(&r, 0);
		nseen = 0;
		for (int i = 0; i < N; i++)
			nseen += n2_reach_seen(&r, i);
		CHECK(nseen == 127, "stack %lu: %d reached, want the 127 of the tree",
			  (unsigned long) stack, nseen);
		CHECK(polls == 127, "each reached node's links read once: %d", polls);
		CHECK(parent[0] == -1 && parent[5] == 2 && parent[126] == 62,
			  "parents %ld %ld %ld", (long) parent[0], (long) parent[5],
			  (long) parent[126]);
		slot = 0;
		CHECK(n2_reach_next_unseen(&r, -1, &slot) && slot == 127,
			  "first unseen slot %lu", (unsigned long) slot);
		n2_reach_free(&r);
	}

	/*
	 * Only live slots count as orphans; each connection marks what it
	 * reaches.
	 */
	clear();
	link(0, 1);
	for (int i = 150; i < 160; i++)
		link(i, i == 159 ? 150 : i + 1);
	memset(own_bits, 0, sizeof(own_bits));
	for (int i = 0; i < 2; i++)
		own_bits[2][i / 64] |= UINT64_C(1) << (i % 64);
	for (int i = 150; i < 160; i++)
		own_bits[2][i / 64] |= UINT64_C(1) << (i % 64);
	own_bits[2][199 / 64] |= UINT64_C(1) << (199 % 64);
	CHECK(n2_reach_init(&r, &graph, NULL, &ops, NULL, &own_marks, N, 2, DEG), "init");
	n2_reach_from(&r, 0);
	nlinked = 0;
	CHECK(n2_reach_connect(&r, 2, connect, &r) == 2,
		  "two orphans linked: the cycle's first and slot 199");
	CHECK(nlinked == 2, "connect called for 150 and 199 only: %d", nlinked);
	for (int i = 150; i < 160; i++)
		CHECK(n2_reach_seen(&r, i), "cycle member %d reached after one connection", i);
	CHECK(!n2_reach_seen(&r, 170), "a slot outside live stays unreached");
	slot = 0;
	CHECK(!n2_reach_next_unseen(&r, 2, &slot), "no live orphan left");
	CHECK(own_calls > 0 && r.bits == NULL, "the caller's marks were used, none allocated");
	CHECK((own_bits[0][0] & 3) == 3 && own_bits[1][0] == 0,
		  "seen bits in the caller's map 0, pending all cleared in map 1");
	CHECK(n2_reach_marks_memory(N) >= 2 * (N / 8), "marks take two bits a slot");
	n2_reach_free(&r);
	UNIT_DONE();
}
