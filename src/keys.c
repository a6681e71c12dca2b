/*
 * Copyright (c) 2025-2026, the n2 developers
 * keys.c
 *		The key directory of an index with filter columns.
 *
 * Every element's filter keys are also in its tuple, but a scan whose filter
 * few elements pass would read the whole index to find those.  So the keys
 * are kept a second time, with the element's TID, in a chain of pages of
 * their own (N2_PAGE_KEYS, linked through the special space's next; the
 * metapage names the first, and hints where inserts look for room: the
 * last page, or the first VACUUM freed room on): reading them costs a few
 * hundred bytes per page of elements.
 *
 * An insert adds the entry in the WAL record that places the element, so
 * no element can exist without one (a scan that lists the passing elements
 * from the directory must not miss a row).  Entries can outlive their
 * element until VACUUM removes them, and an element's keys never change,
 * so a scan tests the keys it finds on the element again: a stale entry
 * costs a page read, never a wrong row.  VACUUM removes the entries of the
 * elements it deletes before it frees their slots, when no insert can have
 * reused them yet.  Keys pages are never in the free space map.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/rel.h"

#include "filter.h"
#include "n2.h"

static void
init_keys_page(Page page)
{
	n2_init_page(page, N2_PAGE_KEYS);
	N2PageGetOpaque(page)->next = InvalidBlockNumber;
}

static Size
entry_size(int keylen)
{
	return N2_KEY_ENTRY_HEADER + keylen;
}

static void
form_entry(char *buf, ItemPointer element, const char *keys, int keylen)
{
	N2KeyEntry	ke = (N2KeyEntry) buf;

	memset(ke, 0, N2_KEY_ENTRY_HEADER);
	ke->type = N2_TUPLE_KEYS;
	ke->keylen = (uint16) keylen;
	ke->element = *element;
	if (keylen > 0)
		memcpy(N2KeyEntryKeys(ke), keys, keylen);
}

/*
 * Writes the directory of a new index after its last element page (CREATE
 * INDEX, before the whole index is WAL-logged): one entry per element,
 * element[i] holding keys + keyoff[i] .. keys + keyoff[i + 1], in the order
 * the elements were written (order), so that reading the elements the
 * directory lists goes through their pages in order.  Pages are filled in
 * private memory and written in order; the metapage is pointed at the chain.
 */
