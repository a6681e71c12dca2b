/*
 * Copyright (c) 2025-2026, the n2 developers
 * insert.c
 *		Inserting one heap row into a built index.
 *
 * Concurrency: inserts hold N2_UPDATE_LOCK in N2_LOCK_INSERT mode, so they
 * run in parallel; one that creates the first node, raises the graph's top
 * level or fixes a real[] index's dimension takes N2_LOCK_INSERT_ENTRY,
 * which serialises those changes; VACUUM excludes inserts only for its two
 * short critical steps (vacuum.c).  Inserts of the same vector take turns
 * (insert_vector), so that one element holds all its rows.
 * Pages are read under a share buffer lock and written under an exclusive
 * one, one buffer at a time, except that a new page is locked before the
 * metapage whose insert-page hint it becomes (buffer_with_space), and a
 * wide vector's continuation pages are read with its element's page
 * share-locked (pages.c, n2_element_vector).  A
 * neighbour list is updated optimistically: read it, compute the new list
 * unlocked, then lock the page and write only if the list is still what
 * was read, else retry; so concurrent inserts never lose each other's links.
 *
 * Reachability invariant: when an insert returns, every live node is
 * reachable on level 0 from the entry point, and no step of it makes a
 * node unreachable that was reachable (scans widen over level 0 alone, and
 * concurrent inserts rely on the paths they see):
 *	- a neighbour that drops links to take the new node first makes the new
 *	  node link to what it drops, in free slots or in place of the far half
 *	  of the new node's own choices, which nothing relies on; what the new
 *	  node has no room for stays in the neighbour's list (links.c,
 *	  n2_add_link);
 *	- a new node no neighbour takes is linked from a near reachable node
 *	  without cutting another path, retrying until it is (n2_connect);
 *	- a new entry point links to the old one and needs no incoming link, so
 *	  it never goes through n2_connect, which may replace its own links;
 *	- level 0 is linked before the upper levels, so no search finds the new
 *	  node before it is reachable on level 0;
 *	- nothing links to an element VACUUM flagged deleted.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/graph.h"
#include "filter.h"
#include "n2.h"

typedef struct N2InsertState
{
	Relation	index;
	N2Params	params;
	N2MetaPageData meta;
	N2PageGraph pg;
	N2Search	search;
	bool		search_valid;
	MemoryContextCallback cleanup;
} N2InsertState;

static void
insert_free_core(void *arg)
{
	N2InsertState *is = (N2InsertState *) arg;

	if (is->search_valid)
		n2_search_free(&is->search);
	is->search_valid = false;
}

/*
 * An exclusively locked buffer, registered in state, with room for a tuple
 * of size bytes: the metapage's insert page if it has room, else a new page
 * (then *metabuf is the metapage, locked and registered to move the hint;
 * the caller releases it after finishing the record).
 */
