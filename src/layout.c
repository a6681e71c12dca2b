/*
 * Copyright (c) 2025-2026, the n2 developers
 * layout.c
 *		Lays a built graph out in index pages (CREATE INDEX's last step).
 *
 * Tuple sizes depend only on each node's level, the dimension and its heap
 * TID count, so every element's TID is computed before anything is written:
 * links can then name nodes that come later.  Nodes are written in the
 * order core/order.c chooses (nodes that link to each other share pages),
 * each tuple where a replay of the same placement puts it, so only the
 * order and the elements' TIDs are kept.  Pages are filled in private
 * memory, written through shared buffers in order, and WAL-logged in bulk
 * with log_newpage_range at the end.
 */
#include "postgres.h"

#include "access/xloginsert.h"
#include "commands/progress.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/graph.h"
#include "core/order.h"
#include "n2.h"

#define N2_PAGE_ROOM \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(N2PageOpaqueData)))

typedef struct N2PageCursor
{
	BlockNumber blkno;
	Size		free;
	OffsetNumber next;
} N2PageCursor;

struct N2Layout
{
	Relation	index;
	const N2Params *params;
	const N2Graph *graph;
	N2NodeTids	tids;

	ItemPointerData *element;	/* per node */
	uint32	   *order;			/* the nodes in the order they are placed */
	int64	   *extra_start;	/* per node: its first extra TID; n + 1 */
	BlockNumber lastblk;

	/* writing: the placement replayed */
	N2PageCursor place;
	ItemPointerData *tuples;	/* one node's TID chunks, then vector chunks */
	int			tuplescap;
	PGAlignedBlock page;
	BlockNumber blkno;			/* page being filled, or invalid */
	char	   *tuple;			/* scratch of N2_MAX_TUPLE_SIZE */
	uint32		written;
};

/* Room a tuple of size bytes takes on a page. */
static inline Size
tuple_room(Size size)
{
	return MAXALIGN(size) + sizeof(ItemIdData);
}

