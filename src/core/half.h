/*
 * Copyright (c) 2025-2026, the n2 developers
 * half.h
 *		IEEE 754 half-precision floats (binary16), as halfvec stores them.
 *		Pure C: no PostgreSQL.
 *
 * Conversions are done in integer arithmetic so that they give the same
 * bits on every CPU, with or without F16C, and round to nearest even.
 */
#ifndef N2_CORE_HALF_H
#define N2_CORE_HALF_H

#include <stdint.h>
#include <string.h>

typedef uint16_t n2_half;

/* The largest finite half, 65504. */
#define N2_HALF_MAX 65504.0f

/* The least magnitude that rounds to infinity (halfway to 65536, to even). */
#define N2_HALF_OVERFLOW 65520.0f

static inline float
n2_half_to_float(n2_half h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exp = (h >> 10) & 0x1f;
	uint32_t	mant = h & 0x3ff;
	uint32_t	bits;
	float		f;

	if (exp == 0x1f)			/* infinity or NaN */
		bits = sign | 0x7f800000 | (mant << 13);
	else if (exp != 0)			/* normal */
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	else if (mant == 0)			/* zero */
		bits = sign;
	else
	{
		/* subnormal: mant * 2^-24, exact in float */
		f = (float) mant * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/*
 * Rounds to the nearest half, ties to even; beyond N2_HALF_MAX (after
 * rounding) gives infinity, and values below the smallest subnormal give
 * zero, as a float4 to float2 cast does.
 */
static inline n2_half
n2_float_to_half(float f)
{
	uint32_t	bits;
	uint32_t	sign;
	uint32_t	absbits;
	int			exp;
	uint32_t	mant;

	memcpy(&bits, &f, sizeof(bits));
	sign = (bits >> 16) & 0x8000;
	absbits = bits & 0x7fffffff;
	if (absbits >= 0x7f800000)	/* infinity or NaN (kept quiet) */
		return (n2_half) (sign | 0x7c00 | (absbits > 0x7f800000 ? 0x200 : 0));
	exp = (int) (absbits >> 23) - 127;
	mant = absbits & 0x7fffff;
	if (exp > 15)
		return (n2_half) (sign | 0x7c00);
	if (exp >= -14)
	{
		/* normal: keep 10 of 23 mantissa bits, round to nearest even */
		uint32_t	h = ((uint32_t) (exp + 15) << 10) | (mant >> 13);
		uint32_t	rest = mant & 0x1fff;

		if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
			h++;				/* may carry into the exponent, to infinity */
		return (n2_half) (sign | h);
	}
	if (exp >= -25)
	{
		/* subnormal: the value in units of 2^-24, rounded to nearest even */
		uint32_t	full = mant | 0x800000;
		int			shift = -exp - 1;	/* 14 .. 24: 2^-24 units */
		uint32_t	h = full >> shift;
		uint32_t	rest = full & ((1u << shift) - 1);
		uint32_t	halfway = 1u << (shift - 1);

		if (rest > halfway || (rest == halfway && (h & 1)))
			h++;
		return (n2_half) (sign | h);
	}
	return (n2_half) sign;
}

#endif							/* N2_CORE_HALF_H */
