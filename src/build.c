/*
 * build.c
 *		CREATE INDEX: heap scan, threaded graph build in the core, pages.
 *
 * The data path is one-way: the main thread scans the heap into one array
 * of vectors (identical vectors share a node and collect their heap TIDs),
 * the core builds the graph with worker threads while the main thread polls
 * for cancellation and reports progress, then the main thread lays the graph
 * out in pages and WAL-logs them in bulk.
 */
#include "postgres.h"

#include <unistd.h>

#include "access/generic_xlog.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "storage/smgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/build.h"
#include "core/graph.h"
#include "n2.h"

/* Mixed into every level draw; stored in the metapage for inserts. */
#define N2_LEVEL_SEED	UINT64CONST(0x6E32686E7377)

/* How often the main thread wakes to check for cancel and report progress. */
#define N2_POLL_MS		20

typedef struct N2BuildState
{
	Relation	index;
	N2Params	params;
	MemoryContext tmpcxt;

	/* nodes */
	float	   *vectors;		/* nnodes * dims */
	uint32		nnodes;
	uint32		capnodes;

	/* heap tuples: their TID and the node holding their vector */
	ItemPointerData *tids;
	uint32	   *tidnode;
	int64		ntids;
	int64		captids;

	/* dedup: open addressing over node ids + 1, keyed by vector hash */
	uint32	   *slots;
	uint64		nslots;

	double		reltuples;
} N2BuildState;

