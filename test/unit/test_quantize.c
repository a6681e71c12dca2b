/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_quantize.c
 *		float16 and sq8 codes: conversions and their error bounds, clamping,
 *		every kernel and coder variant this CPU runs against the scalar one,
 *		and the lower bound against exactly computed distances.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "distance_internal.h"
#include "quantize_internal.h"
#include "unit.h"

#define MAX_DIM 1100

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static float
rand_float(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (float) ((double) ((rng_state * 0x2545F4914F6CDD1Dull) >> 11) /
					9007199254740992.0 * 2.0 - 1.0);
}

static void
test_half(void)
{
	int			bad = 0;

	/* every finite half survives decode then encode */
	for (uint32_t h = 0; h < 65536; h++)
	{
		if (((h >> 10) & 0x1F) == 31)
			continue;
		if (n2_float_to_half(n2_half_to_float((uint16_t) h)) != h)
			bad++;
	}
	CHECK(bad == 0, "%d halves did not round trip", bad);

	/* rounding error within half an ulp, over magnitudes 2^-30 .. 2^15 */
	bad = 0;
	for (int i = 0; i < 200000; i++)
	{
		float		f = rand_float() * ldexpf(1.0f, (i % 46) - 30);
		float		back = n2_half_to_float(n2_float_to_half(f));
		double		bound = fabsf(f) >= ldexpf(1.0f, -14) ?
		fabs((double) f) * ldexp(1.0, -11) : ldexp(1.0, -25);

		if (fabs((double) back - (double) f) > bound)
			bad++;
	}
	CHECK(bad == 0, "%d conversions off by more than half an ulp", bad);

	/* ties to even, clamping, NaN */
	CHECK(n2_float_to_half(1.0f + ldexpf(1.0f, -11)) == 0x3C00, "tie not to even");
	CHECK(n2_float_to_half(1.0f + 3 * ldexpf(1.0f, -11)) == 0x3C02, "tie not to even (up)");
	{
		float		big[4] = {1e6f, -1e30f, 65519.0f, NAN};
		uint16_t	code[4];

		n2_f16_encode(big, code, 4);
		CHECK(n2_half_to_float(code[0]) == N2_HALF_MAX, "no clamp");
		CHECK(n2_half_to_float(code[1]) == -N2_HALF_MAX, "no clamp");
		CHECK(n2_half_to_float(code[2]) == N2_HALF_MAX, "65519");
		CHECK(code[3] == 0, "NaN not coded as zero");
	}
}

static void
test_sq8(void)
{
	float		vmin[64],
				vmax[64],
				lo[64],
				step[64],
				v[64],
				back[64];
	uint8_t		code[64];
	int			bad = 0;

	for (int d = 0; d < 64; d++)
	{
		vmin[d] = rand_float() * 10.0f;
		vmax[d] = vmin[d] + (d == 5 ? 0.0f : fabsf(rand_float()) * 100.0f);
	}
	n2_sq8_ranges(vmin, vmax, NULL, lo, step, 64);
	CHECK(step[5] == 0.0f, "a constant dimension has step 0");
	for (int d = 0; d < 64; d++)
	{
		uint8_t		c;

		n2_sq8_encode(&vmax[d], &lo[d], &step[d], &c, 1);
		if (d != 5 && (c != 255 || fmaf(255.0f, step[d], lo[d]) < vmax[d]))
			bad++;
	}
	CHECK(bad == 0, "%d ranges do not reach their maximum", bad);

	/* a range wider than FLT_MAX: finite step, the ends decode to themselves */
	{
		float		wmin = -3e38f,
					wmax = 3e38f,
					wlo,
					wstep,
					ends[2] = {-3e38f, 3e38f},
					wback[2];
		uint8_t		wcode[2];

		n2_sq8_ranges(&wmin, &wmax, NULL, &wlo, &wstep, 1);
		CHECK(isfinite(wstep) && wstep > 0.0f, "range past FLT_MAX: step %g", wstep);
		n2_sq8_encode(&ends[0], &wlo, &wstep, &wcode[0], 1);
		n2_sq8_encode(&ends[1], &wlo, &wstep, &wcode[1], 1);
		n2_sq8_decode(&wcode[0], &wlo, &wstep, &wback[0], 1);
		n2_sq8_decode(&wcode[1], &wlo, &wstep, &wback[1], 1);
		CHECK(wcode[0] == 0 && wcode[1] == 255 && wback[0] == -3e38f &&
			  isfinite(wback[1]) && wback[1] >= 3e38f,
			  "range past FLT_MAX: codes %d %d decode to %g %g",
			  wcode[0], wcode[1], wback[0], wback[1]);
	}

	/* in range: within half a step */
	bad = 0;
	for (int i = 0; i < 2000; i++)
	{
		for (int d = 0; d < 64; d++)
			v[d] = vmin[d] + (vmax[d] - vmin[d]) * fabsf(rand_float());
		n2_sq8_encode(v, lo, step, code, 64);
		n2_sq8_decode(code, lo, step, back, 64);
		for (int d = 0; d < 64; d++)
		{
			if (fabsf(back[d] - v[d]) > step[d] * 0.5f * (1.0f + 1e-5f) + 1e-6f)
				bad++;
		}
	}
	CHECK(bad == 0, "%d in-range values off by more than half a step", bad);

	/* out of range: clamped to the ends */
	for (int d = 0; d < 64; d++)
		v[d] = (d & 1) ? vmax[d] + 1000.0f : vmin[d] - 1000.0f;
	n2_sq8_encode(v, lo, step, code, 64);
	bad = 0;
	for (int d = 0; d < 64; d++)
	{
		if (d != 5 && code[d] != ((d & 1) ? 255 : 0))
			bad++;
		if (d == 5 && code[d] != 0)
			bad++;
	}
	CHECK(bad == 0, "%d out-of-range values not clamped", bad);
}

