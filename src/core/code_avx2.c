/*
 * Copyright (c) 2025-2026, the n2 developers
 * code_avx2.c
 *		AVX2 + FMA + F16C kernels on float16 and sq8 codes: eight dimensions
 *		a step, two accumulators, a scalar tail (codes are short, and a tail
 *		read stays inside the code).
 *
 * Compiled with -mavx2 -mfma -mf16c; the dispatcher calls in here only
 * after checking the CPU.
 */
#include "quantize_internal.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>
#include <math.h>

static inline float
hsum(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);

	lo = _mm_add_ps(lo, hi);
	hi = _mm_movehl_ps(hi, lo);
	lo = _mm_add_ps(lo, hi);
	hi = _mm_shuffle_ps(lo, lo, 0x55);
	lo = _mm_add_ss(lo, hi);
	return _mm_cvtss_f32(lo);
}

static inline __m256
load_half(const uint16_t *x)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) x));
}

static inline __m256
load_sq8(const uint8_t *x, const float *lo, const float *step)
{
	__m256		c = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) x)));

	return _mm256_fmadd_ps(c, _mm256_loadu_ps(step), _mm256_loadu_ps(lo));
}

static float
f16_l2sq_avx2(const float *q, const uint16_t *x, int n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		d;
	int			i = 0;
	float		sum;

	for (; i + 16 <= n; i += 16)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(q + i), load_half(x + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
		d = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), load_half(x + i + 8));
		s1 = _mm256_fmadd_ps(d, d, s1);
	}
	for (; i + 8 <= n; i += 8)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(q + i), load_half(x + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	sum = hsum(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
	{
		float		e = q[i] - n2_half_to_float(x[i]);

		sum += e * e;
	}
	return sum;
}

static float
f16_dot_avx2(const float *q, const uint16_t *x, int n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	int			i = 0;
	float		sum;

	for (; i + 16 <= n; i += 16)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_half(x + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load_half(x + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_half(x + i), s0);
	sum = hsum(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		sum += q[i] * n2_half_to_float(x[i]);
	return sum;
}

static float
sq8_l2sq_avx2(const float *q, const float *lo, const float *step,
			  const uint8_t *x, int n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		d;
	int			i = 0;
	float		sum;

	for (; i + 16 <= n; i += 16)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(q + i), load_sq8(x + i, lo + i, step + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
		d = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8),
						  load_sq8(x + i + 8, lo + i + 8, step + i + 8));
		s1 = _mm256_fmadd_ps(d, d, s1);
	}
	for (; i + 8 <= n; i += 8)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(q + i), load_sq8(x + i, lo + i, step + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	sum = hsum(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
	{
		float		e = q[i] - fmaf((float) x[i], step[i], lo[i]);

		sum += e * e;
	}
	return sum;
}

static float
sq8_dot_avx2(const float *q, const float *lo, const float *step,
			 const uint8_t *x, int n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	int			i = 0;
	float		sum;

	for (; i + 16 <= n; i += 16)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i),
							 load_sq8(x + i, lo + i, step + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8),
							 load_sq8(x + i + 8, lo + i + 8, step + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i),
							 load_sq8(x + i, lo + i, step + i), s0);
	sum = hsum(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		sum += q[i] * fmaf((float) x[i], step[i], lo[i]);
	return sum;
}

const N2CodeKernels n2_code_kernels_avx2 = {
	.name = "avx2",
	.f16_l2sq = f16_l2sq_avx2,
	.f16_dot = f16_dot_avx2,
	.sq8_l2sq = sq8_l2sq_avx2,
	.sq8_dot = sq8_dot_avx2,
};

#else

const N2CodeKernels n2_code_kernels_avx2 = {
	.name = "avx2",
};

#endif