static void *
grow_huge(void *ptr, Size elsize, int64 *cap, int64 need)
{
	int64		newcap = Max(*cap * 2, Max(need, 1024));

	if (newcap * elsize > MaxAllocHugeSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many vectors for an n2 index build")));
	*cap = newcap;
	if (ptr == NULL)
		return MemoryContextAllocHuge(CurrentMemoryContext, newcap * elsize);
	return repalloc_huge(ptr, newcap * elsize);
}

static uint64
vector_hash(const N2BuildState *bs, const float *v)
{
	return n2_hash_bytes(v, sizeof(float) * bs->params.dims, N2_LEVEL_SEED);
}

static void
dedup_grow(N2BuildState *bs)
{
	uint64		nslots = bs->nslots ? bs->nslots * 2 : 4096;
	uint32	   *slots = MemoryContextAllocHuge(CurrentMemoryContext, nslots * sizeof(uint32));

	memset(slots, 0, nslots * sizeof(uint32));
	for (uint64 i = 0; i < bs->nslots; i++)
	{
		uint32		node1 = bs->slots[i];
		uint64		j;

		if (node1 == 0)
			continue;
		j = vector_hash(bs, bs->vectors + (Size) (node1 - 1) * bs->params.dims) & (nslots - 1);
		while (slots[j] != 0)
			j = (j + 1) & (nslots - 1);
		slots[j] = node1;
	}
	if (bs->slots)
		pfree(bs->slots);
	bs->slots = slots;
	bs->nslots = nslots;
}

/* Node id holding vector v: an existing identical one, or a new node. */
static uint32
node_for_vector(N2BuildState *bs, const float *v)
{
	Size		vbytes = sizeof(float) * bs->params.dims;
	uint64		j;

	if ((uint64) (bs->nnodes + 1) * 2 > bs->nslots)
		dedup_grow(bs);
	for (j = vector_hash(bs, v) & (bs->nslots - 1); bs->slots[j] != 0;
		 j = (j + 1) & (bs->nslots - 1))
	{
		uint32		node = bs->slots[j] - 1;

		if (memcmp(bs->vectors + (Size) node * bs->params.dims, v, vbytes) == 0)
			return node;
	}
	if (bs->nnodes == PG_UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct vectors for an n2 index build")));
	if (bs->nnodes == bs->capnodes)
	{
		int64		cap = bs->capnodes;

		bs->vectors = grow_huge(bs->vectors, vbytes, &cap, bs->nnodes + 1);
		bs->capnodes = (uint32) Min(cap, PG_UINT32_MAX);
	}
	memcpy(bs->vectors + (Size) bs->nnodes * bs->params.dims, v, vbytes);
	bs->slots[j] = bs->nnodes + 1;
	return bs->nnodes++;
}

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	N2BuildState *bs = (N2BuildState *) state;
	MemoryContext oldcxt;
	float	   *v;
	int			dims;
	uint32		node;

	bs->reltuples++;
	if (isnull[0])
		return;

	oldcxt = MemoryContextSwitchTo(bs->tmpcxt);
	v = n2_datum_to_vector(index, values[0], &bs->params, &dims);
	MemoryContextSwitchTo(oldcxt);
	if (bs->params.dims == 0)
		bs->params.dims = dims;

	node = node_for_vector(bs, v);
	if (bs->ntids == bs->captids)
	{
		int64		cap = bs->captids;

		bs->tids = grow_huge(bs->tids, sizeof(ItemPointerData), &cap, bs->ntids + 1);
		cap = bs->captids;
		bs->tidnode = grow_huge(bs->tidnode, sizeof(uint32), &cap, bs->ntids + 1);
		bs->captids = cap;
	}
	bs->tids[bs->ntids] = *tid;
	bs->tidnode[bs->ntids] = node;
	bs->ntids++;
	MemoryContextReset(bs->tmpcxt);

	if ((bs->ntids & 1023) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, bs->ntids);
}

static int
build_thread_count(Relation index, uint32 nnodes)
{
	int			n = n2_get_options(index)->n_threads;

	if (n < 0)
		n = n2_build_threads;
	if (n == 0)
	{
		long		cpus = sysconf(_SC_NPROCESSORS_ONLN);

		n = cpus > 0 ? (int) Min(cpus, N2_MAX_THREADS) : 1;
	}
	return Max(1, Min((uint32) n, Max(nnodes, 1)));
}

static int64
progress_phase(N2BuildPhase phase)
{
	switch (phase)
	{
		case N2_BUILD_INSERTING_REVERSE:
			return N2_PHASE_BUILD_REVERSE;
		case N2_BUILD_MERGING:
			return N2_PHASE_MERGE;
		default:
			return N2_PHASE_BUILD;
	}
}

/*
 * Runs the threaded build.  Worker threads only touch the graph; this thread
 * sleeps on its latch, so a cancel or timeout interrupt wakes it at once.
 * Whatever happens, every thread is joined before we return or rethrow.
 */
static void
run_graph_build(N2BuildState *bs, N2Graph *g)
{
	N2BuildOptions opts;
	N2Builder  *volatile builder;
	N2BuildPhase result;
	int			err;

	opts.n_threads = build_thread_count(bs->index, bs->nnodes);
	opts.merge_level0 = bs->params.merge_level0;

	builder = n2_builder_create(g, &opts);
	if (builder == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while building n2 index \"%s\"",
						RelationGetRelationName(bs->index))));

	PG_TRY();
	{
		int64		lastphase = -1;

		err = n2_builder_start(builder);
		if (err != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("could not start n2 build threads: %s", strerror(err))));
		for (;;)
		{
			N2BuildPhase phase;
			uint64		done;
			uint64		total;
			bool		finished = n2_builder_poll(builder, &phase, &done, &total);

			if (progress_phase(phase) != lastphase)
			{
				const int	ids[] = {PROGRESS_CREATEIDX_SUBPHASE,
					PROGRESS_CREATEIDX_TUPLES_TOTAL};
				const int64 vals[] = {progress_phase(phase), (int64) total};

				pgstat_progress_update_multi_param(2, ids, vals);
				lastphase = progress_phase(phase);
			}
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
			if (finished)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 N2_POLL_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_FINALLY();
	{
		n2_builder_cancel(builder);
		result = n2_builder_join(builder);
		n2_builder_free(builder);
	}
	PG_END_TRY();

	if (result != N2_BUILD_DONE)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("n2 graph build for index \"%s\" failed",
						RelationGetRelationName(bs->index))));
}

/* Page layout pass */

/* Space a tuple takes on a page, line pointer included. */
static inline Size
placed_size(Size size)
{
	return MAXALIGN(size) + sizeof(ItemIdData);
}

#define N2_PAGE_ROOM \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(N2PageOpaqueData)))

typedef struct N2PageCursor
{
	BlockNumber blkno;
	Size		free;
	OffsetNumber next;
} N2PageCursor;

