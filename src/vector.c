/*
 * Copyright (c) 2025-2026, the n2 developers
 * vector.c
 *		The vector type: I/O, casts, operators, comparison and aggregates.
 *
 * Distances go through the same kernels as the index (core/distance.h), so
 * an ORDER BY on an operator and an index scan see exactly the same values.
 * Elements are always finite: every way in (text, binary, casts, arithmetic)
 * rejects NaN and infinity, which keeps comparison a total order and the
 * distances meaningful.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/varbit.h"

#include "core/distance.h"
#include "distmemo.h"
#include "vector.h"

Vector *
InitVector(int dim)
{
	Size		size = VECTOR_SIZE(dim);
	Vector	   *result = (Vector *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = dim;
	return result;
}

/* Rejects a dimension count no value of type may have. */
void
n2_check_dim(int dim, const char *type)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must have at least 1 dimension", type)));
	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s cannot have more than %d dimensions",
						type, VECTOR_MAX_DIM)));
}

/* Rejects a vector whose dimension count differs from the column's. */
void
n2_check_typmod(int dim, int32 typmod)
{
	if (typmod != -1 && dim != typmod)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/*
 * Rejects NaN and infinity; element is 0-based, reported 1-based.  The
 * SQLSTATEs here and in n2_check_dim are pgvector's (data_exception).
 */
void
n2_check_element(float value, int element, const char *type)
{
	if (unlikely(isnan(value)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in %s", type),
				 errdetail("Element %d is NaN.", element + 1)));
	if (unlikely(isinf(value)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in %s", type),
				 errdetail("Element %d is %s.", element + 1,
						   value > 0 ? "Infinity" : "-Infinity")));
}


static inline void
check_same_dims(const Vector *a, const Vector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d",
						a->dim, b->dim)));
}

static inline bool
vector_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\v' || c == '\f';
}

/* expected says what should have been at pos, for the DETAIL. */
static void syntax_error(const char *str, const char *pos,
						 const char *expected, const char *type) pg_attribute_noreturn();

static void
syntax_error(const char *str, const char *pos, const char *expected,
			 const char *type)
{
	int			charpos = pg_mbstrlen_with_len(str, pos - str) + 1;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", type, str),
			 *pos == '\0' ?
			 errdetail("Expected %s at character %d, found end of input.",
					   expected, charpos) :
			 errdetail("Expected %s at character %d.", expected, charpos)));
}

/*
 * Parses '[e1,e2,...]' into *dim floats.  Whitespace is allowed around the
 * brackets and the elements; each element is whatever strtof() accepts, as
 * for type real.  A value too small for a float becomes zero, as in pgvector
 * (real's input raises an error instead); one too large for a float, or of
 * magnitude limit or more (what the type cannot hold), is an error quoting
 * it as written.
 */
float *
n2_parse_vector(const char *str, const char *type, float limit, int *dim_out)
{
	const char *p = str;
	int			capacity = 16;
	int			dim = 0;
	float	   *elements = palloc(sizeof(float) * capacity);

	while (vector_isspace(*p))
		p++;
	if (*p != '[')
		syntax_error(str, p, "\"[\"", type);
	p++;
	while (vector_isspace(*p))
		p++;
	if (*p == ']')
		n2_check_dim(0, type);

	for (;;)
	{
		char	   *end;
		float		value;

		while (vector_isspace(*p))
			p++;
		errno = 0;
		value = strtof(p, &end);
		if (end == p)
			syntax_error(str, p, "a number", type);

		if ((errno == ERANGE && isinf(value)) ||
			(isfinite(value) && fabsf(value) >= limit))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type %s",
							pnstrdup(p, end - p), type),
					 errdetail("Element %d of %s \"%s\".", dim + 1, type, str)));
		n2_check_element(value, dim, type);

		if (dim == VECTOR_MAX_DIM)
			n2_check_dim(dim + 1, type);
		if (dim == capacity)
		{
			capacity *= 2;
			elements = repalloc(elements, sizeof(float) * capacity);
		}
		elements[dim++] = value;

		p = end;
		while (vector_isspace(*p))
			p++;
		if (*p == ',')
		{
			p++;
			continue;
		}
		if (*p == ']')
		{
			p++;
			break;
		}
		syntax_error(str, p, "\",\" or \"]\"", type);
	}

	while (vector_isspace(*p))
		p++;
	if (*p != '\0')
		syntax_error(str, p, "end of input after \"]\"", type);

	*dim_out = dim;
	return elements;
}