static Buffer
buffer_with_space(Relation index, Size size, GenericXLogState *state,
				  Page *page, Buffer *metabuf, bool *from_fsm)
{
	BlockNumber blkno;
	BlockNumber nblocks;
	Buffer		buf;
	Page		metapage;
	Size		need = MAXALIGN(size);
	BlockNumber insert_page;
	int			link_bytes;
	int			offset_bits;

	*from_fsm = true;
	*metabuf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	LockBuffer(*metabuf, BUFFER_LOCK_SHARE);
	insert_page = N2PageGetMeta(BufferGetPage(*metabuf))->insert_page;
	link_bytes = N2PageGetMeta(BufferGetPage(*metabuf))->link_bytes;
	offset_bits = N2PageGetMeta(BufferGetPage(*metabuf))->link_offset_bits;
	UnlockReleaseBuffer(*metabuf);
	*metabuf = InvalidBuffer;

	/* space VACUUM freed first, then the page inserts are filling */
	for (int tries = 0; tries < 3; tries++)
	{
		blkno = GetPageWithFreeSpace(index, need + sizeof(ItemIdData));
		if (blkno == InvalidBlockNumber)
			break;

		/*
		 * No element on a page narrow links cannot name: VACUUM offers the
		 * pages a crash left new, and key directory pages are added without
		 * the link check.
		 */
		if (link_bytes != 6 &&
			blkno >= n2_link_block_limit(link_bytes, offset_bits))
		{
			RecordPageWithFreeSpace(index, blkno, 0);
			continue;
		}
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (!PageIsNew(BufferGetPage(buf)) &&
			PageGetFreeSpace(BufferGetPage(buf)) >= need)
		{
			*page = GenericXLogRegisterBuffer(state, buf, 0);
			return buf;
		}
		RecordPageWithFreeSpace(index, blkno,
								PageIsNew(BufferGetPage(buf)) ? 0 :
								PageGetFreeSpace(BufferGetPage(buf)));
		UnlockReleaseBuffer(buf);
	}
	*from_fsm = false;

	blkno = insert_page;
	if (blkno != InvalidBlockNumber && blkno != N2_METAPAGE_BLKNO &&
		(link_bytes == 6 || blkno < n2_link_block_limit(link_bytes, offset_bits)))
	{
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (PageGetFreeSpace(BufferGetPage(buf)) >= need)
		{
			*page = GenericXLogRegisterBuffer(state, buf, 0);
			return buf;
		}
		UnlockReleaseBuffer(buf);
	}

	for (;;)
	{
		LockRelationForExtension(index, ExclusiveLock);
		/* narrow links could not name the new block: refuse, nothing written */
		nblocks = RelationGetNumberOfBlocks(index);
		if (link_bytes != 6 &&
			nblocks >= n2_link_block_limit(link_bytes, offset_bits))
		{
			UnlockRelationForExtension(index, ExclusiveLock);
			n2_check_link_room(index, link_bytes, offset_bits, nblocks + 1);
		}
		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);

		/*
		 * Not locked before the extension lock is released: VACUUM's pass 1
		 * may lock the new page first, and records its free space under that
		 * lock, which can extend the free space map and so wait for the
		 * extension lock (an undetected deadlock, found by t/100).
		 */
		UnlockRelationForExtension(index, ExclusiveLock);
		n2_pause_point("insert-extended");
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (PageIsNew(BufferGetPage(buf)))
			break;

		/*
		 * VACUUM initialises pages an insert left new (by crashing before
		 * writing them, or not yet locked) and offers them to others, and it
		 * may have got to this one before we locked it: use it as any other
		 * page.
		 */
		if (PageGetFreeSpace(BufferGetPage(buf)) >= need)
		{
			*page = GenericXLogRegisterBuffer(state, buf, 0);
			return buf;
		}
		UnlockReleaseBuffer(buf);
	}
	*page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
	n2_init_page(*page, N2_PAGE_DATA);

	/* lock order is always data page, then metapage */
	*metabuf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	LockBuffer(*metabuf, BUFFER_LOCK_EXCLUSIVE);
	metapage = GenericXLogRegisterBuffer(state, *metabuf, 0);
	N2PageGetMeta(metapage)->insert_page = BufferGetBlockNumber(buf);
	return buf;
}

/*
 * The key directory's last page, as the metapage hints: from metabuf when
 * this backend holds it, else read under a share lock (after the data page
 * the caller holds, as the lock order wants).
 */
static BlockNumber
keys_tail(Relation index, Buffer metabuf)
{
	BlockNumber tail;

	if (BufferIsValid(metabuf))
		return N2PageGetMeta(BufferGetPage(metabuf))->keys_tail;
	metabuf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	tail = N2PageGetMeta(BufferGetPage(metabuf))->keys_tail;
	UnlockReleaseBuffer(metabuf);
	return tail;
}

/*
 * Writes one tuple where there is room; one WAL record; returns its TID.
 * With keys (an element of an index with a key directory), the record adds
 * its directory entry too.
 */
