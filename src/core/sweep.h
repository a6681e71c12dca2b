/*
 * Copyright (c) 2025-2026, the n2 developers
 * sweep.h
 *		Exact nearest-first enumeration of nodes in bounded memory.  Pure C.
 *
 * When a graph walk has to stop (a scan bound), the scan can still finish
 * exactly: it reads every node once per pass and feeds the caller's
 * candidates here.  A pass keeps only the cap smallest keys above the floor
 * (the last key yielded), then yields them in ascending (distance, ref)
 * order.  If more qualified than fit, the next pass starts above the last
 * one yielded, so memory stays at cap entries whatever the index size.
 */
#ifndef N2_CORE_SWEEP_H
#define N2_CORE_SWEEP_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "search.h"

typedef struct N2Sweep
{
	N2Candidate *items;			/* max-heap during a pass, sorted after */
	size_t		n;
	size_t		cap;			/* the most keys a pass keeps */
	size_t		alloc;			/* room in items, up to cap */
	size_t		pos;			/* next to yield */
	bool		overflow;		/* this pass dropped a qualifying key */
	bool		has_floor;
	N2Candidate floor;			/* keys at or below it are done */
} N2Sweep;

/*
 * Prepares a sweep holding at most cap keys, allocated as they come; false
 * when out of memory.
 */
extern bool n2_sweep_init(N2Sweep *s, size_t cap);
extern void n2_sweep_free(N2Sweep *s);

/* Keys below (dist, 0) never qualify: they would come out of order. */
extern void n2_sweep_set_floor(N2Sweep *s, float dist);

extern void n2_sweep_begin_pass(N2Sweep *s);
extern void n2_sweep_offer(N2Sweep *s, N2Candidate c);
extern void n2_sweep_end_pass(N2Sweep *s);

/* The next key of this pass; false when the pass has none left. */
extern bool n2_sweep_next(N2Sweep *s, N2Candidate *out);

/*
 * The distance a key offered now must be under to be kept: past it, a
 * caller may stop computing one (it only sets the overflow).
 */
static inline float
n2_sweep_bound(const N2Sweep *s)
{
	return s->n == s->cap ? s->items[0].dist : INFINITY;
}

/* After a pass is drained: whether another pass would find more. */
static inline bool
n2_sweep_needs_pass(const N2Sweep *s)
{
	return s->overflow;
}

#endif							/* N2_CORE_SWEEP_H */
