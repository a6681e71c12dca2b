/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_repair.c
 *		Unit tests for n2_graph_connect_orphans.
 */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "repair.h"
#include "unit.h"

#define N 6

static void
set_list(N2Graph *g, uint32_t node, int n, const uint32_t *ids)
{
	uint32_t   *list = n2_graph_links(g, node, 0);

	list[0] = (uint32_t) n;
	memcpy(list + 1, ids, sizeof(uint32_t) * n);
}

/* How many nodes a level-0 traversal from the entry reaches. */
static int
reachable(const N2Graph *g)
{
	int		   *seen = calloc(g->n, sizeof(int));
	int		   *queue = malloc(sizeof(int) * g->n);
	int			head = 0;
	int			tail = 0;

	seen[g->entry] = 1;
	queue[tail++] = (int) g->entry;
	while (head < tail)
	{
		const uint32_t *l = n2_graph_links(g, (uint32_t) queue[head++], 0);

		for (uint32_t i = 0; i < l[0]; i++)
		{
			if (!seen[l[1 + i]])
			{
				seen[l[1 + i]] = 1;
				queue[tail++] = (int) l[1 + i];
			}
		}
	}
	free(seen);
	free(queue);
	return tail;
}

static uint64_t rng_state;

static uint32_t
rng(void)
{
	return unit_rng(&rng_state);
}

/*
 * Random graphs where most nodes are orphans or reached only through long
 * chains, with lists often full and max_m0 down to 1: one call must leave
 * every node reachable with every list within its cap, free of self and
 * duplicate links.
 */
static void
random_graphs(void)
{
	int			bad = 0;

	for (int seed = 1; seed <= 2000; seed++)
	{
		N2GraphParams p = {0};
		N2Graph		g;
		uint32_t	n = 2 + (uint32_t) seed % 97;
		float	   *vectors = calloc(n * 2, sizeof(float));
		uint8_t    *levels = calloc(n, 1);
		int64_t		fixed;

		rng_state = (uint64_t) seed;
		p.metric = N2_METRIC_L2;
		p.dim = 2;
		p.m = 2;
		p.max_m0 = 1 + seed % 4;
		p.ef_construction = 4;
		if (n2_graph_init(&g, &p, vectors, n, levels) != 0)
		{
			CHECK(0, "init seed %d", seed);
			return;
		}
		g.entry = rng() % n;
		g.max_level = 0;
		for (uint32_t u = 0; u < n; u++)
		{
			uint32_t   *l = n2_graph_links(&g, u, 0);
			uint32_t	want = rng() % (uint32_t) (p.max_m0 + 1);

			l[0] = 0;
			for (uint32_t tries = 0; l[0] < want && tries < 8; tries++)
			{
				uint32_t	x = rng() % n;
				bool		dup = x == u;

				for (uint32_t i = 0; i < l[0]; i++)
					dup |= l[1 + i] == x;
				if (!dup)
					l[1 + l[0]++] = x;
			}
		}
		fixed = n2_graph_connect_orphans(&g);
		if (fixed < 0 || reachable(&g) != (int) n)
			bad++;
		for (uint32_t u = 0; u < n; u++)
		{
			const uint32_t *l = n2_graph_links(&g, u, 0);

			if (l[0] > (uint32_t) p.max_m0)
				bad++;
			for (uint32_t i = 0; i < l[0]; i++)
			{
				if (l[1 + i] == u || l[1 + i] >= n)
					bad++;
				for (uint32_t j = 0; j < i; j++)
					bad += l[1 + j] == l[1 + i];
			}
		}
		if (n2_graph_connect_orphans(&g) != 0)
			bad++;
		n2_graph_free(&g);
		free(vectors);
		free(levels);
	}
	CHECK(bad == 0, "2000 random graphs: every node reachable, lists valid (%d problems)", bad);
}

/*
 * An orphan whose near neighbours are all full is linked from one of them,
 * in place of a node it links to itself, or else of the neighbour's last
 * link, rather than from the entry point's free slot: a search for its
 * vector passes its neighbours, hardly ever the entry point's level-0 list.
 */
