/*
 * Copyright (c) 2025-2026, the n2 developers
 * build.c
 *		CREATE INDEX: heap scan, threaded graph build in the core, pages.
 *
 * The data path is one-way: the main thread scans the heap into one array
 * of vectors (identical vectors share a node and collect their heap TIDs),
 * the core builds the graph with worker threads while the main thread polls
 * for cancellation and reports progress, then layout.c writes the pages.
 *
 * When the float vectors would not fit in maintenance_work_mem the build
 * says so and goes compact: it finishes the scan collecting only each
 * dimension's range, scans again keeping 8-bit codes (a quarter of the
 * memory), builds the graph on those, and scans a third time to write every
 * node with its full-precision vector.  Nodes are numbered in order of first
 * appearance, which the later scans reproduce (the table is locked against
 * writes); each one re-identifies its node by hash and code, and any
 * mismatch is an error rather than a wrong index.
 */
#include "postgres.h"

#include <unistd.h>

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "storage/smgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/build.h"
#include "core/graph.h"
#include "core/quantize.h"
#include "core/repair.h"
#include "n2.h"

/* Mixed into every level draw; stored in the metapage for inserts. */
#define N2_LEVEL_SEED	UINT64CONST(0x6E32686E7377)

/* How often the main thread wakes to check for cancel and report progress. */
#define N2_POLL_MS		20

typedef enum N2ScanMode
{
	N2_SCAN_FLOATS,				/* keep float vectors */
	N2_SCAN_RANGE,				/* over budget: only per-dimension ranges */
	N2_SCAN_CODES,				/* keep 8-bit codes */
	N2_SCAN_WRITE				/* write each node as it first appears */
} N2ScanMode;

typedef struct N2BuildState
{
	Relation	index;
	N2Params	params;
	MemoryContext tmpcxt;
	N2ScanMode	mode;
	Size		budget;			/* maintenance_work_mem, bytes */

	/* nodes: float vectors, or codes and hashes when compact */
	float	   *vectors;
	uint8	   *codes;
	uint64	   *hashes;
	uint32		nnodes;
	int64		capnodes;
	float	   *mins;			/* per-dimension range */
	float	   *maxs;
	N2Quantizer quant;
	uint8	   *code;			/* scratch: the current tuple's code */

	/* heap tuples: their TID and the node holding their vector */
	ItemPointerData *tids;
	uint32	   *tidnode;
	int64		ntids;
	int64		captids;

	/* dedup: open addressing over node ids + 1, keyed by vector hash */
	uint32	   *slots;
	uint64		nslots;

	double		reltuples;

	/* writing (compact builds write while scanning) */
	N2Layout   *layout;
	int64	   *tidstart;		/* per node + 1 */
	ItemPointerData *nodetids;	/* heap TIDs grouped by node */
	uint32		nextwrite;
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

static uint64
node_hash(const N2BuildState *bs, uint32 node)
{
	if (bs->hashes)
		return bs->hashes[node];
	return vector_hash(bs, bs->vectors + (Size) node * bs->params.dims);
}

/* Does node hold the vector v (hash h; bs->code is its code if compact)? */
static bool
node_matches(const N2BuildState *bs, uint32 node, const float *v, uint64 h)
{
	int			dims = bs->params.dims;

	if (bs->codes)
		return bs->hashes[node] == h &&
			memcmp(bs->codes + (Size) node * dims, bs->code, dims) == 0;
	return memcmp(bs->vectors + (Size) node * dims, v, sizeof(float) * dims) == 0;
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
		j = node_hash(bs, node1 - 1) & (nslots - 1);
		while (slots[j] != 0)
			j = (j + 1) & (nslots - 1);
		slots[j] = node1;
	}
	if (bs->slots)
		pfree(bs->slots);
	bs->slots = slots;
	bs->nslots = nslots;
}

/*
 * The node holding vector v: an existing identical one, else a new node
 * (or, when add is false, PG_UINT32_MAX).
 */
