/*
 * Copyright (c) 2025-2026, the n2 developers
 * vecs.h
 *		Reading .fvecs / .ivecs files (per row: an int32 dimension, then that
 *		many 4-byte values), shared by the benchmark tools and the unit tests.
 */
#ifndef N2_BENCH_VECS_H
#define N2_BENCH_VECS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct Vecs
{
	int			n;
	int			dim;
	float	   *data;			/* n * dim values; int32 for .ivecs */
} Vecs;

/* Reads path into v; returns NULL, or what went wrong. */
static inline const char *
vecs_read(const char *path, Vecs *v)
{
	FILE	   *f = fopen(path, "rb");
	int32_t		dim;
	long		size;

	if (f == NULL)
		return "cannot open";
	if (fread(&dim, 4, 1, f) != 1 || dim <= 0)
	{
		fclose(f);
		return "bad header";
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	v->dim = dim;
	v->n = (int) (size / (4 * ((long) dim + 1)));
	v->data = malloc((size_t) v->n * dim * 4);
	if (v->data == NULL)
	{
		fclose(f);
		return "out of memory";
	}
	for (int i = 0; i < v->n; i++)
	{
		int32_t		d;

		if (fread(&d, 4, 1, f) != 1 || d != dim ||
			fread(v->data + (size_t) i * dim, 4, dim, f) != (size_t) dim)
		{
			fclose(f);
			return "bad row";
		}
	}
	fclose(f);
	return NULL;
}

#endif							/* N2_BENCH_VECS_H */
