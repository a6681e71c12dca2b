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
l1_avx2(const float *a, const float *b, int dim)
{
	const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	int			i = 0;

#define ABSDIFF(x, y) _mm256_and_ps(abs_mask, _mm256_sub_ps((x), (y)))
	for (; i + 32 <= dim; i += 32)
	{
		s0 = _mm256_add_ps(s0, ABSDIFF(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
		s1 = _mm256_add_ps(s1, ABSDIFF(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
		s2 = _mm256_add_ps(s2, ABSDIFF(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16)));
		s3 = _mm256_add_ps(s3, ABSDIFF(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24)));
	}
	for (; i + 8 <= dim; i += 8)
		s0 = _mm256_add_ps(s0, ABSDIFF(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
	if (i < dim)
	{
		__m256i		m = tail_mask(dim - i);

		s1 = _mm256_add_ps(s1, ABSDIFF(_mm256_maskload_ps(a + i, m),
									   _mm256_maskload_ps(b + i, m)));
	}
#undef ABSDIFF
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

const N2Kernels n2_kernels_avx2 = {
	.name = "avx2",
	.l2sq = l2sq_avx2,
	.l1 = l1_avx2,
	.dot = dot_avx2,
	.dot_norms = dot_norms_avx2,
};

#else							/* !(__AVX2__ && __FMA__) */

const N2Kernels n2_kernels_avx2 = {
	.name = "avx2",
};

#endif
