/*
 * Copyright (c) 2025-2026, the n2 developers
 * graph.c
 *		The in-memory HNSW graph and reproducible level draws.  Pure C.
 */
#include "graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hugepage.h"

#define HASH_P1 UINT64_C(0x87C37B91114253D5)
#define HASH_P2 UINT64_C(0x4CF5AD432745937F)

static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* The MurmurHash3 64-bit finaliser: every input bit affects every output bit. */
static inline uint64_t
mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xFF51AFD7ED558CCD);
	k ^= k >> 33;
	k *= UINT64_C(0xC4CEB9FE1A85EC53);
	k ^= k >> 33;
	return k;
}

static inline uint64_t
absorb(uint64_t h, uint64_t w)
{
	w *= HASH_P1;
	w = rotl64(w, 31);
	w *= HASH_P2;
	h ^= w;
	return rotl64(h, 27) * 5 + UINT64_C(0x52DCE729);
}

uint64_t
n2_hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t	h = seed ^ (len * HASH_P2);
	size_t		i;

	for (i = 0; i + 8 <= len; i += 8)
	{
		uint64_t	w;

		memcpy(&w, p + i, 8);
		h = absorb(h, w);
	}
	if (i < len)
	{
		uint64_t	w = 0;

		/* Little-endian tail, so results agree across platforms. */
		for (size_t j = len; j > i; j--)
			w = (w << 8) | p[j - 1];
		h = absorb(h, w);
	}
	return mix64(h ^ len);
}

int
n2_random_level(uint64_t seed, uint64_t key, double mult)
{
	uint64_t	h = mix64(seed ^ mix64(key + UINT64_C(0x9E3779B97F4A7C15)));

	/* 53 random bits, centred in their interval, give u strictly in (0, 1). */
	double		u = ((double) (h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
	double		level;

	if (!(mult > 0.0))
		return 0;
	level = floor(-log(u) * mult);
	if (level >= N2_MAX_LEVEL)
		return N2_MAX_LEVEL;
	return (int) level;
}

/* 32-bit words of upper-level lists for all nodes. */
static uint64_t
upper_words(const N2GraphParams *p, uint32_t n, const uint8_t *levels)
{
	uint64_t	total = 0;

	for (uint32_t i = 0; i < n; i++)
		total += (uint64_t) levels[i] * (1 + p->m);
	return total;
}

size_t
n2_graph_memory(const N2GraphParams *p, uint32_t n, uint64_t upper_lists)
{
	/* as graph_init allocates them, one spare element each */
	return ((size_t) n + 1) * sizeof(uint8_t) +
		((size_t) n * (1 + p->max_m0) + 1) * sizeof(uint32_t) +
		((size_t) n + 1) * sizeof(uint64_t) +
		((size_t) upper_lists * (1 + p->m) + 1) * sizeof(uint32_t) +
		((size_t) n + 1) * sizeof(atomic_flag);
}

static int
graph_init(N2Graph *g, const N2GraphParams *p, uint32_t n, const uint8_t *levels)
{
	uint64_t	offset = 0;

	g->params = *p;
	g->n = n;
	g->max_level = -1;

	/* One extra element each, so n = 0 still gets non-NULL arrays. */
	g->levels = malloc((size_t) n + 1);
	g->links0 = n2_calloc_huge((size_t) n * (1 + p->max_m0) + 1, sizeof(uint32_t));
	g->upper_start = malloc(((size_t) n + 1) * sizeof(uint64_t));
	g->upper = n2_calloc_huge(upper_words(p, n, levels) + 1, sizeof(uint32_t));
	g->locks = malloc(((size_t) n + 1) * sizeof(atomic_flag));
	if (g->levels == NULL || g->links0 == NULL || g->upper_start == NULL ||
		g->upper == NULL || g->locks == NULL)
	{
		n2_graph_free(g);
		return -1;
	}

	memcpy(g->levels, levels, n);
	for (uint32_t i = 0; i < n; i++)
	{
		g->upper_start[i] = offset;
		offset += (uint64_t) levels[i] * (1 + p->m);
		atomic_flag_clear(&g->locks[i]);
	}
	return 0;
}

int
n2_graph_init(N2Graph *g, const N2GraphParams *p, const float *vectors,
			  uint32_t n, const uint8_t *levels)
{
	memset(g, 0, sizeof(*g));
	g->vectors = vectors;
	return graph_init(g, p, n, levels);
}

void
n2_graph_free(N2Graph *g)
{
	free(g->levels);
	free(g->links0);
	free(g->upper_start);
	free(g->upper);
	free(g->locks);
	g->levels = NULL;
	g->links0 = NULL;
	g->upper_start = NULL;
	g->upper = NULL;
	g->locks = NULL;
}