PG_FUNCTION_INFO_V1(vector_in);
Datum
vector_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			dim;
	float	   *elements = n2_parse_vector(str, "vector", INFINITY, &dim);
	Vector	   *result;

	n2_check_typmod(dim, typmod);
	result = InitVector(dim);
	memcpy(result->x, elements, sizeof(float) * dim);
	PG_RETURN_VECTOR_P(result);
}

/* Shortest text that reads back as the same float4, as float4out does. */
char *
n2_format_vector(const float *x, int dim)
{
	char	   *buf = palloc(FLOAT_SHORTEST_DECIMAL_LEN * dim + 2);
	char	   *p = buf;

	*p++ = '[';
	for (int i = 0; i < dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(x[i], p);
	}
	*p++ = ']';
	*p = '\0';
	return buf;
}

PG_FUNCTION_INFO_V1(vector_out);
Datum
vector_out(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	char	   *buf = n2_format_vector(v->x, v->dim);

	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

int32
n2_typmod_in(ArrayType *ta, const char *type)
{
	int32	   *mods;
	int			n;

	mods = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier"),
				 errdetail("Type %s takes exactly one modifier, the number of dimensions.",
						   type)));
	if (mods[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type %s must be at least 1", type)));
	if (mods[0] > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type %s cannot exceed %d",
						type, VECTOR_MAX_DIM)));
	return mods[0];
}

PG_FUNCTION_INFO_V1(vector_typmod_in);
Datum
vector_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(n2_typmod_in(PG_GETARG_ARRAYTYPE_P(0), "vector"));
}

PG_FUNCTION_INFO_V1(vector_typmod_out);
Datum
vector_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	if (typmod < 0)
		PG_RETURN_CSTRING(pstrdup(""));
	PG_RETURN_CSTRING(psprintf("(%d)", typmod));
}

/*
 * The header of a binary vector or halfvec: int16 dim, int16 unused (0),
 * then dim elements of elem_size bytes, all in network byte order.  The
 * caller hands us exactly one value's bytes, so anything other than the
 * header and dim elements is a malformed message.  Returns dim, checked
 * against typmod too.
 */
int
n2_recv_header(StringInfo buf, const char *type, int elem_size, int32 typmod)
{
	int			dim;
	int			unused;
	int			remaining;

	if (buf->len - buf->cursor < 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary representation for type %s", type),
				 errdetail("Expected a 4-byte header, got %d bytes.",
						   buf->len - buf->cursor)));
	dim = (int16) pq_getmsgint(buf, 2);
	unused = (int16) pq_getmsgint(buf, 2);

	n2_check_dim(dim, type);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary representation for type %s", type),
				 errdetail("Reserved header field is %d, expected 0.", unused)));
	remaining = buf->len - buf->cursor;
	if (remaining != elem_size * dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary representation for type %s", type),
				 errdetail_plural("Expected %d bytes of elements for %d dimension, got %d.",
								  "Expected %d bytes of elements for %d dimensions, got %d.",
								  dim, elem_size * dim, dim, remaining)));
	n2_check_typmod(dim, typmod);
	return dim;
}

PG_FUNCTION_INFO_V1(vector_recv);
Datum
vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			dim = n2_recv_header(buf, "vector", sizeof(float), PG_GETARG_INT32(2));
	Vector	   *result;

	result = InitVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		n2_check_element(result->x[i], i, "vector");
	}
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_send);
Datum
vector_send(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, v->dim);
	pq_sendint16(&buf, 0);
	for (int i = 0; i < v->dim; i++)
		pq_sendfloat4(&buf, v->x[i]);
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Length coercion: vector -> vector(n). */
PG_FUNCTION_INFO_V1(vector);
Datum
vector(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	n2_check_typmod(v->dim, typmod);
	PG_RETURN_VECTOR_P(v);
}

/*
 * Array casts.  Only one dimension, no NULLs; elements are converted with
 * the server's own casts to real, so range errors read as they do for real.
 * The floats of the array, *n of them, checked for a value of type.
 */