static uint32
node_for_vector(N2BuildState *bs, const float *v, bool add)
{
	int			dims = bs->params.dims;
	uint64		h = vector_hash(bs, v);
	uint64		j;

	if (bs->codes || bs->mode == N2_SCAN_CODES)
		n2_quantize(&bs->quant, v, bs->code);
	if ((uint64) (bs->nnodes + 1) * 2 > bs->nslots)
		dedup_grow(bs);
	for (j = h & (bs->nslots - 1); bs->slots[j] != 0; j = (j + 1) & (bs->nslots - 1))
	{
		uint32		node = bs->slots[j] - 1;

		if (node_matches(bs, node, v, h))
			return node;
	}
	if (!add)
		return PG_UINT32_MAX;
	if (bs->nnodes == PG_UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct vectors for an n2 index build")));
	if (bs->nnodes == bs->capnodes)
	{
		int64		cap = bs->capnodes;

		if (bs->mode == N2_SCAN_CODES)
		{
			bs->codes = grow_huge(bs->codes, dims, &cap, bs->nnodes + 1);
			cap = bs->capnodes;
			bs->hashes = grow_huge(bs->hashes, sizeof(uint64), &cap, bs->nnodes + 1);
		}
		else
			bs->vectors = grow_huge(bs->vectors, sizeof(float) * dims, &cap,
									bs->nnodes + 1);
		bs->capnodes = Min(cap, PG_UINT32_MAX);
	}
	if (bs->mode == N2_SCAN_CODES)
	{
		memcpy(bs->codes + (Size) bs->nnodes * dims, bs->code, dims);
		bs->hashes[bs->nnodes] = h;
	}
	else
		memcpy(bs->vectors + (Size) bs->nnodes * dims, v, sizeof(float) * dims);
	bs->slots[j] = bs->nnodes + 1;
	return bs->nnodes++;
}

/* Rough bytes a build of the nodes seen so far needs, vectors as floats. */
static Size
float_build_memory(const N2BuildState *bs)
{
	const N2Params *p = &bs->params;
	Size		per_node = sizeof(float) * p->dims +
		sizeof(uint32) * (1 + p->max_m0) * (p->merge_level0 ? 2 : 1) +
		sizeof(uint32) * 2 * 2 + 16;

	return bs->nnodes * per_node +
		bs->ntids * (sizeof(ItemPointerData) + sizeof(uint32));
}

static void
switch_to_compact(N2BuildState *bs)
{
	ereport(NOTICE,
			(errmsg("n2 index \"%s\" does not fit in maintenance_work_mem (%d kB) with full-precision vectors",
					RelationGetRelationName(bs->index), maintenance_work_mem),
			 errdetail("Building the graph from 8-bit quantized vectors, reading the table twice more; the index still stores full-precision vectors."),
			 errhint("Raise maintenance_work_mem for a faster build.")));
	pfree(bs->vectors);
	bs->vectors = NULL;
	pfree(bs->tids);
	pfree(bs->tidnode);
	bs->tids = NULL;
	bs->tidnode = NULL;
	if (bs->slots)
		pfree(bs->slots);
	bs->slots = NULL;
	bs->nslots = 0;
	bs->nnodes = 0;
	bs->capnodes = 0;
	bs->ntids = 0;
	bs->captids = 0;
	bs->mode = N2_SCAN_RANGE;
}

static void
track_range(N2BuildState *bs, const float *v)
{
	for (int i = 0; i < bs->params.dims; i++)
	{
		bs->mins[i] = Min(bs->mins[i], v[i]);
		bs->maxs[i] = Max(bs->maxs[i], v[i]);
	}
}

static void
add_heap_tid(N2BuildState *bs, ItemPointer tid, uint32 node)
{
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
}

/* Writes node (compact builds) when the third scan first meets its vector. */
static void
write_scanned(N2BuildState *bs, const float *v)
{
	uint32		node = node_for_vector(bs, v, false);

	if (node == PG_UINT32_MAX || node > bs->nextwrite)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table changed while n2 index \"%s\" was being built",
						RelationGetRelationName(bs->index))));
	if (node < bs->nextwrite)
		return;					/* a later row sharing a node's vector */
	n2_layout_write_node(bs->layout, node, v, bs->nodetids + bs->tidstart[node]);
	bs->nextwrite++;
}

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	N2BuildState *bs = (N2BuildState *) state;
	MemoryContext oldcxt;
	float	   *v;
	int			dims;

	bs->reltuples++;
	if (isnull[0])
		return;

	oldcxt = MemoryContextSwitchTo(bs->tmpcxt);
	v = n2_datum_to_vector(index, values[0], &bs->params, &dims);
	MemoryContextSwitchTo(oldcxt);
	if (bs->params.dims == 0)
		bs->params.dims = dims;
	if (bs->mins == NULL)
	{
		bs->mins = palloc_array(float, dims);
		bs->maxs = palloc_array(float, dims);
		for (int i = 0; i < dims; i++)
		{
			bs->mins[i] = get_float4_infinity();
			bs->maxs[i] = -get_float4_infinity();
		}
		bs->code = palloc(dims);
	}

	switch (bs->mode)
	{
		case N2_SCAN_FLOATS:
			track_range(bs, v);
			add_heap_tid(bs, tid, node_for_vector(bs, v, true));
			if ((bs->ntids & 255) == 0 && float_build_memory(bs) > bs->budget)
				switch_to_compact(bs);
			break;
		case N2_SCAN_RANGE:
			track_range(bs, v);
			break;
		case N2_SCAN_CODES:
			add_heap_tid(bs, tid, node_for_vector(bs, v, true));
			break;
		case N2_SCAN_WRITE:
			write_scanned(bs, v);
			break;
	}
	MemoryContextReset(bs->tmpcxt);

	if (((int64) bs->reltuples & 1023) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
									 (int64) bs->reltuples);
}

