/*
 * Copyright (c) 2025-2026, the n2 developers
 * distance.c
 *		Scalar reference kernels, run-time dispatch, cosine and normalisation.
 *
 * The scalar kernels are the reference the SIMD variants are tested against
 * and the fallback on any CPU.  They sum in index order: without
 * -ffast-math the compiler cannot reassociate a float reduction, so the
 * result does not depend on how it chooses to vectorise.
 */
#include "distance_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <strings.h>

static float
l2sq_scalar(const float *a, const float *b, int dim)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

static float
l1_scalar(const float *a, const float *b, int dim)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

static float
dot_scalar(const float *a, const float *b, int dim)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += a[i] * b[i];
	return sum;
}

static void
dot_norms_scalar(const float *a, const float *b, int dim,
				 float *ab, float *aa, float *bb)
{
	float		sab = 0.0f;
	float		saa = 0.0f;
	float		sbb = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		sab += a[i] * b[i];
		saa += a[i] * a[i];
		sbb += b[i] * b[i];
	}
	*ab = sab;
	*aa = saa;
	*bb = sbb;
}

#define SCALAR_KERNELS \
	.name = "scalar", \
	.l2sq = l2sq_scalar, \
	.l1 = l1_scalar, \
	.dot = dot_scalar, \
	.dot_norms = dot_norms_scalar

const N2Kernels n2_kernels_scalar = {SCALAR_KERNELS};

/*
 * Scalar until n2_distance_init() runs, so that a caller that forgets it
 * still gets correct (if slow) results rather than a NULL call.
 */
N2Kernels	n2_kernels = {SCALAR_KERNELS};

static N2Simd active_simd = N2_SIMD_SCALAR;
static bool distance_initialised = false;

static const char *const simd_names[N2_SIMD_COUNT] = {
	[N2_SIMD_SCALAR] = "scalar",
	[N2_SIMD_AVX2] = "avx2",
	[N2_SIMD_AVX512] = "avx512",
};

static const N2Kernels *
variant_table(N2Simd simd)
{
	switch (simd)
	{
		case N2_SIMD_SCALAR:
			return &n2_kernels_scalar;
		case N2_SIMD_AVX2:
			return &n2_kernels_avx2;
		case N2_SIMD_AVX512:
			return &n2_kernels_avx512;
		default:
			return NULL;
	}
}

/*
 * The variant files are compiled with -mavx2 -mfma, and the AVX-512 one
 * with -mavx2 -mfma as well, so the compiler may use any of those there.
 * libgcc's checks also cover the OS enabling the wider register state.
 */
static bool
cpu_supports(N2Simd simd)
{
	switch (simd)
	{
		case N2_SIMD_SCALAR:
			return true;
#if defined(__x86_64__) || defined(__i386__)
		case N2_SIMD_AVX2:
			__builtin_cpu_init();
			return __builtin_cpu_supports("avx2") &&
				__builtin_cpu_supports("fma");
		case N2_SIMD_AVX512:
			__builtin_cpu_init();
			return __builtin_cpu_supports("avx512f") &&
				__builtin_cpu_supports("avx2") &&
				__builtin_cpu_supports("fma");
#endif
		default:
			return false;
	}
}

const N2Kernels *
n2_kernels_for(N2Simd simd)
{
	const N2Kernels *k = variant_table(simd);

	if (k == NULL || k->l2sq == NULL || !cpu_supports(simd))
		return NULL;
	return k;
}

const char *
n2_simd_name(N2Simd simd)
{
	if ((int) simd < 0 || simd >= N2_SIMD_COUNT)
		return "unknown";
	return simd_names[simd];
}

N2Simd
n2_simd_choose(const char *cap)
{
	int			limit = N2_SIMD_COUNT - 1;

	if (cap != NULL)
	{
		for (int s = 0; s < N2_SIMD_COUNT; s++)
		{
			if (strcasecmp(cap, simd_names[s]) == 0)
			{
				limit = s;
				break;
			}
		}
	}

	for (int s = limit; s > N2_SIMD_SCALAR; s--)
	{
		if (n2_kernels_for((N2Simd) s) != NULL)
			return (N2Simd) s;
	}
	return N2_SIMD_SCALAR;
}

/*
 * Only the first call writes n2_kernels: later calls, perhaps from threads
 * already using the kernels, just return.  The first call must still come
 * before any thread starts, as PostgreSQL's _PG_init does.
 */
void
n2_distance_init(void)
{
	N2Simd		simd;

	if (distance_initialised)
		return;

	simd = n2_simd_choose(getenv("N2_SIMD"));
	n2_kernels = *variant_table(simd);
	active_simd = simd;
	distance_initialised = true;
}

N2Simd
n2_simd_active(void)
{
	return active_simd;
}

/*
 * The float sums in dot_norms overflow once components pass about 1e19 and
 * underflow to zero below about 1e-19, where the vector is not zero at all.
 * Such vectors take this slower path, whose double sums cannot overflow for
 * any finite float input; only here is a zero norm a zero vector.
 */
static double
cosine_distance_double(const float *a, const float *b, int dim)
{
	double		ab = 0.0;
	double		aa = 0.0;
	double		bb = 0.0;

	for (int i = 0; i < dim; i++)
	{
		ab += (double) a[i] * (double) b[i];
		aa += (double) a[i] * (double) a[i];
		bb += (double) b[i] * (double) b[i];
	}
	if (aa == 0.0 || bb == 0.0)
		return 1.0;
	return 1.0 - ab / sqrt(aa * bb);
}

float
n2_cosine_distance(const float *a, const float *b, int dim)
{
	float		ab;
	float		aa;
	float		bb;
	double		d;

	n2_kernels.dot_norms(a, b, dim, &ab, &aa, &bb);

	/* The product in double: aa * bb overflows float from |x| ~ 1e9 on. */
	if (aa > 0.0f && bb > 0.0f && isfinite(aa) && isfinite(bb) && isfinite(ab))
		d = 1.0 - (double) ab / sqrt((double) aa * (double) bb);
	else
		d = cosine_distance_double(a, b, dim);

	/* Rounding can push identical or opposite vectors just outside. */
	if (d < 0.0)
		d = 0.0;
	else if (d > 2.0)
		d = 2.0;
	return (float) d;
}

double
n2_normalize(float *v, int dim)
{
	double		sum = 0.0;
	double		norm;

	for (int i = 0; i < dim; i++)
		sum += (double) v[i] * (double) v[i];
	norm = sqrt(sum);
	if (norm == 0.0)
		return 0.0;

	for (int i = 0; i < dim; i++)
		v[i] = (float) ((double) v[i] / norm);
	return norm;
}
