/*
 * Copyright (c) 2025-2026, the n2 developers
 * layout.c
 *		Lays a built graph out in index pages (CREATE INDEX's last step).
 *
 * Tuple sizes depend only on each node's level, the dimension and its heap
 * TID count, so every tuple's TID is computed before anything is written:
 * links can then name nodes that come later.  Nodes are written in id order,
 * each with its vector supplied by the caller (from memory, or streamed from
 * a second heap scan when the build held only quantized codes).  Pages are
 * filled in private memory, written through shared buffers in order, and
 * WAL-logged in bulk with log_newpage_range at the end.
 */
#include "postgres.h"

#include "access/xloginsert.h"
#include "commands/progress.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/graph.h"
#include "n2.h"

#define N2_PAGE_ROOM \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(N2PageOpaqueData)))

struct N2Layout
{
	Relation	index;
	const N2Params *params;
	const N2Graph *graph;
	const int64 *tidstart;		/* per node + 1: offsets into a TID array */

	/* where each tuple goes */
	ItemPointerData *element;	/* per node */
	int64	   *chunkidx;		/* per node: first TID chunk in chunks */
	int64	   *vecidx;			/* per node: first vector chunk in vecs */
	ItemPointerData *chunks;
	ItemPointerData *vecs;
	BlockNumber lastblk;

	/* writing */
	PGAlignedBlock page;
	BlockNumber blkno;			/* page being filled, or invalid */
	char	   *tuple;			/* scratch of N2_MAX_TUPLE_SIZE */
	uint32		written;
};

typedef struct N2PageCursor
{
	BlockNumber blkno;
	Size		free;
	OffsetNumber next;
} N2PageCursor;

static void
cursor_place(N2PageCursor *c, Size size, ItemPointer tid)
{
	Size		need = MAXALIGN(size) + sizeof(ItemIdData);

	if (c->blkno == InvalidBlockNumber || need > c->free)
	{
		c->blkno = c->blkno == InvalidBlockNumber ? N2_METAPAGE_BLKNO + 1 : c->blkno + 1;
		c->free = N2_PAGE_ROOM;
		c->next = FirstOffsetNumber;
	}
	ItemPointerSet(tid, c->blkno, c->next);
	c->free -= need;
	c->next++;
}

static int
vector_chunk_floats(void)
{
	return (int) ((N2_MAX_TUPLE_SIZE - N2_VECTOR_CHUNK_HEADER) / sizeof(float));
}

static int
node_tid_chunks(const N2Layout *lo, uint32 node)
{
	int64		ntids = lo->tidstart[node + 1] - lo->tidstart[node];

	if (ntids <= N2_INLINE_TIDS)
		return 0;
	return (int) ((ntids - N2_INLINE_TIDS + N2_TID_CHUNK_CAPACITY - 1) / N2_TID_CHUNK_CAPACITY);
}

static int
node_vector_chunks(const N2Layout *lo, uint32 node)
{
	int			ninline;

	n2_element_size(lo->params, lo->graph->levels[node], &ninline);
	return (lo->params->dims - ninline + vector_chunk_floats() - 1) / vector_chunk_floats();
}

static void *
huge_array(Size elsize, int64 n)
{
	return MemoryContextAllocHuge(CurrentMemoryContext, elsize * Max(n, 1));
}

