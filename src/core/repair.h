/*
 * Copyright (c) 2025-2026, the n2 developers
 * repair.h
 *		Post-build repair of an in-memory graph.  Pure C.
 */
#ifndef N2_CORE_REPAIR_H
#define N2_CORE_REPAIR_H

#include "graph.h"

/*
 * Makes every node reachable from the entry point on level 0, in one pass
 * and for any max_m0.  Neighbour re-selection during a build can prune every
 * link into a node; such a node gets the reverse link the build meant to
 * make, from one of its own neighbours with a free slot, or else takes a
 * slot whose target it links to itself, so that nothing reachable is lost.
 * Runs on the caller's thread after the build.  Returns how many nodes it
 * reconnected, or -1 when out of memory.
 */
extern int64_t n2_graph_connect_orphans(N2Graph *g);

/* Bytes n2_graph_connect_orphans allocates for a graph of n nodes. */
extern size_t n2_graph_connect_orphans_memory(uint32_t n, int max_m0);

#endif							/* N2_CORE_REPAIR_H */
