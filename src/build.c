/*
 * Copyright (c) 2025-2026, the n2 developers
 * build.c
 *		CREATE INDEX: one heap scan, a threaded graph build, pages.
 *
 * The heap is read once.  Tuples are collected in memory (identical vectors
 * share a node and collect their heap TIDs) for as long as everything the
 * build of their graph needs fits in maintenance_work_mem: the vectors, the
 * links of every level, the heap TIDs, the dedup hash, the worker threads'
 * search state, the orphan repair and the page layout (build_memory).  Then
 * the core builds the graph with worker threads while the main thread polls
 * for cancellation and reports progress, and layout.c writes the pages.
 *
 * When the next tuple would not fit, that is done at once for the tuples
 * collected so far and their memory is freed; every later tuple of the same
 * scan then goes through the insert path of insert.c, which needs a small,
 * fixed amount of memory per tuple.  Reading the heap once keeps the build
 * correct whatever order and snapshot its scan has: a synchronized scan
 * starts mid-table, and CREATE INDEX CONCURRENTLY takes a new snapshot for
 * every scan.
 *
 * Memory is accounted as it is touched: the node and extra TID arrays by the
 * entries in use (their capacity beyond is never written, so the kernel has
 * not given it pages), with the copy a full array makes while it grows; the
 * dedup hash, which is cleared when allocated, in full.  A build allowed two
 * threads faults the vector array in on a second thread while the scan fills
 * it (core/prefault.c), at most N2_PREFAULT_AHEAD past the scan and never
 * past the capacity, which fits the budget whole.
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/smgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/build.h"
#include "core/graph.h"
#include "core/hugepage.h"
#include "core/prefault.h"
#include "core/repair.h"
#include "filter.h"
#include "n2.h"

/* Mixed into every level draw; stored in the metapage for inserts. */
#define N2_LEVEL_SEED	UINT64CONST(0x6E32686E7377)

/* How often the main thread wakes to check for cancel and report progress. */
#define N2_POLL_MS		20

#define N2_MIN_SLOTS	4096

/*
 * A vector array at least this large is faulted in by a thread of its own
 * while the scan fills it, at most N2_PREFAULT_AHEAD past the scan.
 */
#define N2_PREFAULT_MIN		((Size) 8 * 1024 * 1024)
#define N2_PREFAULT_AHEAD	((Size) 64 * 1024 * 1024)

typedef struct N2BuildState
{
	Relation	index;
	N2Params	params;
	MemoryContext buildcxt;
	MemoryContext tmpcxt;		/* reset after every tuple */
	Size		budget;			/* maintenance_work_mem, bytes */
	int			nthreads;
	double		esttuples;		/* the planner's estimate of heap rows */
	BlockNumber nblocks;		/* heap blocks when the scan began */
	BlockNumber startblk;		/* where it began (mid-table if synced) */
	BlockNumber curblk;			/* where it is */
	bool		flushed;		/* graph written: insert tuple by tuple */
	bool		scanned;		/* the heap scan is over: seen is all rows */

	/* nodes: vector, first heap TID and level each; room for capnodes */
	float	   *vectors;
	ItemPointerData *first;
	uint8	   *levels;
	uint32		nnodes;
	int64		capnodes;
	uint64		upper_lists;	/* sum of the levels */
	N2Prefault *prefault;		/* faulting vectors in ahead of the scan */
	N2Ranges	ranges;			/* of the nodes' vectors, for sq8 and L2 codes */
	bool		fractional;		/* a vector held a value not an integer */

	/*
	 * filter keys (indexes with filter columns): node i's are keys[keyoff[i]
	 * .. keyoff[i + 1]); rows share a node when vector and keys are equal
	 */
	bool		has_keys;
	char	   *keys;
	Size		keybytes;
	Size		keycap;
	uint32	   *keyoff;

	/* more heap TIDs of nodes whose vector several rows share */
	N2ExtraTid *extra;
	int64		nextra;
	int64		capextra;

	/* dedup: open addressing over node ids + 1, keyed by vector hash */
	uint32	   *slots;
	uint64		nslots;

	double		seen;			/* tuples the scan passed on */
	double		indtuples;		/* of them, not null */
} N2BuildState;

static uint64
vector_hash(const N2BuildState *bs, const float *v)
{
	return n2_hash_bytes(v, sizeof(float) * bs->params.dims, N2_LEVEL_SEED);
}

static const float *
node_vector(const N2BuildState *bs, uint32 node)
{
	return bs->vectors + (Size) node * bs->params.dims;
}

static int
node_keylen(const N2BuildState *bs, uint32 node)
{
	return bs->has_keys ? (int) (bs->keyoff[node + 1] - bs->keyoff[node]) : 0;
}