static void
cursor_place(N2PageCursor *c, Size size, ItemPointer tid)
{
	Size		need = tuple_room(size);

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

/* How many heap TIDs node has. */
static int64
node_tid_count(const N2Layout *lo, uint32 node)
{
	return lo->extra_start[node + 1] - lo->extra_start[node] + 1;
}

static int
tid_chunks(int64 ntids)
{
	if (ntids <= N2_INLINE_TIDS)
		return 0;
	return (int) ((ntids - N2_INLINE_TIDS + N2_TID_CHUNK_CAPACITY - 1) / N2_TID_CHUNK_CAPACITY);
}

/* Bytes of node's filter keys. */
static int
node_keylen(const N2Layout *lo, uint32 node)
{
	if (lo->tids.keyoff == NULL)
		return 0;
	return (int) (lo->tids.keyoff[node + 1] - lo->tids.keyoff[node]);
}

/* Size of vector chunk i of a node whose element holds ninline dimensions. */
static Size
vector_chunk_size(const N2Params *p, int ninline, int i)
{
	return n2_vector_chunk_size(p, Min(p->dims - ninline - i * n2_vector_chunk_dims(p),
									   n2_vector_chunk_dims(p)));
}

/*
 * Places node's tuples: its element at *element, then ntc TID chunks and
 * nvc vector chunks in out (when not NULL).  Creating and writing the layout
 * both go through here, so they agree.
 */
static void
place_node(const N2Layout *lo, N2PageCursor *cur, uint32 node, int64 *ntids,
		   ItemPointer element, int *ntc, int *nvc, ItemPointer out)
{
	const N2Params *p = lo->params;
	int			ninline;
	Size		esize = n2_element_size(p, lo->graph->levels[node],
										node_keylen(lo, node), &ninline);
	int			k = 0;

	*ntids = node_tid_count(lo, node);
	*ntc = tid_chunks(*ntids);
	*nvc = n2_vector_chunks(p, ninline);
	cursor_place(cur, esize, element);
	for (int i = 0; i < *ntc; i++)
	{
		ItemPointerData tid;

		cursor_place(cur, n2_tid_chunk_size(N2_TID_CHUNK_CAPACITY), &tid);
		if (out)
			out[k++] = tid;
	}
	for (int i = 0; i < *nvc; i++)
	{
		ItemPointerData tid;

		cursor_place(cur, vector_chunk_size(p, ninline, i), &tid);
		if (out)
			out[k++] = tid;
	}
}

/* Room node's tuples take on pages (n2_graph_page_order's callback). */
static uint32_t
node_bytes(void *arg, uint32_t node)
{
	const N2Layout *lo = arg;
	const N2Params *p = lo->params;
	int			ninline;
	Size		esize = n2_element_size(p, lo->graph->levels[node],
										node_keylen(lo, node), &ninline);
	Size		bytes = tuple_room(esize);
	int			nvc = n2_vector_chunks(p, ninline);

	CHECK_FOR_INTERRUPTS();
	bytes += tid_chunks(node_tid_count(lo, node)) *
		tuple_room(n2_tid_chunk_size(N2_TID_CHUNK_CAPACITY));
	for (int i = 0; i < nvc; i++)
		bytes += tuple_room(vector_chunk_size(p, ninline, i));
	return (uint32_t) Min(bytes, PG_UINT32_MAX);
}

/*
 * Bytes a layout of n nodes allocates (the page buffers aside): element
 * TIDs, the order and each node's first extra TID, and while it is created
 * the order's scratch.
 */
Size
n2_layout_memory(uint32 n)
{
	Size		nodes = Max(n, 1);

	return (sizeof(ItemPointerData) + sizeof(uint32) + sizeof(int64)) * nodes +
		sizeof(int64) + n2_graph_page_order_memory(n);
}

/*
 * Assigns every element its TID.  tids gives each node's heap TIDs; it must
 * stay valid until the last node is written.
 */
N2Layout *
n2_layout_create(Relation index, const N2Params *p, const N2Graph *g,
				 const N2NodeTids *tids)
{
	N2Layout   *lo = palloc0(sizeof(N2Layout));
	N2PageCursor cur = {InvalidBlockNumber, 0, 0};
	Size		nodes = Max(g->n, 1);
	void	   *work;

	lo->index = index;
	lo->params = p;
	lo->graph = g;
	if (tids != NULL)
		lo->tids = *tids;
	lo->element = MemoryContextAllocHuge(CurrentMemoryContext,
										 sizeof(ItemPointerData) * nodes);
	lo->order = MemoryContextAllocHuge(CurrentMemoryContext,
									   sizeof(uint32) * nodes);
	lo->extra_start = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(int64) * (nodes + 1));

	/* the extra TIDs are sorted by node: node i's start at extra_start[i] */
	memset(lo->extra_start, 0, sizeof(int64) * (nodes + 1));
	for (int64 i = 0; i < lo->tids.nextra; i++)
		lo->extra_start[lo->tids.extra[i].node + 1]++;
	for (uint32 node = 0; node < g->n; node++)
		lo->extra_start[node + 1] += lo->extra_start[node];

	work = MemoryContextAllocHuge(CurrentMemoryContext,
								  Max(n2_graph_page_order_memory(g->n), 1));
	if (g->n > 0)
		n2_graph_page_order(g, N2_PAGE_ROOM, node_bytes, lo, lo->order, work);
	pfree(work);

	for (uint32 k = 0; k < g->n; k++)
	{
		uint32		node = lo->order[k];
		int64		ntids;
		int			ntc;
		int			nvc;

		place_node(lo, &cur, node, &ntids, &lo->element[node], &ntc, &nvc, NULL);
	}
	lo->lastblk = cur.blkno == InvalidBlockNumber ?
		N2_METAPAGE_BLKNO : cur.blkno;
	lo->place.blkno = InvalidBlockNumber;
	lo->blkno = InvalidBlockNumber;
	lo->tuple = palloc(N2_MAX_TUPLE_SIZE);
	return lo;
}

/* Blocks the layout takes, the metapage included. */
BlockNumber
n2_layout_blocks(const N2Layout *lo)
{
	return lo->lastblk + 1;
}

/* The node n2_layout_write_node takes next. */
uint32
n2_layout_next_node(const N2Layout *lo)
{
	Assert(lo->written < lo->graph->n);
	return lo->order[lo->written];
}

