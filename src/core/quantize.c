/*
 * Copyright (c) 2025-2026, the n2 developers
 * quantize.c
 *		float16 and sq8 codes: conversions, scalar kernels, dispatch and the
 *		lower bound that lets a scan on codes return exactly ordered rows.
 */
#include "quantize_internal.h"

#include <math.h>
#include <string.h>

/*
 * A value beyond the largest half is clamped to it rather than coded as
 * infinity, and NaN (never stored) as zero, so every code decodes finite.
 */
static void
f16_encode_scalar(const float *v, uint16_t *out, int n)
{
	for (int i = 0; i < n; i++)
	{
		float		x = v[i];

		if (isnan(x))
			x = 0.0f;
		else if (x > N2_HALF_MAX)
			x = N2_HALF_MAX;
		else if (x < -N2_HALF_MAX)
			x = -N2_HALF_MAX;
		out[i] = n2_float_to_half(x);
	}
}

static void
f16_decode_scalar(const uint16_t *code, float *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = n2_half_to_float(code[i]);
}

/*
 * Whether x is an integer, without rintf, a libm call unless SSE4.1 is
 * assumed: below 2^23 adding and taking away 2^23 rounds to an integer, and
 * every float from 2^23 up is one.
 */
#define TWO_TO_23	8388608.0f

static inline bool
is_integer(float x)
{
	float		t = fabsf(x);

	return !(t < TWO_TO_23) || (t + TWO_TO_23) - TWO_TO_23 == t;
}

bool
n2_sq8_observe(const float *v, float *vmin, float *vmax, bool *integral, int n)
{
	bool		all = true;

	for (int i = 0; i < n; i++)
	{
		float		x = v[i];
		bool		whole = is_integer(x);

		vmin[i] = x < vmin[i] ? x : vmin[i];
		vmax[i] = x > vmax[i] ? x : vmax[i];
		integral[i] &= whole;
		all &= whole;
	}
	return all;
}

/*
 * A dimension whose values were all equal gets step 0: every code is lo.
 * One that held only integers, at most 255 apart, gets step 1, which codes
 * each of them exactly (8-bit pixels, SIFT, int8 embeddings), where an even
 * split of its range would code most of them with an error.
 */
void
n2_sq8_ranges(const float *vmin, const float *vmax, const bool *integral,
			  float *lo, float *step, int n)
{
	for (int i = 0; i < n; i++)
	{
		lo[i] = vmin[i];
		if (integral != NULL && integral[i] && vmax[i] > vmin[i] &&
			vmax[i] - vmin[i] <= 255.0f)
		{
			step[i] = 1.0f;
			continue;
		}
		/* in double, so that a range past FLT_MAX has a finite step */
		step[i] = vmax[i] > vmin[i] ?
			(float) (((double) vmax[i] - vmin[i]) / 255.0) : 0.0f;
		/* the top code must reach vmax despite the division's rounding */
		while (step[i] > 0.0f && fmaf(255.0f, step[i], lo[i]) < vmax[i])
			step[i] = nextafterf(step[i], INFINITY);
	}
}

static void
sq8_encode_scalar(const float *v, const float *lo, const float *step,
				  uint8_t *out, int n)
{
	for (int i = 0; i < n; i++)
	{
		float		t;
		int			c;

		if (step[i] <= 0.0f)
		{
			out[i] = 0;
			continue;
		}
		t = (v[i] - lo[i]) / step[i];
		if (!(t > 0.0f))
			c = 0;
		else if (t >= 255.0f)
			c = 255;
		else
		{
			c = (int) rintf(t);
			/* the nearer of the two codes around v, as decoding sees them */
			if (c < 255 && fabsf(fmaf((float) (c + 1), step[i], lo[i]) - v[i]) <
				fabsf(fmaf((float) c, step[i], lo[i]) - v[i]))
				c++;
			else if (c > 0 && fabsf(fmaf((float) (c - 1), step[i], lo[i]) - v[i]) <
					 fabsf(fmaf((float) c, step[i], lo[i]) - v[i]))
				c--;
		}
		out[i] = (uint8_t) c;
	}
}

static void
sq8_decode_scalar(const uint8_t *code, const float *lo, const float *step,
				  float *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = fmaf((float) code[i], step[i], lo[i]);
}