static const char *
node_keys(const N2BuildState *bs, uint32 node)
{
	return bs->has_keys ? bs->keys + bs->keyoff[node] : NULL;
}

/* The dedup hash of a node: its vector's, mixed with its keys'. */
static uint64
node_hash(const N2BuildState *bs, uint64 vhash, const char *keys, int keylen)
{
	return keylen > 0 ? vhash ^ n2_hash_bytes(keys, keylen, vhash) : vhash;
}

static void
graph_params(const N2BuildState *bs, N2GraphParams *gp)
{
	gp->metric = bs->params.metric;
	gp->dim = bs->params.dims;
	gp->m = bs->params.m;
	gp->max_m0 = bs->params.max_m0;
	gp->ef_construction = bs->params.ef_construction;
	gp->mult = bs->params.mult;
	gp->select = bs->params.select;
	gp->seed = N2_LEVEL_SEED;
}

/* Bytes of the node arrays for n nodes. */
static Size
node_bytes(const N2BuildState *bs, int64 n)
{
	return (Size) n * (sizeof(float) * bs->params.dims +
					   sizeof(ItemPointerData) + sizeof(uint8) +
					   (bs->has_keys ? sizeof(uint32) : 0));
}

/*
 * Whether the scan may gather the ranges (their bytes are counted from the
 * start): sq8 trains on them, L2 codes need them.
 */
static bool
wants_ranges(const N2BuildState *bs)
{
	return bs->params.storage == N2_STORAGE_SQ8 || bs->params.metric == N2_METRIC_L2;
}

/*
 * Whether the scan still gathers them: float4 and float16 need them only for
 * exact codes, which one value that is not an integer rules out.
 */
static bool
gathering_ranges(const N2BuildState *bs)
{
	return bs->params.storage == N2_STORAGE_SQ8 ||
		(bs->params.metric == N2_METRIC_L2 && !bs->fractional);
}

/* Bytes of the ranges of the nodes' vectors. */
static Size
ranges_bytes(const N2BuildState *bs)
{
	if (!wants_ranges(bs))
		return 0;
	return (Size) bs->params.dims * (2 * sizeof(float) + sizeof(bool));
}

/*
 * Peak bytes of building the graph of n nodes whose levels add up to
 * upper_lists, with nextra extra TIDs.  The dedup hash is freed first; the
 * threads' state, the orphan repair and the layout come one after the other.
 */
static Size
build_memory(const N2BuildState *bs, int64 n, uint64 upper_lists, int64 nextra)
{
	N2GraphParams gp;
	N2BuildOptions opts = {0};
	Size		after;

	graph_params(bs, &gp);
	opts.n_threads = bs->nthreads;
	opts.merge_level0 = bs->params.merge_level0;
	after = Max(n2_builder_memory(&gp, n, upper_lists, &opts),
				Max(n2_graph_connect_orphans_memory(n, gp.max_m0),
					n2_layout_memory(n)));
	return node_bytes(bs, n) + ranges_bytes(bs) + bs->keycap +
		(Size) nextra * sizeof(N2ExtraTid) +
		n2_graph_memory(&gp, n, upper_lists) + after;
}

/* Bytes held while scanning: node arrays, ranges, extra TIDs, dedup hash. */
static Size
scan_memory(const N2BuildState *bs)
{
	return node_bytes(bs, bs->nnodes) + ranges_bytes(bs) + bs->keycap +
		(Size) bs->nextra * sizeof(N2ExtraTid) +
		(Size) bs->nslots * sizeof(uint32);
}

/* Mean level of a node: a node has level >= l with probability e^(-l/mult). */
static double
mean_level(const N2BuildState *bs)
{
	return bs->params.mult > 0 ? 1.0 / expm1(1.0 / bs->params.mult) : 0.0;
}

/* Could cap nodes, their levels drawn as expected, be built in the budget? */
static bool
node_capacity_fits(const N2BuildState *bs, int64 cap)
{
	uint64		upper;

	upper = bs->upper_lists + (uint64) ceil(mean_level(bs) * (cap - bs->nnodes));
	return build_memory(bs, cap, upper, bs->nextra) <= bs->budget;
}

static void *
grow_array(N2BuildState *bs, void *ptr, Size elsize, int64 cap)
{
	if (ptr == NULL)
		return MemoryContextAllocHuge(bs->buildcxt, elsize * cap);
	return repalloc_huge(ptr, elsize * cap);
}

/*
 * Nodes the whole scan will give, from the planner's estimate at first, then
 * from the nodes per heap block so far.
 */