static void
cursor_place(N2PageCursor *c, Size size, ItemPointer tid)
{
	Size		need = placed_size(size);

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

typedef struct N2NodeTids
{
	int64	   *start;			/* per node: first index into order */
	int64	   *order;			/* heap tuple indexes grouped by node */
} N2NodeTids;

static void
group_tids(N2BuildState *bs, N2NodeTids *nt)
{
	int64	   *count = palloc0_array(int64, bs->nnodes + 1);

	for (int64 i = 0; i < bs->ntids; i++)
		count[bs->tidnode[i] + 1]++;
	for (uint32 i = 0; i < bs->nnodes; i++)
		count[i + 1] += count[i];
	nt->start = count;
	nt->order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(bs->ntids, 1));
	{
		int64	   *fill = palloc_array(int64, bs->nnodes);

		memcpy(fill, count, sizeof(int64) * bs->nnodes);
		for (int64 i = 0; i < bs->ntids; i++)
			nt->order[fill[bs->tidnode[i]]++] = i;
		pfree(fill);
	}
}

static inline int
node_extra_chunks(const N2NodeTids *nt, uint32 node)
{
	int64		ntids = nt->start[node + 1] - nt->start[node];

	if (ntids <= N2_INLINE_TIDS)
		return 0;
	return (int) ((ntids - N2_INLINE_TIDS + N2_TID_CHUNK_CAPACITY - 1) / N2_TID_CHUNK_CAPACITY);
}

static int
vector_chunk_floats(void)
{
	return (int) ((N2_MAX_TUPLE_SIZE - N2_VECTOR_CHUNK_HEADER) / sizeof(float));
}

static void *
huge_array(Size elsize, int64 n)
{
	return MemoryContextAllocHuge(CurrentMemoryContext, elsize * Max(n, 1));
}

static int
node_vector_chunks(const N2Params *p, int level)
{
	int			ninline;
	int			rest;

	n2_element_size(p, level, &ninline);
	rest = p->dims - ninline;
	return (rest + vector_chunk_floats() - 1) / vector_chunk_floats();
}

static void
count_chunks(N2BuildState *bs, const N2Graph *g, const N2NodeTids *nt,
			 int64 *nchunks, int64 *nvecs)
{
	*nchunks = 0;
	*nvecs = 0;
	for (uint32 node = 0; node < bs->nnodes; node++)
	{
		*nchunks += node_extra_chunks(nt, node);
		*nvecs += node_vector_chunks(&bs->params, g->levels[node]);
	}
}

/*
 * Visits every tuple of every node in page order, calling emit with its
 * TID; the same walk assigns TIDs (layout) and writes them (emit).
 */
typedef void (*EmitFn) (void *arg, uint32 node, int kind, int index,
						Size size, ItemPointer tid);

static void
walk_layout(N2BuildState *bs, const N2Graph *g, const N2NodeTids *nt,
			EmitFn emit, void *arg)
{
	N2PageCursor cur = {InvalidBlockNumber, 0, 0};

	for (uint32 node = 0; node < bs->nnodes; node++)
	{
		int			ninline;
		Size		esize = n2_element_size(&bs->params, g->levels[node], &ninline);
		int			nchunks = node_extra_chunks(nt, node);
		int			nvecs = node_vector_chunks(&bs->params, g->levels[node]);
		ItemPointerData tid;

		cursor_place(&cur, esize, &tid);
		emit(arg, node, N2_TUPLE_ELEMENT, 0, esize, &tid);
		for (int i = 0; i < nchunks; i++)
		{
			Size		size = n2_tid_chunk_size(N2_TID_CHUNK_CAPACITY);

			cursor_place(&cur, size, &tid);
			emit(arg, node, N2_TUPLE_TIDS, i, size, &tid);
		}
		for (int i = 0; i < nvecs; i++)
		{
			int			take = Min(bs->params.dims - ninline - i * vector_chunk_floats(),
								   vector_chunk_floats());
			Size		size = n2_vector_chunk_size(take);

			cursor_place(&cur, size, &tid);
			emit(arg, node, N2_TUPLE_VECTOR, i, size, &tid);
		}
	}
}

