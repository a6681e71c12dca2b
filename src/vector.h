/*
 * Copyright (c) 2025-2026, the n2 developers
 * vector.h
 *		The vector data type: a varlena holding float4 elements.
 *
 * The on-disk layout is fixed by the binary format clients already speak
 * (int16 dim, int16 unused, float4[dim]), so the index code and the type
 * share this one definition.
 */
#ifndef N2_VECTOR_H
#define N2_VECTOR_H

#include "fmgr.h"
#include "utils/array.h"

#include "core/half.h"

/* Also the largest typmod accepted by vector(n). */
#define VECTOR_MAX_DIM 16000

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;			/* number of elements, 1..VECTOR_MAX_DIM */
	int16		unused;			/* always 0; reserved for future flags */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Vector;

#define VECTOR_SIZE(dim)		(offsetof(Vector, x) + sizeof(float) * (dim))

/* halfvec: the same layout with IEEE half floats (pgvector's as well). */
typedef struct HalfVector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;			/* number of elements, 1..VECTOR_MAX_DIM */
	int16		unused;			/* always 0 */
	n2_half		x[FLEXIBLE_ARRAY_MEMBER];
} HalfVector;

#define HALFVEC_SIZE(dim)		(offsetof(HalfVector, x) + sizeof(n2_half) * (dim))
#define DatumGetHalfVector(d)	((HalfVector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_HALFVEC_P(n)	DatumGetHalfVector(PG_GETARG_DATUM(n))
#define DatumGetVector(d)		((Vector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_VECTOR_P(n)	DatumGetVector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(v)	PG_RETURN_POINTER(v)

/* A zeroed vector of dim elements, palloc'd in the current context. */
extern Vector *InitVector(int dim);

/* The elements of a real[] distance argument, checked; errors if unfit. */
extern const float *n2_real_array_elements(ArrayType *array, int *n);

#endif							/* N2_VECTOR_H */