/* Frees a layout nothing was written with. */
void
n2_layout_free(N2Layout *lo)
{
	pfree(lo->element);
	pfree(lo->order);
	pfree(lo->extra_start);
	pfree(lo->tuple);
	pfree(lo);
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

/* Sets et's cap link slots from start to the nodes in list. */
static void
set_links(const N2Layout *lo, N2ElementTuple et, int start, int cap,
		  const uint32 *list)
{
	ItemPointerData none;

	ItemPointerSetInvalid(&none);
	for (int i = 0; i < cap; i++)
		n2_link_set(lo->params, et, start + i,
					(uint32) i < list[0] ? &lo->element[list[1 + i]] : &none);
}

/* Heap TID i of node. */
static ItemPointer
node_tid(const N2Layout *lo, uint32 node, int64 i)
{
	if (i == 0)
		return (ItemPointer) &lo->tids.first[node];
	return (ItemPointer) &lo->tids.extra[lo->extra_start[node] + i - 1].tid;
}

/*
 * Writes node's tuples: its element (vector, links, first heap TIDs), its
 * TID chunks and its vector chunks.  Nodes must come in the layout's order
 * (n2_layout_next_node).
 */
void
n2_layout_write_node(N2Layout *lo, uint32 node, const float *vec)
{
	const N2Params *p = lo->params;
	const N2Graph *g = lo->graph;
	int			level = g->levels[node];
	int64		ntids;
	int			ntc;
	int			nvc;
	ItemPointerData etid;
	N2ElementTuple et = (N2ElementTuple) lo->tuple;
	int			ninline;
	int			keylen = node_keylen(lo, node);
	Size		size = n2_element_size(p, level, keylen, &ninline);
	ItemPointerData inline_tids[N2_INLINE_TIDS];
	ItemPointerData none;

	if (lo->written >= g->n || node != lo->order[lo->written])
		elog(ERROR, "n2 index \"%s\": node %u written out of order",
			 RelationGetRelationName(lo->index), node);
	ntids = node_tid_count(lo, node);
	if (tid_chunks(ntids) + n2_vector_chunks(p, ninline) > lo->tuplescap)
	{
		int			cap = tid_chunks(ntids) + n2_vector_chunks(p, ninline);

		if (lo->tuples)
			pfree(lo->tuples);
		lo->tuples = MemoryContextAllocHuge(CurrentMemoryContext,
											sizeof(ItemPointerData) * cap);
		lo->tuplescap = cap;
	}
	place_node(lo, &lo->place, node, &ntids, &etid, &ntc, &nvc, lo->tuples);
	if (!ItemPointerEquals(&etid, &lo->element[node]))
		elog(ERROR, "n2 index \"%s\": layout of node %u moved",
			 RelationGetRelationName(lo->index), node);

	for (int i = 0; i < N2_INLINE_TIDS && i < ntids; i++)
		inline_tids[i] = *node_tid(lo, node, i);
	ItemPointerSetInvalid(&none);
	n2_form_element(et, p, level,
					keylen > 0 ? lo->tids.keys + lo->tids.keyoff[node] : NULL,
					keylen, vec, inline_tids, (int) Min(ntids, N2_INLINE_TIDS),
					ntc > 0 ? &lo->tuples[0] : &none,
					nvc > 0 ? &lo->tuples[ntc] : &none);
	set_links(lo, et, 0, p->max_m0, n2_graph_links(g, node, 0));
	for (int l = 1; l <= level; l++)
		set_links(lo, et, n2_links_start(p, l), p->m, n2_graph_links(g, node, l));
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
		for (int64 j = first; j < last; j++)
			tc->tids[j - first] = *node_tid(lo, node, j);
		if (i + 1 < ntc)
			tc->next = lo->tuples[i + 1];
		else
			ItemPointerSetInvalid(&tc->next);
		add_tuple(lo, size, &lo->tuples[i]);
	}

	for (int i = 0; i < nvc; i++)
	{
		size = n2_form_vector_chunk((N2VectorChunk) lo->tuple, p, vec, ninline, i,
									i + 1 < nvc ? &lo->tuples[ntc + i + 1] : &none);
		add_tuple(lo, size, &lo->tuples[ntc + i]);
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
	if (IndexRelationGetNumberOfKeyAttributes(lo->index) > 1)
		n2_keys_build(lo->index, lo->element, lo->order, lo->graph->n,
					  lo->tids.keys, lo->tids.keyoff);
	if (RelationNeedsWAL(lo->index))
		log_newpage_range(lo->index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(lo->index), true);
}