static double
expected_nodes(const N2BuildState *bs)
{
	BlockNumber passed;

	if (bs->nnodes == 0 || bs->nblocks == 0 || bs->startblk >= bs->nblocks ||
		bs->curblk >= bs->nblocks)
		return bs->esttuples;
	passed = (bs->curblk + bs->nblocks - bs->startblk) % bs->nblocks + 1;
	return (double) bs->nnodes / passed * bs->nblocks;
}

static bool grow_slots(N2BuildState *bs, uint64 minslots);

/*
 * The threads this backend runs.  An error stops and joins them in
 * PG_FINALLY, but a FATAL one (pg_terminate_backend, postmaster death)
 * exits without unwinding: then the exit callback does it, before
 * ShutdownPostgres (registered earlier, so run later) aborts the
 * transaction and frees the memory they read.
 */
static N2Builder *running_builder;
static N2Prefault *running_prefault;

static void
stop_threads_at_exit(int code, Datum arg)
{
	if (running_builder != NULL)
	{
		n2_builder_cancel(running_builder);
		(void) n2_builder_join(running_builder);
		running_builder = NULL;
	}
	if (running_prefault != NULL)
	{
		n2_prefault_stop(running_prefault);
		running_prefault = NULL;
	}
}

static void
watch_threads_at_exit(void)
{
	static bool registered = false;

	if (!registered)
	{
		before_shmem_exit(stop_threads_at_exit, (Datum) 0);
		registered = true;
	}
}

static void
stop_prefault(N2BuildState *bs)
{
	n2_prefault_stop(bs->prefault);
	bs->prefault = NULL;
	running_prefault = NULL;
}

/*
 * Makes room for one more node: as many as the scan is expected to give, at
 * least twice as many as now, but no more than could ever be built in the
 * budget.  The full arrays are copied as they grow: false when the copy does
 * not fit.
 */
static bool
grow_nodes(N2BuildState *bs)
{
	Size		vecsize = sizeof(float) * bs->params.dims;
	double		expected = Min(expected_nodes(bs) * 1.1, (double) PG_UINT32_MAX);
	int64		lo = bs->capnodes;
	int64		hi = Max(Max(bs->capnodes * 2, 1024), (int64) expected);

	hi = Min(hi, (int64) PG_UINT32_MAX - 1);
	hi = Min(hi, (int64) (MaxAllocHugeSize / vecsize));
	/* the largest capacity in (lo, hi] that fits */
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo + 1) / 2;

		if (node_capacity_fits(bs, mid))
			lo = mid;
		else
			hi = mid - 1;
	}
	if (lo <= bs->nnodes ||
		(bs->nnodes > 0 &&
		 scan_memory(bs) + node_bytes(bs, bs->nnodes) > bs->budget))
		return false;
	stop_prefault(bs);
	bs->vectors = grow_array(bs, bs->vectors, vecsize, lo);
	/* the graph build reads them at random */
	n2_advise_huge(bs->vectors, vecsize * lo);
	/* only a build allowed two threads runs one beside the scan */
	if (bs->nthreads > 1 && vecsize * lo >= N2_PREFAULT_MIN)
	{
		watch_threads_at_exit();
		bs->prefault = n2_prefault_start(bs->vectors, vecsize * lo,
										 N2_PREFAULT_AHEAD);
		running_prefault = bs->prefault;
		n2_prefault_progress(bs->prefault, vecsize * bs->nnodes);
	}
	bs->first = grow_array(bs, bs->first, sizeof(ItemPointerData), lo);
	bs->levels = grow_array(bs, bs->levels, sizeof(uint8), lo);
	if (bs->has_keys)
	{
		bs->keyoff = grow_array(bs, bs->keyoff, sizeof(uint32), lo + 1);
		bs->keyoff[0] = 0;
	}
	bs->capnodes = lo;
	/* two slots a node: the hash need not grow (and rehash) within lo */
	if (bs->nslots < (uint64) lo * 2)
		(void) grow_slots(bs, (uint64) lo * 2);
	return true;
}

/*
 * Doubles the dedup hash, or more until it has at least minslots slots, if
 * that fits.  Growing rehashes every node's vector.
 */
