/*
 * Copyright (c) 2025-2026, the n2 developers
 * pagecopy.c
 *		Backend-private copies of index pages for scans.
 *
 * A scan visits a page many times over (linked nodes sit together,
 * core/order.c), and each visit through shared buffers pins, share-locks,
 * unlocks and unpins it: atomic operations on the buffer header and the
 * content lock plus the resource owner's bookkeeping, which on an index
 * that fits in memory cost more instructions than the distances.  Keeping
 * the pins instead costs more still: past eight pins a backend keeps its pin
 * counts in a hash table.  So a scan copies each page the first time it
 * visits it and reads the copy for the rest of the scan.
 *
 * A scan thus reads a page as it was when the scan first came to it, where
 * a locked read at each visit reads it as it is at that visit.  Neither is
 * one state of the graph: a scan reads its lists at various moments while
 * inserts and VACUUM change them, and what it may rely on (an element it
 * reaches exists, its heap rows are checked against the snapshot, VACUUM
 * keeps what a scan older than an unlinking may walk through) holds for any
 * moment within the scan.  Heap TIDs are still read from the buffer, when a
 * node is returned.
 *
 * A copy outlives its scan: the next scan to visit the page pins and
 * share-locks it once and keeps the copy when the page's LSN is the one it
 * had.  Every change to a page of an index that needs WAL is a WAL record
 * that sets a higher LSN, also on a standby replaying it; a page written
 * without WAL (a build under wal_level = minimal) keeps LSN 0, so such a
 * copy is always taken anew.  Indexes that need no WAL (unlogged,
 * temporary, or new in this transaction under wal_level = minimal) are not
 * copied at all.  A new relation that reuses a dropped one's file node has
 * new LSNs on every page written with WAL, so no copy of the old one
 * passes for it.
 *
 * The copies of a backend take at most n2.scan_cache_size.  An index with
 * more pages is read as before: each scan would copy most of its pages anew.
 * When the room is full, copies the running scan has not visited make way,
 * in clock order; when all of them are the running scan's (several indexes
 * scanned at once), the page is read from its buffer.
 */
#include "postgres.h"

#include "port/atomics.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "n2.h"

typedef struct N2PageCopy
{
	RelFileNode node;
	BlockNumber blkno;
	bool		filled;			/* page holds a copy (not after an error) */
	Buffer		buf;			/* the buffer the page was copied from */
	XLogRecPtr	lsn;			/* the page's LSN when copied */
	uint64		scan;			/* the last scan that checked it */
	PGAlignedBlock page;
} N2PageCopy;

static MemoryContext copy_cxt;
static N2PageCopy **copies;		/* ncopies allocated, at most capacity */
static int	ncopies;
static int	capacity;			/* from n2.scan_cache_size */
static int	hand;				/* the clock's, over copies */
static uint64 current_scan;

/* Open addressing over copies: 1 + the index of a copy, 0 for a free slot */
static int *slots;
static uint32 nslots;			/* a power of two, at least 2 * ncopies */

static inline uint32
copy_hash(const RelFileNode *node, BlockNumber blkno)
{
	return (blkno * 0x9E3779B1U) ^ (node->relNode * 0x85EBCA77U);
}

static inline bool
copy_is(const N2PageCopy *c, const RelFileNode *node, BlockNumber blkno)
{
	return c->blkno == blkno && RelFileNodeEquals(c->node, *node);
}

/* The slot of (node, blkno): the one naming its copy, or the free one. */
static inline uint32
find_slot(const RelFileNode *node, BlockNumber blkno)
{
	uint32		mask = nslots - 1;
	uint32		s = copy_hash(node, blkno) & mask;

	while (slots[s] != 0 && !copy_is(copies[slots[s] - 1], node, blkno))
		s = (s + 1) & mask;
	return s;
}

