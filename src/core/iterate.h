/*
 * Copyright (c) 2025-2026, the n2 developers
 * iterate.h
 *		Resumable nearest-neighbour search for index scans.  Pure C.
 *
 * A scan does not know its LIMIT, and a filter above it may reject most of
 * what it returns.  So instead of one beam search of width ef, the iterator
 * yields nodes in ascending distance for as long as it is asked: it expands
 * candidates until the search has converged for the current width (the
 * closest unexpanded candidate is farther than the ef-th best node found),
 * yields the nodes within that width, then widens by ef and goes on, keeping
 * everything it has visited.  With the width never widened it is exactly the
 * standard HNSW search.
 *
 * Filtered (ops->distances_match set): the walk goes through every node,
 * but only nodes that pass the filter are yielded and count towards the ef
 * best that decide when the search has converged.  So the walk expands
 * through regions where nothing matches until it holds ef matching nodes
 * nearer than anything left to expand, and strict order is kept among the
 * nodes yielded only.
 */
#ifndef N2_CORE_ITERATE_H
#define N2_CORE_ITERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "search.h"

typedef enum N2IterMode
{
	N2_ITER_SINGLE,				/* the ef nearest found, as plain HNSW */
	N2_ITER_STRICT,				/* widen; skip nodes closer than one yielded */
	N2_ITER_RELAXED				/* widen; yield late nodes out of order too */
} N2IterMode;

typedef enum N2IterStop
{
	N2_ITER_RUNNING = 0,
	N2_ITER_EXHAUSTED,			/* nothing left to visit */
	N2_ITER_TUPLE_LIMIT,		/* visited max_visited nodes */
	N2_ITER_MEMORY_LIMIT,		/* state outgrew max_memory */
	N2_ITER_OUT_OF_MEMORY		/* malloc failed */
} N2IterStop;

/* A binary heap of candidates: a min-heap, or a max-heap for best. */
typedef struct N2Heap
{
	N2Candidate *items;
	size_t		n;
	size_t		cap;
} N2Heap;

/*
 * The ef best, sorted ascending by distance then ref: an array, not a heap,
 * so that the walk finds the nearest it has not expanded (open), and the
 * scan the nearest it has not yielded (waiting), by moving a cursor over it,
 * as a beam search does; a heap costs a pop for each, with a branch per
 * level that the data decides.  An item that leaves it goes to the heaps
 * that still need it (cand, pending, spare), but only when one could need
 * it: one farther than the ef best cannot be expanded or yielded in this
 * round, so it waits, unsorted, in out until the search widens or stops.
 */
typedef struct N2BeamItem
{
	float		dist;
	uint16_t	open;			/* to expand (else expanded, or in cand) */
	uint16_t	waiting;		/* to yield (else yielded, or in pending) */
	N2Ref		ref;
} N2BeamItem;

typedef struct N2Beam
{
	N2BeamItem *items;
	size_t		n;
	size_t		cap;
	size_t		next_open;		/* no item before it is open */
	size_t		next_waiting;	/* no item before it is waiting */
	N2BeamItem *out;			/* left the beam, not yet in the heaps */
	size_t		nout;
	size_t		out_cap;
} N2Beam;

