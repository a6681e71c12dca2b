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

#include "reach.h"

typedef struct Repair
{
	N2Graph    *g;
	N2Reach		reach;
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

static const N2ReachOps id_slots = {id_slot, slot_id, NULL, NULL};

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
 * Makes y give u the slot of its last link z, which u then links to (in place
 * of its own last link if it has no room): whatever went through y -> z now
 * goes through u.
 */
static void
take_last_slot(N2Graph *g, uint32_t y, uint32_t u)
{
	uint32_t   *out = n2_graph_links(g, u, 0);
	uint32_t   *ylist = n2_graph_links(g, y, 0);
	uint32_t	z = ylist[ylist[0]];

	if (link_position(g, u, z) < 0)
	{
		if (out[0] < (uint32_t) g->params.max_m0)
			append_link(g, u, z);
		else
			out[out[0]] = z;
	}
	ylist[ylist[0]] = u;
}

/*
 * Gives orphan u an incoming link from a reached node, in order of
 * preference:
 *	1. one of u's reached neighbours with a free slot appends u (the reverse
 *	   link the build meant to make);
 *	2. else u's nearest reached neighbour y gives u the slot of a node x
 *	   that u links to too (x stays reached, through u), the last such
 *	   slot: lists run from near to far, and a search for x's vector
 *	   follows y's near links;
 *	3. else y gives u its last slot;
 *	4. with no reached neighbour, the entry point's free slot, else its last
 *	   slot as in 3.
 * A search for u's vector expands u's near neighbours, hardly ever the entry
 * point's level-0 list: an outlier, which its neighbours all prune as their
 * farthest candidate, linked from the entry point alone is reachable but
 * missed even at a wide ef_search.
 */
static void
connect_orphan(N2Graph *g, Repair *r, uint32_t u)
{
	uint32_t   *out = n2_graph_links(g, u, 0);
	int64_t		nearest = -1;

	for (uint32_t i = 0; i < out[0]; i++)
	{
		if (!n2_reach_seen(&r->reach, out[1 + i]))
			continue;
		if (has_room(g, out[1 + i]))
		{
			append_link(g, out[1 + i], u);
			return;
		}
		if (nearest < 0)
			nearest = out[1 + i];
	}
	if (nearest >= 0)
	{
		uint32_t   *ylist = n2_graph_links(g, (uint32_t) nearest, 0);

		for (uint32_t k = ylist[0]; k >= 1; k--)
		{
			if (link_position(g, u, ylist[k]) >= 0)
			{
				ylist[k] = u;
				return;
			}
		}
		take_last_slot(g, (uint32_t) nearest, u);
	}
	else if (has_room(g, g->entry))
		append_link(g, g->entry, u);
	else
		take_last_slot(g, g->entry, u);
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
	return n2_reach_memory(n, stack_size(n), max_m0);
}

static bool
connect(void *ctx, uint64_t slot)
{
	Repair	   *r = (Repair *) ctx;

	connect_orphan(r->g, r, (uint32_t) slot);
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
	if (!n2_reach_init(&r.reach, &level0_ops, &r, &id_slots, &r, NULL, g->n,
					   stack_size(g->n), g->params.max_m0))
		return -1;
	n2_reach_from(&r.reach, g->entry);
	fixed = n2_reach_connect(&r.reach, -1, connect, &r);
	n2_reach_free(&r.reach);
	return fixed;
}
