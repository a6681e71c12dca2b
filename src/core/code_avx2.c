/*
 * Copyright (c) 2025-2026, the n2 developers
 * code_avx2.c
 *		AVX2 + FMA + F16C kernels on float16 and sq8 codes: 32 dimensions a
 *		step into four accumulators, then eight a step, then a scalar tail
 *		(codes are short, and a tail read stays inside the code).
 *
 * Compiled with -mavx2 -mfma -mf16c; the dispatcher calls in here only
 * after checking the CPU.
 */
#include "quantize_internal.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

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

/*
 * The distance kernels run 32 dimensions a step into four accumulators, so
 * that four FMA chains overlap, and count with a size_t, which spares the
 * loop a sign extension per step.  A difference is taken code minus query:
 * the query then comes straight from memory into the subtraction.
 */
#define N2_SUM4(step) \
	for (; i + 32 <= len; i += 32) \
	{ \
		step(s0, i); \
		step(s1, i + 8); \
		step(s2, i + 16); \
		step(s3, i + 24); \
	} \
	for (; i + 8 <= len; i += 8) \
		step(s0, i)

#define F16_L2SQ_STEP(s, k) \
	do { \
		__m256		d = _mm256_sub_ps(load_half(x + (k)), _mm256_loadu_ps(q + (k))); \
		(s) = _mm256_fmadd_ps(d, d, (s)); \
	} while (0)

#define F16_DOT_STEP(s, k) \
	((s) = _mm256_fmadd_ps(load_half(x + (k)), _mm256_loadu_ps(q + (k)), (s)))

#define SQ8_L2SQ_STEP(s, k) \
	do { \
		__m256		d = _mm256_sub_ps(load_sq8(x + (k), lo + (k), step + (k)), \
									  _mm256_loadu_ps(q + (k))); \
		(s) = _mm256_fmadd_ps(d, d, (s)); \
	} while (0)

#define SQ8_DOT_STEP(s, k) \
	((s) = _mm256_fmadd_ps(load_sq8(x + (k), lo + (k), step + (k)), \
						   _mm256_loadu_ps(q + (k)), (s)))

static inline float
hsum4(__m256 s0, __m256 s1, __m256 s2, __m256 s3)
{
	return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static inline float
square(float e)
{
	return e * e;
}

/* The scalar terms of the tail, one per kernel, as the scalar kernels sum */
#define F16_L2SQ_TERM(k) square(q[k] - n2_half_to_float(x[k]))
#define F16_DOT_TERM(k) (q[k] * n2_half_to_float(x[k]))
#define SQ8_L2SQ_TERM(k) square(q[k] - fmaf((float) x[k], step[k], lo[k]))
#define SQ8_DOT_TERM(k) (q[k] * fmaf((float) x[k], step[k], lo[k]))

/* A kernel's body: its vector step over the dimensions, its term over the tail */
#define N2_KERNEL_BODY(vstep, term) \
	__m256		s0 = _mm256_setzero_ps(), \
				s1 = s0, \
				s2 = s0, \
				s3 = s0; \
	size_t		len = n; \
	size_t		i = 0; \
	float		sum; \
	\
	N2_SUM4(vstep); \
	sum = hsum4(s0, s1, s2, s3); \
	for (; i < len; i++) \
		sum += term(i); \
	return sum

static float
f16_l2sq_avx2(const float *q, const uint16_t *x, int n)
{
	N2_KERNEL_BODY(F16_L2SQ_STEP, F16_L2SQ_TERM);
}

static float
f16_dot_avx2(const float *q, const uint16_t *x, int n)
{
	N2_KERNEL_BODY(F16_DOT_STEP, F16_DOT_TERM);
}

static float
sq8_l2sq_avx2(const float *q, const float *lo, const float *step,
			  const uint8_t *x, int n)
{
	N2_KERNEL_BODY(SQ8_L2SQ_STEP, SQ8_L2SQ_TERM);
}

static float
sq8_dot_avx2(const float *q, const float *lo, const float *step,
			 const uint8_t *x, int n)
{
	N2_KERNEL_BODY(SQ8_DOT_STEP, SQ8_DOT_TERM);
}

/*
 * The coders do what the scalar ones in quantize.c do, lane by lane, with
 * the same IEEE operations, so they give the same bits (unit-tested).  Tails
 * go through zero-padded copies: padding has step 0 and codes to 0.
 */
static inline __m128i
encode_half(__m256 x)
{
	x = _mm256_and_ps(x, _mm256_cmp_ps(x, x, _CMP_ORD_Q));
	x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-N2_HALF_MAX)),
					  _mm256_set1_ps(N2_HALF_MAX));
	return _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

static void
f16_encode_avx2(const float *v, uint16_t *out, int n)
{
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *) (out + i), encode_half(_mm256_loadu_ps(v + i)));
	if (i < n)
	{
		float		in[8] = {0};
		uint16_t	tmp[8];

		memcpy(in, v + i, sizeof(float) * (n - i));
		_mm_storeu_si128((__m128i *) tmp, encode_half(_mm256_loadu_ps(in)));
		memcpy(out + i, tmp, sizeof(uint16_t) * (n - i));
	}
}

