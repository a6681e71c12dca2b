/*
 * Copyright (c) 2025-2026, the n2 developers
 * dataset.h
 *		Loading the shared .fvecs/.ivecs datasets and tie-aware recall, for
 *		the unit tests that build graphs.
 */
#ifndef N2_UNIT_DATASET_H
#define N2_UNIT_DATASET_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "build.h"
#include "unit.h"
#include "../../bench/vecs.h"


/*
 * Reads dataset/name under the data directory, .fvecs or .ivecs (per row:
 * int32 dim, then dim 4-byte values).
 */
static inline bool
read_vecs(const char *dataset, const char *name, Vecs *v)
{
	char		path[1024];
	const char *err;

	snprintf(path, sizeof(path), "%s/%s/%s", unit_data_dir(), dataset, name);
	err = vecs_read(path, v);
	if (err)
		fprintf(stderr, "%s: %s\n", path, err);
	return err == NULL;
}

/* Levels seeded from the data, as the index build does. */
static inline uint8_t *
draw_levels(const float *vecs, int n, int dim, const N2GraphParams *p)
{
	uint8_t    *levels = malloc(n);

	for (int i = 0; i < n; i++)
		levels[i] = (uint8_t) n2_random_level(p->seed,
											  n2_hash_bytes(vecs + (size_t) i * dim,
															sizeof(float) * dim, 0),
											  p->mult);
	return levels;
}

static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Tie-aware Euclidean recall@k of searching g at ef: a result is a hit when
 * its true distance (to base, the float vectors) is within the k-th true
 * neighbour's (gtdist, one row per query, not squared).
 */
static inline double
recall_l2(const N2Graph *g, const float *base, const Vecs *query,
		  const Vecs *gtdist, int k, int ef)
{
	N2Search	s;
	N2Candidate *out = malloc(sizeof(N2Candidate) * k);
	double		hits = 0;

	if (out == NULL || !n2_search_init(&s, g->n, ef, g->params.max_m0, false))
	{
		free(out);
		return -1;
	}
	for (int qi = 0; qi < query->n; qi++)
	{
		const float *q = (const float *) query->data + (size_t) qi * query->dim;
		float		limit = ((const float *) gtdist->data)[(size_t) qi * gtdist->dim + k - 1] + 1e-4f;
		int			n = n2_graph_search(g, &s, q, k, ef, out);

		for (int i = 0; i < n; i++)
		{
			const float *v = base + out[i].ref * g->params.dim;

			hits += sqrtf(n2_metric_distance(N2_METRIC_L2, q, v, g->params.dim)) <= limit;
		}
	}
	n2_search_free(&s);
	free(out);
	return hits / ((double) query->n * k);
}

#endif							/* N2_UNIT_DATASET_H */
