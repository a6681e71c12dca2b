/*
 * Copyright (c) 2025-2026, the n2 developers
 * distance_avx2.c
 *		AVX2 + FMA kernels: eight floats a lane, four independent accumulators.
 *
 * Compiled with -mavx2 -mfma; the dispatcher only calls in here after
 * checking the CPU.  Four accumulators cover the FMA latency at the rate two
 * loads a cycle can feed them.  The tail (dim not a multiple of eight) is
 * read with a masked load, which never touches memory past the end of the
 * vector, so the whole computation stays in vector lanes and its order is
 * fixed by dim alone.
 */
#include "distance_internal.h"

#if defined(__AVX2__) && defined(__FMA__)

#include <immintrin.h>
#include <string.h>

/* Lanes 0 .. n-1 set, for 0 < n < 8. */
static inline __m256i
tail_mask(int n)
{
	static const int32_t lanes[8] = {0, 1, 2, 3, 4, 5, 6, 7};

	return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
							  _mm256_loadu_si256((const __m256i *) lanes));
}

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

static float
l2sq_avx2(const float *a, const float *b, int dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	__m256		d0;
	__m256		d1;
	__m256		d2;
	__m256		d3;
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= dim; i += 8)
	{
		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		s0 = _mm256_fmadd_ps(d0, d0, s0);
	}
	if (i < dim)
	{
		__m256i		m = tail_mask(dim - i);

		d1 = _mm256_sub_ps(_mm256_maskload_ps(a + i, m),
						   _mm256_maskload_ps(b + i, m));
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static float
dot_avx2(const float *a, const float *b, int dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= dim; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	if (i < dim)
	{
		__m256i		m = tail_mask(dim - i);

		s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m),
							 _mm256_maskload_ps(b + i, m), s1);
	}
	return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/*
 * Two ways unrolled rather than four: three sums each need their own
 * accumulators, and 4 x 3 of them plus the loads would crowd the sixteen
 * ymm registers into spilling.
 */
static void
dot_norms_avx2(const float *a, const float *b, int dim,
			   float *ab, float *aa, float *bb)
{
	__m256		ab0 = _mm256_setzero_ps();
	__m256		ab1 = _mm256_setzero_ps();
	__m256		aa0 = _mm256_setzero_ps();
	__m256		aa1 = _mm256_setzero_ps();
	__m256		bb0 = _mm256_setzero_ps();
	__m256		bb1 = _mm256_setzero_ps();
	__m256		x0;
	__m256		x1;
	__m256		y0;
	__m256		y1;
	int			i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		x0 = _mm256_loadu_ps(a + i);
		x1 = _mm256_loadu_ps(a + i + 8);
		y0 = _mm256_loadu_ps(b + i);
		y1 = _mm256_loadu_ps(b + i + 8);
		ab0 = _mm256_fmadd_ps(x0, y0, ab0);
		ab1 = _mm256_fmadd_ps(x1, y1, ab1);
		aa0 = _mm256_fmadd_ps(x0, x0, aa0);
		aa1 = _mm256_fmadd_ps(x1, x1, aa1);
		bb0 = _mm256_fmadd_ps(y0, y0, bb0);
		bb1 = _mm256_fmadd_ps(y1, y1, bb1);
	}
	if (i + 8 <= dim)
	{
		x0 = _mm256_loadu_ps(a + i);
		y0 = _mm256_loadu_ps(b + i);
		ab0 = _mm256_fmadd_ps(x0, y0, ab0);
		aa0 = _mm256_fmadd_ps(x0, x0, aa0);
		bb0 = _mm256_fmadd_ps(y0, y0, bb0);
		i += 8;
	}
	if (i < dim)
	{
		__m256i		m = tail_mask(dim - i);

		x1 = _mm256_maskload_ps(a + i, m);
		y1 = _mm256_maskload_ps(b + i, m);
		ab1 = _mm256_fmadd_ps(x1, y1, ab1);
		aa1 = _mm256_fmadd_ps(x1, x1, aa1);
		bb1 = _mm256_fmadd_ps(y1, y1, bb1);
	}
	*ab = hsum(_mm256_add_ps(ab0, ab1));
	*aa = hsum(_mm256_add_ps(aa0, aa1));
	*bb = hsum(_mm256_add_ps(bb0, bb1));
}