void
n2_place_tuple_keyed(Relation index, const void *tuple, Size size,
					 const char *keys, int keylen, ItemPointer tid)
{
	GenericXLogState *state = GenericXLogStart(index);
	Buffer		metabuf;
	Page		page;
	bool		from_fsm;
	Buffer		buf = buffer_with_space(index, size, state, &page, &metabuf,
										&from_fsm);
	OffsetNumber off;
	Buffer		kbufs[2];
	int			nkbufs = 0;
	BlockNumber newtail = InvalidBlockNumber;
	int			link_bytes = 6;
	int			offset_bits = 0;
	BlockNumber newpages[2];
	int			nnew = 0;

	off = PageAddItem(page, (Item) tuple, size, InvalidOffsetNumber, false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "failed to add tuple to n2 index \"%s\"",
			 RelationGetRelationName(index));
	ItemPointerSet(tid, BufferGetBlockNumber(buf), off);
	if (keys != NULL)
		nkbufs = n2_keys_add(index, state, keys_tail(index, metabuf), tid,
							 keys, keylen, kbufs, &newtail);
	GenericXLogFinish(state);
	for (int i = 0; i < nkbufs; i++)
		UnlockReleaseBuffer(kbufs[i]);
	if (from_fsm)
		RecordPageWithFreeSpace(index, BufferGetBlockNumber(buf),
								PageGetFreeSpace(BufferGetPage(buf)));
	/* the new pages, an element's and a key directory's */
	if (BufferIsValid(metabuf))
		newpages[nnew++] = ItemPointerGetBlockNumber(tid);
	if (nkbufs == 2)
		newpages[nnew++] = newtail;
	if (nnew > 0)
	{
		Buffer		mbuf = BufferIsValid(metabuf) ? metabuf :
		ReadBuffer(index, N2_METAPAGE_BLKNO);

		if (!BufferIsValid(metabuf))
			LockBuffer(mbuf, BUFFER_LOCK_SHARE);
		link_bytes = N2PageGetMeta(BufferGetPage(mbuf))->link_bytes;
		offset_bits = N2PageGetMeta(BufferGetPage(mbuf))->link_offset_bits;
		if (!BufferIsValid(metabuf))
			UnlockReleaseBuffer(mbuf);
	}
	if (BufferIsValid(metabuf))
		UnlockReleaseBuffer(metabuf);
	UnlockReleaseBuffer(buf);
	if (newtail != InvalidBlockNumber)
		n2_keys_set_tail(index, newtail);
	/* said after the locks, as a client may be slow to read */
	for (int i = 0; i < nnew && link_bytes != 6; i++)
		n2_warn_link_room(index, link_bytes, offset_bits, newpages[i]);
}

void
n2_place_tuple(Relation index, const void *tuple, Size size, ItemPointer tid)
{
	n2_place_tuple_keyed(index, tuple, size, NULL, 0, tid);
}

/*
 * Locks the page of the TID chunk tid names exclusively for a WAL-logged
 * change; released with n2_finish_page or n2_abort_page.
 */
static N2TidChunk
lock_tid_chunk(Relation index, ItemPointer tid, GenericXLogState **state,
			   Buffer *buf)
{
	*buf = ReadBuffer(index, ItemPointerGetBlockNumber(tid));
	LockBuffer(*buf, BUFFER_LOCK_EXCLUSIVE);
	*state = GenericXLogStart(index);
	return n2_page_tid_chunk(index, GenericXLogRegisterBuffer(*state, *buf, 0),
							 tid);
}

/*
 * Adds a heap TID to the element ref names, which holds the same vector:
 * in a free inline slot, in a TID chunk with room, or in a new chunk
 * prepended to its chain.  The new chunk is written before the element's
 * page is locked to link it; once it is written, the TID is there and
 * nowhere else, so the chunk must end up in the chain even if a slot frees
 * up meanwhile (VACUUM's first pass takes dead TIDs out of the element and
 * its chunks without the update lock), or a chunk in no chain would hold
 * the TID a second time: space VACUUM never frees, and one heap TID
 * counted twice.  Only the chain's head moving (a concurrent insert
 * prepended its own chunk) makes it retry, from the new head.
 */
