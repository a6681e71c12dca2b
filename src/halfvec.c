/*
 * Copyright (c) 2025-2026, the n2 developers
 * halfvec.c
 *		The halfvec type: vectors of IEEE half floats, pgvector's halfvec.
 *
 * The text and binary formats are pgvector's: text as for vector (each
 * element printed as the shortest float4 text of its half value), binary an
 * int16 dim, an int16 0 and dim half floats, in network byte order.  Every
 * computation converts the halves to float4 first and goes through the
 * vector code and kernels, so a halfvec index (which stores the float4
 * values) and the operators agree on every distance.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/varbit.h"

#include "core/distance.h"
#include "vector.h"

static HalfVector *
init_halfvec(int dim)
{
	Size		size = HALFVEC_SIZE(dim);
	HalfVector *result = (HalfVector *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = dim;
	return result;
}

/* The half nearest to f; one too large for a half is an error. */
static inline n2_half
to_half(float f)
{
	n2_half		h = n2_float_to_half(f);

	if (unlikely((h & 0x7fff) == 0x7c00 && !isinf(f)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("\"%g\" is out of range for type halfvec", f)));
	return h;
}

static HalfVector *
halfvec_from_floats(const float *x, int dim)
{
	HalfVector *result = init_halfvec(dim);

	for (int i = 0; i < dim; i++)
		result->x[i] = to_half(x[i]);
	return result;
}

static float *
halfvec_floats(const HalfVector *v)
{
	float	   *x = palloc(sizeof(float) * Max(v->dim, 1));

	for (int i = 0; i < v->dim; i++)
		x[i] = n2_half_to_float(v->x[i]);
	return x;
}

static inline void
check_same_dims(const HalfVector *a, const HalfVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different halfvec dimensions %d and %d",
						a->dim, b->dim)));
}

PG_FUNCTION_INFO_V1(halfvec_in);
Datum
halfvec_in(PG_FUNCTION_ARGS)
{
	int			dim;
	float	   *x = n2_parse_vector(PG_GETARG_CSTRING(0), "halfvec",
									N2_HALF_OVERFLOW, &dim);

	n2_check_typmod(dim, PG_GETARG_INT32(2));
	PG_RETURN_POINTER(halfvec_from_floats(x, dim));
}

PG_FUNCTION_INFO_V1(halfvec_out);
Datum
halfvec_out(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);

	PG_RETURN_CSTRING(n2_format_vector(halfvec_floats(v), v->dim));
}

PG_FUNCTION_INFO_V1(halfvec_typmod_in);
Datum
halfvec_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(n2_typmod_in(PG_GETARG_ARRAYTYPE_P(0), "halfvec"));
}