/*
 * SQ8 kernels.  Codes widen to 32-bit lanes (vpmovzxbd), so eight dimensions
 * go per step as for floats; the widening shuffles, not the FMA latency, set
 * the pace, so two accumulators do.  The tail codes are copied into a zeroed
 * buffer and the per-dimension arrays read with a masked load: past the end
 * every operand is zero, and so is every term.
 */
static inline __m256i
codes_epi32(const uint8_t *p)
{
	return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) p));
}

static inline __m256
codes_ps(const uint8_t *p)
{
	return _mm256_cvtepi32_ps(codes_epi32(p));
}

static inline void
copy_tail(uint8_t *buf, const uint8_t *p, int n)
{
	memset(buf, 0, 8);
	memcpy(buf, p, n);
}

static float
sq8_l2sq_avx2(const uint8_t *a, const uint8_t *b, const float *scale, int dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		d0;
	__m256		d1;
	int			i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		d0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(codes_epi32(a + i), codes_epi32(b + i)));
		d1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(codes_epi32(a + i + 8), codes_epi32(b + i + 8)));
		d0 = _mm256_mul_ps(d0, _mm256_loadu_ps(scale + i));
		d1 = _mm256_mul_ps(d1, _mm256_loadu_ps(scale + i + 8));
		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	if (i + 8 <= dim)
	{
		d0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(codes_epi32(a + i), codes_epi32(b + i)));
		d0 = _mm256_mul_ps(d0, _mm256_loadu_ps(scale + i));
		s0 = _mm256_fmadd_ps(d0, d0, s0);
		i += 8;
	}
	if (i < dim)
	{
		uint8_t		ta[8];
		uint8_t		tb[8];

		copy_tail(ta, a + i, dim - i);
		copy_tail(tb, b + i, dim - i);
		d1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(codes_epi32(ta), codes_epi32(tb)));
		d1 = _mm256_mul_ps(d1, _mm256_maskload_ps(scale + i, tail_mask(dim - i)));
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	return hsum(_mm256_add_ps(s0, s1));
}

static float
sq8_dot_avx2(const uint8_t *a, const uint8_t *b, const float *offset,
			 const float *scale, int dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		o;
	__m256		k;
	int			i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		o = _mm256_loadu_ps(offset + i);
		k = _mm256_loadu_ps(scale + i);
		s0 = _mm256_fmadd_ps(_mm256_fmadd_ps(k, codes_ps(a + i), o),
							 _mm256_fmadd_ps(k, codes_ps(b + i), o), s0);
		o = _mm256_loadu_ps(offset + i + 8);
		k = _mm256_loadu_ps(scale + i + 8);
		s1 = _mm256_fmadd_ps(_mm256_fmadd_ps(k, codes_ps(a + i + 8), o),
							 _mm256_fmadd_ps(k, codes_ps(b + i + 8), o), s1);
	}
	if (i + 8 <= dim)
	{
		o = _mm256_loadu_ps(offset + i);
		k = _mm256_loadu_ps(scale + i);
		s0 = _mm256_fmadd_ps(_mm256_fmadd_ps(k, codes_ps(a + i), o),
							 _mm256_fmadd_ps(k, codes_ps(b + i), o), s0);
		i += 8;
	}
	if (i < dim)
	{
		__m256i		m = tail_mask(dim - i);
		uint8_t		ta[8];
		uint8_t		tb[8];

		copy_tail(ta, a + i, dim - i);
		copy_tail(tb, b + i, dim - i);
		o = _mm256_maskload_ps(offset + i, m);
		k = _mm256_maskload_ps(scale + i, m);
		s1 = _mm256_fmadd_ps(_mm256_fmadd_ps(k, codes_ps(ta), o),
							 _mm256_fmadd_ps(k, codes_ps(tb), o), s1);
	}
	return hsum(_mm256_add_ps(s0, s1));
}