static bool
grow_slots(N2BuildState *bs, uint64 minslots)
{
	uint64		nslots = bs->nslots ? bs->nslots * 2 : N2_MIN_SLOTS;
	uint32	   *slots;

	while (nslots < minslots)
		nslots *= 2;

	if (scan_memory(bs) + nslots * sizeof(uint32) > bs->budget)
		return false;
	slots = MemoryContextAllocHuge(bs->buildcxt, nslots * sizeof(uint32));
	n2_advise_huge(slots, nslots * sizeof(uint32));
	memset(slots, 0, nslots * sizeof(uint32));
	for (uint64 i = 0; i < bs->nslots; i++)
	{
		uint32		node1 = bs->slots[i];
		uint64		j;

		if (node1 == 0)
			continue;
		j = node_hash(bs, vector_hash(bs, node_vector(bs, node1 - 1)),
					  node_keys(bs, node1 - 1), node_keylen(bs, node1 - 1)) &
			(nslots - 1);
		while (slots[j] != 0)
			j = (j + 1) & (nslots - 1);
		slots[j] = node1;
	}
	if (bs->slots)
		pfree(bs->slots);
	bs->slots = slots;
	bs->nslots = nslots;
	return true;
}

/* Room for more extra TIDs, if their copy fits. */
static bool
grow_extra(N2BuildState *bs)
{
	int64		cap = Max(bs->capextra * 2, 256);

	if (cap > (int64) (MaxAllocHugeSize / sizeof(N2ExtraTid)) ||
		scan_memory(bs) + bs->nextra * sizeof(N2ExtraTid) > bs->budget)
		return false;
	bs->extra = grow_array(bs, bs->extra, sizeof(N2ExtraTid), cap);
	bs->capextra = cap;
	return true;
}

/* Room for keylen more bytes of keys, if their copy fits. */
static bool
grow_keys(N2BuildState *bs, int keylen)
{
	Size		cap = Max(bs->keycap * 2, (Size) 65536);

	while (cap < bs->keybytes + keylen)
		cap *= 2;
	if (cap > MaxAllocHugeSize || scan_memory(bs) + cap > bs->budget)
		return false;
	bs->keys = grow_array(bs, bs->keys, 1, cap);
	bs->keycap = cap;
	return true;
}

/*
 * Adds the row (v, keys, tid) to the nodes in memory: to the node of an
 * identical vector with the same keys, else to a new node.  False, changing
 * nothing, when it does not fit.
 */
static bool
collect(N2BuildState *bs, const float *v, const char *keys, int keylen,
		ItemPointer tid)
{
	int			dims = bs->params.dims;
	uint64		vh = vector_hash(bs, v);
	uint64		h = node_hash(bs, vh, keys, keylen);
	uint64		j = 0;
	uint64		nslots;
	int			level;

	if (bs->nslots > 0)
	{
		for (j = h & (bs->nslots - 1); bs->slots[j] != 0;
			 j = (j + 1) & (bs->nslots - 1))
		{
			uint32		node = bs->slots[j] - 1;

			if (memcmp(node_vector(bs, node), v, sizeof(float) * dims) != 0 ||
				node_keylen(bs, node) != keylen ||
				(keylen > 0 && memcmp(node_keys(bs, node), keys, keylen) != 0))
				continue;
			if ((bs->nextra == bs->capextra && !grow_extra(bs)) ||
				build_memory(bs, bs->nnodes, bs->upper_lists,
							 bs->nextra + 1) > bs->budget)
				return false;
			bs->extra[bs->nextra].node = node;
			bs->extra[bs->nextra].tid = *tid;
			bs->nextra++;
			return true;
		}
	}

	level = Min(n2_random_level(N2_LEVEL_SEED, vh, bs->params.mult),
				n2_max_level(&bs->params));
	nslots = bs->nslots;
	if (bs->nnodes == bs->capnodes && !grow_nodes(bs))
		return false;
	/* the nodes' offsets into the keys are 32-bit */
	if (bs->keybytes + keylen > PG_UINT32_MAX ||
		(bs->keybytes + keylen > bs->keycap && !grow_keys(bs, keylen)))
		return false;
	if (build_memory(bs, bs->nnodes + 1, bs->upper_lists + level,
					 bs->nextra) > bs->budget)
		return false;
	if ((uint64) (bs->nnodes + 1) * 2 > bs->nslots && !grow_slots(bs, 0))
		return false;
	/* growing the nodes can grow the hash too: probe the new one */
	if (bs->nslots != nslots)
	{
		for (j = h & (bs->nslots - 1); bs->slots[j] != 0;
			 j = (j + 1) & (bs->nslots - 1))
			;
	}

	memcpy(bs->vectors + (Size) bs->nnodes * dims, v, sizeof(float) * dims);
	/* ranges while the vector is in cache, not in a pass over all of them */
	if (gathering_ranges(bs))
	{
		if (bs->ranges.vmin == NULL)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(bs->buildcxt);

			n2_ranges_init(&bs->ranges, dims);
			MemoryContextSwitchTo(oldcxt);
		}
		if (!n2_ranges_add(&bs->ranges, v))
			bs->fractional = true;
	}
	n2_prefault_progress(bs->prefault, sizeof(float) * dims * (bs->nnodes + 1));
	bs->first[bs->nnodes] = *tid;
	bs->levels[bs->nnodes] = (uint8) level;
	if (bs->has_keys)
	{
		if (keylen > 0)
			memcpy(bs->keys + bs->keybytes, keys, keylen);
		bs->keybytes += keylen;
		bs->keyoff[bs->nnodes + 1] = (uint32) bs->keybytes;
	}
	bs->upper_lists += level;
	bs->slots[j] = bs->nnodes + 1;
	bs->nnodes++;
	return true;
}

