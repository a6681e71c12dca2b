/*
 * Copyright (c) 2025-2026, the n2 developers
 * hugepage.h
 *		Asks the kernel to back large, randomly read arrays with transparent
 *		huge pages.  Pure C: no PostgreSQL.
 */
#ifndef N2_CORE_HUGEPAGE_H
#define N2_CORE_HUGEPAGE_H

#include <stddef.h>

extern void n2_advise_huge(void *ptr, size_t len);
extern void *n2_calloc_huge(size_t count, size_t size);

#endif							/* N2_CORE_HUGEPAGE_H */
