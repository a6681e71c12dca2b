/*
 * Copyright (c) 2025-2026, the n2 developers
 * bitdistance.c
 *		Hamming and Jaccard distances between bit strings, pgvector's <~> and
 *		<%>, for re-ranking by binary_quantize() codes.
 */
#include "postgres.h"

#include "fmgr.h"
#include "port/pg_bitutils.h"
#include "utils/varbit.h"

static void
check_same_length(const VarBit *a, const VarBit *b)
{
	if (VARBITLEN(a) != VARBITLEN(b))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different bit lengths %d and %d",
						VARBITLEN(a), VARBITLEN(b))));
}

/* The bits past the length are zero in a bit string, so whole bytes do. */
PG_FUNCTION_INFO_V1(hamming_distance);
Datum
hamming_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);
	const bits8 *x = VARBITS(a);
	const bits8 *y = VARBITS(b);
	uint64		differ = 0;

	check_same_length(a, b);
	for (int i = 0; i < VARBITBYTES(a); i++)
		differ += pg_number_of_ones[x[i] ^ y[i]];
	PG_RETURN_FLOAT8((double) differ);
}

/* 1 - |a and b| / |a or b|; 1 when no bit is set in both. */
PG_FUNCTION_INFO_V1(jaccard_distance);
Datum
jaccard_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);
	const bits8 *x = VARBITS(a);
	const bits8 *y = VARBITS(b);
	uint64		both = 0;
	uint64		either = 0;

	check_same_length(a, b);
	for (int i = 0; i < VARBITBYTES(a); i++)
	{
		both += pg_number_of_ones[x[i] & y[i]];
		either += pg_number_of_ones[x[i] | y[i]];
	}
	if (both == 0)
		PG_RETURN_FLOAT8(1.0);
	PG_RETURN_FLOAT8(1.0 - (double) both / (double) either);
}