typedef struct N2Iterator
{
	const N2GraphOps *ops;
	void	   *ctx;
	N2IterMode	mode;
	int			ef;				/* current width */
	int			ef_step;		/* widening step (the initial ef) */
	int			step;			/* the next widening: ef_step, or, set lower
								 * before the first, doubling up to it */
	int			upper_ef;		/* beam width on the upper levels (set before
								 * n2_iter_start; 0 or 1: greedy descent) */
	uint64_t	max_visited;	/* 0: unlimited */
	size_t		max_memory;		/* bytes, 0: unlimited */
	bool		stop_at_bound;	/* a bound ends it before pending is yielded */
	uint64_t	pause_at;		/* once this many nodes are visited, next
								 * returns false with paused set (0: never) */
	bool		paused;

	/*
	 * A member walk, once the caller knows every node that passes its filter
	 * (member says which): it expands only those, and evaluates only those,
	 * among a node's neighbours and, through each neighbour that does not
	 * pass, among that one's neighbours (ACORN's two-hop expansion).
	 */
	bool		(*member) (void *arg, N2Ref ref);
	void	   *member_arg;
	bool		filtered;		/* ops->distances_match decides what is
								 * yielded */

	N2Visited  *visited;		/* own_visited, or the caller's */
	N2Visited	own_visited;
	N2Heap		cand;			/* min: evaluated, not yet expanded (but those
								 * open in best or in best.out) */
	N2Beam		best;			/* the ef best evaluated */
	N2Heap		spare;			/* min: evaluated, pushed out of best (but
								 * those in best.out) */
	N2Heap		pending;		/* min: evaluated, not yet yielded (but those
								 * waiting in best or in best.out) */
	N2Heap		far;			/* unordered: evaluated beyond the ef best */
	N2Heap		farx;			/* the same, for nodes that do not match */
	N2Ref	   *nbuf;
	float	   *dbuf;
	bool	   *okbuf;
	int			nbuf_cap;
	N2Ref	   *bbuf;			/* member walk: nodes to evaluate */
	N2Ref	   *lbuf;			/* member walk: a bridge's neighbours */

	bool		started;
	bool		yielded_any;
	float		last_dist;		/* distance of the last node yielded */
	N2IterStop	stop;
	uint64_t	nvisited;		/* nodes whose distance was computed */
	uint64_t	nskipped;		/* strict mode: found after a farther one */
	uint64_t	nmatched;		/* of nvisited, passing the filter */
	uint64_t	nbridged;		/* member walk: bridges whose links were read */
} N2Iterator;

/*
 * Prepares an iterator; max_degree bounds a node's neighbour count.
 * Returns false when out of memory.
 */
extern bool n2_iter_init(N2Iterator *it, const N2GraphOps *ops, void *ctx,
						 N2IterMode mode, int ef, int max_degree,
						 uint64_t max_visited, size_t max_memory);

/*
 * The same, marking visited nodes in the caller's visited set, which it
 * resets: one kept from search to search in paged mode is never cleared.
 */
extern bool n2_iter_init_visited(N2Iterator *it, const N2GraphOps *ops,
								 void *ctx, N2IterMode mode, int ef,
								 int max_degree, uint64_t max_visited,
								 size_t max_memory, N2Visited *visited);
extern void n2_iter_free(N2Iterator *it);

/*
 * Starts from the entry point: greedy descent from top_level to level 1,
 * then the level-0 search begins at the node reached.
 */
/*
 * The upper-level beam width for n2.upper_ef_search = setting over an index
 * of about rows rows: the setting, or when it is 0 (auto) a beam of
 * N2_UPPER_EF_AUTO from N2_UPPER_EF_AUTO_ROWS rows on and the greedy
 * descent (1) below.  Measured on clustered 128-d sets, the beam gains most
 * from 100,000 rows on; on 10,000 and 60,000 rows of SIFT and Fashion-MNIST
 * it gains no recall and costs 15-25 % more time per query.
 */
#define N2_UPPER_EF_AUTO		8
#define N2_UPPER_EF_AUTO_ROWS	100000.0

extern int	n2_upper_ef_for(int setting, double rows);

extern bool n2_iter_start(N2Iterator *it, N2Ref entry, int top_level);

/*
 * Adds nodes that pass the filter to a member walk (see N2Iterator.member),
 * which may not reach them from where it is.  False when out of memory.
 */
extern bool n2_iter_add_seeds(N2Iterator *it, const N2Ref *seeds, int n);

/*
 * The next node in ascending distance; false when there is none (it->stop
 * says why), or, once, when pause_at is reached (it->paused set; the caller
 * clears it and may go on).  Once a bound stops the search, the nodes still pending are
 * yielded too, unless stop_at_bound is set: then the caller, which finishes
 * the scan some other way, gets false at once and everything past the last
 * node yielded is left to it.
 */
extern bool n2_iter_next(N2Iterator *it, N2Candidate *out);

/* Bytes the iterator's state occupies now. */
extern size_t n2_iter_memory(const N2Iterator *it);

#endif							/* N2_CORE_ITERATE_H */
