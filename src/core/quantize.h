/*
 * Copyright (c) 2025-2026, the n2 developers
 * quantize.h
 *		8-bit scalar quantization (SQ8) of vectors, for building a graph when
 *		the float vectors do not fit in memory.  Pure C.
 *
 * Each dimension d maps [min_d, max_d] linearly onto codes 0..255: a value v
 * becomes round((v - offset[d]) / scale[d]) clamped, and code c stands for
 * offset[d] + scale[d] * c.  Distances between codes are computed on those
 * reconstructed values by the sq8 kernels of distance.h.
 */
#ifndef N2_CORE_QUANTIZE_H
#define N2_CORE_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "distance.h"

typedef struct N2Quantizer
{
	int			dim;
	float	   *offset;			/* per dimension: the value of code 0 */
	float	   *scale;			/* per dimension: the step between codes */
} N2Quantizer;

/*
 * Sets q up for per-dimension ranges [mins[d], maxs[d]] (from a pass over the
 * data; for angular, of the normalised vectors).  A dimension with
 * max <= min gets scale 0: every value codes to 0 and decodes to min.
 * Allocates the arrays (malloc); returns 0, or -1 when out of memory.
 */
extern int	n2_quantizer_fit(N2Quantizer *q, const float *mins, const float *maxs,
							 int dim);
extern void n2_quantizer_free(N2Quantizer *q);

/* Bytes n2_quantizer_fit allocates. */
extern size_t n2_quantizer_memory(int dim);

/* Encodes dim floats into dim bytes: nearest code, out-of-range clamped. */
extern void n2_quantize(const N2Quantizer *q, const float *v, uint8_t *code);

/* The values code stands for. */
extern void n2_dequantize(const N2Quantizer *q, const uint8_t *code, float *v);

/*
 * The distance the index orders by (l2sq, 1 - a.b, -a.b; see
 * n2_metric_distance), between two codes.
 */
static inline float
n2_sq8_distance(N2Metric metric, const N2Quantizer *q, const uint8_t *a,
				const uint8_t *b)
{
	switch (metric)
	{
		case N2_METRIC_L2:
			return n2_kernels.sq8_l2sq(a, b, q->scale, q->dim);
		case N2_METRIC_ANGULAR:
			return 1.0f - n2_kernels.sq8_dot(a, b, q->offset, q->scale, q->dim);
		case N2_METRIC_DOT:
		default:
			return -n2_kernels.sq8_dot(a, b, q->offset, q->scale, q->dim);
	}
}

/* The same, from a float vector (as stored in the index) to a code. */
static inline float
n2_sq8_float_distance(N2Metric metric, const N2Quantizer *q, const float *v,
					  const uint8_t *code)
{
	switch (metric)
	{
		case N2_METRIC_L2:
			return n2_kernels.sq8_l2sq_float(v, code, q->offset, q->scale, q->dim);
		case N2_METRIC_ANGULAR:
			return 1.0f - n2_kernels.sq8_dot_float(v, code, q->offset, q->scale, q->dim);
		case N2_METRIC_DOT:
		default:
			return -n2_kernels.sq8_dot_float(v, code, q->offset, q->scale, q->dim);
	}
}

#endif							/* N2_CORE_QUANTIZE_H */
