/*
 * Copyright (c) 2025-2026, the n2 developers
 * prefault.h
 *		A thread that faults an array's pages in just ahead of the thread
 *		filling it.  Pure C: no PostgreSQL.
 */
#ifndef N2_CORE_PREFAULT_H
#define N2_CORE_PREFAULT_H

#include <stddef.h>

typedef struct N2Prefault N2Prefault;

/*
 * Starts faulting [base, base + len) in, writable, never more than `ahead`
 * bytes past what n2_prefault_progress last reported.  The contents are not
 * touched.  NULL when no thread could be started or the kernel cannot
 * populate (then nothing changes but speed).
 */
extern N2Prefault *n2_prefault_start(void *base, size_t len, size_t ahead);

/* The caller has written the first `done` bytes. */
extern void n2_prefault_progress(N2Prefault *pf, size_t done);

/* Stops the thread where it is, joins it and frees pf (NULL is a no-op). */
extern void n2_prefault_stop(N2Prefault *pf);

#endif							/* N2_CORE_PREFAULT_H */
