/*
 * Copyright (c) 2025-2026, the n2 developers
 * order.c
 *		The order in which a built graph's nodes are written to pages.
 *		Pure C.
 *
 * Nodes in insertion order land on pages at random with respect to the
 * graph, so every node a walk visits is on a page of its own.  Filling each
 * page with nodes that its nodes link to makes a walk's neighbourhood share
 * pages.  In the core's search of bigann10k (m = 16, ef 20, 27 nodes a page)
 * a query touched 107 pages instead of 174; fashion-mnist at 8 a page, 132
 * instead of 208.  Only level-0 links count (most of a walk is there), and
 * only out-links: counting in-links as well changed nothing measurable.
 */
#include "order.h"

#include <string.h>

size_t
n2_graph_page_order_memory(uint32_t n)
{
	/* candidates, their scores, placed flags */
	return (size_t) n * (sizeof(uint32_t) + sizeof(uint16_t) + sizeof(uint8_t));
}

void
n2_graph_page_order(const N2Graph *g, uint32_t page_bytes,
					N2NodeBytesFn bytes, void *arg, uint32_t *order, void *work)
{
	uint32_t	n = g->n;
	uint32_t   *cand = work;
	uint16_t   *score = (uint16_t *) (cand + n);
	uint8_t    *placed = (uint8_t *) (score + n);
	uint32_t	ncand = 0;
	uint32_t	room = 0;		/* left on the page being filled; none yet */
	uint32_t	seed = 0;

	memset(score, 0, sizeof(uint16_t) * n);
	memset(placed, 0, n);
	for (uint32_t k = 0; k < n; k++)
	{
		const uint32_t *l;
		uint32_t	node = UINT32_MAX;
		uint32_t	need;
		uint16_t	top = 0;

		/* the unplaced node most of the page's nodes link to, if it fits */
		for (uint32_t c = 0; c < ncand; c++)
		{
			uint32_t	v = cand[c];

			if (!placed[v] && score[v] > top)
			{
				top = score[v];
				node = v;
			}
		}
		if (node != UINT32_MAX && bytes(arg, node) > room)
			node = UINT32_MAX;
		if (node == UINT32_MAX)
		{
			while (placed[seed])
				seed++;
			node = seed;
		}

		/*
		 * As the layout does, a node that does not fit starts a new page;
		 * what linked to the last one no longer counts.
		 */
		need = bytes(arg, node);
		if (need > room)
		{
			for (uint32_t c = 0; c < ncand; c++)
				score[cand[c]] = 0;
			ncand = 0;
			room = page_bytes;
		}
		placed[node] = 1;
		order[k] = node;
		room = need < room ? room - need : 0;

		/* a node is listed once a page: at most n candidates */
		l = n2_graph_links(g, node, 0);
		for (uint32_t i = 0; i < l[0]; i++)
		{
			uint32_t	v = l[1 + i];

			if (placed[v] || score[v] == UINT16_MAX)
				continue;
			if (score[v]++ == 0)
				cand[ncand++] = v;
		}
	}
}
