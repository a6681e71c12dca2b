/*
 * Copyright (c) 2025-2026, the n2 developers
 * test_link.c
 *		The 4- and 3-byte link codes: every (block, offset) in range
 *		round-trips, no valid one codes as the empty slot, codes order as
 *		TIDs do, and what is out of range is refused.
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

/* 3-byte codes, for every offset width an index may choose. */
static void
test_link3(void)
{
	int			bad = 0;
	int			empty = 0;
	int			misordered = 0;

	for (int ob = 1; ob <= N2_LINK3_MAX_OFFSET_BITS; ob++)
	{
		uint32_t	nblocks = n2_link3_blocks(ob);
		uint32_t	maxoff = (1u << ob) - 1;
		uint32_t	bl[] = {0, 1, 2, nblocks / 2, nblocks - 2, nblocks - 1};
		uint32_t	prev = 0;

		for (size_t b = 0; b < sizeof(bl) / sizeof(bl[0]); b++)
		{
			for (uint32_t off = 1; off <= maxoff; off += (off < 600 ? 1 : 997))
			{
				unsigned char slot[4] = {0xAA, 0xAA, 0xAA, 0x55};
				uint32_t	code;

				if (!n2_link3_fits(bl[b], off, ob))
				{
					bad++;
					continue;
				}
				code = n2_link3_pack(bl[b], off, ob);
				if (code == N2_LINK3_EMPTY)
					empty++;
				if (code < prev)
					misordered++;
				prev = code;
				n2_link3_store(slot, code);
				/* three bytes written, not a fourth */
				if (slot[3] != 0x55 || n2_link3_load(slot) != code ||
					n2_link3_block(code, ob) != bl[b] ||
					n2_link3_offset(code, ob) != off)
					bad++;
			}
		}
		CHECK(!n2_link3_fits(nblocks, 1, ob), "ob %d: first block past the range", ob);
		CHECK(!n2_link3_fits(0, maxoff + 1, ob), "ob %d: offset past the range", ob);
		CHECK(!n2_link3_fits(UINT32_MAX, 1, ob), "ob %d: InvalidBlockNumber", ob);
		CHECK(n2_link3_pack(nblocks - 1, maxoff, ob) < (1u << N2_LINK3_BITS),
			  "ob %d: the largest code has 24 bits", ob);
	}
	CHECK(bad == 0, "%d 3-byte (block, offset) pairs do not round-trip", bad);
	CHECK(empty == 0, "%d valid 3-byte links code as the empty slot", empty);
	CHECK(misordered == 0, "%d 3-byte codes out of TID order", misordered);

	/* the fewest bits naming offsets 1 .. n */
	CHECK(n2_link3_offset_bits(1) == 1, "1 offset: 1 bit");
	CHECK(n2_link3_offset_bits(30) == 5 && n2_link3_offset_bits(31) == 5,
		  "up to 31 offsets: 5 bits");
	CHECK(n2_link3_offset_bits(32) == 6, "32 offsets: 6 bits");
	CHECK(n2_link3_offset_bits(408) == 9, "408 offsets: 9 bits");
	CHECK(n2_link3_blocks(5) == 524288, "5 offset bits leave 2^19 blocks");
	{
		unsigned char slot[3];

		n2_link3_store(slot, 0x123456);
		CHECK(slot[0] == 0x56 && slot[1] == 0x34 && slot[2] == 0x12,
			  "stored little-endian");
	}
}

int
main(void)
{
	test_round_trip();
	test_order();
	test_range();
	test_link3();
	UNIT_DONE();
}
