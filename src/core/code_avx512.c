/*
 * Copyright (c) 2025-2026, the n2 developers
 * code_avx512.c
 *		AVX-512 kernels on float16 and sq8 codes: sixteen dimensions a step,
 *		two accumulators, a masked tail (masked loads never touch memory past
 *		the code).
 *
 * Compiled with -mavx512f -mavx512bw -mavx2 -mfma -mf16c; the dispatcher
 * calls in here only after checking the CPU (BW: the 16-bit lanes of the u8
 * kernel, in every AVX-512 server CPU since Skylake).
 */
#include "quantize_internal.h"

#if defined(__AVX512F__)

#include <immintrin.h>
#include <string.h>

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

/*
 * The coders do what the scalar ones in quantize.c do, lane by lane, with
 * the same IEEE operations (division, fused multiply-add, rounding to
 * nearest even), so they give the same bits; the unit test checks that.
 */
static inline __m256i
encode_half(__m512 x)
{
	x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, x, _CMP_ORD_Q), x);
	x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-N2_HALF_MAX)),
					  _mm512_set1_ps(N2_HALF_MAX));
	return _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

static void
f16_encode_avx512(const float *v, uint16_t *out, int n)
{
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *) (out + i), encode_half(_mm512_loadu_ps(v + i)));
	if (i < n)
	{
		uint16_t	tmp[16];

		_mm256_storeu_si256((__m256i *) tmp,
							encode_half(_mm512_maskz_loadu_ps((__mmask16) ((1u << (n - i)) - 1),
															  v + i)));
		memcpy(out + i, tmp, sizeof(uint16_t) * (n - i));
	}
}

static void
f16_decode_avx512(const uint16_t *code, float *out, int n)
{
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(out + i, load_half(code + i));
	if (i < n)
		_mm512_mask_storeu_ps(out + i, (__mmask16) ((1u << (n - i)) - 1),
							  load_half_tail(code + i, n - i));
}

/* Sixteen sq8 codes, as sq8_encode_scalar chooses them. */
static inline __m128i
encode_sq8(__m512 v, __m512 lo, __m512 step)
{
	__m512		zero = _mm512_setzero_ps();
	__m512		top = _mm512_set1_ps(255.0f);
	__m512		one = _mm512_set1_ps(1.0f);
	__m512		t = _mm512_div_ps(_mm512_sub_ps(v, lo), step);
	__m512		c = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512		up = _mm512_add_ps(c, one);
	__m512		down = _mm512_sub_ps(c, one);
	__m512		dc = _mm512_abs_ps(_mm512_sub_ps(_mm512_fmadd_ps(c, step, lo), v));
	__m512		du = _mm512_abs_ps(_mm512_sub_ps(_mm512_fmadd_ps(up, step, lo), v));
	__m512		dd = _mm512_abs_ps(_mm512_sub_ps(_mm512_fmadd_ps(down, step, lo), v));
	__mmask16	go_up = _mm512_cmp_ps_mask(c, top, _CMP_LT_OQ) &
	_mm512_cmp_ps_mask(du, dc, _CMP_LT_OQ);
	__mmask16	go_down = ~go_up & _mm512_cmp_ps_mask(c, zero, _CMP_GT_OQ) &
	_mm512_cmp_ps_mask(dd, dc, _CMP_LT_OQ);
	__mmask16	coded = _mm512_cmp_ps_mask(step, zero, _CMP_GT_OQ) &
	_mm512_cmp_ps_mask(t, zero, _CMP_GT_OQ);

	c = _mm512_mask_mov_ps(c, go_up, up);
	c = _mm512_mask_mov_ps(c, go_down, down);
	c = _mm512_mask_mov_ps(c, _mm512_cmp_ps_mask(t, top, _CMP_GE_OQ), top);
	c = _mm512_maskz_mov_ps(coded, c);
	return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(c));
}

static void
sq8_encode_avx512(const float *v, const float *lo, const float *step,
				  uint8_t *out, int n)
{
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		_mm_storeu_si128((__m128i *) (out + i),
						 encode_sq8(_mm512_loadu_ps(v + i), _mm512_loadu_ps(lo + i),
									_mm512_loadu_ps(step + i)));
	if (i < n)
	{
		__mmask16	m = (__mmask16) ((1u << (n - i)) - 1);
		uint8_t		tmp[16];

		/* the padding lanes have step 0, so they code to 0 */
		_mm_storeu_si128((__m128i *) tmp,
						 encode_sq8(_mm512_maskz_loadu_ps(m, v + i),
									_mm512_maskz_loadu_ps(m, lo + i),
									_mm512_maskz_loadu_ps(m, step + i)));
		memcpy(out + i, tmp, n - i);
	}
}

static void
sq8_decode_avx512(const uint8_t *code, const float *lo, const float *step,
				  float *out, int n)
{
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(out + i, load_sq8(code + i, lo + i, step + i));
	if (i < n)
		_mm512_mask_storeu_ps(out + i, (__mmask16) ((1u << (n - i)) - 1),
							  load_sq8_tail(code + i, lo + i, step + i, n - i));
}

/*
 * 32 codes a step: differences widened to 16 bits, squares summed in pairs
 * into 32-bit lanes; the tail's masked loads give zeros past the code.
 */
static float
u8_l2sq_avx512(const uint8_t *a, const uint8_t *b, int n)
{
	__m512i		s = _mm512_setzero_si512();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m512i		d = _mm512_sub_epi16(_mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *) (a + i))),
										 _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *) (b + i))));

		s = _mm512_add_epi32(s, _mm512_madd_epi16(d, d));
	}
	if (i < n)
	{
		__mmask64	m = (((__mmask64) 1) << (n - i)) - 1;
		__m512i		d = _mm512_sub_epi16(_mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_maskz_loadu_epi8(m, a + i))),
										 _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_maskz_loadu_epi8(m, b + i))));

		s = _mm512_add_epi32(s, _mm512_madd_epi16(d, d));
	}
	return (float) (uint32_t) _mm512_reduce_add_epi32(s);
}

const N2CodeKernels n2_code_kernels_avx512 = {
	.name = "avx512",
	.f16_l2sq = f16_l2sq_avx512,
	.f16_dot = f16_dot_avx512,
	.sq8_l2sq = sq8_l2sq_avx512,
	.sq8_dot = sq8_dot_avx512,
	.u8_l2sq = u8_l2sq_avx512,
	.f16_encode = f16_encode_avx512,
	.f16_decode = f16_decode_avx512,
	.sq8_encode = sq8_encode_avx512,
	.sq8_decode = sq8_decode_avx512,
};

#else

const N2CodeKernels n2_code_kernels_avx512 = {
	.name = "avx512",
};

#endif
