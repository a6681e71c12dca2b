/*
 * Copyright (c) 2025-2026, the n2 developers
 * reach.h
 *		Level-0 reachability over any graph behind N2GraphOps, and the
 *		reconnection of what it does not reach.  Pure C.
 *
 * The in-memory graph after a build, VACUUM and n2_verify all ask the same
 * question: which nodes does no level-0 path from the entry point reach?
 * Nodes are numbered by the caller with dense slots (a node id, a position
 * in a sorted ref array, a line pointer's rank); the walk keeps two bits per
 * slot and a stack of bounded size, so its memory is known before it starts.
 */
#ifndef N2_CORE_REACH_H
#define N2_CORE_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "search.h"

typedef struct N2ReachOps
{
	/* The slot of a node a link names, or -1 when it names none to follow. */
	int64_t		(*slot) (void *ctx, N2Ref ref);

	/* The node in a slot. */
	N2Ref		(*ref) (void *ctx, uint64_t slot);

	/*
	 * Optional: called once per slot found reachable, with the slot of the
	 * node whose link reached it (-1 for a start).
	 */
	void		(*reached) (void *ctx, uint64_t slot, int64_t from);

	/* Optional: called before each node's links are read (cancel, delay). */
	void		(*poll) (void *ctx);
}			N2ReachOps;

typedef struct N2Reach
{
	const N2GraphOps *graph;
	void	   *graph_ctx;
	const		N2ReachOps *ops;
	void	   *ctx;
	uint64_t	nslots;
	uint64_t   *seen;			/* reachable */
	uint64_t   *pending;		/* reachable, links not read, not stacked */
	uint64_t	npending;
	N2Ref	   *stack;			/* reachable, links not read */
	uint64_t	nstack;
	uint64_t	max_stack;
	N2Ref	   *nbuf;
	int			max_degree;
}			N2Reach;

/*
 * Bytes n2_reach_init allocates: 2 bits per slot, 8 bytes per stack entry
 * and the neighbour buffer.  A full stack spills into the pending bits, which
 * are swept once it empties, so any stack size works; a 64th of the slots
 * keeps the sweeps few.
 */
extern size_t n2_reach_memory(uint64_t nslots, uint64_t max_stack, int max_degree);

/* Returns false when out of memory; max_degree is level 0's list cap. */
extern bool n2_reach_init(N2Reach * r, const N2GraphOps *graph, void *graph_ctx,
						  const N2ReachOps * ops, void *ctx, uint64_t nslots,
						  uint64_t max_stack, int max_degree);
extern void n2_reach_free(N2Reach * r);

/* Marks everything reachable on level 0 from the node in slot. */
extern void n2_reach_from(N2Reach * r, uint64_t slot);

static inline bool
n2_reach_seen(const N2Reach * r, uint64_t slot)
{
	return (r->seen[slot / 64] >> (slot % 64)) & 1;
}

/*
 * The first slot at or after *slot that is in live (a bitmap over the slots;
 * NULL: every slot) and not reachable; false when there is none.
 */
extern bool n2_reach_next_unseen(const N2Reach * r, const uint64_t *live,
								 uint64_t *slot);

/*
 * Gives every live unreachable node an incoming link: in slot order, calls
 * connect for it and then marks what it reaches, so each connection grows
 * the reachable set and one pass suffices.  connect must link the node
 * from a reachable one (n2_reach_seen tells which); a node it could not
 * link (it returns false) is left as it is.  Returns how many it linked.
 */
extern int64_t n2_reach_connect(N2Reach * r, const uint64_t *live,
								bool (*connect) (void *ctx, uint64_t slot),
								void *connect_ctx);

#endif							/* N2_CORE_REACH_H */
