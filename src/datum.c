/*
 * Copyright (c) 2025-2026, the n2 developers
 * datum.c
 *		Column values (vector, halfvec, real[]) as the float arrays the index stores
 *		and searches.
 */
#include "postgres.h"

#include <math.h>

#include "utils/rel.h"

#include "n2.h"
#include "vector.h"

bool
n2_vector_is_finite(const float *v, int dims)
{
	for (int i = 0; i < dims; i++)
	{
		if (isnan(v[i]) || isinf(v[i]))
			return false;
	}
	return true;
}

/*
 * A column value as a palloc'd float array of *dims elements, normalised
 * for angular.  p->dims, when set, is the dimension every value must have.
 */
float *
n2_datum_to_vector(Relation index, Datum value, const N2Params *p, int *dims)
{
	float	   *result;
	int			n;

	if (p->is_array)
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);

		if (ARR_NDIM(arr) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("n2 index \"%s\" needs one-dimensional arrays, got %d dimensions",
							RelationGetRelationName(index), ARR_NDIM(arr))));
		if (ARR_HASNULL(arr) && array_contains_nulls(arr))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain nulls")));
		n = ARR_DIMS(arr)[0];
		if (n < 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("n2 index \"%s\" cannot index an empty array",
							RelationGetRelationName(index))));
		if (n > N2_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("array has %d elements; n2 indexes at most %d dimensions",
							n, N2_MAX_DIM)));
		result = palloc(sizeof(float) * n);
		memcpy(result, ARR_DATA_PTR(arr), sizeof(float) * n);
		if (!n2_vector_is_finite(result, n))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("n2 index \"%s\" cannot index NaN or infinite values",
							RelationGetRelationName(index))));
	}
	else if (n2_index_is_half(index))
	{
		HalfVector *v = DatumGetHalfVector(value);

		n = v->dim;
		if (n > N2_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("vector has %d dimensions; n2 indexes at most %d",
							n, N2_MAX_DIM)));
		result = palloc(sizeof(float) * n);
		for (int i = 0; i < n; i++)
			result[i] = n2_half_to_float(v->x[i]);
	}
	else
	{
		Vector	   *v = DatumGetVector(value);

		n = v->dim;
		if (n > N2_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("vector has %d dimensions; n2 indexes at most %d",
							n, N2_MAX_DIM)));
		result = palloc(sizeof(float) * n);
		memcpy(result, v->x, sizeof(float) * n);
	}

	if (p->dims > 0 && n != p->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", p->dims, n),
				 errdetail("Index \"%s\" holds %d-dimensional vectors.",
						   RelationGetRelationName(index), p->dims)));
	if (p->metric == N2_METRIC_ANGULAR)
		n2_normalize(result, n);
	*dims = n;
	return result;
}