/* Assigns every tuple its TID. */
N2Layout *
n2_layout_create(Relation index, const N2Params *p, const N2Graph *g,
				 const int64 *tidstart)
{
	N2Layout   *lo = palloc0(sizeof(N2Layout));
	N2PageCursor cur = {InvalidBlockNumber, 0, 0};
	int64		nchunks = 0;
	int64		nvecs = 0;

	lo->index = index;
	lo->params = p;
	lo->graph = g;
	lo->tidstart = tidstart;
	for (uint32 node = 0; node < g->n; node++)
	{
		nchunks += node_tid_chunks(lo, node);
		nvecs += node_vector_chunks(lo, node);
	}
	lo->element = huge_array(sizeof(ItemPointerData), g->n);
	lo->chunkidx = huge_array(sizeof(int64), g->n);
	lo->vecidx = huge_array(sizeof(int64), g->n);
	lo->chunks = huge_array(sizeof(ItemPointerData), nchunks);
	lo->vecs = huge_array(sizeof(ItemPointerData), nvecs);

	nchunks = 0;
	nvecs = 0;
	for (uint32 node = 0; node < g->n; node++)
	{
		int			ninline;
		Size		esize = n2_element_size(p, g->levels[node], &ninline);
		int			ntc = node_tid_chunks(lo, node);
		int			nvc = node_vector_chunks(lo, node);

		cursor_place(&cur, esize, &lo->element[node]);
		lo->chunkidx[node] = nchunks;
		for (int i = 0; i < ntc; i++)
			cursor_place(&cur, n2_tid_chunk_size(N2_TID_CHUNK_CAPACITY),
						 &lo->chunks[nchunks++]);
		lo->vecidx[node] = nvecs;
		for (int i = 0; i < nvc; i++)
		{
			int			take = Min(p->dims - ninline - i * vector_chunk_floats(),
								   vector_chunk_floats());

			cursor_place(&cur, n2_vector_chunk_size(take), &lo->vecs[nvecs++]);
		}
	}
	lo->lastblk = cur.blkno == InvalidBlockNumber ? N2_METAPAGE_BLKNO : cur.blkno;
	lo->blkno = InvalidBlockNumber;
	lo->tuple = palloc(N2_MAX_TUPLE_SIZE);
	return lo;
}

