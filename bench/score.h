/*
 * Copyright (c) 2025-2026, the n2 developers
 * score.h
 *		What n2bench (SQL) and core_bench (the core alone) score alike, so
 *		that their numbers compare: tie-aware hits and median rates.
 */
#ifndef N2_BENCH_SCORE_H
#define N2_BENCH_SCORE_H

#include <math.h>
#include <stdlib.h>

#include "vecs.h"

/*
 * Tie-aware hit: row id of base is no farther from query q than the k-th
 * true neighbour of query qi (gtdist holds the true Euclidean distances).
 */
static inline int
score_hit(const Vecs *base, const Vecs *gtdist, int k, const float *q, int qi,
		  int id)
{
	const float *b;
	double		s = 0;
	float		limit = gtdist->data[(size_t) qi * gtdist->dim + k - 1];

	if (id < 0 || id >= base->n)
		return 0;
	b = base->data + (size_t) id * base->dim;
	for (int i = 0; i < base->dim; i++)
	{
		double		d = (double) q[i] - b[i];

		s += d * d;
	}
	return (float) sqrt(s) <= limit + 1e-5f * (1 + limit);
}

static inline int
score_cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Median of n rates (sorts them). */
static inline double
score_median(double *v, int n)
{
	qsort(v, n, sizeof(double), score_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif							/* N2_BENCH_SCORE_H */
