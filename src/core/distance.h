/*
 * Copyright (c) 2025-2026, the n2 developers
 * distance.h
 *		Distance kernels with run-time CPU dispatch.  Pure C: no PostgreSQL.
 *
 * Every kernel accumulates in float, in the same order for a given variant,
 * so the SQL operators and the index agree on every value they compute.
 */
#ifndef N2_CORE_DISTANCE_H
#define N2_CORE_DISTANCE_H

#include <stdint.h>

typedef enum N2Metric
{
	N2_METRIC_L2 = 0,			/* squared Euclidean inside the index */
	N2_METRIC_ANGULAR = 1,		/* 1 - cos; vectors normalised once */
	N2_METRIC_DOT = 2,			/* negative inner product */
	N2_METRIC_L1 = 3			/* sum of absolute differences */
} N2Metric;

typedef enum N2Simd
{
	N2_SIMD_SCALAR = 0,
	N2_SIMD_AVX2 = 1,			/* AVX2 + FMA */
	N2_SIMD_AVX512 = 2,			/* AVX-512F */
	N2_SIMD_COUNT
} N2Simd;

typedef struct N2Kernels
{
	const char *name;
	/* sum of (a[i] - b[i])^2 */
	float		(*l2sq) (const float *a, const float *b, int dim);
	/* sum of |a[i] - b[i]| */
	float		(*l1) (const float *a, const float *b, int dim);
	/* sum of a[i] * b[i] */
	float		(*dot) (const float *a, const float *b, int dim);
	/* a.b, a.a and b.b in one pass (cosine distance) */
	void		(*dot_norms) (const float *a, const float *b, int dim,
							  float *ab, float *aa, float *bb);
} N2Kernels;

/* The variant in use; valid after n2_distance_init(). */
extern N2Kernels n2_kernels;

/*
 * Chooses the best variant this CPU supports.  Idempotent: only the first
 * call decides, so make it before starting threads.  The environment
 * variable N2_SIMD (scalar, avx2, avx512; any case) caps the choice, for
 * testing and benchmarking; an unrecognised value is ignored.  Until the
 * first call the scalar kernels are in place.
 */
extern void n2_distance_init(void);
extern N2Simd n2_simd_active(void);
extern const char *n2_simd_name(N2Simd simd);

/* A specific variant, or NULL when it is not built in or the CPU lacks it. */
extern const N2Kernels *n2_kernels_for(N2Simd simd);

/*
 * 1 - a.b / (|a| |b|), clamped to [0, 2].  When either vector is all zeros
 * the cosine is undefined; we define the distance as 1 (similarity 0), which
 * is also what the index computes on normalised vectors.  Vectors beyond the
 * range of the float sums (components above ~1e19 or below ~1e-19) are
 * recomputed in double, so they are neither NaN nor mistaken for zero.
 */
extern float n2_cosine_distance(const float *a, const float *b, int dim);

/* Scales v to unit length in place; returns the original norm.  A zero
 * vector is left as it is. */
extern double n2_normalize(float *v, int dim);

/*
 * The distance the index orders by, for vectors as stored in the index
 * (normalised for angular): l2sq, 1 - a.b, -a.b or the L1 distance.
 */
static inline float
n2_metric_distance(N2Metric metric, const float *a, const float *b, int dim)
{
	switch (metric)
	{
		case N2_METRIC_L2:
			return n2_kernels.l2sq(a, b, dim);
		case N2_METRIC_ANGULAR:
			return 1.0f - n2_kernels.dot(a, b, dim);
		case N2_METRIC_L1:
			return n2_kernels.l1(a, b, dim);
		case N2_METRIC_DOT:
		default:
			return -n2_kernels.dot(a, b, dim);
	}
}

#endif							/* N2_CORE_DISTANCE_H */