/* Writes the metapage (block 0); call before the first node. */
void
n2_layout_write_meta(N2Layout *lo, uint64 seed)
{
	Buffer		buf;
	Page		page;
	N2MetaPage	meta;
	const N2Graph *g = lo->graph;

	buf = ReadBufferExtended(lo->index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(buf) == N2_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	n2_init_meta(page, lo->params, seed);
	meta = N2PageGetMeta(page);
	if (g != NULL && g->n > 0)
	{
		meta->entry = lo->element[g->entry];
		meta->max_level = (int16) g->max_level;
		meta->insert_page = lo->lastblk;
		meta->nelements = g->n;
	}
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

static void
flush_page(N2Layout *lo)
{
	Buffer		buf;

	if (lo->blkno == InvalidBlockNumber)
		return;
	buf = ReadBufferExtended(lo->index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(buf) == lo->blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	memcpy(BufferGetPage(buf), lo->page.data, BLCKSZ);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
	lo->blkno = InvalidBlockNumber;
}

static void
add_tuple(N2Layout *lo, Size size, ItemPointer tid)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);

	if (blkno != lo->blkno)
	{
		flush_page(lo);
		n2_init_page(lo->page.data, N2_PAGE_DATA);
		lo->blkno = blkno;
	}
	if (PageAddItem(lo->page.data, (Item) lo->tuple, size,
					ItemPointerGetOffsetNumber(tid), false, false) !=
		ItemPointerGetOffsetNumber(tid))
		elog(ERROR, "failed to add tuple to n2 index \"%s\"",
			 RelationGetRelationName(lo->index));
}

static void
set_links(const N2Layout *lo, ItemPointer dst, int cap, const uint32 *list)
{
	for (int i = 0; i < cap; i++)
	{
		if ((uint32) i < list[0])
			dst[i] = lo->element[list[1 + i]];
		else
			ItemPointerSetInvalid(&dst[i]);
	}
}

/*
 * Writes node's tuples: its element (vector, links, first heap TIDs), its
 * TID chunks and its vector chunks.  tids are all of the node's heap TIDs.
 * Nodes must come in id order.
 */
void
n2_layout_write_node(N2Layout *lo, uint32 node, const float *vec,
					 const ItemPointerData *tids)
{
	const N2Params *p = lo->params;
	const N2Graph *g = lo->graph;
	int			level = g->levels[node];
	int64		ntids = lo->tidstart[node + 1] - lo->tidstart[node];
	int			ntc = node_tid_chunks(lo, node);
	int			nvc = node_vector_chunks(lo, node);
	N2ElementTuple et = (N2ElementTuple) lo->tuple;
	int			ninline;
	Size		size = n2_element_size(p, level, &ninline);
	ItemPointer links;

	Assert(node == lo->written);
	memset(et, 0, size);
	et->type = N2_TUPLE_ELEMENT;
	et->level = (uint8) level;
	et->ntids = (uint8) Min(ntids, N2_INLINE_TIDS);
	et->ninline = (uint16) ninline;
	for (int i = 0; i < N2_INLINE_TIDS; i++)
	{
		if (i < ntids)
			et->heaptids[i] = tids[i];
		else
			ItemPointerSetInvalid(&et->heaptids[i]);
	}
	if (ntc > 0)
		et->tidchain = lo->chunks[lo->chunkidx[node]];
	else
		ItemPointerSetInvalid(&et->tidchain);
	if (nvc > 0)
		et->vecnext = lo->vecs[lo->vecidx[node]];
	else
		ItemPointerSetInvalid(&et->vecnext);
	memcpy(N2ElementVector(et), vec, sizeof(float) * ninline);
	links = N2ElementLinks(et);
	set_links(lo, links, p->max_m0, n2_graph_links(g, node, 0));
	for (int l = 1; l <= level; l++)
		set_links(lo, links + n2_links_start(p, l), p->m, n2_graph_links(g, node, l));
	add_tuple(lo, size, &lo->element[node]);

	for (int i = 0; i < ntc; i++)
	{
		N2TidChunk	tc = (N2TidChunk) lo->tuple;
		int64		first = N2_INLINE_TIDS + (int64) i * N2_TID_CHUNK_CAPACITY;
		int64		last = Min(ntids, first + N2_TID_CHUNK_CAPACITY);

		size = n2_tid_chunk_size(N2_TID_CHUNK_CAPACITY);
		memset(tc, 0, size);
		tc->type = N2_TUPLE_TIDS;
		tc->capacity = N2_TID_CHUNK_CAPACITY;
		tc->ntids = (uint16) (last - first);
		memcpy(tc->tids, tids + first, sizeof(ItemPointerData) * (last - first));
		if (i + 1 < ntc)
			tc->next = lo->chunks[lo->chunkidx[node] + i + 1];
		else
			ItemPointerSetInvalid(&tc->next);
		add_tuple(lo, size, &lo->chunks[lo->chunkidx[node] + i]);
	}

	for (int i = 0; i < nvc; i++)
	{
		N2VectorChunk vc = (N2VectorChunk) lo->tuple;
		int			start = ninline + i * vector_chunk_floats();
		int			take = Min(vector_chunk_floats(), p->dims - start);

		size = n2_vector_chunk_size(take);
		memset(vc, 0, size);
		vc->type = N2_TUPLE_VECTOR;
		vc->nfloats = (uint16) take;
		if (i + 1 < nvc)
			vc->next = lo->vecs[lo->vecidx[node] + i + 1];
		else
			ItemPointerSetInvalid(&vc->next);
		memcpy(N2VectorChunkFloats(vc), vec + start, sizeof(float) * take);
		add_tuple(lo, size, &lo->vecs[lo->vecidx[node] + i]);
	}

	lo->written++;
	if ((lo->written & 255) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, lo->written);
}

/* Flushes the last page and WAL-logs the whole index. */
void
n2_layout_finish(N2Layout *lo)
{
	if (lo->written != lo->graph->n)
		elog(ERROR, "n2 index \"%s\": wrote %u of %u nodes",
			 RelationGetRelationName(lo->index), lo->written, lo->graph->n);
	flush_page(lo);
	if (RelationNeedsWAL(lo->index))
		log_newpage_range(lo->index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(lo->index), true);
}