static int
close_enough(float got, float want, double scale)
{
	return fabs((double) got - (double) want) <= 1e-4 * scale + 1e-5;
}

/*
 * n2_sq8_observe keeps each dimension's minimum and maximum and whether all
 * its values were integers, as rintf judges them, around and beyond 2^23 and
 * for both zeros.
 */
static void
test_sq8_observe(void)
{
	enum
	{
		D = 8,
		N = 9
	};
	const float rows[N][D] = {
		{0.0f, 1.0f, -3.0f, 8388607.0f, 1e30f, 0.5f, -0.0f, 2.0f},
		{255.0f, 7.0f, -2.0f, 8388608.0f, -1e30f, 1.0f, 0.0f, 2.0f},
		{3.0f, 0.25f, -128.0f, 16777216.0f, 4.0f, 2.0f, 0.0f, 2.0f},
		{1.0f, 2.0f, 5.0f, 8388606.0f, 2.0f, 3.0f, -0.0f, 2.0f},
		{2.0f, 3.0f, 6.0f, 8388605.0f, 1.0f, 4.0f, 0.0f, 2.0f},
		{4.0f, 4.0f, 7.0f, 8388604.0f, 0.0f, 5.0f, 0.0f, 2.0f},
		{5.0f, 5.0f, 8.0f, 8388603.0f, -1.0f, 6.0f, 0.0f, 2.0f},
		{6.0f, 6.0f, 9.0f, 8388602.0f, -2.0f, 7.0f, 0.0f, 2.0f},
		{7.0f, 8388607.5f - 8388000.0f, -8388607.5f, 8388601.0f, -3.0f, 8.0f, 0.0f, 2.0f},
	};
	float		vmin[D],
				vmax[D];
	bool		integral[D];
	bool		whole_rows[N];
	int			bad = 0;

	for (int d = 0; d < D; d++)
	{
		vmin[d] = INFINITY;
		vmax[d] = -INFINITY;
		integral[d] = true;
	}
	for (int i = 0; i < N; i++)
		whole_rows[i] = n2_sq8_observe(rows[i], vmin, vmax, integral, D);
	for (int d = 0; d < D; d++)
	{
		float		lo = INFINITY,
					hi = -INFINITY;
		bool		whole = true;

		for (int i = 0; i < N; i++)
		{
			lo = fminf(lo, rows[i][d]);
			hi = fmaxf(hi, rows[i][d]);
			whole &= rows[i][d] == rintf(rows[i][d]);
		}
		if (vmin[d] != lo || vmax[d] != hi || integral[d] != whole)
			bad++;
	}
	CHECK(bad == 0, "ranges and integrality as a plain loop finds them (%d dimensions differ)",
		  bad);
	CHECK(!integral[1] && !integral[2] && !integral[5] && integral[3] && integral[4] &&
		  integral[6], "fractions found, large and zero values integral");
	CHECK(!whole_rows[0] && whole_rows[1] && !whole_rows[2] && whole_rows[3] && !whole_rows[8],
		  "a row is whole when every value is an integer");
}

