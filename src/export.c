/*
 * Copyright (c) 2025-2026, the n2 developers
 * export.c
 *		n2_index_graph(regclass): the graph an index holds, one row per live
 *		element and level.  For looking at a graph, and for searching the very
 *		same graph outside PostgreSQL (bench/core_bench).
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "n2.h"

#define N2_GRAPH_COLUMNS 5

/* A tid[] of n TIDs. */
static Datum
tid_array(ItemPointerData *tids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	ArrayType  *arr;

	for (int i = 0; i < n; i++)
		elems[i] = PointerGetDatum(&tids[i]);
	arr = construct_array(elems, n, TIDOID, sizeof(ItemPointerData), false,
						  TYPALIGN_SHORT);
	return PointerGetDatum(arr);
}

/*
 * Every heap TID of an element: the inline ones, then its chain (read with
 * the element's page, ebuf, share-locked: see n2_tid_chain_begin).
 */
static ItemPointerData *
element_heap_tids(Relation index, Buffer ebuf, N2ElementTuple et, int *ntids)
{
	int			cap = Max(et->ntids, 16);
	int			n = 0;
	ItemPointerData *tids = palloc(sizeof(ItemPointerData) * cap);
	N2TidChainIter it;
	N2TidChunk	tc;

	for (int i = 0; i < et->ntids; i++)
		tids[n++] = et->heaptids[i];
	n2_tid_chain_begin(&it, index, ebuf, et->tidchain);
	while ((tc = n2_tid_chain_next(&it)) != NULL)
	{
		if (n + tc->ntids > cap)
		{
			cap = (n + tc->ntids) * 2;
			tids = repalloc(tids, sizeof(ItemPointerData) * cap);
		}
		memcpy(tids + n, tc->tids, sizeof(ItemPointerData) * tc->ntids);
		n += tc->ntids;
	}
	n2_tid_chain_end(&it);
	*ntids = n;
	return tids;
}

/* The rows of one element: one per level it is on. */
static void
emit_element(ReturnSetInfo *rsinfo, const N2Params *p,
			 const N2MetaPageData *meta, ItemPointer self, N2ElementTuple et,
			 ItemPointerData *tids, int ntids)
{
	ItemPointerData *links = palloc(sizeof(ItemPointerData) *
									n2_links_count(p, et->level));
	Datum		values[N2_GRAPH_COLUMNS];
	bool		nulls[N2_GRAPH_COLUMNS] = {false};

	values[0] = PointerGetDatum(self);
	values[2] = BoolGetDatum(ItemPointerEquals(self, (ItemPointer) &meta->entry));
	values[3] = tid_array(tids, ntids);
	n2_links_read(p, et, 0, n2_links_count(p, et->level), links);
	for (int level = 0; level <= et->level; level++)
	{
		ItemPointer list = links + n2_links_start(p, level);
		int			n = 0;

		while (n < n2_links_cap(p, level) && ItemPointerIsValid(&list[n]))
			n++;
		values[1] = Int32GetDatum(level);
		values[4] = tid_array(list, n);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(links);
}

PG_FUNCTION_INFO_V1(n2_index_graph);
Datum
n2_index_graph(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	index;
	N2MetaPageData meta;
	N2Params	p;
	BlockNumber nblocks;
	MemoryContext pagecxt;
	MemoryContext oldcxt;

	InitMaterializedSRF(fcinfo, 0);
	index = n2_open_index(PG_GETARG_OID(0));

	/*
	 * Holding this lock in share mode keeps the metapage (entry point,
	 * dimension) from changing under us.  Inserts that only link new nodes go
	 * on.
	 */
	LockPage(index, N2_UPDATE_LOCK, N2_LOCK_INSERT);
	n2_read_meta(index, &meta);
	n2_params_from_meta(index, &meta, &p);
	nblocks = RelationGetNumberOfBlocks(index);
	pagecxt = AllocSetContextCreate(CurrentMemoryContext, "n2_index_graph page",
									ALLOCSET_DEFAULT_SIZES);

	for (BlockNumber blkno = N2_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off = InvalidOffsetNumber;
		OffsetNumber maxoff;
		N2ElementTuple et;
		N2ElementTuple *copies;
		ItemPointerData *selves;
		ItemPointerData **tids;
		int		   *ntids;
		int			ncopies = 0;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(pagecxt);
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageIsNew(page) ? InvalidOffsetNumber : PageGetMaxOffsetNumber(page);
		copies = palloc(sizeof(N2ElementTuple) * Max(maxoff, 1));
		selves = palloc(sizeof(ItemPointerData) * Max(maxoff, 1));
		tids = palloc(sizeof(ItemPointerData *) * Max(maxoff, 1));
		ntids = palloc(sizeof(int) * Max(maxoff, 1));

		/* copies first: rows are emitted with this page unlocked */
		while ((et = n2_page_next_element(page, &off)) != NULL)
		{
			Size		size = ItemIdGetLength(PageGetItemId(page, off));

			copies[ncopies] = palloc(size);
			memcpy(copies[ncopies], et, size);
			ItemPointerSet(&selves[ncopies], blkno, off);
			tids[ncopies] = element_heap_tids(index, buf, et, &ntids[ncopies]);
			ncopies++;
		}
		UnlockReleaseBuffer(buf);

		for (int i = 0; i < ncopies; i++)
			emit_element(rsinfo, &p, &meta, &selves[i], copies[i], tids[i],
						 ntids[i]);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(pagecxt);
	}

	MemoryContextDelete(pagecxt);
	UnlockPage(index, N2_UPDATE_LOCK, N2_LOCK_INSERT);
	relation_close(index, AccessShareLock);
	return (Datum) 0;
}
