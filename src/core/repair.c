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

#include "reach.h"

#define NO_PARENT UINT32_MAX

typedef struct Repair
{
	N2Graph    *g;
	N2Reach		reach;
	uint32_t   *parent;			/* a reached node that links to it */
} Repair;

static int
level0_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	const uint32_t *list = n2_graph_links(((Repair *) ctx)->g, (uint32_t) ref, 0);
	int			n = (int) list[0] < max ? (int) list[0] : max;

	for (int i = 0; i < n; i++)
		out[i] = list[1 + i];
	return n;
}

static const N2GraphOps level0_ops = {level0_neighbors, NULL, NULL, NULL};

static int64_t
id_slot(void *ctx, N2Ref ref)
{
	return (int64_t) ref;
}

static N2Ref
slot_id(void *ctx, uint64_t slot)
{
	return slot;
}

static void
reached(void *ctx, uint64_t slot, int64_t from)
{
	if (from >= 0)
		((Repair *) ctx)->parent[slot] = (uint32_t) from;
}

static const N2ReachOps id_slots = {id_slot, slot_id, reached, NULL};

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
connect_orphan(N2Graph *g, Repair *r, uint32_t u)
{
	uint32_t   *out = n2_graph_links(g, u, 0);
	uint32_t	entry = g->entry;
	uint32_t   *elist;
	uint32_t	z;

	for (uint32_t i = 0; i < out[0]; i++)
	{
		if (n2_reach_seen(&r->reach, out[1 + i]) && has_room(g, out[1 + i]))
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

		if (!n2_reach_seen(&r->reach, x) || r->parent[x] == NO_PARENT)
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

/* The stack spills to the reach's pending bits past a 64th of the nodes. */
static uint64_t
stack_size(uint32_t n)
{
	return (uint64_t) n / 64 + 1024;
}

size_t
n2_graph_connect_orphans_memory(uint32_t n, int max_m0)
{
	return (size_t) n * sizeof(uint32_t) +
		n2_reach_memory(n, stack_size(n), max_m0);
}

static bool
connect(void *ctx, uint64_t slot)
{
	Repair	   *r = (Repair *) ctx;

	r->parent[slot] = connect_orphan(r->g, r, (uint32_t) slot);
	return true;
}

int64_t
n2_graph_connect_orphans(N2Graph *g)
{
	Repair		r;
	int64_t		fixed;

	if (g->n == 0)
		return 0;
	r.g = g;
	r.parent = malloc(sizeof(uint32_t) * g->n);
	if (r.parent == NULL)
		return -1;
	if (!n2_reach_init(&r.reach, &level0_ops, &r, &id_slots, &r, NULL, g->n,
					   stack_size(g->n), g->params.max_m0))
	{
		free(r.parent);
		return -1;
	}
	for (uint32_t u = 0; u < g->n; u++)
		r.parent[u] = NO_PARENT;
	n2_reach_from(&r.reach, g->entry);
	fixed = n2_reach_connect(&r.reach, -1, connect, &r);
	n2_reach_free(&r.reach);
	free(r.parent);
	return fixed;
}
