/*
 * Copyright (c) 2025-2026, the n2 developers
 * repair.c
 *		Post-build repair of an in-memory graph.  Pure C.
 *
 * Every change made here keeps what is already reachable reachable: a link
 * p -> x is only ever replaced by p -> u when u -> x exists, and links are
 * only dropped out of the node being connected, which nothing reachable
 * depends on.  So each orphan connected grows the reachable set for good and
 * one pass over the nodes suffices.
 */
#include "repair.h"

#include <stdlib.h>
#include <string.h>

#define NO_PARENT UINT32_MAX

typedef struct Reach
{
	uint8_t    *seen;
	uint32_t   *parent;			/* a reached node that links to it */
	uint32_t   *queue;
	uint32_t	tail;
} Reach;

/* Marks everything reachable from start on level 0. */
static void
mark_from(const N2Graph *g, Reach *r, uint32_t start)
{
	uint32_t	head = r->tail;

	if (r->seen[start])
		return;
	r->seen[start] = 1;
	r->queue[r->tail++] = start;
	while (head < r->tail)
	{
		uint32_t	v = r->queue[head++];
		const uint32_t *list = n2_graph_links(g, v, 0);

		for (uint32_t i = 0; i < list[0]; i++)
		{
			uint32_t	x = list[1 + i];

			if (!r->seen[x])
			{
				r->seen[x] = 1;
				r->parent[x] = v;
				r->queue[r->tail++] = x;
			}
		}
	}
}

/* Position of x in v's level-0 list, or -1. */
static int
link_position(const N2Graph *g, uint32_t v, uint32_t x)
{
	const uint32_t *list = n2_graph_links(g, v, 0);

	for (uint32_t i = 0; i < list[0]; i++)
	{
		if (list[1 + i] == x)
			return (int) i;
	}
	return -1;
}

static bool
has_room(const N2Graph *g, uint32_t v)
{
	return n2_graph_links(g, v, 0)[0] < (uint32_t) g->params.max_m0;
}

static void
append_link(N2Graph *g, uint32_t v, uint32_t u)
{
	uint32_t   *list = n2_graph_links(g, v, 0);

	list[1 + list[0]++] = u;
}

/*
 * Gives orphan u an incoming link from a reached node, in order of
 * preference: from one of u's reached neighbours with a free slot (the
 * reverse link the build meant to make) or the entry point's free slot; in
 * place of a reached neighbour x in the list of the node x was reached
 * through (u links to x, so x stays reached); else in place of the entry
 * point's last link z, which u then links to instead of its own last link.
 */
static uint32_t
connect_orphan(N2Graph *g, Reach *r, uint32_t u)
{
	uint32_t   *out = n2_graph_links(g, u, 0);
	uint32_t	entry = g->entry;
	uint32_t   *elist;
	uint32_t	z;

	for (uint32_t i = 0; i < out[0]; i++)
	{
		if (r->seen[out[1 + i]] && has_room(g, out[1 + i]))
		{
			append_link(g, out[1 + i], u);
			return out[1 + i];
		}
	}
	if (has_room(g, entry))
	{
		append_link(g, entry, u);
		return entry;
	}
	for (uint32_t i = 0; i < out[0]; i++)
	{
		uint32_t	x = out[1 + i];
		uint32_t	p;
		int			pos;

		if (!r->seen[x] || r->parent[x] == NO_PARENT)
			continue;
		p = r->parent[x];
		pos = link_position(g, p, x);
		if (pos >= 0)
		{
			n2_graph_links(g, p, 0)[1 + pos] = u;
			r->parent[x] = u;
			return p;
		}
	}

	elist = n2_graph_links(g, entry, 0);
	z = elist[elist[0]];
	if (link_position(g, u, z) < 0)
	{
		if (out[0] < (uint32_t) g->params.max_m0)
			append_link(g, u, z);
		else
			out[out[0]] = z;
	}
	elist[elist[0]] = u;
	r->parent[z] = u;
	return entry;
}

size_t
n2_graph_connect_orphans_memory(uint32_t n)
{
	return (size_t) n * (sizeof(uint8_t) + 2 * sizeof(uint32_t));
}

int64_t
n2_graph_connect_orphans(N2Graph *g)
{
	Reach		r;
	int64_t		fixed = 0;

	if (g->n == 0)
		return 0;
	r.seen = calloc(g->n, 1);
	r.parent = malloc(sizeof(uint32_t) * g->n);
	r.queue = malloc(sizeof(uint32_t) * g->n);
	r.tail = 0;
	if (r.seen == NULL || r.parent == NULL || r.queue == NULL)
	{
		free(r.seen);
		free(r.parent);
		free(r.queue);
		return -1;
	}
	for (uint32_t u = 0; u < g->n; u++)
		r.parent[u] = NO_PARENT;

	mark_from(g, &r, g->entry);
	for (uint32_t u = 0; u < g->n && r.tail < g->n; u++)
	{
		if (r.seen[u])
			continue;
		r.parent[u] = connect_orphan(g, &r, u);
		fixed++;
		mark_from(g, &r, u);
	}
	free(r.seen);
	free(r.parent);
	free(r.queue);
	return fixed;
}