typedef struct N2LayoutArg
{
	ItemPointerData *element;	/* per node */
	int64	   *chunkidx;		/* per node: its first TID chunk in chunks */
	int64	   *vecidx;			/* per node: its first vector chunk in vecs */
	ItemPointerData *chunks;	/* every TID chunk, node by node */
	ItemPointerData *vecs;		/* every vector chunk, node by node */
	int64		nchunks;
	int64		nvecs;
	BlockNumber lastblk;
} N2LayoutArg;

static void
layout_emit(void *arg, uint32 node, int kind, int index, Size size, ItemPointer tid)
{
	N2LayoutArg *la = (N2LayoutArg *) arg;

	if (kind == N2_TUPLE_ELEMENT)
		la->element[node] = *tid;
	else if (kind == N2_TUPLE_TIDS)
	{
		if (index == 0)
			la->chunkidx[node] = la->nchunks;
		la->chunks[la->nchunks++] = *tid;
	}
	else
	{
		if (index == 0)
			la->vecidx[node] = la->nvecs;
		la->vecs[la->nvecs++] = *tid;
	}
	la->lastblk = ItemPointerGetBlockNumber(tid);
}

typedef struct N2WriteArg
{
	N2BuildState *bs;
	const N2Graph *g;
	const N2NodeTids *nt;
	N2LayoutArg *la;
	PGAlignedBlock page;
	BlockNumber blkno;			/* page being filled */
	char	   *tuple;			/* scratch, N2_MAX_TUPLE_SIZE */
	int64		written;
} N2WriteArg;

static void
flush_page(N2WriteArg *wa)
{
	Buffer		buf;

	if (wa->blkno == InvalidBlockNumber)
		return;
	buf = ReadBufferExtended(wa->bs->index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(buf) == wa->blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	memcpy(BufferGetPage(buf), wa->page.data, BLCKSZ);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
	wa->blkno = InvalidBlockNumber;
}

static void
set_links(ItemPointer dst, int cap, const uint32 *list, const N2LayoutArg *la)
{
	uint32		count = list[0];

	for (int i = 0; i < cap; i++)
	{
		if ((uint32) i < count)
			dst[i] = la->element[list[1 + i]];
		else
			ItemPointerSetInvalid(&dst[i]);
	}
}

static void
fill_element(N2WriteArg *wa, uint32 node, Size size)
{
	N2BuildState *bs = wa->bs;
	const N2Params *p = &bs->params;
	N2ElementTuple et = (N2ElementTuple) wa->tuple;
	int64		first = wa->nt->start[node];
	int64		ntids = wa->nt->start[node + 1] - first;
	int			level = wa->g->levels[node];
	ItemPointer links;
	int			ninline;

	memset(et, 0, size);
	n2_element_size(p, level, &ninline);
	et->type = N2_TUPLE_ELEMENT;
	et->level = (uint8) level;
	et->ntids = (uint8) Min(ntids, N2_INLINE_TIDS);
	et->ninline = (uint16) ninline;
	for (int i = 0; i < N2_INLINE_TIDS; i++)
	{
		if (i < ntids)
			et->heaptids[i] = bs->tids[wa->nt->order[first + i]];
		else
			ItemPointerSetInvalid(&et->heaptids[i]);
	}
	if (ntids > N2_INLINE_TIDS)
		et->tidchain = wa->la->chunks[wa->la->chunkidx[node]];
	else
		ItemPointerSetInvalid(&et->tidchain);
	if (ninline < p->dims)
		et->vecnext = wa->la->vecs[wa->la->vecidx[node]];
	else
		ItemPointerSetInvalid(&et->vecnext);
	memcpy(N2ElementVector(et), n2_graph_vector(wa->g, node), sizeof(float) * ninline);

	links = N2ElementLinks(et);
	set_links(links, p->max_m0, n2_graph_links(wa->g, node, 0), wa->la);
	for (int l = 1; l <= level; l++)
		set_links(links + p->max_m0 + (l - 1) * p->m, p->m,
				  n2_graph_links(wa->g, node, l), wa->la);
}

static void
write_emit(void *arg, uint32 node, int kind, int index, Size size, ItemPointer tid)
{
	N2WriteArg *wa = (N2WriteArg *) arg;
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	const N2Params *p = &wa->bs->params;

	if (blkno != wa->blkno)
	{
		flush_page(wa);
		n2_init_page(wa->page.data, N2_PAGE_DATA);
		wa->blkno = blkno;
	}

	if (kind == N2_TUPLE_ELEMENT)
	{
		fill_element(wa, node, size);
		wa->written++;
		if ((wa->written & 255) == 0)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, wa->written);
	}
	else if (kind == N2_TUPLE_TIDS)
	{
		N2TidChunk tc = (N2TidChunk) wa->tuple;
		int64		first = wa->nt->start[node] + N2_INLINE_TIDS + (int64) index * N2_TID_CHUNK_CAPACITY;
		int64		last = Min(wa->nt->start[node + 1], first + N2_TID_CHUNK_CAPACITY);
		int			nchunks = node_extra_chunks(wa->nt, node);

		memset(tc, 0, size);
		tc->type = N2_TUPLE_TIDS;
		tc->capacity = N2_TID_CHUNK_CAPACITY;
		tc->ntids = (uint16) (last - first);
		for (int64 i = first; i < last; i++)
			tc->tids[i - first] = wa->bs->tids[wa->nt->order[i]];
		if (index + 1 < nchunks)
			tc->next = wa->la->chunks[wa->la->chunkidx[node] + index + 1];
		else
			ItemPointerSetInvalid(&tc->next);
	}
	else
	{
		N2VectorChunk vc = (N2VectorChunk) wa->tuple;
		int			ninline;
		int			per = vector_chunk_floats();
		int			start;
		int			take;

		n2_element_size(p, wa->g->levels[node], &ninline);
		start = ninline + index * per;
		take = Min(per, p->dims - start);
		memset(vc, 0, size);
		vc->type = N2_TUPLE_VECTOR;
		vc->nfloats = (uint16) take;
		if (start + take < p->dims)
			vc->next = wa->la->vecs[wa->la->vecidx[node] + index + 1];
		else
			ItemPointerSetInvalid(&vc->next);
		memcpy(N2VectorChunkFloats(vc), n2_graph_vector(wa->g, node) + start,
			   sizeof(float) * take);
	}

	if (PageAddItem(wa->page.data, (Item) wa->tuple, size,
					ItemPointerGetOffsetNumber(tid), false, false) !=
		ItemPointerGetOffsetNumber(tid))
		elog(ERROR, "failed to add tuple to n2 index \"%s\"",
			 RelationGetRelationName(wa->bs->index));
}

