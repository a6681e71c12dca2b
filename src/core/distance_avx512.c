/*
 * Copyright (c) 2025-2026, the n2 developers
 * distance_avx512.c
 *		AVX-512F kernels: sixteen floats a lane, four independent accumulators.
 *
 * Compiled with -mavx512f -mavx2 -mfma; the dispatcher only calls in here
 * after checking the CPU.  The tail is read with a masked load, which
 * suppresses faults on the lanes it leaves out, so a vector ending at the
 * edge of a mapped page is safe and no scalar loop is needed.
 */
#include "distance_internal.h"

#if defined(__AVX512F__)

#include <immintrin.h>

static inline __mmask16
tail_mask(int n)
{
	return (__mmask16) ((1u << n) - 1);
}

static float
l2sq_avx512(const float *a, const float *b, int dim)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	__m512		d0;
	__m512		d1;
	__m512		d2;
	__m512		d3;
	int			i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= dim; i += 16)
	{
		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		s0 = _mm512_fmadd_ps(d0, d0, s0);
	}
	if (i < dim)
	{
		__mmask16	m = tail_mask(dim - i);

		d1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
						   _mm512_maskz_loadu_ps(m, b + i));
		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
											  _mm512_add_ps(s2, s3)));
}

static float
l1_avx512(const float *a, const float *b, int dim)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

#define ABSDIFF(x, y) _mm512_abs_ps(_mm512_sub_ps((x), (y)))
	for (; i + 64 <= dim; i += 64)
	{
		s0 = _mm512_add_ps(s0, ABSDIFF(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
		s1 = _mm512_add_ps(s1, ABSDIFF(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16)));
		s2 = _mm512_add_ps(s2, ABSDIFF(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32)));
		s3 = _mm512_add_ps(s3, ABSDIFF(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48)));
	}
	for (; i + 16 <= dim; i += 16)
		s0 = _mm512_add_ps(s0, ABSDIFF(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
	if (i < dim)
	{
		__mmask16	m = tail_mask(dim - i);

		s1 = _mm512_add_ps(s1, ABSDIFF(_mm512_maskz_loadu_ps(m, a + i),
									   _mm512_maskz_loadu_ps(m, b + i)));
	}
#undef ABSDIFF
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
											  _mm512_add_ps(s2, s3)));
}

static float
dot_avx512(const float *a, const float *b, int dim)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= dim; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
	if (i < dim)
	{
		__mmask16	m = tail_mask(dim - i);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i),
							 _mm512_maskz_loadu_ps(m, b + i), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
											  _mm512_add_ps(s2, s3)));
}

/* Thirty-two zmm registers leave room for 4 x 3 accumulators and the loads. */
static void
dot_norms_avx512(const float *a, const float *b, int dim,
				 float *ab, float *aa, float *bb)
{
	__m512		ab0 = _mm512_setzero_ps();
	__m512		ab1 = _mm512_setzero_ps();
	__m512		ab2 = _mm512_setzero_ps();
	__m512		ab3 = _mm512_setzero_ps();
	__m512		aa0 = _mm512_setzero_ps();
	__m512		aa1 = _mm512_setzero_ps();
	__m512		aa2 = _mm512_setzero_ps();
	__m512		aa3 = _mm512_setzero_ps();
	__m512		bb0 = _mm512_setzero_ps();
	__m512		bb1 = _mm512_setzero_ps();
	__m512		bb2 = _mm512_setzero_ps();
	__m512		bb3 = _mm512_setzero_ps();
	__m512		x0;
	__m512		x1;
	__m512		x2;
	__m512		x3;
	__m512		y0;
	__m512		y1;
	__m512		y2;
	__m512		y3;
	int			i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		x0 = _mm512_loadu_ps(a + i);
		x1 = _mm512_loadu_ps(a + i + 16);
		x2 = _mm512_loadu_ps(a + i + 32);
		x3 = _mm512_loadu_ps(a + i + 48);
		y0 = _mm512_loadu_ps(b + i);
		y1 = _mm512_loadu_ps(b + i + 16);
		y2 = _mm512_loadu_ps(b + i + 32);
		y3 = _mm512_loadu_ps(b + i + 48);
		ab0 = _mm512_fmadd_ps(x0, y0, ab0);
		ab1 = _mm512_fmadd_ps(x1, y1, ab1);
		ab2 = _mm512_fmadd_ps(x2, y2, ab2);
		ab3 = _mm512_fmadd_ps(x3, y3, ab3);
		aa0 = _mm512_fmadd_ps(x0, x0, aa0);
		aa1 = _mm512_fmadd_ps(x1, x1, aa1);
		aa2 = _mm512_fmadd_ps(x2, x2, aa2);
		aa3 = _mm512_fmadd_ps(x3, x3, aa3);
		bb0 = _mm512_fmadd_ps(y0, y0, bb0);
		bb1 = _mm512_fmadd_ps(y1, y1, bb1);
		bb2 = _mm512_fmadd_ps(y2, y2, bb2);
		bb3 = _mm512_fmadd_ps(y3, y3, bb3);
	}
	for (; i + 16 <= dim; i += 16)
	{
		x0 = _mm512_loadu_ps(a + i);
		y0 = _mm512_loadu_ps(b + i);
		ab0 = _mm512_fmadd_ps(x0, y0, ab0);
		aa0 = _mm512_fmadd_ps(x0, x0, aa0);
		bb0 = _mm512_fmadd_ps(y0, y0, bb0);
	}
	if (i < dim)
	{
		__mmask16	m = tail_mask(dim - i);

		x1 = _mm512_maskz_loadu_ps(m, a + i);
		y1 = _mm512_maskz_loadu_ps(m, b + i);
		ab1 = _mm512_fmadd_ps(x1, y1, ab1);
		aa1 = _mm512_fmadd_ps(x1, x1, aa1);
		bb1 = _mm512_fmadd_ps(y1, y1, bb1);
	}
	*ab = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(ab0, ab1),
											 _mm512_add_ps(ab2, ab3)));
	*aa = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(aa0, aa1),
											 _mm512_add_ps(aa2, aa3)));
	*bb = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(bb0, bb1),
											 _mm512_add_ps(bb2, bb3)));
}

const N2Kernels n2_kernels_avx512 = {
	.name = "avx512",
	.l2sq = l2sq_avx512,
	.l1 = l1_avx512,
	.dot = dot_avx512,
	.dot_norms = dot_norms_avx512,
};

#else							/* !__AVX512F__ */

const N2Kernels n2_kernels_avx512 = {
	.name = "avx512",
};

#endif
