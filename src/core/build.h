/*
 * Copyright (c) 2025-2026, the n2 developers
 * build.h
 *		Threaded HNSW bulk builder (N2's algorithm) over an N2Graph.  Pure C.
 *
 * The caller's thread creates the builder (all allocation happens there),
 * starts it, then polls: it stays free to check for cancellation and report
 * progress while worker threads insert nodes.  Workers block all signals and
 * call nothing but this core.
 */
#ifndef N2_CORE_BUILD_H
#define N2_CORE_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "search.h"

typedef enum N2BuildPhase
{
	N2_BUILD_IDLE = 0,
	N2_BUILD_INSERTING,			/* first (forward) build */
	N2_BUILD_INSERTING_REVERSE, /* merge_level0: second build, reverse order */
	N2_BUILD_MERGING,			/* merge_level0: merging level-0 lists */
	N2_BUILD_RELINKING,			/* inserting weakly linked nodes again */
	N2_BUILD_DONE,
	N2_BUILD_CANCELLED,
	N2_BUILD_FAILED
} N2BuildPhase;

/* The order nodes are inserted in (build.c, "The order"). */
typedef enum N2BuildOrder
{
	N2_ORDER_AUTO = 0,			/* grouped when the vectors exceed 32 MB */
	N2_ORDER_ID,
	N2_ORDER_GROUPED
} N2BuildOrder;

typedef struct N2BuildOptions
{
	int			n_threads;		/* >= 1 */
	bool		merge_level0;
	/* keep pruned: re-select whole lists, without the level-0 list cache */
	bool		full_reselect;
	N2BuildOrder order;
} N2BuildOptions;

typedef struct N2Builder N2Builder;

/*
 * Prepares a build of g (already n2_graph_init'ed, empty).  Allocates
 * everything the threads need, including the reverse graph for
 * merge_level0.  Returns NULL when out of memory.
 */
extern N2Builder *n2_builder_create(N2Graph *g, const N2BuildOptions *opts);

/*
 * Bytes n2_builder_create allocates beyond the graph, for a graph of n nodes
 * whose levels add up to upper_lists (see n2_graph_memory).
 */
extern size_t n2_builder_memory(const N2GraphParams *p, uint32_t n,
								uint64_t upper_lists,
								const N2BuildOptions *opts);

/*
 * Starts the worker threads; returns 0 or, when not even one could start,
 * an errno value.  When some could not, the others do all the work:
 * n2_builder_threads says how many run.
 */
extern int	n2_builder_start(N2Builder *b);
extern int	n2_builder_threads(const N2Builder *b);

/*
 * Non-blocking: the current phase and, within it, nodes done out of total.
 * Returns true once the workers have finished (done, failed or cancelled).
 */
extern bool n2_builder_poll(N2Builder *b, N2BuildPhase *phase,
							uint64_t *done, uint64_t *total);

/* Asks the workers to stop soon (they check between nodes). */
extern void n2_builder_cancel(N2Builder *b);

/* Waits for every worker; returns the final phase (DONE on success). */
extern N2BuildPhase n2_builder_join(N2Builder *b);

/*
 * The order a grouped build inserts in, once its workers have finished:
 * *order points to g->n node ids (the first *nupper of them above level 0)
 * owned by the builder.  False in id order.
 */
extern bool n2_builder_order(const N2Builder *b, const uint32_t **order,
							 uint32_t *nupper);

/* Joins if needed, frees the builder (not the graph). */
extern void n2_builder_free(N2Builder *b);

/* Convenience for tests and tools: create, start, join, free. */
extern N2BuildPhase n2_build_graph(N2Graph *g, const N2BuildOptions *opts);

/*
 * The k nearest to query in a finished graph (no locking), searching level 0
 * with width max(ef, k).  s needs dense_capacity >= g->n (or hash mode);
 * query must be normalised for angular.  Writes ascending to out and returns
 * how many, or -1 when out of memory.
 */
extern int	n2_graph_search(const N2Graph *g, N2Search *s, const float *query,
							int k, int ef, N2Candidate *out);

#endif							/* N2_CORE_BUILD_H */