/*
 * The n_threads option, else n2.build_threads (0: one per CPU), capped by
 * n2.max_build_threads (0: one per CPU), which only superusers can raise, so
 * that no role can start more threads in a backend than the DBA allows.
 * Never more threads than nodes.  The build that starts them reports the
 * count (DEBUG1); the budget, sized before, does not.
 */
static int
build_thread_count(Relation index, uint32 nnodes, bool report)
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
	if (report)
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
		case N2_BUILD_RELINKING:
			return N2_PHASE_RELINK;
		default:
			return N2_PHASE_BUILD;
	}
}

/*
 * Lays the graph out with the link width the options ask for.  auto takes
 * 3 bytes when the index can have them (n2_link3_offset_bits_for) and,
 * scaled up to the heap's estimated tuples when the build flushes early, it
 * fills at most an eighth of the blocks they name (leaving inserts room to
 * grow it eightfold); else 4 unless it would fill half of the blocks 4-byte
 * links name (leaving room to double it); else 6.  An empty build (no rows
 * indexed) says nothing of the index's size, so auto does not take 3 bytes
 * for it.  An explicit 3 that the index cannot have is an error.
 */
static N2Layout *
create_layout(N2BuildState *bs, const N2Graph *g, const N2NodeTids *tids)
{
	bool		auto_width = bs->params.link_bytes == 0;
	double		scale = 1.0;
	int			ob = n2_link3_offset_bits_for(bs->index, &bs->params);
	N2Layout   *lo = NULL;

	/* a finished scan has counted the rows; before that, the estimate */
	if (!bs->scanned)
		scale = Max(1.0, bs->esttuples / Max(bs->seen, 1.0));

	if (bs->params.link_bytes == 3 && ob == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("n2 index \"%s\" cannot have 3-byte links",
						RelationGetRelationName(bs->index)),
				 bs->params.dims <= 0 ?
				 errdetail("Its number of dimensions is not known when it is built.") :
				 errdetail("Its vectors of %d dimensions may not fit in their element tuples.",
						   bs->params.dims),
				 errhint("Use link_bytes = 4 or auto.")));
	if (auto_width && ob > 0 && g->n > 0)
	{
		bs->params.link_bytes = 3;
		bs->params.link_offset_bits = ob;
		lo = n2_layout_create(bs->index, &bs->params, g, tids);
		if (n2_layout_blocks(lo) * scale > n2_link_block_limit(3, ob) / 8)
		{
			n2_layout_free(lo);
			lo = NULL;
		}
	}
	if (lo == NULL && auto_width)
	{
		bs->params.link_bytes = 4;
		bs->params.link_offset_bits = 0;
		lo = n2_layout_create(bs->index, &bs->params, g, tids);
		if (n2_layout_blocks(lo) * scale > n2_link_block_limit(4, 0) / 2)
		{
			n2_layout_free(lo);
			bs->params.link_bytes = 6;
			lo = n2_layout_create(bs->index, &bs->params, g, tids);
		}
	}
	if (lo == NULL)
	{
		bs->params.link_offset_bits = bs->params.link_bytes == 3 ? ob : 0;
		lo = n2_layout_create(bs->index, &bs->params, g, tids);
	}
	n2_check_link_room(bs->index, bs->params.link_bytes,
					   bs->params.link_offset_bits, n2_layout_blocks(lo));
	return lo;
}

/*
 * 8-bit codes of every node, when they are the vectors exactly and the metric
 * is L2: the graph build then compares codes, the same distances from a
 * quarter of the bytes.  sq8 has its trained ranges; the other storages
 * train a quantizer for the build alone, from the same ranges.
 * NULL otherwise, or when they would not fit in maintenance_work_mem beside
 * the build.
 */