/*
 * Dimensions that held only integers at most 255 apart get step 1 and code
 * every integer in range exactly, also far from zero; the others, and any
 * dimension when no flags are given, split their range evenly.
 */
static void
test_sq8_integral(void)
{
	enum
	{
		D = 6
	};

	/*
	 * pixels, signed int8, narrow, one past the step-1 span, off zero,
	 * fractional
	 */
	const float vmin[D] = {0.0f, -128.0f, 3.0f, 0.0f, 1000000.0f, 0.0f};
	const float vmax[D] = {255.0f, 127.0f, 7.0f, 256.0f, 1000200.0f, 255.0f};
	const bool	integral[D] = {true, true, true, true, true, false};
	float		lo[D],
				step[D],
				even_lo[D],
				even_step[D],
				v[D],
				back[D];
	uint8_t		code[D];
	int			bad = 0;

	n2_sq8_ranges(vmin, vmax, integral, lo, step, D);
	n2_sq8_ranges(vmin, vmax, NULL, even_lo, even_step, D);
	CHECK(step[0] == 1.0f && step[1] == 1.0f && step[2] == 1.0f && step[4] == 1.0f,
		  "integral spans of at most 255 get step 1: %g %g %g %g",
		  step[0], step[1], step[2], step[4]);
	CHECK(step[3] == even_step[3] && step[5] == even_step[5] && step[2] != even_step[2],
		  "a wider or fractional dimension is split evenly: %g %g", step[3], step[5]);
	for (int x = 0; x <= 255; x++)
	{
		for (int d = 0; d < D; d++)
			v[d] = fminf(vmin[d] + (float) x, vmax[d]);
		n2_sq8_encode(v, lo, step, code, D);
		n2_sq8_decode(code, lo, step, back, D);
		for (int d = 0; d < D; d++)
		{
			if ((d == 0 || d == 1 || d == 2 || d == 4) && back[d] != v[d])
				bad++;
		}
	}
	CHECK(bad == 0, "%d integers of a step-1 dimension not coded exactly", bad);
}

static void
test_kernels(void)
{
	static float q[MAX_DIM],
				x[MAX_DIM],
				lo[MAX_DIM],
				step[MAX_DIM],
				vmin[MAX_DIM],
				vmax[MAX_DIM];
	static uint16_t h[MAX_DIM];
	static uint8_t c[MAX_DIM];
	const N2CodeKernels *s = n2_code_kernels_for(N2_SIMD_SCALAR);

	for (int d = 0; d < MAX_DIM; d++)
	{
		vmin[d] = -1.0f - fabsf(rand_float());
		vmax[d] = 1.0f + fabsf(rand_float());
	}
	n2_sq8_ranges(vmin, vmax, NULL, lo, step, MAX_DIM);

	for (int simd = N2_SIMD_AVX2; simd < N2_SIMD_COUNT; simd++)
	{
		const N2CodeKernels *k = n2_code_kernels_for((N2Simd) simd);
		int			bad = 0;

		if (k == NULL)
		{
			printf("code kernels %s: not supported here\n", n2_simd_name((N2Simd) simd));
			continue;
		}
		for (int n = 1; n <= MAX_DIM; n += (n < 70 ? 1 : 37))
		{
			double		scale = 0.0;

			for (int d = 0; d < n; d++)
			{
				q[d] = rand_float() * 2.0f;
				x[d] = rand_float() * 2.0f;
				scale += fabs(q[d]) * 4.0 + 16.0;
			}
			n2_f16_encode(x, h, n);
			n2_sq8_encode(x, lo, step, c, n);
			if (!close_enough(k->f16_l2sq(q, h, n), s->f16_l2sq(q, h, n), scale) ||
				!close_enough(k->f16_dot(q, h, n), s->f16_dot(q, h, n), scale) ||
				!close_enough(k->sq8_l2sq(q, lo, step, c, n), s->sq8_l2sq(q, lo, step, c, n), scale) ||
				!close_enough(k->sq8_dot(q, lo, step, c, n), s->sq8_dot(q, lo, step, c, n), scale))
				bad++;
		}
		CHECK(bad == 0, "%s: %d dimensions disagree with scalar", k->name, bad);
	}
}

