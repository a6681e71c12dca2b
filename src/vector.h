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
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/varbit.h"

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

/*
 * Shared by vector and halfvec; type names the SQL type in messages.
 * Elements are checked to be finite: every way in rejects NaN and infinity.
 */
extern void n2_check_dim(int dim, const char *type);
extern void n2_check_typmod(int dim, int32 typmod);
extern int	n2_recv_header(StringInfo buf, const char *type, int elem_size,
						   int32 typmod);
extern void n2_check_element(float value, int element, const char *type);
extern float *n2_parse_vector(const char *str, const char *type, float limit,
							  int *dim);
extern char *n2_format_vector(const float *x, int dim);
extern int32 n2_typmod_in(ArrayType *ta, const char *type);
extern float *n2_array_to_floats(ArrayType *array, int32 typmod,
								 const char *type, int *n);
extern void n2_subvector_range(int dim, int32 start, int32 count,
							   const char *type, int *from, int *n);
extern VarBit *n2_binary_quantize(const float *x, int dim);

/*
 * The angle between two unit vectors of that inner product, as a fraction of
 * pi: pgvector's spherical distance, the order of cosine distance on
 * normalized data.
 */
extern double n2_spherical_distance(float inner_product);
extern Datum n2_vector_accum(FunctionCallInfo fcinfo, const float *x, int dim);
extern float *n2_vector_agg_final(ArrayType *state, bool average, int *dim);

/* The elements of a real[] distance argument, checked; errors if unfit. */
extern const float *n2_real_array_elements(ArrayType *array, int *n);

#endif							/* N2_VECTOR_H */