float *
n2_array_to_floats(ArrayType *array, int32 typmod, const char *type, int *n)
{
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	float	   *result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));
	if (elemtype != INT4OID && elemtype != FLOAT4OID &&
		elemtype != FLOAT8OID && elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot cast array of type %s to %s",
						format_type_be(elemtype), type)));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign,
					  &elems, NULL, n);
	n2_check_dim(*n, type);
	n2_check_typmod(*n, typmod);

	result = palloc(sizeof(float) * *n);
	for (int i = 0; i < *n; i++)
	{
		switch (elemtype)
		{
			case INT4OID:
				result[i] = (float) DatumGetInt32(elems[i]);
				break;
			case FLOAT4OID:
				result[i] = DatumGetFloat4(elems[i]);
				break;
			case FLOAT8OID:
				/* too small for a float becomes zero, as in the text input */
				result[i] = (float) DatumGetFloat8(elems[i]);
				if (isinf(result[i]) && !isinf(DatumGetFloat8(elems[i])))
					float_overflow_error();
				break;
			case NUMERICOID:
				result[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
				break;
		}
		n2_check_element(result[i], i, type);
	}
	return result;
}

PG_FUNCTION_INFO_V1(array_to_vector);
Datum
array_to_vector(PG_FUNCTION_ARGS)
{
	int			n;
	float	   *x = n2_array_to_floats(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_INT32(1),
									   "vector", &n);
	Vector	   *result = InitVector(n);

	memcpy(result->x, x, sizeof(float) * n);
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_to_float4);
Datum
vector_to_float4(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	Datum	   *elems = palloc(sizeof(Datum) * v->dim);
	ArrayType  *result;

	for (int i = 0; i < v->dim; i++)
		elems[i] = Float4GetDatum(v->x[i]);
	result = construct_array(elems, v->dim, FLOAT4OID, sizeof(float4),
							 true, TYPALIGN_INT);
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * Distances between vectors.  While a lossy n2 scan runs, the executor asks
 * for the same row's distance twice (distmemo.c).
 */
typedef double (*VectorDistance) (const Vector *a, const Vector *b);

static double
vector_distance(FunctionCallInfo fcinfo, VectorDistance distance)
{
	Vector	   *a;
	Vector	   *b;
	double		d;

	if (n2_distance_memo_get(fcinfo, &d))
		return d;
	a = PG_GETARG_VECTOR_P(0);
	b = (Vector *) n2_distance_memo_query(fcinfo, 1);
	check_same_dims(a, b);
	d = distance(a, b);
	n2_distance_memo_put(fcinfo, d);
	return d;
}

static double
l2_of(const Vector *a, const Vector *b)
{
	return sqrt((double) n2_kernels.l2sq(a->x, b->x, a->dim));
}

static double
inner_product_of(const Vector *a, const Vector *b)
{
	return (double) n2_kernels.dot(a->x, b->x, a->dim);
}

static double
negative_inner_product_of(const Vector *a, const Vector *b)
{
	return -(double) n2_kernels.dot(a->x, b->x, a->dim);
}

/* A zero vector has no direction; its cosine distance to anything is 1. */
static double
cosine_of(const Vector *a, const Vector *b)
{
	return (double) n2_cosine_distance(a->x, b->x, a->dim);
}

static double
l1_of(const Vector *a, const Vector *b)
{
	return (double) n2_kernels.l1(a->x, b->x, a->dim);
}

/* pgvector's support functions for its own index classes, under its names */
static double
l2_squared_of(const Vector *a, const Vector *b)
{
	return (double) n2_kernels.l2sq(a->x, b->x, a->dim);
}

static double
spherical_of(const Vector *a, const Vector *b)
{
	return n2_spherical_distance(n2_kernels.dot(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(l2_distance);
Datum
l2_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(vector_distance(fcinfo, l2_of));
}

PG_FUNCTION_INFO_V1(inner_product);
Datum
inner_product(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(vector_distance(fcinfo, inner_product_of));
}

PG_FUNCTION_INFO_V1(vector_negative_inner_product);
Datum
vector_negative_inner_product(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(vector_distance(fcinfo, negative_inner_product_of));
}

PG_FUNCTION_INFO_V1(cosine_distance);
Datum
cosine_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(vector_distance(fcinfo, cosine_of));
}

PG_FUNCTION_INFO_V1(l1_distance);
Datum
l1_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(vector_distance(fcinfo, l1_of));
}

PG_FUNCTION_INFO_V1(vector_l2_squared_distance);
Datum
vector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(vector_distance(fcinfo, l2_squared_of));
}

PG_FUNCTION_INFO_V1(vector_spherical_distance);
Datum
vector_spherical_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(vector_distance(fcinfo, spherical_of));
}