static void
add_heap_tid(Relation index, N2Ref ref, ItemPointer heaptid)
{
	GenericXLogState *state;
	Buffer		buf;
	N2ElementTuple et;
	ItemPointerData next;
	ItemPointerData chunktid;
	N2TidChunk	newchunk;
	N2TidChunk	tc;
	Size		chunksize = n2_tid_chunk_size(N2_TID_CHUNK_CAPACITY);

	et = n2_lock_element(index, ref, &state, &buf);
	if (et == NULL)
		elog(ERROR, "n2 element vanished during insert");
	if (et->ntids < N2_INLINE_TIDS)
	{
		et->heaptids[et->ntids++] = *heaptid;
		n2_finish_page(state, buf);
		return;
	}
	next = et->tidchain;
	n2_abort_page(state, buf);

	/* a chunk in the chain with room? */
	while (ItemPointerIsValid(&next))
	{
		tc = lock_tid_chunk(index, &next, &state, &buf);
		if (tc->ntids < tc->capacity)
		{
			tc->tids[tc->ntids++] = *heaptid;
			n2_finish_page(state, buf);
			return;
		}
		next = tc->next;
		n2_abort_page(state, buf);
	}

	/*
	 * A new chunk, pointing at the head as the element had it (the chain only
	 * ever grows at its head).
	 */
	newchunk = palloc0(chunksize);
	newchunk->type = N2_TUPLE_TIDS;
	newchunk->capacity = N2_TID_CHUNK_CAPACITY;
	newchunk->ntids = 1;
	newchunk->tids[0] = *heaptid;
	et = n2_lock_element(index, ref, &state, &buf);
	if (et == NULL)
		elog(ERROR, "n2 element vanished during insert");
	newchunk->next = et->tidchain;
	n2_abort_page(state, buf);
	n2_place_tuple(index, newchunk, chunksize, &chunktid);
	n2_pause_point("insert-tid-chunk-placed");

	for (;;)
	{
		et = n2_lock_element(index, ref, &state, &buf);
		if (et == NULL)
			elog(ERROR, "n2 element vanished during insert");
		if (ItemPointerEquals(&et->tidchain, &newchunk->next))
		{
			et->tidchain = chunktid;
			n2_finish_page(state, buf);
			pfree(newchunk);
			return;
		}

		/* the head moved: point the chunk at the new one and try again */
		newchunk->next = et->tidchain;
		n2_abort_page(state, buf);
		tc = lock_tid_chunk(index, &chunktid, &state, &buf);
		tc->next = newchunk->next;
		n2_finish_page(state, buf);
	}
}

/*
 * Writes the vector's continuation chunks (wide vectors only), last first so
 * each can point at the next; returns the head of the chain.
 */
static void
place_vector_chunks(Relation index, const N2Params *p, const float *v,
					int ninline, ItemPointer head)
{
	N2VectorChunk vc = palloc(N2_MAX_TUPLE_SIZE);

	ItemPointerSetInvalid(head);
	for (int i = n2_vector_chunks(p, ninline) - 1; i >= 0; i--)
	{
		Size		size = n2_form_vector_chunk(vc, p, v, ninline, i, head);

		n2_place_tuple(index, vc, size, head);
	}
	pfree(vc);
}

/*
 * Writes a new element with its links (and, keyed, its key directory
 * entry); returns its ref.
 */
static N2Ref
place_element(Relation index, const N2Params *p, const float *v,
			  const char *keys, int keylen, bool keyed, int level,
			  ItemPointer heaptid, N2Candidate **sel, int *nsel)
{
	int			ninline;
	Size		size = n2_element_size(p, level, keylen, &ninline);
	N2ElementTuple et = palloc(size);
	ItemPointerData tid;
	ItemPointerData nochain;
	ItemPointerData vecnext;

	ItemPointerSetInvalid(&nochain);
	place_vector_chunks(index, p, v, ninline, &vecnext);
	n2_form_element(et, p, level, keys, keylen, v, heaptid, 1, &nochain,
					&vecnext);
	for (int l = 0; sel != NULL && l <= level; l++)
	{
		for (int i = 0; i < nsel[l]; i++)
		{
			n2_ref_to_tid(sel[l][i].ref, &tid);
			n2_link_set(p, et, n2_links_start(p, l) + i, &tid);
		}
	}
	n2_place_tuple_keyed(index, et, size, keyed ? keys : NULL, keylen, &tid);
	pfree(et);
	return n2_tid_to_ref(&tid);
}

