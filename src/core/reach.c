/*
 * Copyright (c) 2025-2026, the n2 developers
 * reach.c
 *		Level-0 reachability and reconnection over N2GraphOps.  Pure C.
 */
#include "reach.h"

#include <stdlib.h>

static uint64_t
words(uint64_t nslots)
{
	return nslots / 64 + 1;
}

static inline void
bit_set(N2Reach *r, int map, uint64_t slot)
{
	*r->marks.word(r->marks.ctx, map, slot / 64, true) |= UINT64_C(1) << (slot % 64);
}

static inline void
bit_clear(N2Reach *r, int map, uint64_t slot)
{
	*r->marks.word(r->marks.ctx, map, slot / 64, true) &= ~(UINT64_C(1) << (slot % 64));
}

/* Our own marks: both bitmaps in one array, one after the other. */
static uint64_t *
memory_word(void *ctx, int map, uint64_t word, bool dirty)
{
	N2Reach    *r = (N2Reach *) ctx;

	return &r->bits[(uint64_t) map * words(r->nslots) + word];
}

size_t
n2_reach_marks_memory(uint64_t nslots)
{
	return 2 * sizeof(uint64_t) * words(nslots);
}

size_t
n2_reach_memory(uint64_t nslots, uint64_t max_stack, int max_degree)
{
	return n2_reach_marks_memory(nslots) +
		sizeof(N2Ref) * (max_stack + (uint64_t) max_degree);
}

bool
n2_reach_init(N2Reach *r, const N2GraphOps *graph, void *graph_ctx,
			  const N2ReachOps *ops, void *ctx, const N2ReachMarks *marks,
			  uint64_t nslots, uint64_t max_stack, int max_degree)
{
	r->graph = graph;
	r->graph_ctx = graph_ctx;
	r->ops = ops;
	r->ctx = ctx;
	r->nslots = nslots;
	r->npending = 0;
	r->nstack = 0;
	r->max_stack = max_stack > 0 ? max_stack : 1;
	r->max_degree = max_degree;
	r->bits = NULL;
	if (marks != NULL)
		r->marks = *marks;
	else
	{
		r->bits = calloc(2 * words(nslots), sizeof(uint64_t));
		r->marks.word = memory_word;
		r->marks.ctx = r;
	}
	r->stack = malloc(sizeof(N2Ref) * r->max_stack);
	r->nbuf = malloc(sizeof(N2Ref) * (max_degree > 0 ? max_degree : 1));
	if ((marks == NULL && r->bits == NULL) || r->stack == NULL || r->nbuf == NULL)
	{
		n2_reach_free(r);
		return false;
	}
	return true;
}

void
n2_reach_free(N2Reach *r)
{
	free(r->bits);
	free(r->stack);
	free(r->nbuf);
	r->bits = NULL;
	r->stack = r->nbuf = NULL;
}

static void
mark(N2Reach *r, uint64_t slot, N2Ref ref, int64_t from)
{
	bit_set(r, N2_REACH_SEEN, slot);
	if (r->ops->reached != NULL)
		r->ops->reached(r->ctx, slot, from);
	if (r->nstack < r->max_stack)
		r->stack[r->nstack++] = ref;
	else
	{
		bit_set(r, N2_REACH_PENDING, slot);
		r->npending++;
	}
}

/* Moves pending slots to the stack until it is full or none are left. */
static void
restack(N2Reach *r)
{
	for (uint64_t w = 0; w < words(r->nslots) && r->nstack < r->max_stack; w++)
	{
		uint64_t	bits = *r->marks.word(r->marks.ctx, N2_REACH_PENDING, w, false);

		while (bits != 0 && r->nstack < r->max_stack)
		{
			uint64_t	slot = w * 64 + (uint64_t) __builtin_ctzll(bits);

			bits &= bits - 1;
			bit_clear(r, N2_REACH_PENDING, slot);
			r->npending--;
			r->stack[r->nstack++] = r->ops->ref(r->ctx, slot);
		}
	}
}

void
n2_reach_from(N2Reach *r, uint64_t slot)
{
	if (n2_reach_seen(r, slot))
		return;
	mark(r, slot, r->ops->ref(r->ctx, slot), -1);
	for (;;)
	{
		while (r->nstack > 0)
		{
			N2Ref		x = r->stack[--r->nstack];
			int64_t		from = -1;
			int			n;

			if (r->ops->poll != NULL)
				r->ops->poll(r->ctx);
			n = r->graph->neighbors(r->graph_ctx, x, 0, r->nbuf, r->max_degree);
			for (int i = 0; i < n; i++)
			{
				int64_t		j = r->ops->slot(r->ctx, r->nbuf[i]);

				if (j < 0 || n2_reach_seen(r, (uint64_t) j))
					continue;
				if (r->ops->reached != NULL && from < 0)
					from = r->ops->slot(r->ctx, x);
				mark(r, (uint64_t) j, r->nbuf[i], from);
			}
		}
		if (r->npending == 0)
			break;
		restack(r);
	}
}

bool
n2_reach_next_unseen(const N2Reach *r, int live_map, uint64_t *slot)
{
	for (uint64_t s = *slot; s < r->nslots;)
	{
		uint64_t	w = s / 64;
		uint64_t	bits = ~*r->marks.word(r->marks.ctx, N2_REACH_SEEN, w, false);

		if (live_map >= 0)
			bits &= *r->marks.word(r->marks.ctx, live_map, w, false);
		bits &= ~UINT64_C(0) << (s % 64);
		if (bits != 0)
		{
			uint64_t	found = w * 64 + (uint64_t) __builtin_ctzll(bits);

			if (found >= r->nslots)
				return false;
			*slot = found;
			return true;
		}
		s = (w + 1) * 64;
	}
	return false;
}

int64_t
n2_reach_connect(N2Reach *r, int live_map,
				 bool (*connect) (void *ctx, uint64_t slot), void *connect_ctx)
{
	int64_t		linked = 0;
	uint64_t	slot = 0;

	while (n2_reach_next_unseen(r, live_map, &slot))
	{
		if (connect(connect_ctx, slot))
			linked++;
		n2_reach_from(r, slot);
		slot++;
	}
	return linked;
}