static void
near_neighbour_preferred(void)
{
	N2GraphParams p = {0};
	N2Graph		g;
	float		vectors[5 * 2] = {0};
	uint8_t		levels[5] = {0};

	p.metric = N2_METRIC_L2;
	p.dim = 2;
	p.m = 2;
	p.max_m0 = 2;
	p.ef_construction = 4;
	CHECK(n2_graph_init(&g, &p, vectors, 5, levels) == 0, "init");
	g.entry = 0;
	g.max_level = 0;
	set_list(&g, 0, 1, (uint32_t[]) {1});
	set_list(&g, 1, 2, (uint32_t[]) {2, 3});
	set_list(&g, 2, 2, (uint32_t[]) {1, 0});
	set_list(&g, 3, 2, (uint32_t[]) {1, 2});
	set_list(&g, 4, 2, (uint32_t[]) {1, 3});
	CHECK(n2_graph_connect_orphans(&g) == 1, "one orphan connected");
	CHECK(reachable(&g) == 5, "every node reachable (%d of 5)", reachable(&g));
	{
		const uint32_t *l1 = n2_graph_links(&g, 1, 0);
		const uint32_t *l0 = n2_graph_links(&g, 0, 0);

		CHECK(l1[0] == 2 && l1[1] == 2 && l1[2] == 4,
			  "neighbour 1 gave 4 the slot of 3, which 4 links to");
		CHECK(l0[0] == 1, "the entry point's free slot stays free");
	}

	/* 4 links only to 2, which is full: 2 gives 4 its last slot */
	set_list(&g, 1, 2, (uint32_t[]) {2, 3});
	set_list(&g, 3, 2, (uint32_t[]) {1, 2});
	set_list(&g, 4, 1, (uint32_t[]) {2});
	CHECK(n2_graph_connect_orphans(&g) == 1, "one orphan connected");
	CHECK(reachable(&g) == 5, "every node reachable (%d of 5)", reachable(&g));
	{
		const uint32_t *l2 = n2_graph_links(&g, 2, 0);
		const uint32_t *l4 = n2_graph_links(&g, 4, 0);
		const uint32_t *l0 = n2_graph_links(&g, 0, 0);

		CHECK(l2[0] == 2 && l2[1] == 1 && l2[2] == 4,
			  "neighbour 2 gave 4 its last slot");
		CHECK(l4[0] == 2 && l4[1] == 2 && l4[2] == 0, "4 links to 0 instead");
		CHECK(l0[0] == 1, "the entry point's free slot stays free");
	}
	n2_graph_free(&g);
}

int
main(void)
{
	N2GraphParams p = {0};
	N2Graph		g;
	float		vectors[N * 2] = {0};
	uint8_t		levels[N] = {0};

	p.metric = N2_METRIC_L2;
	p.dim = 2;
	p.m = 2;
	p.max_m0 = 2;
	p.ef_construction = 4;
	p.mult = 0;
	CHECK(n2_graph_init(&g, &p, vectors, N, levels) == 0, "init");
	g.entry = 0;
	g.max_level = 0;

	/* 0 <-> 1 <-> 2 form the reachable part; 3 and 4 point in, nothing
	 * points at them; 5 points at 4 only. Lists of 0 and 1 are full. */
	set_list(&g, 0, 2, (uint32_t[]) {1, 2});
	set_list(&g, 1, 2, (uint32_t[]) {0, 2});
	set_list(&g, 2, 1, (uint32_t[]) {1});
	set_list(&g, 3, 1, (uint32_t[]) {2});
	set_list(&g, 4, 2, (uint32_t[]) {3, 0});
	set_list(&g, 5, 1, (uint32_t[]) {4});
	CHECK(reachable(&g) == 3, "precondition: 3 reachable, got %d", reachable(&g));

	CHECK(n2_graph_connect_orphans(&g) > 0, "orphans reconnected");
	CHECK(reachable(&g) == N, "every node reachable afterwards (%d of %d)",
		  reachable(&g), N);
	/* 3's neighbour 2 had a free slot, so 2 now links to 3 */
	{
		const uint32_t *l = n2_graph_links(&g, 2, 0);

		CHECK(l[0] == 2 && l[2] == 3, "free slot used first");
	}
	for (uint32_t u = 0; u < N; u++)
	{
		const uint32_t *l = n2_graph_links(&g, u, 0);

		CHECK(l[0] <= (uint32_t) p.max_m0, "degree of %u within cap", u);
		for (uint32_t i = 0; i < l[0]; i++)
			CHECK(l[1 + i] != u, "no self link at %u", u);
	}
	CHECK(n2_graph_connect_orphans(&g) == 0, "second run finds nothing");
	n2_graph_free(&g);

	near_neighbour_preferred();
	random_graphs();
	UNIT_DONE();
}
