/*
 * Copyright (c) 2025-2026, the n2 developers
 * code_avx512.c
 *		AVX-512F kernels on float16 and sq8 codes: sixteen dimensions a step,
 *		two accumulators, a masked tail (masked loads never touch memory past
 *		the code).
 *
 * Compiled with -mavx512f -mavx2 -mfma -mf16c; the dispatcher calls in here
 * only after checking the CPU.
 */
#include "quantize_internal.h"

#if defined(__AVX512F__)

#include <immintrin.h>

static inline __m512
load_half(const uint16_t *x)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) x));
}

static inline __m512
load_half_tail(const uint16_t *x, int n)
{
	uint16_t	tmp[16] = {0};

	for (int i = 0; i < n; i++)
		tmp[i] = x[i];
	return load_half(tmp);
}

static inline __m512
load_sq8(const uint8_t *x, const float *lo, const float *step)
{
	__m512		c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) x)));

	return _mm512_fmadd_ps(c, _mm512_loadu_ps(step), _mm512_loadu_ps(lo));
}

static inline __m512
load_sq8_tail(const uint8_t *x, const float *lo, const float *step, int n)
{
	__mmask16	m = (__mmask16) ((1u << n) - 1);
	uint8_t		tmp[16] = {0};
	__m512		c;

	for (int i = 0; i < n; i++)
		tmp[i] = x[i];
	c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) tmp)));
	return _mm512_fmadd_ps(c, _mm512_maskz_loadu_ps(m, step),
						   _mm512_maskz_loadu_ps(m, lo));
}

static float
f16_l2sq_avx512(const float *q, const uint16_t *x, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		d;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		d = _mm512_sub_ps(_mm512_loadu_ps(q + i), load_half(x + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
		d = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16), load_half(x + i + 16));
		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	for (; i + 16 <= n; i += 16)
	{
		d = _mm512_sub_ps(_mm512_loadu_ps(q + i), load_half(x + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);

		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, q + i), load_half_tail(x + i, n - i));
		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static float
f16_dot_avx512(const float *q, const uint16_t *x, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load_half(x + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), load_half(x + i + 16), s1);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load_half(x + i), s0);
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i),
							 load_half_tail(x + i, n - i), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static float
sq8_l2sq_avx512(const float *q, const float *lo, const float *step,
				const uint8_t *x, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		d;
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		d = _mm512_sub_ps(_mm512_loadu_ps(q + i), load_sq8(x + i, lo + i, step + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
		d = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16),
						  load_sq8(x + i + 16, lo + i + 16, step + i + 16));
		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	for (; i + 16 <= n; i += 16)
	{
		d = _mm512_sub_ps(_mm512_loadu_ps(q + i), load_sq8(x + i, lo + i, step + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);

		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, q + i),
						  load_sq8_tail(x + i, lo + i, step + i, n - i));
		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static float
sq8_dot_avx512(const float *q, const float *lo, const float *step,
			   const uint8_t *x, int n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i),
							 load_sq8(x + i, lo + i, step + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16),
							 load_sq8(x + i + 16, lo + i + 16, step + i + 16), s1);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i),
							 load_sq8(x + i, lo + i, step + i), s0);
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i),
							 load_sq8_tail(x + i, lo + i, step + i, n - i), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

const N2CodeKernels n2_code_kernels_avx512 = {
	.name = "avx512",
	.f16_l2sq = f16_l2sq_avx512,
	.f16_dot = f16_dot_avx512,
	.sq8_l2sq = sq8_l2sq_avx512,
	.sq8_dot = sq8_dot_avx512,
};

#else

const N2CodeKernels n2_code_kernels_avx512 = {
	.name = "avx512",
};

#endif