/*
 * Distances between real[] values, for data kept in plain arrays.  Arrays
 * may hold NaN or infinity; those give NaN or infinite distances, as
 * arithmetic on real does.
 */

/*
 * The elements of a real[] distance argument.  Index scans check their
 * queries here too, so that they fail as the operators do.
 */
const float *
n2_real_array_elements(ArrayType *array, int *n)
{
	if (ARR_ELEMTYPE(array) != FLOAT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("array must be of type real[]")));
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));
	if (ARR_NDIM(array) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("array must not be empty")));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));
	*n = ARR_DIMS(array)[0];
	return (const float *) ARR_DATA_PTR(array);
}

static void
real_array_pair(FunctionCallInfo fcinfo, const float **a, const float **b,
				int *n)
{
	int			na;
	int			nb;

	*a = n2_real_array_elements(PG_GETARG_ARRAYTYPE_P(0), &na);
	*b = n2_real_array_elements(PG_GETARG_ARRAYTYPE_P(1), &nb);
	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different array dimensions %d and %d", na, nb)));
	*n = na;
}

PG_FUNCTION_INFO_V1(real_l2_distance);
Datum
real_l2_distance(PG_FUNCTION_ARGS)
{
	const float *a;
	const float *b;
	int			n;

	real_array_pair(fcinfo, &a, &b, &n);
	PG_RETURN_FLOAT8(sqrt((double) n2_kernels.l2sq(a, b, n)));
}

PG_FUNCTION_INFO_V1(real_inner_product);
Datum
real_inner_product(PG_FUNCTION_ARGS)
{
	const float *a;
	const float *b;
	int			n;

	real_array_pair(fcinfo, &a, &b, &n);
	PG_RETURN_FLOAT8((double) n2_kernels.dot(a, b, n));
}

PG_FUNCTION_INFO_V1(real_negative_inner_product);
Datum
real_negative_inner_product(PG_FUNCTION_ARGS)
{
	const float *a;
	const float *b;
	int			n;

	real_array_pair(fcinfo, &a, &b, &n);
	PG_RETURN_FLOAT8(-(double) n2_kernels.dot(a, b, n));
}

PG_FUNCTION_INFO_V1(real_cosine_distance);
Datum
real_cosine_distance(PG_FUNCTION_ARGS)
{
	const float *a;
	const float *b;
	int			n;

	real_array_pair(fcinfo, &a, &b, &n);
	PG_RETURN_FLOAT8((double) n2_cosine_distance(a, b, n));
}

/* Properties */

PG_FUNCTION_INFO_V1(vector_dims);
Datum
vector_dims(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	PG_RETURN_INT32(v->dim);
}

/* In double: a float sum of squares overflows long before the norm does. */
PG_FUNCTION_INFO_V1(vector_norm);
Datum
vector_norm(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	double		sum = 0.0;

	for (int i = 0; i < v->dim; i++)
		sum += (double) v->x[i] * (double) v->x[i];
	PG_RETURN_FLOAT8(sqrt(sum));
}

/* Unit-length copy; a zero vector stays zero, having no direction. */
PG_FUNCTION_INFO_V1(l2_normalize);
Datum
l2_normalize(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	Vector	   *result = InitVector(v->dim);

	memcpy(result->x, v->x, sizeof(float) * v->dim);
	n2_normalize(result->x, result->dim);
	PG_RETURN_VECTOR_P(result);
}

/*
 * The part of a dim-element value subvector(v, start, count) takes, as
 * substring() does: 1-based start, elements before the first or after the
 * last left out; *from is 0-based.  An empty part is an error, as a value
 * needs a dimension.
 */
