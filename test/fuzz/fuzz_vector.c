/*
 * Copyright (c) 2025-2026, the n2 developers
 * fuzz_vector.c
 *		libFuzzer target for the vector type's text input (vector_in) and
 *		binary receive (vector_recv) in src/vector.c.
 *
 * Input: first byte selects the path and the typmod, the rest is the
 * payload.  Besides ASan/UBSan findings, checks round trips: a vector that
 * was accepted is printed by vector_out and read back to the same bits, and
 * vector_send of a received vector gives back exactly the received bytes.
 */
#include "postgres.h"

#include <setjmp.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "vector.h"
#include "fuzz.h"

extern Datum vector_in(PG_FUNCTION_ARGS);
extern Datum vector_out(PG_FUNCTION_ARGS);
extern Datum vector_recv(PG_FUNCTION_ARGS);
extern Datum vector_send(PG_FUNCTION_ARGS);

static Datum
call1(PGFunction fn, Datum a)
{
	LOCAL_FCINFO(fcinfo, 1);

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = a;
	fcinfo->args[0].isnull = false;
	return fn(fcinfo);
}

static Datum
call3(PGFunction fn, Datum a, int32 typmod)
{
	LOCAL_FCINFO(fcinfo, 3);

	InitFunctionCallInfoData(*fcinfo, NULL, 3, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = a;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = ObjectIdGetDatum(InvalidOid);
	fcinfo->args[1].isnull = false;
	fcinfo->args[2].value = Int32GetDatum(typmod);
	fcinfo->args[2].isnull = false;
	return fn(fcinfo);
}

static void
same_vectors(Vector *a, Vector *b)
{
	if (a->dim != b->dim || VARSIZE(a) != VARSIZE(b) ||
		memcmp(a->x, b->x, sizeof(float) * a->dim) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *volatile input;
	int32		typmod;
	uint8_t		sel;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	/* typmod: none, or a small dimension count (exercises check_typmod) */
	typmod = (sel & 0x70) ? (sel >> 4) & 7 : -1;

	if (sigsetjmp(fuzz_jmp, 0) == 0)
	{
		if ((sel & 1) == 0)
		{
			Vector	   *v,
					   *w;
			char	   *out;

			input = palloc(size + 1);
			memcpy(input, data, size);
			input[size] = '\0';
			v = (Vector *) DatumGetPointer(call3(vector_in, CStringGetDatum(input), typmod));
			out = DatumGetCString(call1(vector_out, PointerGetDatum(v)));
			w = (Vector *) DatumGetPointer(call3(vector_in, CStringGetDatum(out), -1));
			same_vectors(v, w);
		}
		else
		{
			StringInfoData buf;
			Vector	   *v;
			bytea	   *b;

			buf.data = palloc(size + 1);
			memcpy(buf.data, data, size);
			buf.data[size] = '\0';
			buf.len = (int) size;
			buf.maxlen = (int) size + 1;
			buf.cursor = 0;
			v = (Vector *) DatumGetPointer(call3(vector_recv, PointerGetDatum(&buf), typmod));
			if (buf.cursor != buf.len)
				abort();		/* accepted without consuming the message */
			b = (bytea *) DatumGetPointer(call1(vector_send, PointerGetDatum(v)));
			if (VARSIZE_ANY_EXHDR(b) != size || memcmp(VARDATA_ANY(b), data, size) != 0)
				abort();
		}
	}
	fuzz_reset();
	return 0;
}
