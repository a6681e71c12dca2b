/*
 * Copyright (c) 2025-2026, the n2 developers
 * link.h
 *		The 4-byte link code: an element's (block, offset) in 32 bits.
 *		Pure C: no PostgreSQL.
 *
 * The offset takes the low N2_LINK4_OFFSET_BITS bits and the block the
 * rest, so blocks below N2_LINK4_BLOCKS can be named.  Offset 0 names no
 * tuple (line pointers start at 1), so the code 0 is the empty slot.
 */
#ifndef N2_CORE_LINK_H
#define N2_CORE_LINK_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Enough for every line pointer a page can have (see N2_MAX_PAGE_TUPLES in
 * n2.h, which checks it): 408 at 8 kB pages, 817 at 16 kB, 1636 at 32 kB.
 */
#ifndef N2_LINK4_OFFSET_BITS
#define N2_LINK4_OFFSET_BITS 9
#endif

#define N2_LINK4_MAX_OFFSET ((1u << N2_LINK4_OFFSET_BITS) - 1)
#define N2_LINK4_BLOCKS		((uint32_t) 1 << (32 - N2_LINK4_OFFSET_BITS))
#define N2_LINK4_EMPTY		((uint32_t) 0)

/* Whether (block, offset) has a 4-byte code. */
static inline bool
n2_link4_fits(uint32_t block, uint32_t offset)
{
	return block < N2_LINK4_BLOCKS && offset <= N2_LINK4_MAX_OFFSET;
}

/* The code of (block, offset); the caller has checked n2_link4_fits. */
static inline uint32_t
n2_link4_pack(uint32_t block, uint32_t offset)
{
	return (block << N2_LINK4_OFFSET_BITS) | offset;
}

static inline uint32_t
n2_link4_block(uint32_t code)
{
	return code >> N2_LINK4_OFFSET_BITS;
}

static inline uint32_t
n2_link4_offset(uint32_t code)
{
	return code & N2_LINK4_MAX_OFFSET;
}

#endif							/* N2_CORE_LINK_H */
