/*
 * Copyright (c) 2025-2026, the n2 developers
 * order.h
 *		The order in which a built graph's nodes are written to pages.
 *		Pure C.
 */
#ifndef N2_CORE_ORDER_H
#define N2_CORE_ORDER_H

#include "graph.h"

/* Bytes node takes on a page, its line pointers included. */
typedef uint32_t (*N2NodeBytesFn) (void *arg, uint32_t node);

/* Bytes of scratch n2_graph_page_order needs for a graph of n nodes. */
extern size_t n2_graph_page_order_memory(uint32_t n);

/*
 * Orders the nodes of g so that, written one after the other to pages of
 * page_bytes, a node shares its page with nodes it links to on level 0: a
 * query's walk then reads fewer pages.  The next node is the unplaced one
 * that most of the page's nodes link to if it fits on the page, else the
 * first unplaced node in id order; as the layout does, a node that does not
 * fit starts a new page.  bytes says how much room a node takes; it may be
 * called more than once per node, from this thread only.  Writes a permutation of 0..n-1 to order.  work is the caller's
 * scratch of n2_graph_page_order_memory(g->n) bytes: nothing is allocated
 * here, so bytes may leave by longjmp.
 */
extern void n2_graph_page_order(const N2Graph *g, uint32_t page_bytes,
								N2NodeBytesFn bytes, void *arg,
								uint32_t *order, void *work);

#endif							/* N2_CORE_ORDER_H */