void
n2_keys_build(Relation index, const ItemPointerData *element,
			  const uint32 *order, uint32 n, const char *keys,
			  const uint32 *keyoff)
{
	PGAlignedBlock page;
	char	   *entry = palloc(entry_size(N2_MAX_KEYLEN));
	BlockNumber blkno = RelationGetNumberOfBlocks(index);
	BlockNumber head = blkno;
	Buffer		buf;

	init_keys_page(page.data);
	for (uint32 i = 0; i <= n; i++)
	{
		uint32		node = i < n ? order[i] : 0;
		int			keylen = i < n ? (int) (keyoff[node + 1] - keyoff[node]) : 0;
		Size		size = entry_size(keylen);

		/* after the last entry, or when this one does not fit: write out */
		if (i == n || PageGetFreeSpace(page.data) < MAXALIGN(size))
		{
			if (i < n)
				N2PageGetOpaque(page.data)->next = blkno + 1;
			buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
			if (BufferGetBlockNumber(buf) != blkno)
				elog(ERROR, "n2 index \"%s\": unexpected block %u for key directory page %u",
					 RelationGetRelationName(index), BufferGetBlockNumber(buf), blkno);
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			memcpy(BufferGetPage(buf), page.data, BLCKSZ);
			MarkBufferDirty(buf);
			UnlockReleaseBuffer(buf);
			if (i == n)
				break;
			blkno++;
			init_keys_page(page.data);
		}
		form_entry(entry, (ItemPointer) &element[node], keys + keyoff[node], keylen);
		if (PageAddItem(page.data, (Item) entry, size, InvalidOffsetNumber,
						false, false) == InvalidOffsetNumber)
			elog(ERROR, "failed to add key entry to n2 index \"%s\"",
				 RelationGetRelationName(index));
	}
	pfree(entry);

	buf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	N2PageGetMeta(BufferGetPage(buf))->keys_head = head;
	N2PageGetMeta(BufferGetPage(buf))->keys_tail = blkno;
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/* A new keys page at the end of the index, exclusively locked. */
static Buffer
extend_keys(Relation index)
{
	for (;;)
	{
		Buffer		buf;

		LockRelationForExtension(index, ExclusiveLock);
		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
		/* unlocked first, as in insert.c's buffer_with_space */
		UnlockRelationForExtension(index, ExclusiveLock);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (PageIsNew(BufferGetPage(buf)))
			return buf;
		/* VACUUM initialised it as a data page first (see insert.c) */
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Adds element's entry to the directory inside the caller's WAL record
 * (whose buffers are locked before any keys page, as in every lock order
 * here).  tail is the metapage's hint: the entry goes to the first page from
 * there on with room, or to a new page after the last.  Returns the buffers
 * it registered, locked, for the caller to release after finishing the
 * record (up to 2: the page and, when it was the last and full, a new one
 * after it); *newtail is where the hint should move (the page taken when it
 * is not the hinted one), or InvalidBlockNumber.
 *
 * A page before the last can take an entry because a scan never needs one
 * added after it began: the rows of elements inserted since are not in its
 * snapshot.
 */
int
n2_keys_add(Relation index, GenericXLogState *state, BlockNumber tail,
			ItemPointer element, const char *keys, int keylen, Buffer *bufs,
			BlockNumber *newtail)
{
	Size		size = entry_size(keylen);
	char	   *entry = palloc(size);
	BlockNumber blkno = tail;
	Buffer		buf;
	Buffer		nbuf;
	Page		page;
	Page		npage;

	*newtail = InvalidBlockNumber;
	form_entry(entry, element, keys, keylen);
	for (;;)
	{
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !(N2PageGetOpaque(page)->flags & N2_PAGE_KEYS))
			elog(ERROR, "n2 index \"%s\": block %u is not a key directory page",
				 RelationGetRelationName(index), blkno);
		if (PageGetFreeSpace(page) >= MAXALIGN(size) ||
			N2PageGetOpaque(page)->next == InvalidBlockNumber)
			break;
		blkno = N2PageGetOpaque(page)->next;
		UnlockReleaseBuffer(buf);
	}
	if (PageGetFreeSpace(page) >= MAXALIGN(size))
	{
		page = GenericXLogRegisterBuffer(state, buf, 0);
		if (PageAddItem(page, (Item) entry, size, InvalidOffsetNumber,
						false, false) == InvalidOffsetNumber)
			elog(ERROR, "failed to add key entry to n2 index \"%s\"",
				 RelationGetRelationName(index));
		bufs[0] = buf;
		if (blkno != tail)
			*newtail = blkno;
		pfree(entry);
		return 1;
	}
	nbuf = extend_keys(index);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	npage = GenericXLogRegisterBuffer(state, nbuf, GENERIC_XLOG_FULL_IMAGE);
	init_keys_page(npage);
	N2PageGetOpaque(page)->next = BufferGetBlockNumber(nbuf);
	if (PageAddItem(npage, (Item) entry, size, InvalidOffsetNumber,
					false, false) == InvalidOffsetNumber)
		elog(ERROR, "failed to add key entry to n2 index \"%s\"",
			 RelationGetRelationName(index));
	bufs[0] = buf;
	bufs[1] = nbuf;
	*newtail = BufferGetBlockNumber(nbuf);
	pfree(entry);
	return 2;
}

/*
 * Moves the metapage's hint forward to tail, or, with rewind, back to it.
 * The chain only ever grows at the end of the index, so its pages are in
 * block order.
 */
static void
move_hint(Relation index, BlockNumber tail, bool rewind)
{
	GenericXLogState *state;
	Buffer		buf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	N2MetaPage	meta;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	meta = N2PageGetMeta(BufferGetPage(buf));
	if (rewind ? meta->keys_tail > tail : meta->keys_tail < tail)
	{
		state = GenericXLogStart(index);
		meta = N2PageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
		meta->keys_tail = tail;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

void
n2_keys_set_tail(Relation index, BlockNumber tail)
{
	move_hint(index, tail, false);
}

static int
compare_refs(const void *a, const void *b)
{
	N2Ref		x = *(const N2Ref *) a;
	N2Ref		y = *(const N2Ref *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The elements whose directory entries pass filter, sorted and without
 * repeats, in *refs (palloc'd) and *n; *total counts every entry read.
 * Gives up (false, *refs NULL) once more than max pass.
 */
bool
n2_keys_collect(Relation index, BlockNumber head, const N2KeyFilter *filter,
				int64 max, N2Ref **refs, int64 *n, int64 *total)
{
	int64		cap = 1024;
	int64		count = 0;
	int64		j = 0;
	N2Ref	   *out = palloc(sizeof(N2Ref) * cap);

	*total = 0;
	for (BlockNumber blkno = head; blkno != InvalidBlockNumber;)
	{
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;
		OffsetNumber off = InvalidOffsetNumber;
		char	   *tuple;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !(N2PageGetOpaque(page)->flags & N2_PAGE_KEYS))
			elog(ERROR, "n2 index \"%s\": block %u is not a key directory page",
				 RelationGetRelationName(index), blkno);
		while ((tuple = n2_page_next_tuple(page, &off)) != NULL)
		{
			N2KeyEntry	ke = (N2KeyEntry) tuple;

			if (ke->type != N2_TUPLE_KEYS)
				continue;
			(*total)++;
			if (!n2_filter_match(filter, N2KeyEntryKeys(ke), ke->keylen))
				continue;
			if (count == max)
			{
				UnlockReleaseBuffer(buf);
				pfree(out);
				*refs = NULL;
				*n = 0;
				return false;
			}
			if (count == cap)
			{
				cap *= 2;
				out = repalloc_huge(out, sizeof(N2Ref) * cap);
			}
			out[count++] = n2_tid_to_ref(&ke->element);
		}
		blkno = N2PageGetOpaque(page)->next;
		UnlockReleaseBuffer(buf);
	}

	/* a slot reused after VACUUM may have two entries */
	if (count > 1)
		qsort(out, count, sizeof(N2Ref), compare_refs);
	for (int64 i = 0; i < count; i++)
	{
		if (j == 0 || out[i] != out[j - 1])
			out[j++] = out[i];
	}
	*refs = out;
	*n = j;
	return true;
}

/*
 * Removes the entries of the elements doomed(arg, ref) says VACUUM is about
 * to delete.  Their tuples still hold the slots, so no new element can have
 * an entry under the same TID yet.  The hint moves back to the first page
 * that gained room, so that inserts fill the room before they extend the
 * chain.
 */
void
n2_keys_remove(Relation index, BlockNumber head,
			   bool (*doomed) (void *arg, N2Ref ref), void *arg,
			   BufferAccessStrategy strategy)
{
	OffsetNumber *gone = palloc(sizeof(OffsetNumber) * MaxOffsetNumber);
	BlockNumber first_room = InvalidBlockNumber;

	for (BlockNumber blkno = head; blkno != InvalidBlockNumber;)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off = InvalidOffsetNumber;
		char	   *tuple;
		int			ngone = 0;

		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		while ((tuple = n2_page_next_tuple(page, &off)) != NULL)
		{
			N2KeyEntry	ke = (N2KeyEntry) tuple;

			if (ke->type == N2_TUPLE_KEYS &&
				doomed(arg, n2_tid_to_ref(&ke->element)))
				gone[ngone++] = off;
		}
		if (ngone > 0)
		{
			GenericXLogState *state = GenericXLogStart(index);

			page = GenericXLogRegisterBuffer(state, buf, 0);
			PageIndexMultiDelete(page, gone, ngone);
			GenericXLogFinish(state);
			if (first_room == InvalidBlockNumber)
				first_room = blkno;
		}
		blkno = N2PageGetOpaque(BufferGetPage(buf))->next;
		UnlockReleaseBuffer(buf);
	}
	pfree(gone);
	if (first_room != InvalidBlockNumber)
		move_hint(index, first_room, true);
}