PG_FUNCTION_INFO_V1(halfvec_recv);
Datum
halfvec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			dim = n2_recv_header(buf, "halfvec", sizeof(n2_half), PG_GETARG_INT32(2));
	HalfVector *result;

	result = init_halfvec(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (n2_half) pq_getmsgint(buf, 2);
		n2_check_element(n2_half_to_float(result->x[i]), i, "halfvec");
	}
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(halfvec_send);
Datum
halfvec_send(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, v->dim);
	pq_sendint16(&buf, 0);
	for (int i = 0; i < v->dim; i++)
		pq_sendint16(&buf, v->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Length coercion: halfvec -> halfvec(n). */
PG_FUNCTION_INFO_V1(halfvec);
Datum
halfvec(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);

	n2_check_typmod(v->dim, PG_GETARG_INT32(1));
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(array_to_halfvec);
Datum
array_to_halfvec(PG_FUNCTION_ARGS)
{
	int			n;
	float	   *x = n2_array_to_floats(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_INT32(1),
									   "halfvec", &n);

	PG_RETURN_POINTER(halfvec_from_floats(x, n));
}

PG_FUNCTION_INFO_V1(halfvec_to_float4);
Datum
halfvec_to_float4(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	Datum	   *elems = palloc(sizeof(Datum) * v->dim);

	for (int i = 0; i < v->dim; i++)
		elems[i] = Float4GetDatum(n2_half_to_float(v->x[i]));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, v->dim, FLOAT4OID,
										  sizeof(float4), true, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(halfvec_to_vector);
Datum
halfvec_to_vector(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	Vector	   *result;

	n2_check_typmod(v->dim, PG_GETARG_INT32(1));
	result = InitVector(v->dim);
	for (int i = 0; i < v->dim; i++)
		result->x[i] = n2_half_to_float(v->x[i]);
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_to_halfvec);
Datum
vector_to_halfvec(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	n2_check_typmod(v->dim, PG_GETARG_INT32(1));
	PG_RETURN_POINTER(halfvec_from_floats(v->x, v->dim));
}

/* Distances, on the float4 values, with the index's kernels. */

#define HALFVEC_PAIR(a, b, x, y) \
	HalfVector *a = PG_GETARG_HALFVEC_P(0); \
	HalfVector *b = PG_GETARG_HALFVEC_P(1); \
	float	   *x; \
	float	   *y; \
\
	check_same_dims(a, b); \
	x = halfvec_floats(a); \
	y = halfvec_floats(b)

PG_FUNCTION_INFO_V1(halfvec_l2_distance);
Datum
halfvec_l2_distance(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b, x, y);
	PG_RETURN_FLOAT8(sqrt((double) n2_kernels.l2sq(x, y, a->dim)));
}

PG_FUNCTION_INFO_V1(halfvec_inner_product);
Datum
halfvec_inner_product(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b, x, y);
	PG_RETURN_FLOAT8((double) n2_kernels.dot(x, y, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_negative_inner_product);
Datum
halfvec_negative_inner_product(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b, x, y);
	PG_RETURN_FLOAT8(-(double) n2_kernels.dot(x, y, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_cosine_distance);
Datum
halfvec_cosine_distance(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b, x, y);
	PG_RETURN_FLOAT8((double) n2_cosine_distance(x, y, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_l2_squared_distance);
Datum
halfvec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b, x, y);
	PG_RETURN_FLOAT8((double) n2_kernels.l2sq(x, y, a->dim));
}

PG_FUNCTION_INFO_V1(halfvec_spherical_distance);
Datum
halfvec_spherical_distance(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b, x, y);
	PG_RETURN_FLOAT8(n2_spherical_distance(n2_kernels.dot(x, y, a->dim)));
}

PG_FUNCTION_INFO_V1(halfvec_l1_distance);
Datum
halfvec_l1_distance(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b, x, y);
	PG_RETURN_FLOAT8((double) n2_kernels.l1(x, y, a->dim));
}

/* Properties */

PG_FUNCTION_INFO_V1(halfvec_vector_dims);
Datum
halfvec_vector_dims(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_HALFVEC_P(0)->dim);
}

PG_FUNCTION_INFO_V1(halfvec_l2_norm);
Datum
halfvec_l2_norm(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	double		sum = 0.0;

	for (int i = 0; i < v->dim; i++)
	{
		double		e = n2_half_to_float(v->x[i]);

		sum += e * e;
	}
	PG_RETURN_FLOAT8(sqrt(sum));
}

PG_FUNCTION_INFO_V1(halfvec_l2_normalize);
Datum
halfvec_l2_normalize(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	float	   *x = halfvec_floats(v);

	n2_normalize(x, v->dim);
	PG_RETURN_POINTER(halfvec_from_floats(x, v->dim));
}

PG_FUNCTION_INFO_V1(halfvec_binary_quantize);
Datum
halfvec_binary_quantize(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);

	PG_RETURN_VARBIT_P(n2_binary_quantize(halfvec_floats(v), v->dim));
}

