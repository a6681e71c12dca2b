/*
 * Copyright (c) 2025-2026, the n2 developers
 * graph.h
 *		The in-memory HNSW graph the bulk builder fills.  Pure C.
 *
 * Nodes are dense ids 0..n-1 in insertion order.  Links are uint32 ids; each
 * neighbour list is stored as [count, id...] with room for its cap.  Every
 * array is allocated up front (levels are drawn before building), so worker
 * threads never allocate.
 */
#ifndef N2_CORE_GRAPH_H
#define N2_CORE_GRAPH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "distance.h"
#include "select.h"

#define N2_MAX_LEVEL 30

typedef struct N2GraphParams
{
	N2Metric	metric;
	int			dim;
	int			m;				/* max links on levels > 0 */
	int			max_m0;			/* max links on level 0 */
	int			ef_construction;
	double		mult;			/* level multiplier, N2 default 1 / ln(m) */
	N2SelectMethod select;
	uint64_t	seed;			/* mixed into the per-node level draw */
} N2GraphParams;

typedef struct N2Graph
{
	N2GraphParams params;
	uint32_t	n;
	const float *vectors;		/* n * dim, borrowed; normalised for angular */

	/*
	 * n * dim 8-bit codes that are the vectors exactly, borrowed, or NULL.
	 * When set (L2 only), the build's searches compare codes: a quarter of
	 * the bytes to read.
	 */
	const uint8_t *codes;
	uint8_t    *levels;			/* per node */
	uint32_t   *links0;			/* n * (1 + max_m0) */
	uint64_t   *upper_start;	/* per node: offset in upper, level 1 list */
	uint32_t   *upper;			/* per level >= 1: (1 + m) words */
	atomic_flag *locks;			/* one spinlock per node */
	uint32_t	entry;			/* entry point id */
	int			max_level;
} N2Graph;

/* Level for a node, drawn from a hash of (seed, key): reproducible. */
extern int	n2_random_level(uint64_t seed, uint64_t key, double mult);

/* 64-bit hash of bytes, used to seed levels from the data. */
extern uint64_t n2_hash_bytes(const void *data, size_t len, uint64_t seed);

/*
 * Bytes n2_graph_init allocates for n nodes whose levels add up to
 * upper_lists (one neighbour list per node and level above 0).  The vectors
 * are the caller's and not counted.
 */
extern size_t n2_graph_memory(const N2GraphParams *p, uint32_t n,
							  uint64_t upper_lists);

/*
 * Sets up an empty graph over vectors, with levels[i] per node (copied).
 * Returns 0, or -1 when out of memory.
 */
extern int	n2_graph_init(N2Graph *g, const N2GraphParams *p, const float *vectors,
						  uint32_t n, const uint8_t *levels);

extern void n2_graph_free(N2Graph *g);

static inline uint32_t *
n2_graph_links(const N2Graph *g, uint32_t id, int level)
{
	if (level == 0)
		return g->links0 + (size_t) id * (1 + g->params.max_m0);
	return g->upper + g->upper_start[id] + (size_t) (level - 1) * (1 + g->params.m);
}

static inline const float *
n2_graph_vector(const N2Graph *g, uint32_t id)
{
	return g->vectors + (size_t) id * g->params.dim;
}

#endif							/* N2_CORE_GRAPH_H */
