/*
 * Copyright (c) 2025-2026, the n2 developers
 * quantize.c
 *		8-bit scalar quantization: fitting, encoding, decoding.  Pure C.
 */
#include "quantize.h"

#include <stdlib.h>

size_t
n2_quantizer_memory(int dim)
{
	return (size_t) 2 * dim * sizeof(float);
}

int
n2_quantizer_fit(N2Quantizer *q, const float *mins, const float *maxs, int dim)
{
	/* One block, so one allocation can fail and one free releases it. */
	float	   *arrays = malloc(n2_quantizer_memory(dim > 0 ? dim : 1));

	q->dim = dim;
	q->offset = arrays;
	q->scale = arrays == NULL ? NULL : arrays + dim;
	if (arrays == NULL)
		return -1;
	for (int d = 0; d < dim; d++)
	{
		/* In double: max - min overflows float for ranges near FLT_MAX. */
		double		range = (double) maxs[d] - (double) mins[d];

		q->offset[d] = mins[d];
		q->scale[d] = range > 0.0 ? (float) (range / 255.0) : 0.0f;
	}
	return 0;
}

void
n2_quantizer_free(N2Quantizer *q)
{
	free(q->offset);
	q->offset = NULL;
	q->scale = NULL;
}

void
n2_quantize(const N2Quantizer *q, const float *v, uint8_t *code)
{
	for (int d = 0; d < q->dim; d++)
	{
		double		x;

		if (q->scale[d] == 0.0f)
		{
			code[d] = 0;
			continue;
		}
		x = ((double) v[d] - q->offset[d]) / q->scale[d] + 0.5;
		/* Written so that NaN lands on 0 rather than in an undefined cast. */
		if (!(x >= 1.0))
			code[d] = 0;
		else if (x >= 255.0)
			code[d] = 255;
		else
			code[d] = (uint8_t) x;
	}
}

void
n2_dequantize(const N2Quantizer *q, const uint8_t *code, float *v)
{
	for (int d = 0; d < q->dim; d++)
		v[d] = q->offset[d] + q->scale[d] * (float) code[d];
}