PG_FUNCTION_INFO_V1(halfvec_subvector);
Datum
halfvec_subvector(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(0);
	int			from;
	int			n;
	HalfVector *result;

	n2_subvector_range(v->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2),
					   "halfvec", &from, &n);
	result = init_halfvec(n);
	memcpy(result->x, v->x + from, sizeof(n2_half) * n);
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(halfvec_concat);
Datum
halfvec_concat(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *result;

	n2_check_dim(a->dim + b->dim, "halfvec");
	result = init_halfvec(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(n2_half) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(n2_half) * b->dim);
	PG_RETURN_POINTER(result);
}

/*
 * Element-wise arithmetic in float4, rounded to half; a result too large for
 * a half is an error, as a product too small for one becomes zero.
 */
static HalfVector *
halfvec_arith(FunctionCallInfo fcinfo, char op)
{
	HALFVEC_PAIR(a, b, x, y);

	for (int i = 0; i < a->dim; i++)
	{
		switch (op)
		{
			case '+':
				x[i] += y[i];
				break;
			case '-':
				x[i] -= y[i];
				break;
			default:
				x[i] *= y[i];
				break;
		}
		if (isinf(x[i]) || (n2_float_to_half(x[i]) & 0x7fff) == 0x7c00)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value out of range: overflow")));
	}
	return halfvec_from_floats(x, a->dim);
}

PG_FUNCTION_INFO_V1(halfvec_add);
Datum
halfvec_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(halfvec_arith(fcinfo, '+'));
}

PG_FUNCTION_INFO_V1(halfvec_sub);
Datum
halfvec_sub(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(halfvec_arith(fcinfo, '-'));
}

PG_FUNCTION_INFO_V1(halfvec_mul);
Datum
halfvec_mul(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(halfvec_arith(fcinfo, '*'));
}

/*
 * Comparison, as for vector: element by element over the common prefix
 * (on the values: -0 equals +0), then the shorter first.
 */
static int
halfvec_cmp_internal(const HalfVector *a, const HalfVector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		float		x = n2_half_to_float(a->x[i]);
		float		y = n2_half_to_float(b->x[i]);

		if (x < y)
			return -1;
		if (x > y)
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

#define HALFVEC_CMP_FUNC(name, test) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int			c = halfvec_cmp_internal(PG_GETARG_HALFVEC_P(0), \
										 PG_GETARG_HALFVEC_P(1)); \
\
	test; \
}

HALFVEC_CMP_FUNC(halfvec_cmp, PG_RETURN_INT32(c))
HALFVEC_CMP_FUNC(halfvec_lt, PG_RETURN_BOOL(c < 0))
HALFVEC_CMP_FUNC(halfvec_le, PG_RETURN_BOOL(c <= 0))
HALFVEC_CMP_FUNC(halfvec_eq, PG_RETURN_BOOL(c == 0))
HALFVEC_CMP_FUNC(halfvec_ne, PG_RETURN_BOOL(c != 0))
HALFVEC_CMP_FUNC(halfvec_ge, PG_RETURN_BOOL(c >= 0))
HALFVEC_CMP_FUNC(halfvec_gt, PG_RETURN_BOOL(c > 0))

/* Aggregates: vector's state and sums; the results rounded to half. */
PG_FUNCTION_INFO_V1(halfvec_accum);
Datum
halfvec_accum(PG_FUNCTION_ARGS)
{
	HalfVector *v = PG_GETARG_HALFVEC_P(1);

	return n2_vector_accum(fcinfo, halfvec_floats(v), v->dim);
}

static Datum
halfvec_final(FunctionCallInfo fcinfo, bool average)
{
	int			dim;
	float	   *x = n2_vector_agg_final(PG_GETARG_ARRAYTYPE_P(0), average, &dim);

	if (x == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(halfvec_from_floats(x, dim));
}

PG_FUNCTION_INFO_V1(halfvec_avg);
Datum
halfvec_avg(PG_FUNCTION_ARGS)
{
	return halfvec_final(fcinfo, true);
}

PG_FUNCTION_INFO_V1(halfvec_sum);
Datum
halfvec_sum(PG_FUNCTION_ARGS)
{
	return halfvec_final(fcinfo, false);
}
