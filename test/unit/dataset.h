/*
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

typedef struct Vecs
{
	int			n;
	int			dim;
	void	   *data;			/* n * dim elements of 4 bytes */
} Vecs;

/*
 * Reads dataset/name under the data directory, .fvecs or .ivecs (per row:
 * int32 dim, then dim 4-byte values).
 */
static inline bool
read_vecs(const char *dataset, const char *name, Vecs *v)
{
	char		path[1024];
	FILE	   *f;
	int32_t		dim;
	long		size;

	snprintf(path, sizeof(path), "%s/%s/%s", unit_data_dir(), dataset, name);
	f = fopen(path, "rb");
	if (f == NULL)
	{
		fprintf(stderr, "cannot open %s\n", path);
		return false;
	}
	if (fread(&dim, 4, 1, f) != 1 || dim <= 0)
	{
		fclose(f);
		return false;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	v->dim = dim;
	v->n = (int) (size / (4 * ((long) dim + 1)));
	v->data = malloc((size_t) v->n * dim * 4);
	for (int i = 0; i < v->n; i++)
	{
		int32_t		d;

		if (fread(&d, 4, 1, f) != 1 || d != dim ||
			fread((char *) v->data + (size_t) i * dim * 4, 4, dim, f) != (size_t) dim)
		{
			fclose(f);
			return false;
		}
	}
	fclose(f);
	return true;
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
