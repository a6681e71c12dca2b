/*
 * Copyright (c) 2025-2026, the n2 developers
 * unit.h
 *		A minimal test harness for the core's C unit tests.
 *
 * CHECK records a failure and goes on; a test binary ends with
 * UNIT_DONE(), which prints "N passed, N failed" and sets the exit code.
 */
#ifndef N2_UNIT_H
#define N2_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int	unit_passed;
static int	unit_failed;

#define CHECK(cond, ...) \
	do { \
		if (cond) \
			unit_passed++; \
		else \
		{ \
			unit_failed++; \
			fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

#define UNIT_DONE() \
	do { \
		printf("%d passed, %d failed\n", unit_passed, unit_failed); \
		return unit_failed == 0 ? 0 : 1; \
	} while (0)

/* Deterministic test data: a 64-bit LCG's high bits. */
static inline uint32_t
unit_rng(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) (*state >> 33);
}

/* Root of the shared datasets; fails loudly when missing (no silent skip). */
static inline const char *
unit_data_dir(void)
{
	const char *d = getenv("N2_DATA_DIR");

	if (d == NULL || d[0] == '\0')
		d = "../shared/data";
	return d;
}

#endif							/* N2_UNIT_H */
