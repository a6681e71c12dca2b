/*
 * Copyright (c) 2025-2026, the n2 developers
 * sweep.c
 *		Exact nearest-first enumeration of nodes in bounded memory.  Pure C.
 */
#include "sweep.h"

#include <stdlib.h>
#include <string.h>

static inline bool
key_less(N2Candidate a, N2Candidate b)
{
	return a.dist < b.dist || (a.dist == b.dist && a.ref < b.ref);
}

static int
key_cmp(const void *pa, const void *pb)
{
	N2Candidate a = *(const N2Candidate *) pa;
	N2Candidate b = *(const N2Candidate *) pb;

	return key_less(a, b) ? -1 : key_less(b, a) ? 1 : 0;
}

/*
 * The array grows as keys come, up to cap: a sweep over a small index takes
 * what it holds, not the whole bound.
 */
#define N2_SWEEP_FIRST_ALLOC 1024

bool
n2_sweep_init(N2Sweep *s, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->cap = cap < 1 ? 1 : cap;
	s->alloc = s->cap < N2_SWEEP_FIRST_ALLOC ? s->cap : N2_SWEEP_FIRST_ALLOC;
	s->items = malloc(s->alloc * sizeof(N2Candidate));
	return s->items != NULL;
}

/* Room for one more key below cap; when memory runs out, cap comes down. */
static void
grow(N2Sweep *s)
{
	size_t		alloc = s->alloc > s->cap / 2 ? s->cap : s->alloc * 2;
	N2Candidate *items = realloc(s->items, alloc * sizeof(N2Candidate));

	if (items == NULL)
	{
		s->cap = s->alloc;
		return;
	}
	s->items = items;
	s->alloc = alloc;
}

void
n2_sweep_free(N2Sweep *s)
{
	free(s->items);
	memset(s, 0, sizeof(*s));
}

void
n2_sweep_set_floor(N2Sweep *s, float dist)
{
	s->has_floor = true;
	s->floor.dist = dist;
	s->floor.ref = 0;
}

void
n2_sweep_begin_pass(N2Sweep *s)
{
	s->n = 0;
	s->pos = 0;
	s->overflow = false;
}

/* Restores the max-heap below the root after it was replaced. */
static void
sift_down(N2Sweep *s)
{
	N2Candidate top = s->items[0];
	size_t		i = 0;

	for (;;)
	{
		size_t		child = 2 * i + 1;

		if (child >= s->n)
			break;
		if (child + 1 < s->n && key_less(s->items[child], s->items[child + 1]))
			child++;
		if (!key_less(top, s->items[child]))
			break;
		s->items[i] = s->items[child];
		i = child;
	}
	s->items[i] = top;
}

void
n2_sweep_offer(N2Sweep *s, N2Candidate c)
{
	size_t		i;

	if (s->has_floor && !key_less(s->floor, c))
		return;
	if (s->n == s->alloc && s->alloc < s->cap)
		grow(s);
	if (s->n == s->cap)
	{
		/* full: c replaces the largest key if smaller; either way one is lost */
		s->overflow = true;
		if (key_less(c, s->items[0]))
		{
			s->items[0] = c;
			sift_down(s);
		}
		return;
	}
	i = s->n++;
	while (i > 0)
	{
		size_t		parent = (i - 1) / 2;

		if (!key_less(s->items[parent], c))
			break;
		s->items[i] = s->items[parent];
		i = parent;
	}
	s->items[i] = c;
}

void
n2_sweep_end_pass(N2Sweep *s)
{
	qsort(s->items, s->n, sizeof(N2Candidate), key_cmp);
}

bool
n2_sweep_next(N2Sweep *s, N2Candidate *out)
{
	if (s->pos >= s->n)
		return false;
	*out = s->items[s->pos++];
	s->floor = *out;
	s->has_floor = true;
	return true;
}