static float
sq8_l2sq_float_avx2(const float *v, const uint8_t *code, const float *offset,
					const float *scale, int dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		d0;
	__m256		d1;
	int			i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		d0 = _mm256_fmadd_ps(_mm256_loadu_ps(scale + i), codes_ps(code + i),
							 _mm256_loadu_ps(offset + i));
		d1 = _mm256_fmadd_ps(_mm256_loadu_ps(scale + i + 8), codes_ps(code + i + 8),
							 _mm256_loadu_ps(offset + i + 8));
		d0 = _mm256_sub_ps(_mm256_loadu_ps(v + i), d0);
		d1 = _mm256_sub_ps(_mm256_loadu_ps(v + i + 8), d1);
		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	if (i + 8 <= dim)
	{
		d0 = _mm256_fmadd_ps(_mm256_loadu_ps(scale + i), codes_ps(code + i),
							 _mm256_loadu_ps(offset + i));
		d0 = _mm256_sub_ps(_mm256_loadu_ps(v + i), d0);
		s0 = _mm256_fmadd_ps(d0, d0, s0);
		i += 8;
	}
	if (i < dim)
	{
		__m256i		m = tail_mask(dim - i);
		uint8_t		tc[8];

		copy_tail(tc, code + i, dim - i);
		d1 = _mm256_fmadd_ps(_mm256_maskload_ps(scale + i, m), codes_ps(tc),
							 _mm256_maskload_ps(offset + i, m));
		d1 = _mm256_sub_ps(_mm256_maskload_ps(v + i, m), d1);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	return hsum(_mm256_add_ps(s0, s1));
}

static float
sq8_dot_float_avx2(const float *v, const uint8_t *code, const float *offset,
				   const float *scale, int dim)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + i),
							 _mm256_fmadd_ps(_mm256_loadu_ps(scale + i), codes_ps(code + i),
											 _mm256_loadu_ps(offset + i)), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(v + i + 8),
							 _mm256_fmadd_ps(_mm256_loadu_ps(scale + i + 8), codes_ps(code + i + 8),
											 _mm256_loadu_ps(offset + i + 8)), s1);
	}
	if (i + 8 <= dim)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + i),
							 _mm256_fmadd_ps(_mm256_loadu_ps(scale + i), codes_ps(code + i),
											 _mm256_loadu_ps(offset + i)), s0);
		i += 8;
	}
	if (i < dim)
	{
		__m256i		m = tail_mask(dim - i);
		uint8_t		tc[8];

		copy_tail(tc, code + i, dim - i);
		s1 = _mm256_fmadd_ps(_mm256_maskload_ps(v + i, m),
							 _mm256_fmadd_ps(_mm256_maskload_ps(scale + i, m), codes_ps(tc),
											 _mm256_maskload_ps(offset + i, m)), s1);
	}
	return hsum(_mm256_add_ps(s0, s1));
}

const N2Kernels n2_kernels_avx2 = {
	.name = "avx2",
	.l2sq = l2sq_avx2,
	.dot = dot_avx2,
	.dot_norms = dot_norms_avx2,
	.sq8_l2sq = sq8_l2sq_avx2,
	.sq8_dot = sq8_dot_avx2,
	.sq8_l2sq_float = sq8_l2sq_float_avx2,
	.sq8_dot_float = sq8_dot_float_avx2,
};

#else							/* !(__AVX2__ && __FMA__) */

const N2Kernels n2_kernels_avx2 = {
	.name = "avx2",
};

#endif
