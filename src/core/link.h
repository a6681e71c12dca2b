/*
 * Copyright (c) 2025-2026, the n2 developers
 * link.h
 *		The 4- and 3-byte link codes: an element's (block, offset) in 32
 *		or 24 bits.  Pure C: no PostgreSQL.
 *
 * The offset takes the low bits and the block the rest: N2_LINK4_OFFSET_BITS
 * of 32 in a 4-byte code, so blocks below N2_LINK4_BLOCKS can be named, and
 * ob of 24 in a 3-byte code, ob chosen per index (n2_link3_offset_bits), so
 * blocks below n2_link3_blocks(ob).  Offset 0 names no tuple (line pointers
 * start at 1), so the code 0 is the empty slot in both.
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

/*
 * 3-byte codes: 24 bits, stored little-endian whatever the machine (a slot
 * is not aligned).  ob, the offset bits, is 1 .. N2_LINK3_MAX_OFFSET_BITS.
 */
#define N2_LINK3_BITS		24
#define N2_LINK3_MAX_OFFSET_BITS 16
#define N2_LINK3_EMPTY		((uint32_t) 0)

/* The fewest offset bits that name offsets 1 .. max_offset (>= 1). */
static inline int
n2_link3_offset_bits(uint32_t max_offset)
{
	int			ob = 1;

	while (ob < 32 && (max_offset >> ob) != 0)
		ob++;
	return ob;
}

/* How many blocks a 3-byte code with ob offset bits names. */
static inline uint32_t
n2_link3_blocks(int ob)
{
	return (uint32_t) 1 << (N2_LINK3_BITS - ob);
}

static inline bool
n2_link3_fits(uint32_t block, uint32_t offset, int ob)
{
	return block < n2_link3_blocks(ob) && offset < ((uint32_t) 1 << ob);
}

/* The code of (block, offset); the caller has checked n2_link3_fits. */
static inline uint32_t
n2_link3_pack(uint32_t block, uint32_t offset, int ob)
{
	return (block << ob) | offset;
}

static inline uint32_t
n2_link3_block(uint32_t code, int ob)
{
	return code >> ob;
}

static inline uint32_t
n2_link3_offset(uint32_t code, int ob)
{
	return code & (((uint32_t) 1 << ob) - 1);
}

static inline void
n2_link3_store(unsigned char *slot, uint32_t code)
{
	slot[0] = (unsigned char) code;
	slot[1] = (unsigned char) (code >> 8);
	slot[2] = (unsigned char) (code >> 16);
}

static inline uint32_t
n2_link3_load(const unsigned char *slot)
{
	return (uint32_t) slot[0] | ((uint32_t) slot[1] << 8) |
		((uint32_t) slot[2] << 16);
}

#endif							/* N2_CORE_LINK_H */
