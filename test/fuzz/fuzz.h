/*
 * Copyright (c) 2025-2026, the n2 developers
 * fuzz.h
 *		What the fuzz target shares with the backend stubs: where an ERROR
 *		jumps to, and how many were raised.
 */
#ifndef N2_FUZZ_H
#define N2_FUZZ_H
#include <setjmp.h>
extern sigjmp_buf fuzz_jmp;
extern int	fuzz_errors;
extern void fuzz_reset(void);
#endif
