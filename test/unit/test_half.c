/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_half.c
 *		Half-precision conversions: every half round-trips, and floats round
 *		to the nearest half, ties to even, as the compiler's _Float16 does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "half.h"
#include "unit.h"

/* Every half value converts to a float and back to the same bits. */
static void
test_round_trip(void)
{
	int			bad = 0;

	for (uint32_t h = 0; h <= 0xffff; h++)
	{
		float		f = n2_half_to_float((n2_half) h);

		if (isnan(f))
			continue;
		if (n2_float_to_half(f) != h)
			bad++;
	}
	CHECK(bad == 0, "%d halves do not round-trip", bad);
	CHECK(n2_half_to_float(0x3c00) == 1.0f, "1.0");
	CHECK(n2_half_to_float(0x7bff) == N2_HALF_MAX, "max");
	CHECK(n2_half_to_float(0x0001) == ldexpf(1.0f, -24), "smallest subnormal");
	CHECK(isinf(n2_half_to_float(0x7c00)), "infinity");
	CHECK(isnan(n2_half_to_float(0x7e00)), "NaN");
	CHECK(isnan(n2_half_to_float(n2_float_to_half(NAN))), "NaN stays NaN");
}

/* The reference: the nearest half found by search, ties to even. */
static n2_half
nearest_half(float f)
{
	n2_half		best = 0;
	double		bestd = INFINITY;
	n2_half		sign = signbit(f) ? 0x8000 : 0;
	double		a = fabs((double) f);

	if (a >= 65520.0)			/* halfway between max and 2^16 rounds up */
		return sign | 0x7c00;
	for (uint32_t h = 0; h <= 0x7bff; h++)
	{
		double		d = fabs((double) n2_half_to_float((n2_half) h) - a);

		if (d < bestd || (d == bestd && (h & 1) == 0))
		{
			best = (n2_half) h;
			bestd = d;
		}
	}
	return sign | best;
}

static void
test_rounding(void)
{
	int			bad = 0;
	float		samples[] = {0.0f, -0.0f, 1e-40f, 1e-8f, 2.98e-8f, 2.9802322e-8f,
		5.96e-8f, 6.1e-5f, 0.1f, 1.0f / 3.0f, 1.00048828125f, 1.0009765625f,
	1.00146484375f, 2049.0f, 65504.0f, 65519.99f, 65520.0f, 1e6f, -0.1f, -65520.0f};

	srand(7);
	for (int i = 0; i < (int) (sizeof(samples) / sizeof(samples[0])); i++)
	{
		n2_half		want = nearest_half(samples[i]);
		n2_half		got = n2_float_to_half(samples[i]);

		CHECK(got == want, "%.9g: 0x%04x, want 0x%04x", samples[i], got, want);
	}
	for (int i = 0; i < 3000; i++)
	{
		float		f = ldexpf((float) rand() / (float) RAND_MAX, rand() % 44 - 28);

		if (rand() & 1)
			f = -f;
		if (n2_float_to_half(f) != nearest_half(f))
			bad++;
	}
	CHECK(bad == 0, "%d random floats round wrongly", bad);

	/* halfvec input refuses magnitudes from N2_HALF_OVERFLOW on */
	CHECK(n2_float_to_half(N2_HALF_OVERFLOW) == 0x7c00 &&
		  n2_float_to_half(-N2_HALF_OVERFLOW) == 0xfc00,
		  "N2_HALF_OVERFLOW does not round to infinity");
	CHECK(n2_float_to_half(nextafterf(N2_HALF_OVERFLOW, 0.0f)) == 0x7bff,
		  "the float below N2_HALF_OVERFLOW does not round to the largest half");
}

int
main(void)
{
	test_round_trip();
	test_rounding();
	UNIT_DONE();
}
