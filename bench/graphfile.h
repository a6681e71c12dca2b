/*
 * Copyright (c) 2025-2026, the n2 developers
 * graphfile.h
 *		The graph file n2bench writes from an index (n2_index_graph) and
 *		core_bench searches with the C core alone: the same nodes and links,
 *		so the two searches differ only in where the graph lives.
 *
 * Native int32 throughout: magic, version, nodes, m, max_m0, entry node,
 * entry level; one byte per node, its level; then neighbour lists until the
 * end of the file: node, level, count, then count nodes.  Nodes are the row
 * numbers of the base .fvecs file (items.id).
 */
#ifndef N2_BENCH_GRAPHFILE_H
#define N2_BENCH_GRAPHFILE_H

#define GRAPHFILE_MAGIC		0x5247324E	/* "N2GR" */
#define GRAPHFILE_VERSION	1

#endif							/* N2_BENCH_GRAPHFILE_H */