static uint8 *
exact_codes(N2BuildState *bs, bool trained_exact)
{
	Size		dims = (Size) bs->params.dims;
	Size		bytes = (Size) bs->nnodes * dims;
	N2Params	tp = bs->params;
	bool		exact = trained_exact;
	uint8	   *codes = NULL;

	if (bs->params.metric != N2_METRIC_L2 || bs->nnodes == 0 ||
		build_memory(bs, bs->nnodes, bs->upper_lists, bs->nextra) + bytes > bs->budget)
		return NULL;
	if (bs->params.storage != N2_STORAGE_SQ8)
	{
		/* its ranges stopped at the first value not an integer */
		if (bs->fractional)
			return NULL;
		tp.storage = N2_STORAGE_SQ8;
		exact = n2_storage_train_ranges(&tp, &bs->ranges);
	}
	if (exact)
	{
		codes = MemoryContextAllocHuge(bs->buildcxt, bytes);
		n2_advise_huge(codes, bytes);
		for (int64 i = 0; i < bs->nnodes; i++)
		{
			n2_sq8_encode(bs->vectors + i * dims, tp.sq8_lo, tp.sq8_step,
						  codes + i * dims, (int) dims);
			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		ereport(DEBUG1,
				(errmsg("building n2 index \"%s\" on exact 8-bit codes of its vectors",
						RelationGetRelationName(bs->index))));
	}
	if (bs->params.storage != N2_STORAGE_SQ8 && tp.sq8_lo != NULL)
	{
		pfree(unconstify(float *, tp.sq8_lo));
		pfree(unconstify(float *, tp.sq8_step));
	}
	return codes;
}

/*
 * Runs the threaded build.  Worker threads only touch the graph; this thread
 * sleeps on its latch, so a cancel or timeout interrupt wakes it at once.
 * Whatever happens, every thread is joined before we return or rethrow.
 */
static void
run_graph_build(N2BuildState *bs, N2Graph *g)
{
	N2BuildOptions opts = {0};
	N2Builder  *volatile builder;
	N2BuildPhase result;
	int			err;

	opts.n_threads = build_thread_count(bs->index, bs->nnodes, true);
	opts.merge_level0 = bs->params.merge_level0;

	builder = n2_builder_create(g, &opts);
	if (builder == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while building n2 index \"%s\"",
						RelationGetRelationName(bs->index))));

	watch_threads_at_exit();
	PG_TRY();
	{
		int64		lastphase = -1;

		running_builder = builder;
		err = n2_builder_start(builder);
		if (err != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("could not start n2 build threads: %s", strerror(err))));
		if (n2_builder_threads(builder) < opts.n_threads)
			ereport(NOTICE,
					(errmsg("n2 index \"%s\" is built by %d threads: the system let only those of the %d start",
							RelationGetRelationName(bs->index),
							n2_builder_threads(builder), opts.n_threads)));
		for (;;)
		{
			N2BuildPhase phase;
			uint64		done;
			uint64		total;

			/* once finished, the counts are the last phase's: post nothing */
			if (n2_builder_poll(builder, &phase, &done, &total))
				break;
			if (progress_phase(phase) != lastphase)
			{
				const int	ids[] = {
					PROGRESS_CREATEIDX_SUBPHASE,
					PROGRESS_CREATEIDX_TUPLES_TOTAL
				};
				const int64 vals[] = {progress_phase(phase), (int64) total};

				pgstat_progress_update_multi_param(2, ids, vals);
				lastphase = progress_phase(phase);
			}
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
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
		running_builder = NULL;
		n2_builder_free(builder);
	}
	PG_END_TRY();

	if (result != N2_BUILD_DONE)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("n2 graph build for index \"%s\" failed",
						RelationGetRelationName(bs->index))));
}

static int
compare_extra(const void *a, const void *b)
{
	const N2ExtraTid *x = a;
	const N2ExtraTid *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return ItemPointerCompare((ItemPointer) &x->tid, (ItemPointer) &y->tid);
}