static void
update_meta_entry(Relation index, N2Ref entry, int level, int dims)
{
	GenericXLogState *state = GenericXLogStart(index);
	Buffer		buf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	N2MetaPage	meta;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	meta = N2PageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
	if (entry != N2_INVALID_REF)
	{
		n2_ref_to_tid(entry, &meta->entry);
		meta->max_level = (int16) level;
	}
	if (dims > 0)
		meta->dims = dims;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/* Whether the element ref names holds exactly these filter keys. */
static bool
same_keys(N2PageGraph *pg, N2Ref ref, const char *keys, int keylen)
{
	N2ElementTuple et;
	bool		same;

	n2_page_graph_read(pg, n2_ref_block(ref));
	LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
	et = n2_page_graph_element(pg, ref);
	same = et != NULL && et->keylen == keylen &&
		(keylen == 0 || memcmp(N2ElementKeys(et), keys, keylen) == 0);
	LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
	return same;
}

/*
 * Chooses the new node's neighbours on each level it shares with the graph
 * and fills sel/nsel.  Returns the ref of an element holding exactly v and
 * keys, if the search found one (the new row then joins it).  Elements with
 * the same vector and other keys are separate nodes; should the search miss
 * the one with the row's keys, the row gets a node of its own, which costs
 * space but never a wrong filter result.
 */
static N2Ref
find_neighbors(N2InsertState *is, const float *v, const char *keys,
			   int keylen, int level, N2Candidate **sel, int *nsel)
{
	const N2Params *p = &is->params;
	N2PageGraph *pg = &is->pg;
	int			top = is->meta.max_level;
	int			efc = Max(p->ef_construction, 1);
	N2Candidate ep;
	N2Candidate *found = palloc(sizeof(N2Candidate) * efc);
	float	   *stored = n2_storage_stored_form(p, v);
	float		self[2];
	int			nself = n2_storage_self_distances(pg, v, stored, self);

	ep.ref = n2_tid_to_ref(&is->meta.entry);
	n2_page_graph_ops.distances(pg, &ep.ref, 1, &ep.dist);
	for (int l = top; l > level; l--)
		ep = n2_search_greedy(&is->search, &n2_page_graph_ops, pg, ep, l);

	for (int l = Min(level, top); l >= 0; l--)
	{
		int			nfound;

		nfound = n2_search_layer(&is->search, &n2_page_graph_ops, pg, &ep, 1,
								 efc, l, found);
		if (nfound < 0)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		if (nfound == 0)
			continue;

		/*
		 * An element with v is at one of v's own distances, wherever that
		 * puts it among the candidates (under dot a longer vector is nearer);
		 * only those at exactly such a distance are read.
		 */
		for (int i = 0; l == 0 && i < nfound; i++)
		{
			if ((found[i].dist == self[0] ||
				 (nself > 1 && found[i].dist == self[1])) &&
				n2_storage_same_vector(pg, found[i].ref, v) &&
				same_keys(pg, found[i].ref, keys, keylen))
				return found[i].ref;
		}
		ep = found[0];
		sel[l] = palloc(sizeof(N2Candidate) * nfound);
		nsel[l] = n2_select_refs(pg, p->select, found, nfound,
								 n2_links_cap(p, l), sel[l], NULL, NULL, stored);
	}
	return N2_INVALID_REF;
}

/* Makes the new node's neighbours on level link to it; true if any does. */
static bool
link_level(N2InsertState *is, N2Candidate *sel, int nsel, int level,
		   N2Ref newref, N2SpareLinks *spare)
{
	bool		linked = false;

	for (int i = 0; i < nsel; i++)
		linked |= n2_add_link(&is->pg, sel[i].ref, level, newref, spare);
	return linked;
}

/*
 * The new node's level-0 choices beyond the nearer half of the cap, which
 * it may give up to take the targets its neighbours drop for it: it keeps
 * its nearest links to walk on, and a neighbour that re-selects for it
 * then seldom has to refuse it (at m = 4 refusals left a quarter of the
 * rows hard to find).  The link to the old entry point is never spare.
 */
static N2SpareLinks *
spare_links(N2InsertState *is, N2Candidate *sel, int nsel, bool new_entry)
{
	N2SpareLinks *spare = palloc(sizeof(N2SpareLinks));
	N2Ref		old = n2_tid_to_ref(&is->meta.entry);

	spare->refs = palloc(sizeof(N2Ref) * Max(nsel, 1));
	spare->n = 0;
	for (int i = is->params.max_m0 / 2; i < nsel; i++)
	{
		if (!(new_entry && sel[i].ref == old))
			spare->refs[spare->n++] = sel[i].ref;
	}
	return spare;
}

/*
 * A node above the top level becomes the entry point: it links to the old
 * one on level 0 (in place of its farthest choice if it has no room left),
 * so that everything reachable before stays reachable.
 */
static void
link_old_entry(N2InsertState *is, N2Candidate **sel, int *nsel)
{
	N2Ref		old = n2_tid_to_ref(&is->meta.entry);
	int			cap = n2_links_cap(&is->params, 0);
	N2Candidate *list;

	for (int i = 0; i < nsel[0]; i++)
	{
		if (sel[0][i].ref == old)
			return;
	}
	list = palloc(sizeof(N2Candidate) * cap);
	if (nsel[0] > 0)
		memcpy(list, sel[0], sizeof(N2Candidate) * nsel[0]);
	if (nsel[0] == cap)
		nsel[0]--;
	list[nsel[0]].ref = old;
	n2_page_graph_ops.distances(&is->pg, &old, 1, &list[nsel[0]].dist);
	nsel[0]++;
	sel[0] = list;
}

static void
insert_vector_locked(N2InsertState *is, float *v, int dims, const char *keys,
					 int keylen, ItemPointer heaptid, uint64 hash)
{
	Relation	index = is->index;
	const N2Params *p = &is->params;
	LOCKMODE	lockmode = N2_LOCK_INSERT;
	int			level;
	N2Candidate **sel;
	int		   *nsel;
	N2Ref		same;
	N2Ref		newref;

	level = Min(n2_random_level(is->meta.seed, hash, p->mult), n2_max_level(p));

	/*
	 * Creating the first node, raising the top level or fixing the dimension
	 * of a real[] index changes the metapage's shape: serialise.
	 */
	LockPage(index, N2_UPDATE_LOCK, lockmode);
	n2_read_meta(index, &is->meta);
	if (!ItemPointerIsValid(&is->meta.entry) || level > is->meta.max_level ||
		is->meta.dims == 0)
	{
		UnlockPage(index, N2_UPDATE_LOCK, lockmode);
		lockmode = N2_LOCK_INSERT_ENTRY;
		LockPage(index, N2_UPDATE_LOCK, lockmode);
		n2_read_meta(index, &is->meta);
	}
	if (is->meta.dims == 0)
	{
		is->params.dims = dims;
		update_meta_entry(index, N2_INVALID_REF, 0, dims);
		is->meta.dims = dims;
	}
	else if (is->meta.dims != dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", is->meta.dims, dims),
				 errdetail("Index \"%s\" holds %d-dimensional vectors.",
						   RelationGetRelationName(index), is->meta.dims)));
	/* a concurrent first insert may have fixed it since insert_begin */
	is->params.dims = is->meta.dims;

	/*
	 * An sq8 index built empty is trained by its first insert, which holds
	 * N2_LOCK_INSERT_ENTRY (the index is empty); an insert that waited for it
	 * reads the ranges it wrote.
	 */
	if (n2_storage_needs_training(p))
	{
		n2_storage_load(index, &is->meta, &is->params);
		if (n2_storage_needs_training(p))
		{
			if (ItemPointerIsValid(&is->meta.entry))
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("sq8 index \"%s\" holds elements but names no quantizer",
								RelationGetRelationName(index))));
			(void) n2_storage_train(&is->params, v, 1);
			n2_storage_write(index, p);
			n2_storage_report_training(index, p, 1);
		}
	}

	if (!ItemPointerIsValid(&is->meta.entry))
	{
		newref = place_element(index, p, v, keys, keylen,
							   is->meta.keys_head != N2_METAPAGE_BLKNO, level, heaptid,
							   NULL, NULL);
		update_meta_entry(index, newref, level, 0);
		UnlockPage(index, N2_UPDATE_LOCK, lockmode);
		return;
	}

	n2_page_graph_init(&is->pg, index, p, v);
	sel = palloc0(sizeof(N2Candidate *) * (level + 1));
	nsel = palloc0(sizeof(int) * (level + 1));
	same = find_neighbors(is, v, keys, keylen, level, sel, nsel);
	if (same != N2_INVALID_REF)
	{
		n2_page_graph_release(&is->pg);
		add_heap_tid(index, same, heaptid);
		UnlockPage(index, N2_UPDATE_LOCK, lockmode);
		return;
	}

	if (level > is->meta.max_level)
		link_old_entry(is, sel, nsel);
	newref = place_element(index, p, v, keys, keylen,
						   is->meta.keys_head != N2_METAPAGE_BLKNO, level, heaptid, sel,
						   nsel);
	n2_pause_point("insert-placed");

	/*
	 * Level 0 first: until some list links to the new node, no search can
	 * find it, so if no neighbour takes it, connecting it cannot disturb a
	 * concurrent insert that relies on its links.  A new entry point needs no
	 * incoming link, and must not get one from n2_connect, which may replace
	 * one of its own links: the one to the old entry.
	 */
	if (!link_level(is, sel[0], nsel[0], 0, newref,
					spare_links(is, sel[0], nsel[0],
								level > is->meta.max_level)) &&
		level <= is->meta.max_level)
		n2_connect(&is->pg, &is->search, &is->meta.entry, is->meta.max_level,
				   newref, NULL, NULL);
	n2_pause_point("insert-linked-level0");
	for (int l = Min(level, is->meta.max_level); l >= 1; l--)
		link_level(is, sel[l], nsel[l], l, newref, NULL);
	if (level > is->meta.max_level)
		update_meta_entry(index, newref, level, 0);
	n2_page_graph_release(&is->pg);
	UnlockPage(index, N2_UPDATE_LOCK, lockmode);
}