static void
write_meta(N2BuildState *bs, const N2Graph *g, const N2LayoutArg *la)
{
	Buffer		buf;
	Page		page;
	N2MetaPage meta;

	buf = ReadBufferExtended(bs->index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(buf) == N2_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	n2_init_meta(page, &bs->params, N2_LEVEL_SEED);
	meta = N2PageGetMeta(page);
	if (bs->nnodes > 0)
	{
		meta->entry = la->element[g->entry];
		meta->max_level = (int16) g->max_level;
		meta->insert_page = la->lastblk;
	}
	meta->nelements = bs->nnodes;
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

static void
write_pages(N2BuildState *bs, const N2Graph *g)
{
	N2NodeTids nt;
	N2LayoutArg la;
	N2WriteArg *wa;
	int64		nchunks;
	int64		nvecs;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, N2_PHASE_WRITE);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, bs->nnodes);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, 0);

	group_tids(bs, &nt);
	count_chunks(bs, g, &nt, &nchunks, &nvecs);
	memset(&la, 0, sizeof(la));
	la.element = huge_array(sizeof(ItemPointerData), bs->nnodes);
	la.chunkidx = huge_array(sizeof(int64), bs->nnodes);
	la.vecidx = huge_array(sizeof(int64), bs->nnodes);
	la.chunks = huge_array(sizeof(ItemPointerData), nchunks);
	la.vecs = huge_array(sizeof(ItemPointerData), nvecs);
	la.lastblk = N2_METAPAGE_BLKNO;
	walk_layout(bs, g, &nt, layout_emit, &la);

	write_meta(bs, g, &la);

	wa = palloc0(sizeof(N2WriteArg));
	wa->bs = bs;
	wa->g = g;
	wa->nt = &nt;
	wa->la = &la;
	wa->blkno = InvalidBlockNumber;
	wa->tuple = palloc(N2_MAX_TUPLE_SIZE);
	walk_layout(bs, g, &nt, write_emit, wa);
	flush_page(wa);

	if (RelationNeedsWAL(bs->index))
		log_newpage_range(bs->index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(bs->index), true);
}

