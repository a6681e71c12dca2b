/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_order.c
 *		Unit tests for n2_graph_page_order.
 */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "order.h"
#include "unit.h"

static uint64_t rng_state;

static uint32_t
rng(void)
{
	return unit_rng(&rng_state);
}

static uint32_t
fixed_bytes(void *arg, uint32_t node)
{
	(void) node;
	return *(const uint32_t *) arg;
}

static uint32_t
table_bytes(void *arg, uint32_t node)
{
	return ((const uint32_t *) arg)[node];
}

static bool
is_permutation(const uint32_t *order, uint32_t n)
{
	uint8_t    *seen = calloc(n, 1);
	bool		ok = true;

	for (uint32_t i = 0; i < n; i++)
	{
		if (order[i] >= n || seen[order[i]])
			ok = false;
		else
			seen[order[i]] = 1;
	}
	free(seen);
	return ok;
}

static bool
init_graph(N2Graph *g, uint32_t n, int max_m0, float **vectors, uint8_t **levels)
{
	N2GraphParams p = {0};

	p.metric = N2_METRIC_L2;
	p.dim = 1;
	p.m = 2;
	p.max_m0 = max_m0;
	p.ef_construction = 4;
	*vectors = calloc(n, sizeof(float));
	*levels = calloc(n, 1);
	return n2_graph_init(g, &p, *vectors, n, *levels) == 0;
}

/*
 * 12 cliques of 5 nodes, their ids interleaved (node i in clique i % 12),
 * pages of room for 5: each run of 5 in the order is one clique.
 */
static void
cliques(void)
{
	const uint32_t nc = 12;
	const uint32_t size = 5;
	uint32_t	n = nc * size;
	uint32_t	bytes = 100;
	N2Graph		g;
	float	   *vectors;
	uint8_t    *levels;
	uint32_t   *order = malloc(sizeof(uint32_t) * n);
	void	   *work = malloc(n2_graph_page_order_memory(n));
	int			split = 0;

	if (!init_graph(&g, n, (int) size - 1, &vectors, &levels))
	{
		CHECK(0, "init");
		return;
	}
	for (uint32_t u = 0; u < n; u++)
	{
		uint32_t   *l = n2_graph_links(&g, u, 0);

		l[0] = 0;
		for (uint32_t v = u % nc; v < n; v += nc)
			if (v != u)
				l[1 + l[0]++] = v;
	}
	n2_graph_page_order(&g, size * bytes, fixed_bytes, &bytes, order, work);
	CHECK(is_permutation(order, n), "cliques: a permutation");
	for (uint32_t i = 0; i < n; i++)
		split += order[i] % nc != order[i - i % size] % nc;
	CHECK(split == 0, "cliques: each page holds one clique (%d misplaced)", split);
	n2_graph_free(&g);
	free(vectors);
	free(levels);
	free(order);
	free(work);
}

/*
 * Random graphs, random node sizes (some larger than a page), full and
 * empty lists: always a permutation, and nodes no link names are placed too.
 */
static void
random_graphs(void)
{
	int			bad = 0;

	for (int seed = 1; seed <= 500; seed++)
	{
		N2Graph		g;
		float	   *vectors;
		uint8_t    *levels;
		uint32_t	n = 1 + (uint32_t) seed % 300;
		int			max_m0 = 1 + seed % 8;
		uint32_t   *order = malloc(sizeof(uint32_t) * n);
		uint32_t   *sizes = malloc(sizeof(uint32_t) * n);
		void	   *work = malloc(n2_graph_page_order_memory(n));

		rng_state = (uint64_t) seed;
		if (!init_graph(&g, n, max_m0, &vectors, &levels))
		{
			CHECK(0, "init seed %d", seed);
			return;
		}
		for (uint32_t u = 0; u < n; u++)
		{
			uint32_t   *l = n2_graph_links(&g, u, 0);

			l[0] = rng() % (uint32_t) (max_m0 + 1);
			for (uint32_t i = 0; i < l[0]; i++)
				l[1 + i] = rng() % n;
			sizes[u] = 1 + rng() % 1200;
		}
		memset(order, 0xff, sizeof(uint32_t) * n);
		n2_graph_page_order(&g, 1000, table_bytes, sizes, order, work);
		bad += !is_permutation(order, n);
		n2_graph_free(&g);
		free(vectors);
		free(levels);
		free(order);
		free(sizes);
		free(work);
	}
	CHECK(bad == 0, "500 random graphs: every order a permutation (%d not)", bad);
}

int
main(void)
{
	cliques();
	random_graphs();
	UNIT_DONE();
}
