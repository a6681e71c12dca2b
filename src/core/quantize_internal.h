/*
 * Copyright (c) 2025-2026, the n2 developers
 * quantize_internal.h
 *		Per-variant code kernel tables, shared by the dispatcher and the unit
 *		tests.  A variant compiled without its instruction set has NULL
 *		kernels (as in distance_internal.h).
 */
#ifndef N2_CORE_QUANTIZE_INTERNAL_H
#define N2_CORE_QUANTIZE_INTERNAL_H

#include "quantize.h"

extern const N2CodeKernels n2_code_kernels_scalar;
extern const N2CodeKernels n2_code_kernels_avx2;
extern const N2CodeKernels n2_code_kernels_avx512;

#endif							/* N2_CORE_QUANTIZE_INTERNAL_H */