/* Frees every copy, and sizes the room anew. */
static void
reset_copies(int cap)
{
	if (copy_cxt == NULL)
		copy_cxt = AllocSetContextCreate(TopMemoryContext,
										 "n2 scan page copies",
										 ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(copy_cxt);
	copies = NULL;
	slots = NULL;
	ncopies = 0;
	nslots = 0;
	hand = 0;
	capacity = cap;
}

/* Doubles the table, keeping every copy in it. */
static void
grow_table(void)
{
	uint32		n = Max(nslots * 2, 64);
	N2PageCopy **c = MemoryContextAlloc(copy_cxt, sizeof(N2PageCopy *) * (n / 2));

	if (ncopies > 0)
		memcpy(c, copies, sizeof(N2PageCopy *) * ncopies);
	if (copies != NULL)
		pfree(copies);
	copies = c;
	if (slots != NULL)
		pfree(slots);
	slots = MemoryContextAllocZero(copy_cxt, sizeof(int) * n);
	nslots = n;
	for (int i = 0; i < ncopies; i++)
		slots[find_slot(&copies[i]->node, copies[i]->blkno)] = i + 1;
}

/*
 * Removes the slot s names from the table, moving later ones of its probe
 * run back so that every key stays reachable from its home slot.
 */
static void
delete_slot(uint32 s)
{
	uint32		mask = nslots - 1;
	uint32		next = (s + 1) & mask;

	slots[s] = 0;
	while (slots[next] != 0)
	{
		N2PageCopy *c = copies[slots[next] - 1];
		uint32		home = copy_hash(&c->node, c->blkno) & mask;

		/* the entry may move to s unless its home lies in (s, next] */
		if (((next - home) & mask) >= ((next - s) & mask))
		{
			slots[s] = slots[next];
			slots[next] = 0;
			s = next;
		}
		next = (next + 1) & mask;
	}
}

/*
 * Room for a new copy: a newly allocated one, or one no copy the running
 * scan checked; -1 when every copy is the running scan's.
 */
static int
room_for_copy(void)
{
	if (ncopies < capacity)
	{
		if ((uint32) (ncopies + 1) * 2 > nslots)
			grow_table();
		copies[ncopies] = MemoryContextAlloc(copy_cxt, sizeof(N2PageCopy));
		copies[ncopies]->filled = false;
		return ncopies++;
	}
	for (int k = 0; k < ncopies; k++)
	{
		int			i = hand;
		N2PageCopy *c = copies[i];

		hand = (hand + 1) % ncopies;
		if (c->scan != current_scan)
		{
			delete_slot(find_slot(&c->node, c->blkno));
			c->filled = false;
			return i;
		}
	}
	return -1;
}

/*
 * Whether c's buffer still holds its page, valid, at the LSN c was copied
 * at: checked without a pin, the header's state and tag before and after
 * the LSN is read.  A page that changed has another LSN (it is set after the
 * change, so a change under way reads as the state before it).  The buffer
 * may be taking another page meanwhile: then the second check fails, unless
 * it took another page and then c's page again between the two checks,
 * within a few instructions, the other page's LSN being exactly c's (two
 * pages changed by one WAL record).
 */
static bool
copy_current(const N2PageCopy *c)
{
	BufferDesc *hdr = GetBufferDescriptor(c->buf - 1);
	uint32		held = BM_VALID | BM_TAG_VALID;
	XLogRecPtr	lsn;

	if ((pg_atomic_read_u32(&hdr->state) & held) != held ||
		hdr->tag.blockNum != c->blkno || hdr->tag.forkNum != MAIN_FORKNUM ||
		!RelFileNodeEquals(hdr->tag.rnode, c->node))
		return false;
	pg_read_barrier();
	lsn = PageGetLSN(BufferGetPage(c->buf));
	pg_read_barrier();
	return (pg_atomic_read_u32(&hdr->state) & held) == held &&
		hdr->tag.blockNum == c->blkno && hdr->tag.forkNum == MAIN_FORKNUM &&
		RelFileNodeEquals(hdr->tag.rnode, c->node) && lsn == c->lsn;
}

/*
 * Starts a scan of index: whether it reads through copies (n2_page_copy).
 * Copies checked by an earlier scan are checked again before use.
 */
bool
n2_page_copies_begin(Relation index)
{
	int64		cap = (int64) n2_scan_cache_size * 1024 / sizeof(N2PageCopy);

	cap = Min(cap, INT_MAX / 4);
	if (copy_cxt == NULL || cap != capacity)
		reset_copies((int) cap);
	current_scan++;
	if (capacity == 0 || !RelationNeedsWAL(index))
		return false;
	return RelationGetNumberOfBlocks(index) <= (BlockNumber) capacity;
}

/*
 * The running scan's copy of page blkno of index; NULL when there is no room
 * for it (read the buffer instead).  A copy stays while the scan runs (no
 * later call makes it give way), unless n2_page_copies_begin starts another
 * scan.
 */
Page
n2_page_copy(Relation index, BlockNumber blkno)
{
	const RelFileNode *node = &index->rd_node;
	N2PageCopy *c;
	Buffer		buf;
	Page		page;
	uint32		s;
	int			i;

	if (nslots > 0)
	{
		s = find_slot(node, blkno);
		if (slots[s] != 0)
		{
			c = copies[slots[s] - 1];
			if (c->scan != current_scan && c->filled &&
				!XLogRecPtrIsInvalid(c->lsn) && copy_current(c))
				c->scan = current_scan;
			if (c->scan == current_scan)
				return c->page.data;
			goto check;
		}
	}
	i = room_for_copy();
	if (i < 0)
		return NULL;
	c = copies[i];
	c->node = *node;
	c->blkno = blkno;
	c->scan = 0;
	slots[find_slot(node, blkno)] = i + 1;

check:
	buf = n2_read_buffer(index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (!c->filled || PageGetLSN(page) != c->lsn ||
		XLogRecPtrIsInvalid(c->lsn))
	{
		c->filled = false;
		memcpy(c->page.data, page, BLCKSZ);
		c->lsn = PageGetLSN(page);
		c->filled = true;
	}
	c->buf = buf;
	UnlockReleaseBuffer(buf);
	c->scan = current_scan;
	return c->page.data;
}