void
n2_subvector_range(int dim, int32 start, int32 count, const char *type,
				   int *from, int *n)
{
	int64		end = (int64) start + count;

	if (count < 1 || start > dim || end <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must have at least 1 dimension", type)));
	if (start < 1)
		start = 1;
	if (end > (int64) dim + 1)
		end = dim + 1;
	*from = start - 1;
	*n = (int) (end - start);
}

PG_FUNCTION_INFO_V1(subvector);
Datum
subvector(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	int			from;
	int			n;
	Vector	   *result;

	n2_subvector_range(v->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2),
					   "vector", &from, &n);
	result = InitVector(n);
	memcpy(result->x, v->x + from, sizeof(float) * n);
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_concat);
Datum
vector_concat(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	n2_check_dim(a->dim + b->dim, "vector");
	result = InitVector(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_VECTOR_P(result);
}

/* Rounding can take the inner product of unit vectors past 1, where acos is NaN. */
double
n2_spherical_distance(float inner_product)
{
	double		d = (double) inner_product;

	return acos(Max(-1.0, Min(1.0, d))) / M_PI;
}

/* One bit per element, set when the element is positive. */
VarBit *
n2_binary_quantize(const float *x, int dim)
{
	int			size = VARBITTOTALLEN(dim);
	VarBit	   *result = palloc0(size);
	bits8	   *bits = VARBITS(result);

	SET_VARSIZE(result, size);
	VARBITLEN(result) = dim;
	for (int i = 0; i < dim; i++)
	{
		if (x[i] > 0)
			bits[i / BITS_PER_BYTE] |= (bits8) (0x80 >> (i % BITS_PER_BYTE));
	}
	return result;
}

PG_FUNCTION_INFO_V1(binary_quantize);
Datum
binary_quantize(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	PG_RETURN_VARBIT_P(n2_binary_quantize(v->x, v->dim));
}

/* Element-wise arithmetic; results must stay finite, as for real. */

static inline void
check_overflow(float result)
{
	if (unlikely(isinf(result)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow")));
}

PG_FUNCTION_INFO_V1(vector_add);
Datum
vector_add(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	check_same_dims(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		result->x[i] = a->x[i] + b->x[i];
		check_overflow(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_sub);
Datum
vector_sub(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	check_same_dims(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		result->x[i] = a->x[i] - b->x[i];
		check_overflow(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}

/* Like real * real, a product of non-zeros that rounds to zero is an error. */
PG_FUNCTION_INFO_V1(vector_mul);
Datum
vector_mul(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	check_same_dims(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		result->x[i] = a->x[i] * b->x[i];
		check_overflow(result->x[i]);
		if (unlikely(result->x[i] == 0.0f && a->x[i] != 0.0f &&
					 b->x[i] != 0.0f))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value out of range: underflow")));
	}
	PG_RETURN_VECTOR_P(result);
}

/*
 * Comparison: element by element over the common prefix, then the shorter
 * vector first.  Elements are finite, so this is a total order; -0 and +0
 * compare equal, as they do for real.
 */
static int
vector_cmp_internal(const Vector *a, const Vector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

#define VECTOR_CMP_FUNC(name, test) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	Vector	   *a = PG_GETARG_VECTOR_P(0); \
	Vector	   *b = PG_GETARG_VECTOR_P(1); \
	int			c = vector_cmp_internal(a, b); \
\
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	test; \
}

VECTOR_CMP_FUNC(vector_cmp, PG_RETURN_INT32(c))
VECTOR_CMP_FUNC(vector_lt, PG_RETURN_BOOL(c < 0))
VECTOR_CMP_FUNC(vector_le, PG_RETURN_BOOL(c <= 0))
VECTOR_CMP_FUNC(vector_eq, PG_RETURN_BOOL(c == 0))
VECTOR_CMP_FUNC(vector_ne, PG_RETURN_BOOL(c != 0))
VECTOR_CMP_FUNC(vector_ge, PG_RETURN_BOOL(c >= 0))
VECTOR_CMP_FUNC(vector_gt, PG_RETURN_BOOL(c > 0))

/*
 * Hashing must agree with equality, so -0 is hashed as +0.  The dimension
 * needs no separate mixing: hash_any covers the length.
 */
static const float *
hashable_elements(const Vector *v)
{
	bool		negative_zero = false;
	float	   *copy;

	for (int i = 0; i < v->dim && !negative_zero; i++)
		negative_zero = (v->x[i] == 0.0f && signbit(v->x[i]));
	if (!negative_zero)
		return v->x;

	copy = palloc(sizeof(float) * v->dim);
	for (int i = 0; i < v->dim; i++)
		copy[i] = v->x[i] == 0.0f ? 0.0f : v->x[i];
	return copy;
}

PG_FUNCTION_INFO_V1(vector_hash);
Datum
vector_hash(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);

	return hash_any((const unsigned char *) hashable_elements(v),
					sizeof(float) * v->dim);
}

PG_FUNCTION_INFO_V1(vector_hash_extended);
Datum
vector_hash_extended(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	uint64		seed = PG_GETARG_INT64(1);

	return hash_any_extended((const unsigned char *) hashable_elements(v),
							 sizeof(float) * v->dim, seed);
}

/*
 * Aggregates.  The state is float8[]: element 0 counts the vectors, the rest
 * are running sums, kept in double so that long sums do not lose the small
 * addends.  '{0}' is the empty state, before the dimension is known.  As for
 * the built-in float aggregates, the state is updated in place when we are
 * called as an aggregate, to avoid a copy per row.
 */
static float8 *
agg_state(ArrayType *state, int *n)
{
	float8	   *values = (float8 *) ARR_DATA_PTR(state);

	if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID ||
		ARR_DIMS(state)[0] > VECTOR_MAX_DIM + 1 ||
		(ARR_DIMS(state)[0] == 1 ? values[0] != 0 : values[0] < 1))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid vector aggregate state")));
	*n = ARR_DIMS(state)[0];
	return values;
}

static ArrayType *
agg_state_copy(const float8 *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		elems[i] = Float8GetDatum(values[i]);
	return construct_array(elems, n, FLOAT8OID, sizeof(float8),
						   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/* Adds x to the state (argument 0 of the aggregate's transition call). */
Datum
n2_vector_accum(FunctionCallInfo fcinfo, const float *x, int dim)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	int			n;
	float8	   *sums = agg_state(state, &n);

	if (n == 1)
	{
		float8	   *first = palloc(sizeof(float8) * (dim + 1));

		first[0] = 1;
		for (int i = 0; i < dim; i++)
			first[i + 1] = x[i];
		PG_RETURN_ARRAYTYPE_P(agg_state_copy(first, dim + 1));
	}

	if (n - 1 != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d",
						n - 1, dim)));
	if (!AggCheckCallContext(fcinfo, NULL))
	{
		state = agg_state_copy(sums, n);
		sums = (float8 *) ARR_DATA_PTR(state);
	}
	sums[0] += 1;
	for (int i = 0; i < dim; i++)
		sums[i + 1] += x[i];
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(vector_accum);
Datum
vector_accum(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(1);

	return n2_vector_accum(fcinfo, v->x, v->dim);
}

PG_FUNCTION_INFO_V1(vector_combine);
Datum
vector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *state1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *state2 = PG_GETARG_ARRAYTYPE_P(1);
	int			n1;
	int			n2;
	float8	   *sums1 = agg_state(state1, &n1);
	float8	   *sums2 = agg_state(state2, &n2);

	if (n2 == 1)
		PG_RETURN_ARRAYTYPE_P(state1);
	if (n1 == 1)
		PG_RETURN_ARRAYTYPE_P(state2);
	if (n1 != n2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d",
						n1 - 1, n2 - 1)));
	if (!AggCheckCallContext(fcinfo, NULL))
	{
		state1 = agg_state_copy(sums1, n1);
		sums1 = (float8 *) ARR_DATA_PTR(state1);
	}
	for (int i = 0; i < n1; i++)
		sums1[i] += sums2[i];
	PG_RETURN_ARRAYTYPE_P(state1);
}

/*
 * Final functions: no rows (the empty state) give NULL, as for sum(real).
 * The sums, or averages, as floats; NULL for the empty state.
 */
float *
n2_vector_agg_final(ArrayType *state, bool average, int *dim)
{
	int			n;
	float8	   *sums = agg_state(state, &n);
	float	   *result;

	if (n == 1)
		return NULL;
	result = palloc(sizeof(float) * (n - 1));
	for (int i = 0; i < n - 1; i++)
	{
		result[i] = (float) (average ? sums[i + 1] / sums[0] : sums[i + 1]);
		check_overflow(result[i]);
	}
	*dim = n - 1;
	return result;
}

static Datum
vector_final(FunctionCallInfo fcinfo, bool average)
{
	int			dim;
	float	   *x = n2_vector_agg_final(PG_GETARG_ARRAYTYPE_P(0), average, &dim);
	Vector	   *result;

	if (x == NULL)
		PG_RETURN_NULL();
	result = InitVector(dim);
	memcpy(result->x, x, sizeof(float) * dim);
	PG_RETURN_VECTOR_P(result);
}

PG_FUNCTION_INFO_V1(vector_avg);
Datum
vector_avg(PG_FUNCTION_ARGS)
{
	return vector_final(fcinfo, true);
}

PG_FUNCTION_INFO_V1(vector_sum);
Datum
vector_sum(PG_FUNCTION_ARGS)
{
	return vector_final(fcinfo, false);
}
