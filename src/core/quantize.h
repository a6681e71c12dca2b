/*
 * Copyright (c) 2025-2026, the n2 developers
 * quantize.h
 *		Compact vector codes: float16 and 8-bit scalar quantization (sq8),
 *		their encoders and decoders, and distance kernels that read the codes
 *		directly (scalar, AVX2, AVX-512; run-time dispatch).  Pure C.
 *
 * A float16 code holds each dimension as an IEEE half, rounded to nearest
 * (ties to even) and clamped to the largest finite half.  An sq8 code holds
 * each dimension d as a byte c, standing for fmaf(c, step[d], lo[d]); lo
 * and step come from the ranges a build trained, and values outside them
 * are clamped.  Both decoders are exact functions of the code, so every
 * kernel variant sees the same decoded values; only summation order differs.
 */
#ifndef N2_CORE_QUANTIZE_H
#define N2_CORE_QUANTIZE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "distance.h"
#include "half.h"

typedef enum N2Storage
{
	N2_STORAGE_FLOAT4 = 0,
	N2_STORAGE_FLOAT16 = 1,
	N2_STORAGE_SQ8 = 2
} N2Storage;

/* Bytes one dimension takes in a code. */
static inline int
n2_storage_dim_bytes(N2Storage storage)
{
	switch (storage)
	{
		case N2_STORAGE_FLOAT16:
			return 2;
		case N2_STORAGE_SQ8:
			return 1;
		default:
			return 4;
	}
}

/* float16 (conversions in half.h) */
extern void n2_f16_encode(const float *v, uint16_t *out, int n);
extern void n2_f16_decode(const uint16_t *code, float *out, int n);

/*
 * Widens each of n dimensions' [vmin[d], vmax[d]] to v[d], and clears
 * integral[d] when v[d] is not an integer.  Start from vmin = +inf,
 * vmax = -inf and integral all true.  Returns whether every v[d] was an
 * integer.
 */
extern bool n2_sq8_observe(const float *v, float *vmin, float *vmax,
						   bool *integral, int n);

/*
 * sq8: per-dimension ranges, lo[d] .. lo[d] + 255 * step[d]; integral
 * (NULL: none) says which dimensions held only integers
 */
extern void n2_sq8_ranges(const float *vmin, const float *vmax,
						  const bool *integral, float *lo, float *step, int n);
extern void n2_sq8_encode(const float *v, const float *lo, const float *step,
						  uint8_t *out, int n);
extern void n2_sq8_decode(const uint8_t *code, const float *lo,
						  const float *step, float *out, int n);

/*
 * Kernels on codes, q a float query: sum of (q - x)^2 and sum of q * x,
 * x the decoded code.
 */
typedef struct N2CodeKernels
{
	const char *name;
	float		(*f16_l2sq) (const float *q, const uint16_t *x, int n);
	float		(*f16_dot) (const float *q, const uint16_t *x, int n);
	float		(*sq8_l2sq) (const float *q, const float *lo, const float *step,
							 const uint8_t *x, int n);
	float		(*sq8_dot) (const float *q, const float *lo, const float *step,
							const uint8_t *x, int n);
	/* sum of (a - b)^2 over two codes, exact below 2^24 */
	float		(*u8_l2sq) (const uint8_t *a, const uint8_t *b, int n);

	/*
	 * the coders behind n2_f16_encode and the rest: the same bits at every
	 * level
	 */
	void		(*f16_encode) (const float *v, uint16_t *out, int n);
	void		(*f16_decode) (const uint16_t *code, float *out, int n);
	void		(*sq8_encode) (const float *v, const float *lo, const float *step,
							   uint8_t *out, int n);
	void		(*sq8_decode) (const uint8_t *code, const float *lo,
							   const float *step, float *out, int n);
} N2CodeKernels;

/* The variant in use, chosen with the distance kernels' level. */
extern N2CodeKernels n2_code_kernels;
extern void n2_code_init(void);

/* A specific variant, or NULL when not built in or the CPU lacks it. */
extern const N2CodeKernels *n2_code_kernels_for(N2Simd simd);

/*
 * Rounding: a float sum of n terms is within about n * 2^-24 of its exact
 * value, relative to the sum of the terms' magnitudes; rel covers the
 * operator's sums and the index's together, with room to spare.  side is
 * -1 for the lower bound, +1 for the upper.  Inline, as a compact scan
 * bounds every node it evaluates.
 */
static inline double
n2_code_bound(N2Metric metric, float dhat, float err, float norm, float qnorm,
			  int dims, double side)
{
	double		rel = (dims + 16) * 1.2e-7;
	double		e = (double) err * (1.0 + rel);
	double		b;

	/*
	 * A distance to the code that overflowed float says nothing of the
	 * vector's: a code clamped far from its vector can be far from a query
	 * the vector is near.
	 */
	if (!isfinite(dhat))
		return side < 0 && (metric == N2_METRIC_L2 || metric == N2_METRIC_L1) ?
			0.0 : side * INFINITY;

	switch (metric)
	{
		case N2_METRIC_L2:
			b = (sqrt(dhat > 0.0f ? (double) dhat : 0.0) * (1.0 + side * rel) +
				 side * e) * (1.0 + side * rel);
			break;
		case N2_METRIC_L1:
			/* |x - decoded x|, summed, is at most sqrt(dims) times err */
			b = ((double) dhat * (1.0 + side * rel) +
				 side * sqrt((double) dims) * e) * (1.0 + side * rel);
			break;
		case N2_METRIC_ANGULAR:
			b = (double) dhat + side * (e + 8.0 * rel);
			break;
		case N2_METRIC_DOT:
		default:
			b = (double) dhat + side * ((double) qnorm * (1.0 + rel) *
										(e + rel * (2.0 * (double) norm + e)) + 1e-30);
			break;
	}
	/* a distance is not below 0 (nor a bound NaN: infinity less infinity) */
	if (side < 0 && (metric == N2_METRIC_L2 || metric == N2_METRIC_L1))
		return b > 0.0 ? b : 0.0;
	/* an overflowed code or norm bounds nothing: +-Infinity is always true */
	return isnan(b) ? side * INFINITY : b;
}

/*
 * A lower bound of the distance the SQL operator computes (as the metric's
 * operator returns it: L2 not squared) between the query and the vector x
 * whose code lies at code distance dhat (the index's distance: squared for
 * L2) from the query, given err >= |x - decoded x|, norm >= |x| and qnorm
 * >= |query|.  It allows for float rounding in both computations over dims
 * terms.
 */
static inline double
n2_code_lower_bound(N2Metric metric, float dhat, float err, float norm,
					float qnorm, int dims)
{
	return n2_code_bound(metric, dhat, err, norm, qnorm, dims, -1.0);
}

/* The matching upper bound: the operator's distance is at most this. */
static inline double
n2_code_upper_bound(N2Metric metric, float dhat, float err, float norm,
					float qnorm, int dims)
{
	return n2_code_bound(metric, dhat, err, norm, qnorm, dims, 1.0);
}

#endif							/* N2_CORE_QUANTIZE_H */
