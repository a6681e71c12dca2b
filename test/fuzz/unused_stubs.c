/*
 * Copyright (c) 2025-2026, the n2 developers
 * unused_stubs.c
 *		Backend functions src/vector.c references only outside the paths the
 *		fuzz target runs (casts, aggregates, typmods).  Compiled without the
 *		PostgreSQL headers so the dummy prototypes do not clash.
 */
#include <stdlib.h>

#define UNUSED_STUB(name) void name(void); void name(void) { abort(); }
UNUSED_STUB(AggCheckCallContext)
UNUSED_STUB(ArrayGetIntegerTypmods)
UNUSED_STUB(DirectFunctionCall1Coll)
UNUSED_STUB(array_contains_nulls)
UNUSED_STUB(construct_array)
UNUSED_STUB(deconstruct_array)
UNUSED_STUB(float_overflow_error)
UNUSED_STUB(format_type_be)
UNUSED_STUB(get_typlenbyvalalign)
UNUSED_STUB(numeric_float4)