static void
write_pages(N2BuildState *bs, const N2Graph *g)
{
	const int	ids[] = {
		PROGRESS_CREATEIDX_SUBPHASE,
		PROGRESS_CREATEIDX_TUPLES_TOTAL,
		PROGRESS_CREATEIDX_TUPLES_DONE
	};
	const int64 vals[] = {N2_PHASE_WRITE, bs->nnodes, 0};
	MemoryContext cxt = AllocSetContextCreate(bs->buildcxt, "n2 build layout",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	N2NodeTids	tids;
	N2Layout   *lo;

	pgstat_progress_update_multi_param(3, ids, vals);
	if (bs->nextra > 1)
		qsort(bs->extra, bs->nextra, sizeof(N2ExtraTid), compare_extra);
	tids.first = bs->first;
	tids.extra = bs->extra;
	tids.nextra = bs->nextra;
	tids.keys = bs->keys;
	tids.keyoff = bs->has_keys ? bs->keyoff : NULL;
	lo = create_layout(bs, g, &tids);
	n2_layout_write_meta(lo, N2_LEVEL_SEED);
	for (uint32 k = 0; k < g->n; k++)
	{
		uint32		node = n2_layout_next_node(lo);

		CHECK_FOR_INTERRUPTS();
		n2_layout_write_node(lo, node, node_vector(bs, node));
	}
	n2_layout_finish(lo);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
}

/*
 * Builds the graph of the nodes in memory, writes it to the index and frees
 * everything the nodes held.  The graph's memory is malloc'd by the core:
 * it is freed on error too.
 */
static void
flush_nodes(N2BuildState *bs)
{
	N2GraphParams gp;
	N2Graph		graph;
	MemoryContext oldcxt = MemoryContextSwitchTo(bs->buildcxt);

	stop_prefault(bs);
	if (bs->slots)
		pfree(bs->slots);
	bs->slots = NULL;
	bs->nslots = 0;

	memset(&graph, 0, sizeof(graph));
	graph_params(bs, &gp);
	if (bs->nnodes > 0 &&
		n2_graph_init(&graph, &gp, bs->vectors, bs->nnodes, bs->levels) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while building n2 index \"%s\"",
						RelationGetRelationName(bs->index))));
	PG_TRY();
	{
		/* trained first, so that exact codes can stand in for the vectors */
		bool		exact = n2_storage_train_ranges(&bs->params, &bs->ranges);
		uint8	   *codes = exact_codes(bs, exact);

		n2_storage_report_training(bs->index, &bs->params, bs->ranges.n);

		graph.codes = codes;
		n2_pause_point("build-graph");
		if (graph.n > 0)
		{
			run_graph_build(bs, &graph);
			if (n2_graph_connect_orphans(&graph) < 0)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
		}
		graph.codes = NULL;
		if (codes != NULL)
			pfree(codes);
		write_pages(bs, &graph);
		n2_storage_write(bs->index, &bs->params);
	}
	PG_FINALLY();
	{
		n2_graph_free(&graph);
	}
	PG_END_TRY();

	if (bs->vectors)
	{
		pfree(bs->vectors);
		pfree(bs->first);
		pfree(bs->levels);
	}
	if (bs->extra)
		pfree(bs->extra);
	if (bs->ranges.vmin)
		n2_ranges_free(&bs->ranges);
	if (bs->keys)
		pfree(bs->keys);
	if (bs->keyoff)
		pfree(bs->keyoff);
	bs->keys = NULL;
	bs->keyoff = NULL;
	bs->keybytes = 0;
	bs->keycap = 0;
	bs->vectors = NULL;
	bs->first = NULL;
	bs->levels = NULL;
	bs->extra = NULL;
	bs->nnodes = 0;
	bs->capnodes = 0;
	bs->upper_lists = 0;
	bs->nextra = 0;
	bs->capextra = 0;
	bs->flushed = true;
	MemoryContextSwitchTo(oldcxt);
}

static void
start_inserting(N2BuildState *bs)
{
	const int	ids[] = {
		PROGRESS_CREATEIDX_SUBPHASE,
		PROGRESS_CREATEIDX_TUPLES_TOTAL,
		PROGRESS_CREATEIDX_TUPLES_DONE
	};
	const int64 vals[] = {
		N2_PHASE_INSERT, (int64) bs->esttuples, (int64) bs->seen
	};

	ereport(NOTICE,
			bs->indtuples == 0 ?
			errmsg("n2 graph does not fit into maintenance_work_mem even for the first tuple") :
			errmsg("n2 graph no longer fits into maintenance_work_mem after %.0f tuples",
				   bs->indtuples),
			errdetail("The remaining tuples are inserted one at a time, "
					  "which takes much longer."),
			errhint("Increase maintenance_work_mem to speed up builds."));
	flush_nodes(bs);
	pgstat_progress_update_multi_param(3, ids, vals);
}

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	N2BuildState *bs = (N2BuildState *) state;
	MemoryContext oldcxt;
	float	   *v;
	int			dims;
	char	   *keys;
	int			keylen;

	bs->seen++;
	if (!isnull[0])
	{
		oldcxt = MemoryContextSwitchTo(bs->tmpcxt);
		v = n2_datum_to_vector(index, values[0], &bs->params, &dims);
		keys = n2_form_keys(index, values, isnull, &keylen);
		if (bs->params.dims == 0)
			bs->params.dims = dims;
		if (bs->startblk == InvalidBlockNumber)
			bs->startblk = ItemPointerGetBlockNumber(tid);
		bs->curblk = ItemPointerGetBlockNumber(tid);
		if (!bs->flushed && !collect(bs, v, keys, keylen, tid))
			start_inserting(bs);
		if (bs->flushed)
			n2_insert_vector(index, v, dims, keys, keylen, tid);
		bs->indtuples++;
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(bs->tmpcxt);
	}

	if (((int64) bs->seen & (bs->flushed ? 63 : 1023)) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
									 (int64) bs->seen);
}