static void
scan_heap(N2BuildState *bs, Relation heap, IndexInfo *indexInfo, N2ScanMode mode,
		  int64 phase)
{
	const int	ids[] = {PROGRESS_CREATEIDX_SUBPHASE,
		PROGRESS_CREATEIDX_TUPLES_TOTAL, PROGRESS_CREATEIDX_TUPLES_DONE};
	const int64 vals[] = {phase, (int64) Max(heap->rd_rel->reltuples, 0), 0};

	pgstat_progress_update_multi_param(3, ids, vals);
	bs->mode = mode;
	bs->reltuples = 0;
	table_index_build_scan(heap, bs->index, indexInfo, true, true,
						   build_callback, bs, NULL);
}

/*
 * The n_threads option, else n2.build_threads (0: one per CPU), capped by
 * n2.max_build_threads (0: one per CPU), which only superusers can raise, so
 * that no role can start more threads in a backend than the DBA allows.
 * Never more threads than nodes.
 */
static int
build_thread_count(Relation index, uint32 nnodes)
{
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int			ncpus = cpus > 0 ? (int) Min(cpus, N2_MAX_THREADS) : 1;
	int			asked = n2_get_options(index)->n_threads;
	int			cap = n2_max_build_threads > 0 ? n2_max_build_threads : ncpus;
	int			n;
	bool		capped;

	if (asked < 0)
		asked = n2_build_threads;
	if (asked == 0)
		asked = ncpus;
	n = Max(1, Min((uint32) asked, Max(nnodes, 1)));
	capped = n > cap;
	if (capped)
		n = cap;
	ereport(DEBUG1,
			(errmsg_plural("building n2 index \"%s\" with %d thread",
						   "building n2 index \"%s\" with %d threads", n,
						   RelationGetRelationName(index), n),
			 capped ? errdetail("%d were asked for; n2.max_build_threads allows %d.",
								asked, cap) : 0));
	return n;
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

/* Groups heap TIDs by node: tidstart[node] .. tidstart[node + 1]. */
static void
group_tids(N2BuildState *bs)
{
	int64	   *start = MemoryContextAllocHuge(CurrentMemoryContext,
											   sizeof(int64) * (bs->nnodes + 1));
	int64	   *fill;

	memset(start, 0, sizeof(int64) * (bs->nnodes + 1));
	for (int64 i = 0; i < bs->ntids; i++)
		start[bs->tidnode[i] + 1]++;
	for (uint32 i = 0; i < bs->nnodes; i++)
		start[i + 1] += start[i];
	bs->nodetids = MemoryContextAllocHuge(CurrentMemoryContext,
										  sizeof(ItemPointerData) * Max(bs->ntids, 1));
	fill = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(bs->nnodes, 1));
	memcpy(fill, start, sizeof(int64) * bs->nnodes);
	for (int64 i = 0; i < bs->ntids; i++)
		bs->nodetids[fill[bs->tidnode[i]]++] = bs->tids[i];
	pfree(fill);
	bs->tidstart = start;
}

