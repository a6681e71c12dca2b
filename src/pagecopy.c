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
 * A scan that sees the same rows as the scans that checked the copies, with
 * no VACUUM of the index since, needs no check at all (the map, n2.h): the
 * rows it must find were linked before any of them began, and what it walks
 * through stays, as for one long scan.  The scans of a LATERAL batch, or of
 * a read-only workload, thus check each page once.
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

/*
 * What a scan must share with earlier ones to trust their copies.  The
 * snapshot part: two MVCC snapshots with the same xmin, xmax, lists of
 * transactions in progress and command ID see the same rows, and an insert
 * either sees had ended, its element linked, before the earlier was taken.
 * The metapage part: VACUUM changes it before it unlinks or deletes
 * elements (count_vacuum_change), and a scan reads it first.
 */
typedef struct N2TrustKey
{
	RelFileNode node;
	XLogRecPtr	meta_lsn;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
	uint32		xcnt;
	int32		subxcnt;
	bool		suboverflowed;
	bool		recovery;
} N2TrustKey;

static BlockNumber map_len;		/* allocated entries */

/* zeroed entries (gen 0) are never valid */
N2CopyMap	n2_copy_map = {.gen = 1};
static N2TrustKey map_key;
static TransactionId *map_xids; /* map_key's xip, then subxip */
static int	map_xids_len;		/* allocated */
static bool map_trusted;		/* map_key may be shared by the next scan */

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
	n2_copy_map.entries = NULL;
	map_len = 0;
	map_xids = NULL;
	map_xids_len = 0;
	n2_copy_map.nblocks = 0;
	n2_copy_map.gen++;
	map_trusted = false;
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

/* Whether the map holds c. */
static inline bool
in_map(const N2PageCopy *c)
{
	return c->blkno < n2_copy_map.nblocks &&
		n2_copy_map.entries[c->blkno].gen == n2_copy_map.gen &&
		n2_copy_map.entries[c->blkno].page == c->page.data;
}

/*
 * Room for a new copy: a newly allocated one, or one neither the running
 * scan checked nor the map holds; -1 when there is none.
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
		if (c->scan != current_scan && !in_map(c))
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
 * Fills key for a scan of index under snapshot, which read the metapage at
 * meta_lsn; returns whether other scans may share it: not under other than
 * MVCC snapshots, nor on a metapage written without WAL (LSN 0).
 */
static bool
trust_key(N2TrustKey *key, Relation index, Snapshot snapshot,
		  XLogRecPtr meta_lsn)
{
	memset(key, 0, sizeof(N2TrustKey));
	if (snapshot == NULL || snapshot->snapshot_type != SNAPSHOT_MVCC ||
		XLogRecPtrIsInvalid(meta_lsn))
		return false;
	key->node = index->rd_node;
	key->meta_lsn = meta_lsn;
	key->xmin = snapshot->xmin;
	key->xmax = snapshot->xmax;
	key->curcid = snapshot->curcid;
	key->xcnt = snapshot->xcnt;
	key->subxcnt = Max(snapshot->subxcnt, 0);
	key->suboverflowed = snapshot->suboverflowed;
	key->recovery = snapshot->takenDuringRecovery;
	return true;
}

/* Whether snapshot's transaction lists are those map_key was made with. */
static bool
same_xids(Snapshot snapshot)
{
	Size		xip = sizeof(TransactionId) * map_key.xcnt;
	Size		subxip = sizeof(TransactionId) * map_key.subxcnt;

	return (xip == 0 || memcmp(snapshot->xip, map_xids, xip) == 0) &&
		(subxip == 0 ||
		 memcmp(snapshot->subxip, map_xids + map_key.xcnt, subxip) == 0);
}

/* Keeps snapshot's transaction lists with map_key. */
static void
keep_xids(Snapshot snapshot)
{
	int			n = map_key.xcnt + map_key.subxcnt;

	if (n > map_xids_len)
	{
		if (map_xids != NULL)
			pfree(map_xids);
		map_xids = MemoryContextAlloc(copy_cxt, sizeof(TransactionId) * n);
		map_xids_len = n;
	}
	if (map_key.xcnt > 0)
		memcpy(map_xids, snapshot->xip, sizeof(TransactionId) * map_key.xcnt);
	if (map_key.subxcnt > 0)
		memcpy(map_xids + map_key.xcnt, snapshot->subxip,
			   sizeof(TransactionId) * map_key.subxcnt);
}

/*
 * Starts a scan of index under snapshot, which read the metapage at
 * meta_lsn: whether it reads through copies (n2_page_copy), and then the
 * index's size in *nblocks.  Copies an earlier scan checked are checked
 * again before use, unless the map holds them under this scan's trust key.
 */
bool
n2_page_copies_begin(Relation index, Snapshot snapshot, XLogRecPtr meta_lsn,
					 BlockNumber *nblocks_out)
{
	int64		cap = (int64) n2_scan_cache_size * 1024 / sizeof(N2PageCopy);
	BlockNumber nblocks;
	N2TrustKey	key;
	bool		trusted;

	cap = Min(cap, INT_MAX / 4);
	if (copy_cxt == NULL || cap != capacity)
		reset_copies((int) cap);
	current_scan++;
	n2_copy_map.index = NULL;
	if (capacity == 0 || !RelationNeedsWAL(index))
		return false;
	trusted = trust_key(&key, index, snapshot, meta_lsn);
	if (trusted && map_trusted &&
		memcmp(&key, &map_key, sizeof(N2TrustKey)) == 0 && same_xids(snapshot))
	{
		/*
		 * The map stays, and so does its size: pages added since (by inserts
		 * this snapshot does not see) are looked up in the table.  This saves
		 * the lseek of RelationGetNumberOfBlocks.
		 */
		nblocks = n2_copy_map.nblocks;
	}
	else
	{
		nblocks = RelationGetNumberOfBlocks(index);
		if (nblocks > (BlockNumber) capacity)
		{
			map_trusted = false;
			return false;
		}
		n2_copy_map.gen++;
		if (nblocks > map_len)
		{
			if (n2_copy_map.entries != NULL)
				pfree(n2_copy_map.entries);
			n2_copy_map.entries = MemoryContextAllocZero(copy_cxt,
														 sizeof(N2MapEntry) * nblocks);
			map_len = nblocks;
		}
		map_key = key;
		map_trusted = trusted;
		if (trusted)
			keep_xids(snapshot);
		n2_copy_map.nblocks = nblocks;
	}
	n2_copy_map.index = index;
	*nblocks_out = nblocks;
	return true;
}

/* n2_page_copy's lookup in the table, copying the page if need be */
static Page
copy_for_scan(Relation index, BlockNumber blkno)
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

/*
 * n2_page_copy when the map does not hold the page (n2.h): copies it, or
 * finds its copy in the table, and maps it.
 */
Page
n2_page_copy_miss(Relation index, BlockNumber blkno)
{
	Page		page = copy_for_scan(index, blkno);

	if (page != NULL && index == n2_copy_map.index &&
		blkno < n2_copy_map.nblocks)
	{
		n2_copy_map.entries[blkno].page = page;
		n2_copy_map.entries[blkno].gen = n2_copy_map.gen;
	}
	return page;
}