IndexBuildResult *
n2_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	N2BuildState bs;
	MemoryContext oldcxt;
	int32		typmod;
	BlockNumber pages;
	double		allvisfrac;
	double		reltuples;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));

	n2_check_columns(index);
	memset(&bs, 0, sizeof(bs));
	bs.index = index;
	bs.has_keys = IndexRelationGetNumberOfKeyAttributes(index) > 1;
	bs.budget = (Size) maintenance_work_mem * 1024;
	bs.nthreads = build_thread_count(index, PG_UINT32_MAX, false);
	n2_params_from_options(index, &bs.params);
	typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
	if (!bs.params.is_array && typmod > 0)
		bs.params.dims = typmod;
	if (bs.params.dims > N2_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column has %d dimensions; n2 indexes at most %d",
						bs.params.dims, N2_MAX_DIM)));
	estimate_rel_size(heap, NULL, &pages, &bs.esttuples, &allvisfrac);
	bs.nblocks = RelationGetNumberOfBlocks(heap);
	bs.startblk = InvalidBlockNumber;

	bs.buildcxt = AllocSetContextCreate(CurrentMemoryContext, "n2 build",
										ALLOCSET_DEFAULT_SIZES);
	bs.tmpcxt = AllocSetContextCreate(bs.buildcxt, "n2 build tuple",
									  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(bs.buildcxt);

	{
		const int	ids[] = {
			PROGRESS_CREATEIDX_SUBPHASE,
			PROGRESS_CREATEIDX_TUPLES_TOTAL,
			PROGRESS_CREATEIDX_TUPLES_DONE
		};
		const int64 vals[] = {N2_PHASE_LOAD, (int64) bs.esttuples, 0};

		pgstat_progress_update_multi_param(3, ids, vals);
	}
	PG_TRY();
	{
		reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
										   build_callback, &bs, NULL);
	}
	PG_FINALLY();
	{
		stop_prefault(&bs);
	}
	PG_END_TRY();
	bs.scanned = true;
	if (!bs.flushed)
		flush_nodes(&bs);

	MemoryContextSwitchTo(oldcxt);
	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = bs.indtuples;
	MemoryContextDelete(bs.buildcxt);
	return result;
}

/* The init fork of an unlogged index: just the metapage. */
void
n2_buildempty(Relation index)
{
	PGAlignedBlock page;
	N2Params	params;
	bool		has_keys;

	n2_check_columns(index);
	n2_params_from_options(index, &params);
	if (!params.is_array)
		params.dims = Max(TupleDescAttr(RelationGetDescr(index), 0)->atttypmod, 0);

	/*
	 * 3-byte links when asked for and the column's type fixes what they need
	 * (the build checked the rest); else, and for auto (an empty index says
	 * nothing of its size), 4.
	 */
	if (params.link_bytes == 3)
		params.link_offset_bits = n2_link3_offset_bits_for(index, &params);
	if (params.link_bytes == 0 ||
		(params.link_bytes == 3 && params.link_offset_bits == 0))
	{
		params.link_bytes = 4;
		params.link_offset_bits = 0;
	}
	n2_init_meta(page.data, &params, N2_LEVEL_SEED);
	has_keys = IndexRelationGetNumberOfKeyAttributes(index) > 1;
	if (has_keys)
	{
		N2PageGetMeta(page.data)->keys_head = N2_METAPAGE_BLKNO + 1;
		N2PageGetMeta(page.data)->keys_tail = N2_METAPAGE_BLKNO + 1;
	}
	PageSetChecksumInplace(page.data, N2_METAPAGE_BLKNO);
	smgrwrite(RelationGetSmgr(index), INIT_FORKNUM, N2_METAPAGE_BLKNO,
			  page.data, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM,
				N2_METAPAGE_BLKNO, page.data, true);

	/* and an empty key directory for filter columns */
	if (has_keys)
	{
		n2_init_page(page.data, N2_PAGE_KEYS);
		N2PageGetOpaque(page.data)->next = InvalidBlockNumber;
		PageSetChecksumInplace(page.data, N2_METAPAGE_BLKNO + 1);
		smgrextend(RelationGetSmgr(index), INIT_FORKNUM, N2_METAPAGE_BLKNO + 1,
				   page.data, true);
		log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM,
					N2_METAPAGE_BLKNO + 1, page.data, true);
	}
	smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
}
