/*
 * Copyright (c) 2025-2026, the n2 developers
 * distance_internal.h
 *		Per-variant kernel tables, shared by the dispatcher and the unit tests.
 *
 * Each SIMD variant lives in its own file, compiled with its own instruction
 * set flags, so nothing outside that file may run before the dispatcher has
 * checked the CPU.  A variant file compiled without its instruction set (a
 * compiler or target lacking it) still defines its table, with the name set
 * and NULL kernels, so the dispatcher links on any target.
 */
#ifndef N2_CORE_DISTANCE_INTERNAL_H
#define N2_CORE_DISTANCE_INTERNAL_H

#include "distance.h"

extern const N2Kernels n2_kernels_scalar;
extern const N2Kernels n2_kernels_avx2;
extern const N2Kernels n2_kernels_avx512;

/*
 * The variant n2_distance_init() would pick when N2_SIMD is set to cap
 * (NULL or an unrecognised value: no cap).  No side effects.
 */
extern N2Simd n2_simd_choose(const char *cap);

#endif							/* N2_CORE_DISTANCE_INTERNAL_H */