/*
 * Inserts of one vector take turns (a heavyweight lock named by the vector's
 * hash, taken before N2_UPDATE_LOCK and released after it, so no lock cycle
 * can form): the second finds the element the first linked, and joins it.
 * Run side by side, neither would see the other's element, not yet linked,
 * and the vector would get two: twins, which a search need not find both
 * of, since a neighbour list keeps one node of a tied pair and prunes the
 * other as reachable through it.  Different vectors whose hashes collide
 * merely wait for each other.
 */
static void
insert_vector(N2InsertState *is, float *v, int dims, const char *keys,
			  int keylen, ItemPointer heaptid)
{
	uint64		hash = n2_hash_bytes(v, sizeof(float) * dims, is->meta.seed);
	BlockNumber name;

	name = N2_VECTOR_LOCK_FIRST +
		(BlockNumber) (hash % (InvalidBlockNumber - N2_VECTOR_LOCK_FIRST));
	LockPage(is->index, name, ExclusiveLock);
	insert_vector_locked(is, v, dims, keys, keylen, heaptid, hash);
	UnlockPage(is->index, name, ExclusiveLock);
}

/*
 * A new insert's state, in a memory context of its own made current; the
 * caller inserts, then hands the context to insert_end.
 */
static N2InsertState *
insert_begin(Relation index, MemoryContext *oldcxt)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "n2 insert",
											  ALLOCSET_DEFAULT_SIZES);
	N2InsertState *is;

	*oldcxt = MemoryContextSwitchTo(cxt);
	is = palloc0(sizeof(N2InsertState));
	is->index = index;
	n2_read_meta(index, &is->meta);
	n2_params_from_meta(index, &is->meta, &is->params);

	is->cleanup.func = insert_free_core;
	is->cleanup.arg = is;
	MemoryContextRegisterResetCallback(cxt, &is->cleanup);
	if (!n2_search_init(&is->search, 0, is->params.ef_construction,
						Max(is->params.max_m0, is->params.m), false))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	is->search_valid = true;
	return is;
}

static void
insert_end(MemoryContext oldcxt)
{
	MemoryContext cxt = CurrentMemoryContext;

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
}

bool
n2_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		  Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		  IndexInfo *indexInfo)
{
	MemoryContext oldcxt;
	N2InsertState *is;
	float	   *v;
	int			dims;
	char	   *keys;
	int			keylen;

	if (isnull[0])
		return false;
	is = insert_begin(index, &oldcxt);
	v = n2_datum_to_vector(index, values[0], &is->params, &dims);
	keys = n2_form_keys(index, values, isnull, &keylen);
	insert_vector(is, v, dims, keys, keylen, heap_tid);
	insert_end(oldcxt);
	return false;
}

/*
 * Inserts v, a column value as n2_datum_to_vector gives it, for heap_tid:
 * what n2_insert does after the conversion.  CREATE INDEX inserts this way
 * once its in-memory graph is full.
 */
void
n2_insert_vector(Relation index, float *v, int dims, const char *keys,
				 int keylen, ItemPointer heap_tid)
{
	MemoryContext oldcxt;
	N2InsertState *is = insert_begin(index, &oldcxt);

	insert_vector(is, v, dims, keys, keylen, heap_tid);
	insert_end(oldcxt);
}