static void
write_pages(N2BuildState *bs, const N2Graph *g, Relation heap,
			IndexInfo *indexInfo)
{
	const int	ids[] = {PROGRESS_CREATEIDX_SUBPHASE,
		PROGRESS_CREATEIDX_TUPLES_TOTAL, PROGRESS_CREATEIDX_TUPLES_DONE};
	const int64 vals[] = {N2_PHASE_WRITE, bs->nnodes, 0};

	pgstat_progress_update_multi_param(3, ids, vals);
	group_tids(bs);
	bs->layout = n2_layout_create(bs->index, &bs->params, g, bs->tidstart);
	n2_layout_write_meta(bs->layout, N2_LEVEL_SEED);
	if (bs->codes == NULL)
	{
		for (uint32 node = 0; node < g->n; node++)
			n2_layout_write_node(bs->layout, node,
								 bs->vectors + (Size) node * bs->params.dims,
								 bs->nodetids + bs->tidstart[node]);
	}
	else
	{
		bs->nextwrite = 0;
		scan_heap(bs, heap, indexInfo, N2_SCAN_WRITE, N2_PHASE_WRITE);
	}
	n2_layout_finish(bs->layout);
}

/* The graph's memory is malloc'd by the core: free it on error too. */
static void
build_and_write(N2BuildState *bs, N2Graph *graph, Relation heap,
				IndexInfo *indexInfo)
{
	PG_TRY();
	{
		run_graph_build(bs, graph);
		if (n2_graph_connect_orphans(graph) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		write_pages(bs, graph, heap, indexInfo);
	}
	PG_FINALLY();
	{
		n2_graph_free(graph);
	}
	PG_END_TRY();
}

static void
init_graph(N2BuildState *bs, N2Graph *graph)
{
	N2GraphParams gp;
	uint8	   *levels = palloc_array(uint8, Max(bs->nnodes, 1));
	int			rc;

	for (uint32 i = 0; i < bs->nnodes; i++)
		levels[i] = (uint8) Min(n2_random_level(N2_LEVEL_SEED, node_hash(bs, i),
												bs->params.mult),
								n2_max_level(&bs->params));
	gp.metric = bs->params.metric;
	gp.dim = bs->params.dims;
	gp.m = bs->params.m;
	gp.max_m0 = bs->params.max_m0;
	gp.ef_construction = bs->params.ef_construction;
	gp.mult = bs->params.mult;
	gp.select = bs->params.select;
	gp.seed = N2_LEVEL_SEED;
	if (bs->codes)
		rc = n2_graph_init_sq8(graph, &gp, bs->codes, &bs->quant,
							   bs->nnodes, levels);
	else
		rc = n2_graph_init(graph, &gp, bs->vectors, bs->nnodes, levels);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while building n2 index \"%s\"",
						RelationGetRelationName(bs->index))));
	pfree(levels);
}

/* The quantizer for the ranges seen, kept in palloc'd memory. */
static void
fit_quantizer(N2BuildState *bs)
{
	N2Quantizer q;
	int			dims = bs->params.dims;

	if (n2_quantizer_fit(&q, bs->mins, bs->maxs, dims) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	bs->quant.dim = dims;
	bs->quant.offset = palloc_array(float, dims);
	bs->quant.scale = palloc_array(float, dims);
	memcpy(bs->quant.offset, q.offset, sizeof(float) * dims);
	memcpy(bs->quant.scale, q.scale, sizeof(float) * dims);
	n2_quantizer_free(&q);
}

IndexBuildResult *
n2_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	N2BuildState bs;
	N2Graph		graph;
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
	bs.budget = (Size) maintenance_work_mem * 1024;
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

	scan_heap(&bs, heap, indexInfo, N2_SCAN_FLOATS, N2_PHASE_LOAD);
	if (bs.mode == N2_SCAN_RANGE)
	{
		fit_quantizer(&bs);
		scan_heap(&bs, heap, indexInfo, N2_SCAN_CODES, N2_PHASE_LOAD);
	}

	memset(&graph, 0, sizeof(graph));
	if (bs.nnodes > 0)
	{
		init_graph(&bs, &graph);
		build_and_write(&bs, &graph, heap, indexInfo);
	}
	else
	{
		N2Layout   *lo = n2_layout_create(index, &bs.params, &graph, NULL);

		n2_layout_write_meta(lo, N2_LEVEL_SEED);
		n2_layout_finish(lo);
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