#define NV (1 << 20)

/* A float from raw bits. */
static float
float_bits(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/*
 * The SIMD coders give the scalar coders' bits: over every finite half,
 * floats spread over every exponent (halves' ties, subnormals, clamping,
 * NaN, infinities), and sq8 values on and between code points, outside the
 * range and on constant dimensions; slices of every length to 40 cover the
 * tails.
 */
static void
test_coders(void)
{
	static float v[NV],
				lo[NV],
				step[NV],
				got[NV],
				want[NV];
	static uint16_t hgot[NV],
				hwant[NV];
	static uint8_t cgot[NV],
				cwant[NV];
	const N2CodeKernels *s = n2_code_kernels_for(N2_SIMD_SCALAR);
	int			nh = 0;
	int			covered = 0;	/* what slices of 1, 2, .. 40, 1, .. cover */

	/* halves and the floats around them, then bit patterns over all floats */
	for (uint32_t h = 0; h < 65536; h += 3)
	{
		float		f = n2_half_to_float((uint16_t) h);
		uint32_t	u;

		memcpy(&u, &f, sizeof(u));
		v[nh++] = f;
		v[nh++] = float_bits(u + 1);
		v[nh++] = float_bits(u - 1);
		v[nh++] = float_bits(u + 0x1000);	/* a tie between two halves */
	}
	for (int i = nh; i < NV; i++)
		v[i] = float_bits((uint32_t) i * 4099u);
	v[0] = NAN;
	v[1] = INFINITY;
	v[2] = -INFINITY;
	v[3] = -0.0f;
	v[4] = 65520.0f;
	v[5] = -65519.0f;
	for (int n = 1; covered + n <= NV; n = n % 40 + 1)
		covered += n;

	for (int i = 0; i < NV; i++)
	{
		int			d = i % 997;

		lo[i] = (d % 13 == 0) ? 0.0f : rand_float() * 10.0f;
		step[i] = (d % 17 == 0) ? 0.0f : fabsf(rand_float()) * ldexpf(1.0f, d % 9 - 4);
	}

	for (int simd = N2_SIMD_AVX2; simd < N2_SIMD_COUNT; simd++)
	{
		const N2CodeKernels *k = n2_code_kernels_for((N2Simd) simd);

		if (k == NULL)
			continue;
		for (int off = 0, n = 1; off + n <= NV; off += n, n = n % 40 + 1)
		{
			k->f16_encode(v + off, hgot + off, n);
			s->f16_encode(v + off, hwant + off, n);
		}
		CHECK(memcmp(hgot, hwant, sizeof(uint16_t) * covered) == 0,
			  "%s: float16 codes differ from scalar", k->name);

		for (int h = 0; h < 65536; h++)
			hwant[h] = ((h >> 10) & 0x1F) == 31 ? 0 : (uint16_t) h;
		for (int off = 0, n = 1; off + n <= 65536; off += n, n = n % 40 + 1)
		{
			k->f16_decode(hwant + off, got + off, n);
			s->f16_decode(hwant + off, want + off, n);
		}
		CHECK(memcmp(got, want, sizeof(float) * 65536) == 0,
			  "%s: float16 decoding differs from scalar", k->name);

		/* sq8: values on code points, on midpoints, between, outside */
		for (int i = 0; i < NV; i++)
		{
			float		c = (float) ((i * 7) % 300) - 20.0f;

			switch (i % 4)
			{
				case 0:
					want[i] = fmaf(c, step[i], lo[i]);
					break;
				case 1:
					want[i] = fmaf(c + 0.5f, step[i], lo[i]);
					break;
				case 2:
					want[i] = lo[i] + rand_float() * step[i] * 300.0f;
					break;
				default:
					want[i] = v[i];
			}
		}
		for (int off = 0, n = 1; off + n <= NV; off += n, n = n % 40 + 1)
		{
			k->sq8_encode(want + off, lo + off, step + off, cgot + off, n);
			s->sq8_encode(want + off, lo + off, step + off, cwant + off, n);
		}
		CHECK(memcmp(cgot, cwant, covered) == 0,
			  "%s: sq8 codes differ from scalar", k->name);
		for (int off = 0, n = 1; off + n <= NV; off += n, n = n % 40 + 1)
		{
			k->sq8_decode(cwant + off, lo + off, step + off, got + off, n);
			s->sq8_decode(cwant + off, lo + off, step + off, want + off, n);
		}
		CHECK(memcmp(got, want, sizeof(float) * covered) == 0,
			  "%s: sq8 decoding differs from scalar", k->name);
	}
}

/* The lower bound never exceeds the distances the operators compute. */
static void
test_lower_bound(void)
{
	static float q[MAX_DIM],
				x[MAX_DIM],
				xd[MAX_DIM],
				lo[MAX_DIM],
				step[MAX_DIM],
				vmin[MAX_DIM],
				vmax[MAX_DIM];
	static uint16_t h[MAX_DIM];
	static uint8_t c[MAX_DIM];
	int			bad = 0,
				badub = 0,
				loose = 0;
	int			n = 300;

	for (int d = 0; d < n; d++)
	{
		vmin[d] = -0.5f;
		vmax[d] = 0.5f;
	}
	n2_sq8_ranges(vmin, vmax, NULL, lo, step, n);
	for (int i = 0; i < 3000; i++)
	{
		int			sq8 = i & 1;
		double		err = 0.0,
					norm = 0.0,
					qnorm = 0.0;

		for (int d = 0; d < n; d++)
		{
			q[d] = rand_float();
			/* a few values outside the trained range */
			x[d] = rand_float() * (d % 50 == 0 ? 2.0f : 0.5f);
		}
		if (sq8)
		{
			n2_sq8_encode(x, lo, step, c, n);
			n2_sq8_decode(c, lo, step, xd, n);
		}
		else
		{
			n2_f16_encode(x, h, n);
			n2_f16_decode(h, xd, n);
		}
		for (int d = 0; d < n; d++)
		{
			err += ((double) x[d] - xd[d]) * ((double) x[d] - xd[d]);
			norm += (double) x[d] * x[d];
			qnorm += (double) q[d] * q[d];
		}
		err = sqrt(err) * (1 + 1e-6);
		norm = sqrt(norm) * (1 + 1e-6);
		qnorm = sqrt(qnorm) * (1 + 1e-6);
		for (int m = 0; m <= N2_METRIC_L1; m++)
		{
			float		dhat;
			double		exact;
			double		lb;
			double		ub;

			if (m == N2_METRIC_ANGULAR)
				continue;		/* needs unit vectors: L2 covers the same
								 * error */
			if (m == N2_METRIC_L1)
			{
				/* L1 on codes decodes them (storage.c) */
				dhat = n2_kernels.l1(q, xd, n);
				exact = n2_kernels.l1(q, x, n);
			}
			else
			{
				dhat = m == N2_METRIC_L2 ?
					(sq8 ? n2_code_kernels.sq8_l2sq(q, lo, step, c, n) :
					 n2_code_kernels.f16_l2sq(q, h, n)) :
					-(sq8 ? n2_code_kernels.sq8_dot(q, lo, step, c, n) :
					  n2_code_kernels.f16_dot(q, h, n));
				exact = m == N2_METRIC_L2 ? sqrt(n2_kernels.l2sq(q, x, n)) :
					-(double) n2_kernels.dot(q, x, n);
			}
			lb = n2_code_lower_bound((N2Metric) m, dhat, (float) err,
									 (float) norm, (float) qnorm, n);
			ub = n2_code_upper_bound((N2Metric) m, dhat, (float) err,
									 (float) norm, (float) qnorm, n);
			if (lb > exact)
				bad++;
			if (ub < exact)
				badub++;
			/* as wide as the code's error, plus the rounding allowance */
			if (ub - lb > 2.01 * (m == N2_METRIC_L2 ? err + 2e-4 * fabs(exact) :
								  m == N2_METRIC_L1 ? sqrt(n) * err + 2e-4 * fabs(exact) :
								  qnorm * (err + 2e-4 * norm)))
				loose++;
		}
	}
	CHECK(bad == 0, "%d lower bounds above the distance", bad);
	CHECK(badub == 0, "%d upper bounds below the distance", badub);
	CHECK(loose == 0, "%d bounds wider than the code's error allows", loose);

	/* overflowed errors or norms give no bound, never NaN */
	CHECK(n2_code_lower_bound(N2_METRIC_DOT, INFINITY, INFINITY, 1.0f, 0.0f, 8) == -INFINITY,
		  "dot: 0 * infinity");
	CHECK(n2_code_lower_bound(N2_METRIC_DOT, INFINITY, INFINITY, 1.0f, 1.0f, 8) == -INFINITY,
		  "dot: infinity less infinity");
	CHECK(n2_code_lower_bound(N2_METRIC_L2, INFINITY, INFINITY, 1.0f, 1.0f, 8) == 0.0,
		  "L2: infinity less infinity");
	CHECK(n2_code_lower_bound(N2_METRIC_L1, INFINITY, INFINITY, 1.0f, 1.0f, 8) == 0.0,
		  "L1: infinity less infinity");
	CHECK(n2_code_lower_bound(N2_METRIC_ANGULAR, 1.0f, INFINITY, 1.0f, 1.0f, 8) == -INFINITY,
		  "angular: infinite error");
	CHECK(n2_code_upper_bound(N2_METRIC_DOT, -INFINITY, INFINITY, 1.0f, 1.0f, 8) == INFINITY,
		  "dot upper: -infinity plus infinity");
	CHECK(n2_code_upper_bound(N2_METRIC_L2, 1.0f, INFINITY, 1.0f, 1.0f, 8) == INFINITY,
		  "L2 upper: infinite error");
	/* a distance to the code that overflowed, with a finite error */
	CHECK(n2_code_lower_bound(N2_METRIC_L2, INFINITY, 3e38f, 1.0f, 1.0f, 8) == 0.0,
		  "L2: overflowed distance to the code");
	CHECK(n2_code_upper_bound(N2_METRIC_L2, INFINITY, 3e38f, 1.0f, 1.0f, 8) == INFINITY,
		  "L2 upper: overflowed distance to the code");
	CHECK(n2_code_lower_bound(N2_METRIC_DOT, -INFINITY, 3e38f, 1.0f, 1.0f, 8) == -INFINITY,
		  "dot: overflowed distance to the code");
}

/*
 * The L2 kernel on two 8-bit codes is exact at every level: the integer sum
 * of squared differences, checked against a sum in doubles, on random codes
 * and on the extremes (0 against 255), at every length to 70 (the tails)
 * and at widths whose sums pass 2^16 and 2^24.
 */
static void
test_u8_l2sq(void)
{
	static uint8_t a[4096],
				b[4096];

	for (int simd = N2_SIMD_SCALAR; simd < N2_SIMD_COUNT; simd++)
	{
		const N2CodeKernels *k = n2_code_kernels_for((N2Simd) simd);
		int			bad = 0;

		if (k == NULL)
		{
			printf("code kernels %s: not supported here\n", n2_simd_name((N2Simd) simd));
			continue;
		}
		for (int n = 1; n <= 4096; n += (n < 70 ? 1 : 251))
		{
			for (int extreme = 0; extreme < 2; extreme++)
			{
				double		want = 0.0;

				for (int d = 0; d < n; d++)
				{
					a[d] = extreme ? 0 : (uint8_t) (rand() & 255);
					b[d] = extreme ? 255 : (uint8_t) (rand() & 255);
					want += ((double) a[d] - b[d]) * ((double) a[d] - b[d]);
				}
				if (k->u8_l2sq(a, b, n) != (float) want)
					bad++;
			}
		}
		CHECK(bad == 0, "%s u8_l2sq: %d lengths not exact", k->name, bad);
	}
}

int
main(void)
{
	n2_distance_init();
	n2_code_init();
	printf("code kernels in use: %s\n", n2_code_kernels.name);
	test_half();
	test_sq8();
	test_sq8_observe();
	test_sq8_integral();
	test_kernels();
	test_u8_l2sq();
	test_coders();
	test_lower_bound();
	UNIT_DONE();
}