/* The graph's memory is malloc'd by the core: free it on error too. */
static void
build_and_write(N2BuildState *bs, N2Graph *graph)
{
	PG_TRY();
	{
		run_graph_build(bs, graph);
		write_pages(bs, graph);
	}
	PG_FINALLY();
	{
		n2_graph_free(graph);
	}
	PG_END_TRY();
}

IndexBuildResult *
n2_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	N2BuildState bs;
	N2Graph		graph;
	uint8	   *levels;
	MemoryContext buildcxt;
	MemoryContext oldcxt;
	int32		typmod;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));

	buildcxt = AllocSetContextCreate(CurrentMemoryContext, "n2 build",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(buildcxt);

	memset(&bs, 0, sizeof(bs));
	bs.index = index;
	n2_params_from_options(index, &bs.params);
	typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
	if (!bs.params.is_array && typmod > 0)
		bs.params.dims = typmod;
	if (bs.params.dims > N2_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column has %d dimensions; n2 indexes at most %d",
						bs.params.dims, N2_MAX_DIM)));
	bs.tmpcxt = AllocSetContextCreate(buildcxt, "n2 build tuple",
									  ALLOCSET_DEFAULT_SIZES);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, N2_PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) Max(heap->rd_rel->reltuples, 0));
	bs.reltuples = 0;
	table_index_build_scan(heap, index, indexInfo, true, true,
						   build_callback, &bs, NULL);

	memset(&graph, 0, sizeof(graph));
	levels = palloc_array(uint8, Max(bs.nnodes, 1));
	for (uint32 i = 0; i < bs.nnodes; i++)
		levels[i] = (uint8) Min(n2_random_level(N2_LEVEL_SEED,
												vector_hash(&bs, bs.vectors + (Size) i * bs.params.dims),
												bs.params.mult),
								n2_max_level(&bs.params));

	if (bs.nnodes > 0)
	{
		N2GraphParams gp;

		gp.metric = bs.params.metric;
		gp.dim = bs.params.dims;
		gp.m = bs.params.m;
		gp.max_m0 = bs.params.max_m0;
		gp.ef_construction = bs.params.ef_construction;
		gp.mult = bs.params.mult;
		gp.select = bs.params.select;
		gp.seed = N2_LEVEL_SEED;
		if (n2_graph_init(&graph, &gp, bs.vectors, bs.nnodes, levels) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while building n2 index \"%s\"",
							RelationGetRelationName(index))));
		build_and_write(&bs, &graph);
	}
	else
	{
		N2LayoutArg la = {0};

		la.lastblk = N2_METAPAGE_BLKNO;
		write_meta(&bs, &graph, &la);
		if (RelationNeedsWAL(index))
			log_newpage_range(index, MAIN_FORKNUM, 0, 1, true);
	}

	MemoryContextSwitchTo(oldcxt);
	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = bs.reltuples;
	result->index_tuples = (double) bs.ntids;
	MemoryContextDelete(buildcxt);
	return result;
}

/* The init fork of an unlogged index: just the metapage. */
void
n2_buildempty(Relation index)
{
	PGAlignedBlock page;
	N2Params	params;

	n2_params_from_options(index, &params);
	if (!params.is_array)
		params.dims = Max(TupleDescAttr(RelationGetDescr(index), 0)->atttypmod, 0);
	n2_init_meta(page.data, &params, N2_LEVEL_SEED);
	PageSetChecksumInplace(page.data, N2_METAPAGE_BLKNO);
	smgrwrite(RelationGetSmgr(index), INIT_FORKNUM, N2_METAPAGE_BLKNO,
			  page.data, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM,
				N2_METAPAGE_BLKNO, page.data, true);
	smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
}
