/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_link.c
 *		The 4-byte link code: every (block, offset) in range round-trips,
 *		no valid one codes as the empty slot, codes order as TIDs do, and
 *		what is out of range is refused.
 */
#include <stdint.h>

#include "link.h"
#include "unit.h"

/* Block numbers worth testing: the ends of the range and powers of two. */
static const uint32_t blocks[] = {
	0, 1, 2, 255, 256, 65535, 65536, (1u << 22) - 1, 1u << 22,
	N2_LINK4_BLOCKS - 2, N2_LINK4_BLOCKS - 1
};

static void
test_round_trip(void)
{
	int			bad = 0;
	int			empty = 0;

	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++)
	{
		for (uint32_t off = 1; off <= N2_LINK4_MAX_OFFSET; off++)
		{
			uint32_t	code;

			if (!n2_link4_fits(blocks[b], off))
			{
				bad++;
				continue;
			}
			code = n2_link4_pack(blocks[b], off);
			if (code == N2_LINK4_EMPTY)
				empty++;
			if (n2_link4_block(code) != blocks[b] || n2_link4_offset(code) != off)
				bad++;
		}
	}
	CHECK(bad == 0, "%d (block, offset) pairs do not round-trip", bad);
	CHECK(empty == 0, "%d valid links code as the empty slot", empty);
}

/* Codes sort as (block, offset) does, so sorted ref sets stay sorted. */
static void
test_order(void)
{
	CHECK(n2_link4_pack(5, N2_LINK4_MAX_OFFSET) < n2_link4_pack(6, 1), "block first");
	CHECK(n2_link4_pack(6, 1) < n2_link4_pack(6, 2), "then offset");
}

static void
test_range(void)
{
	CHECK(N2_LINK4_OFFSET_BITS == 9 && N2_LINK4_BLOCKS == 1u << 23,
		  "9 offset bits leave 2^23 blocks");
	CHECK(N2_LINK4_MAX_OFFSET == 511, "offsets up to 511");
	CHECK(!n2_link4_fits(N2_LINK4_BLOCKS, 1), "first block past the range");
	CHECK(!n2_link4_fits(UINT32_MAX, 1), "InvalidBlockNumber");
	CHECK(!n2_link4_fits(0, N2_LINK4_MAX_OFFSET + 1), "offset past the range");
	CHECK(n2_link4_block(N2_LINK4_EMPTY) == 0 && n2_link4_offset(N2_LINK4_EMPTY) == 0,
		  "the empty slot is (0, 0), which names no tuple");
}

int
main(void)
{
	test_round_trip();
	test_order();
	test_range();
	UNIT_DONE();
}
