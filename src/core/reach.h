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
 * The bits live in memory, or wherever the caller's N2ReachMarks keeps them
 * (VACUUM: a temporary file behind a cache, when they would not fit its
 * budget).
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
} N2ReachOps;

/* The walk's two bitmaps */
#define N2_REACH_SEEN		0	/* reachable */
#define N2_REACH_PENDING	1	/* reachable, links not read, not stacked */

typedef struct N2ReachMarks
{
	/*
	 * The 64-bit word of bitmap map (N2_REACH_*, or a caller's own) that
	 * holds slots word * 64 to word * 64 + 63, zero until set; with dirty,
	 * the caller changes it.  Valid until the next call.
	 */
	uint64_t   *(*word) (void *ctx, int map, uint64_t word, bool dirty);
	void	   *ctx;
} N2ReachMarks;

typedef struct N2Reach
{
	const N2GraphOps *graph;
	void	   *graph_ctx;
	const N2ReachOps *ops;
	void	   *ctx;
	uint64_t	nslots;
	N2ReachMarks marks;
	uint64_t   *bits;			/* both bitmaps, when the marks are ours */
	uint64_t	npending;
	N2Ref	   *stack;			/* reachable, links not read */
	uint64_t	nstack;
	uint64_t	max_stack;
	N2Ref	   *nbuf;
	int			max_degree;
} N2Reach;

/*
 * Bytes n2_reach_init allocates: the marks (2 bits per slot) unless the
 * caller keeps them, 8 bytes per stack entry and the neighbour buffer.  A
 * full stack spills into the pending bits, which are swept once it empties,
 * so any stack size works; a 64th of the slots keeps the sweeps few.
 */
extern size_t n2_reach_marks_memory(uint64_t nslots);
extern size_t n2_reach_memory(uint64_t nslots, uint64_t max_stack, int max_degree);

/*
 * Returns false when out of memory; max_degree is level 0's list cap.  With
 * marks NULL the bitmaps are allocated here.
 */
extern bool n2_reach_init(N2Reach *r, const N2GraphOps *graph, void *graph_ctx,
						  const N2ReachOps *ops, void *ctx,
						  const N2ReachMarks *marks, uint64_t nslots,
						  uint64_t max_stack, int max_degree);
extern void n2_reach_free(N2Reach *r);

/* Marks everything reachable on level 0 from the node in slot. */
extern void n2_reach_from(N2Reach *r, uint64_t slot);

static inline bool
n2_reach_seen(const N2Reach *r, uint64_t slot)
{
	return (*r->marks.word(r->marks.ctx, N2_REACH_SEEN, slot / 64, false) >>
			(slot % 64)) & 1;
}

/*
 * The first slot at or after *slot that is live and not reachable; false
 * when there is none.  live_map names a bitmap of the caller's marks that
 * tells the live slots, or is -1: every slot is live.
 */
extern bool n2_reach_next_unseen(const N2Reach *r, int live_map, uint64_t *slot);

/*
 * Gives every live unreachable node an incoming link: in slot order, calls
 * connect for it and then marks what it reaches, so each connection grows
 * the reachable set and one pass suffices.  connect must link the node from
 * a reachable one (n2_reach_seen tells which); a node it could not link (it
 * returns false) is left as it is.  Returns how many it linked.
 */
extern int64_t n2_reach_connect(N2Reach *r, int live_map,
								bool (*connect) (void *ctx, uint64_t slot),
								void *connect_ctx);

#endif							/* N2_CORE_REACH_H */