static float
f16_l2sq_scalar(const float *q, const uint16_t *x, int n)
{
	float		sum = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = q[i] - n2_half_to_float(x[i]);

		sum += d * d;
	}
	return sum;
}

static float
f16_dot_scalar(const float *q, const uint16_t *x, int n)
{
	float		sum = 0.0f;

	for (int i = 0; i < n; i++)
		sum += q[i] * n2_half_to_float(x[i]);
	return sum;
}

static float
sq8_l2sq_scalar(const float *q, const float *lo, const float *step,
				const uint8_t *x, int n)
{
	float		sum = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = q[i] - fmaf((float) x[i], step[i], lo[i]);

		sum += d * d;
	}
	return sum;
}

static float
sq8_dot_scalar(const float *q, const float *lo, const float *step,
			   const uint8_t *x, int n)
{
	float		sum = 0.0f;

	for (int i = 0; i < n; i++)
		sum += q[i] * fmaf((float) x[i], step[i], lo[i]);
	return sum;
}

static float
u8_l2sq_scalar(const uint8_t *a, const uint8_t *b, int n)
{
	uint32_t	sum = 0;

	for (int i = 0; i < n; i++)
	{
		int			d = (int) a[i] - (int) b[i];

		sum += (uint32_t) (d * d);
	}
	return (float) sum;
}

#define SCALAR_CODE_KERNELS \
	.name = "scalar", \
	.f16_l2sq = f16_l2sq_scalar, \
	.f16_dot = f16_dot_scalar, \
	.sq8_l2sq = sq8_l2sq_scalar, \
	.sq8_dot = sq8_dot_scalar, \
	.u8_l2sq = u8_l2sq_scalar, \
	.f16_encode = f16_encode_scalar, \
	.f16_decode = f16_decode_scalar, \
	.sq8_encode = sq8_encode_scalar, \
	.sq8_decode = sq8_decode_scalar

const N2CodeKernels n2_code_kernels_scalar = {SCALAR_CODE_KERNELS};

N2CodeKernels n2_code_kernels = {SCALAR_CODE_KERNELS};

void
n2_f16_encode(const float *v, uint16_t *out, int n)
{
	n2_code_kernels.f16_encode(v, out, n);
}

void
n2_f16_decode(const uint16_t *code, float *out, int n)
{
	n2_code_kernels.f16_decode(code, out, n);
}

void
n2_sq8_encode(const float *v, const float *lo, const float *step,
			  uint8_t *out, int n)
{
	n2_code_kernels.sq8_encode(v, lo, step, out, n);
}

void
n2_sq8_decode(const uint8_t *code, const float *lo, const float *step,
			  float *out, int n)
{
	n2_code_kernels.sq8_decode(code, lo, step, out, n);
}

/*
 * The AVX2 variant also converts halves with F16C, which every AVX2 CPU
 * has but which libgcc's check list does not name: ask CPUID (leaf 1,
 * ECX bit 29).  AVX-512F implies it; the AVX-512 variant needs BW too.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static int
cpu_has_f16c(void)
{
	unsigned int a,
				b,
				c,
				d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & (1u << 29)) != 0;
}

static int
cpu_has_avx512bw(void)
{
	return __builtin_cpu_supports("avx512bw");
}
#else
static int
cpu_has_f16c(void)
{
	return 0;
}

static int
cpu_has_avx512bw(void)
{
	return 0;
}
#endif

const N2CodeKernels *
n2_code_kernels_for(N2Simd simd)
{
	const N2CodeKernels *k;

	switch (simd)
	{
		case N2_SIMD_SCALAR:
			return &n2_code_kernels_scalar;
		case N2_SIMD_AVX2:
			k = &n2_code_kernels_avx2;
			break;
		case N2_SIMD_AVX512:
			k = &n2_code_kernels_avx512;
			if (!cpu_has_avx512bw())
				return NULL;
			break;
		default:
			return NULL;
	}
	if (k->f16_l2sq == NULL || n2_kernels_for(simd) == NULL || !cpu_has_f16c())
		return NULL;
	return k;
}

/* The distance kernels' level (n2_distance_init decides it), or below. */
void
n2_code_init(void)
{
	for (int s = n2_simd_active(); s >= N2_SIMD_SCALAR; s--)
	{
		const N2CodeKernels *k = n2_code_kernels_for((N2Simd) s);

		if (k != NULL)
		{
			n2_code_kernels = *k;
			return;
		}
	}
}