static void
f16_decode_avx2(const uint16_t *code, float *out, int n)
{
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, load_half(code + i));
	for (; i < n; i++)
		out[i] = _cvtsh_ss(code[i]);
}

/* Eight sq8 codes, as sq8_encode_scalar chooses them. */
static inline __m128i
encode_sq8(__m256 v, __m256 lo, __m256 step)
{
	__m256		zero = _mm256_setzero_ps();
	__m256		top = _mm256_set1_ps(255.0f);
	__m256		one = _mm256_set1_ps(1.0f);
	__m256		sign = _mm256_set1_ps(-0.0f);
	__m256		t = _mm256_div_ps(_mm256_sub_ps(v, lo), step);
	__m256		c = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256		up = _mm256_add_ps(c, one);
	__m256		down = _mm256_sub_ps(c, one);
	__m256		dc = _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_fmadd_ps(c, step, lo), v));
	__m256		du = _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_fmadd_ps(up, step, lo), v));
	__m256		dd = _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_fmadd_ps(down, step, lo), v));
	__m256		go_up = _mm256_and_ps(_mm256_cmp_ps(c, top, _CMP_LT_OQ),
									  _mm256_cmp_ps(du, dc, _CMP_LT_OQ));
	__m256		go_down = _mm256_andnot_ps(go_up,
										   _mm256_and_ps(_mm256_cmp_ps(c, zero, _CMP_GT_OQ),
														 _mm256_cmp_ps(dd, dc, _CMP_LT_OQ)));
	__m256		coded = _mm256_and_ps(_mm256_cmp_ps(step, zero, _CMP_GT_OQ),
									  _mm256_cmp_ps(t, zero, _CMP_GT_OQ));
	__m256i		ci;
	__m128i		w;

	c = _mm256_blendv_ps(c, up, go_up);
	c = _mm256_blendv_ps(c, down, go_down);
	c = _mm256_blendv_ps(c, top, _mm256_cmp_ps(t, top, _CMP_GE_OQ));
	ci = _mm256_cvtps_epi32(_mm256_and_ps(c, coded));
	w = _mm_packus_epi32(_mm256_castsi256_si128(ci), _mm256_extracti128_si256(ci, 1));
	return _mm_packus_epi16(w, w);
}

static void
sq8_encode_avx2(const float *v, const float *lo, const float *step,
				uint8_t *out, int n)
{
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm_storel_epi64((__m128i *) (out + i),
						 encode_sq8(_mm256_loadu_ps(v + i), _mm256_loadu_ps(lo + i),
									_mm256_loadu_ps(step + i)));
	if (i < n)
	{
		float		pv[8] = {0},
					plo[8] = {0},
					pstep[8] = {0};
		uint8_t		tmp[16];

		memcpy(pv, v + i, sizeof(float) * (n - i));
		memcpy(plo, lo + i, sizeof(float) * (n - i));
		memcpy(pstep, step + i, sizeof(float) * (n - i));
		_mm_storeu_si128((__m128i *) tmp,
						 encode_sq8(_mm256_loadu_ps(pv), _mm256_loadu_ps(plo),
									_mm256_loadu_ps(pstep)));
		memcpy(out + i, tmp, n - i);
	}
}

static void
sq8_decode_avx2(const uint8_t *code, const float *lo, const float *step,
				float *out, int n)
{
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, load_sq8(code + i, lo + i, step + i));
	for (; i < n; i++)
		out[i] = fmaf((float) code[i], step[i], lo[i]);
}

/* 16 codes a step: differences widened to 16 bits, squares summed in pairs */
static float
u8_l2sq_avx2(const uint8_t *a, const uint8_t *b, int n)
{
	__m256i		s = _mm256_setzero_si256();
	uint32_t	sum;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256i		d = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (a + i))),
										 _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (b + i))));

		s = _mm256_add_epi32(s, _mm256_madd_epi16(d, d));
	}
	s = _mm256_add_epi32(s, _mm256_srli_si256(s, 8));
	s = _mm256_add_epi32(s, _mm256_srli_si256(s, 4));
	sum = (uint32_t) _mm256_extract_epi32(s, 0) + (uint32_t) _mm256_extract_epi32(s, 4);
	for (; i < n; i++)
	{
		int			d = (int) a[i] - (int) b[i];

		sum += (uint32_t) (d * d);
	}
	return (float) sum;
}

const N2CodeKernels n2_code_kernels_avx2 = {
	.name = "avx2",
	.f16_l2sq = f16_l2sq_avx2,
	.f16_dot = f16_dot_avx2,
	.sq8_l2sq = sq8_l2sq_avx2,
	.sq8_dot = sq8_dot_avx2,
	.u8_l2sq = u8_l2sq_avx2,
	.f16_encode = f16_encode_avx2,
	.f16_decode = f16_decode_avx2,
	.sq8_encode = sq8_encode_avx2,
	.sq8_decode = sq8_decode_avx2,
};

#else

const N2CodeKernels n2_code_kernels_avx2 = {
	.name = "avx2",
};

#endif
