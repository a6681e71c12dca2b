/*
 * Copyright (c) 2025-2026, the n2 developers
 * scan.c
 *		Ordered index scans: ORDER BY column <op> constant.
 *
 * The scan drives the core's resumable search (core/iterate.c) over the
 * index pages and hands the executor every heap TID of each node it yields,
 * nearest first.  The executor may ask for more rows than the first ef_search
 * candidates hold (a filter, or dead rows); the search then widens instead of
 * ending, within n2.max_scan_tuples and work_mem * n2.scan_mem_multiplier.
 * Past those bounds a random walk over the graph costs more per row than
 * reading the index in order, so with n2.scan_fallback = sequential the scan
 * finishes exactly: passes over every index page that return the elements
 * the walk never reached, nearest first (core/sweep.c).
 *
 * A real[] query may hold NaN or infinity, as the real[] operators allow.
 * Every distance to it is then -Infinity, Infinity or NaN (or, for cosine,
 * 1 to a zero vector): no graph walk can follow that, so such a scan is
 * the exact finish from the start, in the order float8 sorts those values.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/iterate.h"
#include "core/sweep.h"
#include "filter.h"
#include "distmemo.h"
#include "n2.h"
#include "vector.h"

/*
 * Filtered scans (src/README, "Filtered scans", has the measurements behind
 * these numbers).  Before walking, the keys of the elements on
 * N2_FILTER_SAMPLE_PAGES pages spread over the index are tested.
 *
 * Without a key directory, when fewer than N2_FILTER_SWEEP_RATE of them
 * pass, the scan is one exact pass over the index from the start.
 *
 * With one (keys.c), when fewer than N2_FILTER_LIST_RATE pass: if the
 * sample promises at most ef_search * degree of them (what a walk of width
 * ef evaluates), the directory lists them and, if it agrees, they are all
 * read, nearest first.  Otherwise the walk starts, and after ef_search *
 * degree / N2_FILTER_PROBE_DIVISOR visits compares the share of the nodes
 * it evaluated that pass with the sample's.  At a third of it or less the
 * filter is not where the query is: the walk would cross the query's whole
 * neighbourhood before it held ef of them.  The directory then lists them;
 * up to n2.max_scan_tuples are read, nearest first, more are walked as a
 * member walk (core/iterate.h) seeded with N2_FILTER_SEEDS of them.
 */
#define N2_FILTER_SAMPLE_PAGES	256
#define N2_FILTER_SWEEP_RATE	0.005
#define N2_FILTER_LIST_RATE		0.3
#define N2_FILTER_PROBE_DIVISOR	16
#define N2_FILTER_SEEDS			64

/*
 * A pass over listed elements keeps the nearest ef_search (at least this
 * many): all a LIMIT usually takes, and a bound that lets most distances
 * stop early; a scan that wants more makes another pass.
 */
#define N2_LIST_PASS_KEEP		64

/* The walk's next node, taken early by certain_order. */
typedef enum N2Ahead
{
	N2_AHEAD_NONE,				/* not taken yet */
	N2_AHEAD_NODE,				/* in ahead_node */
	N2_AHEAD_END				/* the walk returned false (ended or paused) */
} N2Ahead;

typedef struct N2ScanOpaqueData
{
	MemoryContext cxt;			/* everything per scan lives here */
	MemoryContext querycxt;		/* what one rescan's query needs, reset by the
								 * next */
	MemoryContextCallback cleanup;	/* frees the core's malloc'd state */
	N2Params	params;
	N2MetaPageData meta;
	float	   *query;
	N2PageGraph pg;
	N2KeyFilter *filter;		/* index conditions on filter columns, or NULL */
	N2Iterator	it;
	bool		it_valid;

	/*
	 * The walks' visited set on an index read through page copies: in paged
	 * mode over its blocks, kept from rescan to rescan, so that none clears
	 * it.
	 */
	N2Visited	visited;
	bool		visited_valid;
	bool		started;

	/* the elements the key directory says pass the filter, sorted */
	N2Ref	   *list;
	int64		nlist;
	bool		list_pass;		/* the sweep reads the list, not the index */
	bool		list_bounded;	/* its L2 sums are abandoned past the bound */
	int		   *blocks;			/* its L2 blocks of dimensions, in order */
	int			nblocks;
	double		rate;			/* the sample's share of elements passing */
	double		est_elements;	/* and its estimate of the elements */
	bool		budget_pause;	/* the walk's next pause is its budget's end */

	/* the exact finish once a bound stopped the walk */
	N2Sweep		sweep;
	bool		sweeping;
	bool		exact;			/* the query is not finite: sweep only */
	int			npasses;
	BufferAccessStrategy strategy;

	/* strict order: the nodes yielded at the last distance, for the finish */
	float		tie_dist;
	N2Ref	   *ties;
	int			nties;
	int			tiecap;

	/* compact storage: distances are lower bounds the executor rechecks */
	bool		lossy;

	/*
	 * ... except for a row whose distance interval overlaps no other row's
	 * (certain_order): a walk that yields in order (strict, or single with no
	 * filter probe that may reseed it) looks one node ahead for the bound of
	 * every later row.
	 */
	bool		certify;
	bool		certain;		/* the node being returned needs no recheck */
	double		ub;				/* its upper bound */
	double		max_ub;			/* the largest of the rows returned so far */
	N2Ahead		ahead;
	N2Candidate ahead_node;

	/* heap TIDs of the node being returned, and its distance */
	ItemPointerData *tids;
	int			ntids;
	int			tidpos;
	int			tidcap;
	double		dist;

	/* that distance, for the projection (plan.c), when it is the operator's */
	N2ScanDistance sd;
	bool		sd_registered;
	bool		memo_held;		/* rechecks remembered (distmemo.c) */
} N2ScanOpaqueData;

typedef N2ScanOpaqueData *N2ScanOpaque;

/* Frees the core's malloc'd state of one rescan. */
static void
scan_free_walk(N2ScanOpaque so)
{
	if (so->it_valid)
		n2_iter_free(&so->it);
	so->it_valid = false;
	if (so->sweeping)
		n2_sweep_free(&so->sweep);
	so->sweeping = false;
	if (so->sd_registered)
		n2_scan_distance_unregister(&so->sd);
	so->sd_registered = false;
	if (so->memo_held)
		n2_distance_memo_release();
	so->memo_held = false;
}

/* Frees all the core's malloc'd state, when the scan's memory goes. */
static void
scan_free_core(void *arg)
{
	N2ScanOpaque so = (N2ScanOpaque) arg;

	scan_free_walk(so);
	if (so->visited_valid)
		n2_visited_free(&so->visited);
	so->visited_valid = false;
}

IndexScanDesc
n2_beginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	N2ScanOpaque so = palloc0(sizeof(N2ScanOpaqueData));

	so->cxt = AllocSetContextCreate(CurrentMemoryContext, "n2 scan",
									ALLOCSET_DEFAULT_SIZES);
	so->cleanup.func = scan_free_core;
	so->cleanup.arg = so;
	MemoryContextRegisterResetCallback(so->cxt, &so->cleanup);
	so->querycxt = AllocSetContextCreate(so->cxt, "n2 scan query",
										 ALLOCSET_DEFAULT_SIZES);
	so->tidcap = 16;
	so->tids = MemoryContextAlloc(so->cxt, sizeof(ItemPointerData) * so->tidcap);
	so->tiecap = 16;
	so->ties = MemoryContextAlloc(so->cxt, sizeof(N2Ref) * so->tiecap);
	/* where a lossy scan reports its distances (the AM allocates them) */
	if (norderbys > 0)
	{
		scan->xs_orderbyvals = palloc0(sizeof(Datum) * norderbys);
		scan->xs_orderbynulls = palloc(sizeof(bool) * norderbys);
		memset(scan->xs_orderbynulls, true, sizeof(bool) * norderbys);
	}
	scan->opaque = so;
	return scan;
}

static void
scan_reset(N2ScanOpaque so)
{
	if (so->started)
		n2_page_graph_release(&so->pg);
	scan_free_walk(so);
	MemoryContextReset(so->querycxt);
	so->started = false;
	so->ntids = 0;
	so->tidpos = 0;
	so->npasses = 0;
	so->nties = 0;
	so->exact = false;
	so->certify = false;
	so->certain = false;
	so->max_ub = -get_float8_infinity();
	so->ahead = N2_AHEAD_NONE;
	so->list = NULL;
	so->nlist = 0;
	so->list_pass = false;
	so->budget_pause = false;
	so->blocks = NULL;
}

void
n2_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys,
		  int norderbys)
{
	N2ScanOpaque so = (N2ScanOpaque) scan->opaque;

	scan_reset(so);
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/*
 * The query as a float array, checked as the distance operators check their
 * arguments; normalised for angular unless it holds NaN or infinity, which
 * only a real[] query can.  *finite says whether it does not.
 */
static float *
scan_query(Relation index, const N2Params *p, Datum value, bool *finite)
{
	const float *elems;
	float	   *query;
	int			dims;

	if (!p->is_array)
	{
		*finite = true;
		return n2_datum_to_vector(index, value, p, &dims);
	}
	elems = n2_real_array_elements(DatumGetArrayTypeP(value), &dims);
	if (dims != p->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", p->dims, dims),
				 errdetail("Index \"%s\" holds %d-dimensional vectors.",
						   RelationGetRelationName(index), p->dims)));
	query = palloc(sizeof(float) * dims);
	memcpy(query, elems, sizeof(float) * dims);
	*finite = n2_vector_is_finite(query, dims);
	if (*finite && p->metric == N2_METRIC_ANGULAR)
		n2_normalize(query, dims);
	return query;
}

/* Sets up the exact finish with room for max_memory of candidates. */
static void
sweep_setup(N2ScanOpaque so, Size max_memory)
{
	if (!n2_sweep_init(&so->sweep, max_memory / sizeof(N2Candidate)))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	so->sweeping = true;
	if (so->strategy == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(so->cxt);

		so->strategy = GetAccessStrategy(BAS_BULKREAD);
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * The share of the elements on a sample of pages, evenly spread over the
 * index, that pass the scan's filter (1 when the sample holds none).
 */
static double
filter_rate(N2ScanOpaque so)
{
	Relation	index = so->pg.index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber npages = nblocks > 1 ? nblocks - 1 : 0;
	int			sample = (int) Min((BlockNumber) N2_FILTER_SAMPLE_PAGES, npages);
	double		seen = 0;
	double		passed = 0;

	for (int i = 0; i < sample; i++)
	{
		BlockNumber blkno = 1 + (BlockNumber) ((uint64) i * npages / sample);
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno,
											 RBM_NORMAL, NULL);
		Page		page;
		OffsetNumber off = InvalidOffsetNumber;
		N2ElementTuple et;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		while ((et = n2_page_next_element(page, &off)) != NULL)
		{
			seen++;
			passed += n2_filter_match(so->filter, N2ElementKeys(et), et->keylen);
		}
		UnlockReleaseBuffer(buf);
	}
	so->est_elements = sample > 0 ? seen * npages / sample : 0;
	return seen > 0 ? passed / seen : 1.0;
}

/*
 * Lists from the key directory the elements that pass the filter; false
 * when there is no directory or the list would not fit the scan's memory
 * bound (work_mem * n2.scan_mem_multiplier).
 */
static bool
filter_list(N2ScanOpaque so)
{
	int64		total;
	double		max = work_mem * 1024.0 * n2_scan_mem_multiplier / sizeof(N2Ref);

	if (so->meta.keys_head == N2_METAPAGE_BLKNO)
		return false;
	return n2_keys_collect(so->pg.index, so->meta.keys_head, so->filter,
						   (int64) Max(max, 1024.0), &so->list, &so->nlist,
						   &total);
}

/* Whether the list holds ref (a member walk's test). */
static bool
list_contains(void *arg, N2Ref ref)
{
	N2ScanOpaque so = (N2ScanOpaque) arg;

	return n2_ref_position(so->list, so->nlist, ref) >= 0;
}

/* Sets up a pass over the listed elements, nearest first. */
static void
list_pass_setup(N2ScanOpaque so)
{
	so->list_pass = true;
	sweep_setup(so, sizeof(N2Candidate) * Max(n2_ef_search, N2_LIST_PASS_KEEP));
}

/* Whether the entry point the scan read is a live element of its level. */
static bool
entry_is_live(N2ScanOpaque so)
{
	N2PageGraph *pg = &so->pg;
	N2Ref		ref = n2_tid_to_ref(&so->meta.entry);
	N2ElementTuple et;
	bool		live;

	n2_page_graph_read(pg, n2_ref_block(ref));
	LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
	et = n2_page_graph_element(pg, ref);
	live = et != NULL && !(et->flags & N2_ELEMENT_DELETED) &&
		et->level == so->meta.max_level;
	LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
	return live;
}

/* Reads the metapage and prepares the search for this scan's query. */
static void
scan_start(IndexScanDesc scan)
{
	N2ScanOpaque so = (N2ScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	MemoryContext oldcxt = MemoryContextSwitchTo(so->querycxt);
	N2IterMode	mode;
	Size		max_memory;
	struct varlena *arg;		/* the ORDER BY argument as given, or NULL */
	struct varlena *value = NULL;	/* and detoasted */
	bool		finite = true;
	bool		never = false;
	bool		probe = false;
	XLogRecPtr	meta_lsn;
	BlockNumber nblocks;

	meta_lsn = n2_read_meta(index, &so->meta);
	n2_pause_point("scan-meta-read");
	n2_params_from_meta(index, &so->meta, &so->params);
	so->started = true;
	pgstat_count_index_scan(index);
	so->filter = scan->numberOfKeys > 0 ?
		n2_filter_prepare(index, scan->keyData, scan->numberOfKeys, &never) :
		NULL;

	if (scan->numberOfOrderBys == 0 || so->params.dims == 0 || never)
	{
		/* nothing to order by, an empty real[] index, or nothing matches */
		so->query = NULL;
		MemoryContextSwitchTo(oldcxt);
		return;
	}

	/* ORDER BY v <op> NULL: any order is right; search around the origin */
	arg = NULL;
	if (scan->orderByData[0].sk_flags & SK_ISNULL)
		so->query = palloc0(sizeof(float) * so->params.dims);
	else
	{
		arg = (struct varlena *) DatumGetPointer(scan->orderByData[0].sk_argument);
		value = PG_DETOAST_DATUM_COPY(scan->orderByData[0].sk_argument);
		so->query = scan_query(index, &so->params, PointerGetDatum(value),
							   &finite);
	}

	n2_page_graph_init(&so->pg, index, &so->params, so->query);
	so->pg.copies = n2_page_copies_begin(index, scan->xs_snapshot, meta_lsn,
										 &nblocks);
	if (so->pg.copies && so->visited_valid && so->visited.npages < nblocks)
	{
		n2_visited_free(&so->visited);
		so->visited_valid = false;
	}
	if (so->pg.copies && !so->visited_valid)
	{
		if (!n2_visited_init_paged(&so->visited, nblocks,
								   (uint64) n2_ef_search * so->params.max_m0 / 2))
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		so->visited_valid = true;
	}
	so->pg.filter = so->filter;

	/*
	 * On compact codes the walk orders by lower bounds of the operator's
	 * distances, which the executor rechecks on the heap rows (n2_gettuple).
	 */
	so->lossy = !n2_storage_is_exact(&so->params) && arg != NULL;
	if (so->lossy)
	{
		double		qq = 0.0;

		for (int i = 0; i < so->params.dims; i++)
			qq += (double) so->query[i] * (double) so->query[i];
		so->pg.lower_bounds = true;
		so->pg.qnorm = (float) (sqrt(qq) * (1.0 + 1e-6));
		n2_distance_memo_acquire();
		so->memo_held = true;
	}

	/*
	 * On L2 and inner product a float4 index computes exactly what the
	 * operator does (the vectors are stored as they are): offer those
	 * distances to the projection.  So does the exact scan of a query that is
	 * not finite.
	 */
	if (so->params.metric != N2_METRIC_ANGULAR && arg != NULL && !so->lossy)
	{
		so->sd.indexoid = RelationGetRelid(index);
		so->sd.query = value;
		so->sd.packed = NULL;
		if (VARATT_IS_COMPRESSED(arg) || VARATT_IS_EXTERNAL_ONDISK(arg))
		{
			so->sd.packed = palloc(VARSIZE_ANY(arg));
			memcpy(so->sd.packed, arg, VARSIZE_ANY(arg));
		}
		n2_scan_distance_register(&so->sd);
		so->sd_registered = true;
	}

	max_memory = (Size) (work_mem * 1024.0 * n2_scan_mem_multiplier);
	if (!finite)
	{
		so->exact = true;
		sweep_setup(so, Max(max_memory, (Size) 65536));
		MemoryContextSwitchTo(oldcxt);
		return;
	}

	/*
	 * A filter few elements pass makes the walk visit many nodes per row it
	 * returns: read the elements the key directory lists instead, or, in an
	 * index without one, every element when that costs less.
	 */
	if (so->filter != NULL)
	{
		int			degree = Max(so->params.max_m0, so->params.m);

		so->rate = filter_rate(so);
		if (so->meta.keys_head != N2_METAPAGE_BLKNO &&
			so->rate < N2_FILTER_LIST_RATE)
		{
			probe = true;
			if (so->rate * so->est_elements <= (double) n2_ef_search * degree &&
				filter_list(so) && so->nlist <= (int64) n2_ef_search * degree)
			{
				ereport(DEBUG1,
						(errmsg("n2 index scan: reading the %lld index elements that match the filter",
								(long long) so->nlist)));
				list_pass_setup(so);
				MemoryContextSwitchTo(oldcxt);
				return;
			}
		}
		else if (so->rate < N2_FILTER_SWEEP_RATE &&
				 n2_iterative_scan != N2_ITERATIVE_OFF &&
				 n2_scan_fallback == N2_FALLBACK_SEQUENTIAL)
		{
			ereport(DEBUG1,
					(errmsg("n2 index scan: few index elements match the filter; scanning the index sequentially")));
			sweep_setup(so, Max(max_memory, (Size) 65536));
			MemoryContextSwitchTo(oldcxt);
			return;
		}
	}

	switch (n2_iterative_scan)
	{
		case N2_ITERATIVE_OFF:
			mode = N2_ITER_SINGLE;
			break;
		case N2_ITERATIVE_RELAXED:
			mode = N2_ITER_RELAXED;
			break;
		default:
			mode = N2_ITER_STRICT;
			break;
	}

	/*
	 * A scan on codes walks one node wider than ef_search: to return its k-th
	 * row the executor needs the node after it (its bound, or the look-ahead
	 * of certain_order), and for LIMIT ef_search that node would otherwise
	 * cost a whole widening, about a walk of twice the width.  Rows the codes
	 * leave uncertain want a few nodes more, so it widens by steps doubling
	 * from 1 (set below).
	 */
	if (!n2_iter_init_visited(&so->it, so->filter ? &n2_page_graph_filtered_ops :
							  &n2_page_graph_scan_ops, &so->pg, mode,
							  n2_ef_search + (so->lossy ? 1 : 0),
							  Max(so->params.max_m0, so->params.m),
							  (uint64) n2_max_scan_tuples, max_memory,
							  so->pg.copies ? &so->visited : NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	so->it_valid = true;
	so->it.upper_ef = n2_upper_ef_for(n2_upper_ef_search,
									  index->rd_rel->reltuples);
	if (so->lossy)
		so->it.step = 1;

	/*
	 * In strict order the sequential finish takes over right where the walk
	 * stops, so nodes the walk found but could not yet place are left to it.
	 */
	so->it.stop_at_bound = mode == N2_ITER_STRICT &&
		n2_scan_fallback == N2_FALLBACK_SEQUENTIAL;
	so->certify = so->lossy &&
		(mode == N2_ITER_STRICT || (mode == N2_ITER_SINGLE && !probe));
	if (probe)
		so->it.pause_at = (uint64) n2_ef_search *
			Max(so->params.max_m0, so->params.m) / N2_FILTER_PROBE_DIVISOR;

	/*
	 * VACUUM moves the entry point off the elements it flagged deleted, then
	 * deletes them: a scan that read the metapage before the move (the
	 * filter's sampling above can take long) would start from nothing.  Read
	 * the entry point again until it names a live element of its level.
	 */
	for (int tries = 0; tries < 10 && ItemPointerIsValid(&so->meta.entry) &&
		 !entry_is_live(so); tries++)
		n2_read_meta(index, &so->meta);

	if (!n2_iter_start(&so->it, ItemPointerIsValid(&so->meta.entry) ?
					   n2_tid_to_ref(&so->meta.entry) : N2_INVALID_REF,
					   so->meta.max_level))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	MemoryContextSwitchTo(oldcxt);
}

static void
add_tid(N2ScanOpaque so, ItemPointer tid)
{
	if (so->ntids == so->tidcap)
	{
		so->tidcap *= 2;
		so->tids = repalloc(so->tids, sizeof(ItemPointerData) * so->tidcap);
	}
	so->tids[so->ntids++] = *tid;
}

/* Collects the heap TIDs of the element ref names (none if deleted). */
static void
load_tids(N2ScanOpaque so, N2Ref ref)
{
	N2PageGraph *pg = &so->pg;
	N2ElementTuple et;
	N2TidChainIter it;
	N2TidChunk	tc;

	so->ntids = 0;
	so->tidpos = 0;
	n2_page_graph_read(pg, n2_ref_block(ref));
	LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
	et = n2_page_graph_element(pg, ref);
	if (et == NULL || (et->flags & N2_ELEMENT_DELETED) ||
		!n2_filter_match(so->filter, N2ElementKeys(et), et->keylen))
	{
		LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
		return;
	}
	if (so->certify && !so->sweeping)
		so->ub = n2_element_upper_bound(pg, et);
	for (int i = 0; i < et->ntids; i++)
		add_tid(so, &et->heaptids[i]);
	n2_tid_chain_begin(&it, pg->index, pg->buf, et->tidchain);
	while ((tc = n2_tid_chain_next(&it)) != NULL)
	{
		for (int i = 0; i < tc->ntids; i++)
			add_tid(so, &tc->tids[i]);
	}
	n2_tid_chain_end(&it);
	LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
}

static void
report_stop(N2ScanOpaque so)
{
	switch (so->it.stop)
	{
		case N2_ITER_TUPLE_LIMIT:
			ereport(DEBUG1,
					(errmsg("n2 index scan stopped after visiting %llu tuples",
							(unsigned long long) so->it.nvisited),
					 errhint("Raise n2.max_scan_tuples to let the scan go further.")));
			break;
		case N2_ITER_MEMORY_LIMIT:
			ereport(DEBUG1,
					(errmsg("n2 index scan stopped at its memory limit after visiting %llu tuples",
							(unsigned long long) so->it.nvisited),
					 errhint("Raise work_mem or n2.scan_mem_multiplier to let the scan go further.")));
			break;
		case N2_ITER_OUT_OF_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
			break;
		default:
			break;
	}
}

/*
 * Once a bound has stopped the graph walk, switches to the exact finish if
 * n2.scan_fallback allows; false when the scan ends here.
 */
static bool
sweep_begin(N2ScanOpaque so)
{
	Size		max_memory = (Size) (work_mem * 1024.0 * n2_scan_mem_multiplier);
	Size		used = n2_iter_memory(&so->it);
	Size		room;

	bool		bounded = so->it.stop == N2_ITER_TUPLE_LIMIT ||
	so->it.stop == N2_ITER_MEMORY_LIMIT;

	/*
	 * A member walk that ran out of listed nodes it can reach has not seen
	 * them all: the list is read for the rest.
	 */
	bool		member_done = so->it.member != NULL &&
	so->it.stop == N2_ITER_EXHAUSTED;

	if (so->it.mode == N2_ITER_SINGLE ||
		!(member_done || (bounded && n2_scan_fallback == N2_FALLBACK_SEQUENTIAL)))
	{
		report_stop(so);
		return false;
	}
	so->list_pass = so->list != NULL;

	/* the sweep gets what the walk left of the bound, never under 64 kB */
	room = Max(max_memory > used ? max_memory - used : 0, (Size) 65536);
	sweep_setup(so, room);

	/* strict order: nothing nearer than a row already returned */
	if (so->it.mode == N2_ITER_STRICT && so->it.yielded_any)
		n2_sweep_set_floor(&so->sweep, so->it.last_dist);
	if (member_done)
		ereport(DEBUG1,
				(errmsg("n2 index scan: the filtered walk reached no other matching element after visiting %llu tuples; reading the %lld elements that match",
						(unsigned long long) so->it.nvisited, (long long) so->nlist)));
	else
		ereport(DEBUG1,
				(errmsg("n2 index scan reached its %s after visiting %llu tuples; finishing with a sequential pass over the %s",
						so->it.stop == N2_ITER_TUPLE_LIMIT ?
						"n2.max_scan_tuples" : "memory limit",
						(unsigned long long) so->it.nvisited,
						so->list_pass ? "elements that match" : "index")));
	return true;
}

static bool
is_tie(N2ScanOpaque so, N2Ref ref)
{
	for (int i = 0; i < so->nties; i++)
	{
		if (so->ties[i] == ref)
			return true;
	}
	return false;
}

/*
 * Offers one live element to the sweep unless the walk already returned it:
 * in relaxed order the walk returned every node it visited; in strict order
 * it returned nodes up to the sweep's floor, and those at the floor are in
 * ties.  A scan that is a sweep from the start (a rare filter) walked none.
 */
static void
sweep_offer(void *arg, N2Ref ref, N2ElementTuple et)
{
	N2ScanOpaque so = (N2ScanOpaque) arg;
	N2Candidate c;

	if (!n2_filter_match(so->filter, N2ElementKeys(et), et->keylen))
		return;
	if (so->it_valid && !so->it.stop_at_bound &&
		n2_visited_contains(so->it.visited, ref))
		return;
	c.ref = ref;
	c.dist = n2_element_distance(&so->pg, et);
	if (so->it.stop_at_bound && so->nties > 0 && c.dist == so->tie_dist &&
		is_tie(so, ref))
		return;
	n2_sweep_offer(&so->sweep, c);
}

/*
 * Sweep keys for a query that is not finite: the operator's distance, with
 * NaN moved above Infinity and Infinity onto FLT_MAX, which no distance to
 * such a query can be, so that they sort as in float8.
 */
static float
exact_key(double dist)
{
	if (isnan(dist))
		return INFINITY;
	if (isinf(dist) && dist > 0)
		return FLT_MAX;
	return (float) dist;
}

static double
exact_distance(float key)
{
	if (isinf(key) && key > 0)
		return get_float8_nan();
	if (key == FLT_MAX)
		return get_float8_infinity();
	return key;
}

/* Offers one live element to the sweep of a query that is not finite. */
static void
exact_offer(void *arg, N2Ref ref, N2ElementTuple et)
{
	N2ScanOpaque so = (N2ScanOpaque) arg;
	const float *v = n2_element_vector(&so->pg, et);
	int			dims = so->params.dims;
	double		dist;
	N2Candidate c;

	if (!n2_filter_match(so->filter, N2ElementKeys(et), et->keylen))
		return;
	switch (so->params.metric)
	{
		case N2_METRIC_L2:
			dist = sqrt((double) n2_kernels.l2sq(v, so->query, dims));
			break;
		case N2_METRIC_ANGULAR:
			dist = n2_cosine_distance(v, so->query, dims);
			break;
		case N2_METRIC_L1:
			dist = n2_kernels.l1(v, so->query, dims);
			break;
		default:
			dist = -(double) n2_kernels.dot(v, so->query, dims);
			break;
	}
	c.ref = ref;
	c.dist = exact_key(dist);
	n2_sweep_offer(&so->sweep, c);
}

/*
 * Squared L2 distance summed N2_L2_BLOCK dimensions at a time, the blocks
 * where the query has most energy first (they tend to add the most); once
 * the sum exceeds bound, what it is so far.
 */
#define N2_L2_BLOCK 128

static float
l2sq_bounded(N2ScanOpaque so, const float *v, float bound)
{
	int			dims = so->params.dims;
	float		sum = 0.0f;

	for (int i = 0; i < so->nblocks; i++)
	{
		int			start = so->blocks[i] * N2_L2_BLOCK;

		sum += n2_kernels.l2sq(v + start, so->query + start,
							   Min(N2_L2_BLOCK, dims - start));
		if (sum > bound)
			break;
	}
	return sum;
}

/* Orders the query's blocks of dimensions by their energy, largest first. */
static void
order_blocks(N2ScanOpaque so)
{
	int			dims = so->params.dims;
	double	   *energy;

	so->nblocks = (dims + N2_L2_BLOCK - 1) / N2_L2_BLOCK;
	so->blocks = MemoryContextAlloc(so->querycxt, sizeof(int) * so->nblocks);
	energy = palloc(sizeof(double) * so->nblocks);
	for (int b = 0; b < so->nblocks; b++)
	{
		energy[b] = 0.0;
		for (int i = b * N2_L2_BLOCK; i < Min(dims, (b + 1) * N2_L2_BLOCK); i++)
			energy[b] += (double) so->query[i] * so->query[i];
		so->blocks[b] = b;
	}
	for (int i = 1; i < so->nblocks; i++)
	{
		int			b = so->blocks[i];
		int			j = i;

		for (; j > 0 && energy[so->blocks[j - 1]] < energy[b]; j--)
			so->blocks[j] = so->blocks[j - 1];
		so->blocks[j] = b;
	}
	pfree(energy);
}

/* Offers every live element of the list, reading their pages in order. */
static void
list_offer(N2ScanOpaque so)
{
	Relation	index = so->pg.index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	Buffer		buf = InvalidBuffer;

	/*
	 * Exact L2 on stored floats, with no walk to reconcile: an element's
	 * distance is a sum over dimensions, abandoned once past what the sweep
	 * keeps.
	 */
	bool		bounded = !so->it_valid && so->params.metric == N2_METRIC_L2 &&
	!so->lossy && !so->exact;

	so->list_bounded = bounded;
	if (bounded && so->blocks == NULL)
		order_blocks(so);
	for (int64 i = 0; i < so->nlist; i++)
	{
		N2Ref		ref = so->list[i];
		BlockNumber blkno = n2_ref_block(ref);
		OffsetNumber off = n2_ref_offset(ref);
		Page		page;
		N2ElementTuple et;

		if (blkno >= nblocks)
			continue;
		if (!BufferIsValid(buf) || BufferGetBlockNumber(buf) != blkno)
		{
			if (BufferIsValid(buf))
				UnlockReleaseBuffer(buf);
			CHECK_FOR_INTERRUPTS();
			buf = n2_read_buffer(index, blkno);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
		}
		page = BufferGetPage(buf);
		et = PageIsNew(page) ? NULL : n2_page_tuple(page, off, N2_TUPLE_ELEMENT);
		if (et == NULL || (et->flags & N2_ELEMENT_DELETED))
			continue;
		if (bounded)
		{
			N2Candidate c;

			/* listed, so it passes (load_tids tests a slot reused since) */
			c.ref = ref;
			c.dist = l2sq_bounded(so, n2_element_vector(&so->pg, et),
								  n2_sweep_bound(&so->sweep));
			n2_sweep_offer(&so->sweep, c);
		}
		else
			sweep_offer(so, ref, et);
	}
	if (BufferIsValid(buf))
		UnlockReleaseBuffer(buf);
}

/*
 * One pass over every index page, or over the listed elements; the sweep
 * keeps the nearest elements offered that fit in its memory.
 */
static void
sweep_pass(N2ScanOpaque so)
{
	n2_sweep_begin_pass(&so->sweep);
	if (so->list_pass)
		list_offer(so);
	else
		n2_for_each_element(so->pg.index, so->strategy, false,
							so->exact ? exact_offer : sweep_offer, so);
	n2_sweep_end_pass(&so->sweep);
	so->npasses++;
}

/*
 * The walk has visited as many nodes as the elements the sample says match,
 * and returned nothing yet: reading those costs no more than the walk spent
 * so far, and is exact, where the walk's end is unknown.  So at worst the
 * scan does twice the cheaper one's work.
 */
static void
budget_decide(N2ScanOpaque so)
{
	N2Iterator *it = &so->it;
	MemoryContext oldcxt;

	if (it->yielded_any)
		return;
	oldcxt = MemoryContextSwitchTo(so->querycxt);
	if (filter_list(so) && so->nlist <= n2_max_scan_tuples)
	{
		ereport(DEBUG1,
				(errmsg("n2 index scan: the walk visited as many index elements as match the filter without returning a row; reading the %lld that do",
						(long long) so->nlist)));
		n2_iter_free(it);
		so->it_valid = false;
		list_pass_setup(so);
	}
	MemoryContextSwitchTo(oldcxt);
}

/*
 * The walk paused after its first visits: when few of them passed the
 * filter (and it returned nothing yet), lists the elements that do, and
 * reads them or, too many, walks only those.  Otherwise the walk goes on,
 * pausing again (budget_decide) when it has visited as many nodes as the
 * elements that match, if those are few enough to read.
 */
static void
probe_decide(N2ScanOpaque so)
{
	N2Iterator *it = &so->it;
	int64		max_read = n2_max_scan_tuples > 0 ? n2_max_scan_tuples : PG_INT64_MAX;
	double		matching = so->rate * so->est_elements;
	MemoryContext oldcxt;
	int			nseeds;
	N2Ref	   *seeds;

	if (so->budget_pause)
	{
		so->budget_pause = false;
		budget_decide(so);
		return;
	}
	if (it->yielded_any)
		return;
	if ((double) it->nmatched * 3.0 > (double) it->nvisited * so->rate)
	{
		if (matching > (double) it->nvisited && matching <= (double) max_read)
		{
			it->pause_at = (uint64) matching;
			so->budget_pause = true;
		}
		return;
	}
	oldcxt = MemoryContextSwitchTo(so->querycxt);
	if (so->list == NULL && !filter_list(so))
	{
		MemoryContextSwitchTo(oldcxt);
		return;
	}
	ereport(DEBUG1,
			(errmsg("n2 index scan: %llu of the first %llu index elements visited match the filter; %s the %lld that do",
					(unsigned long long) it->nmatched,
					(unsigned long long) it->nvisited,
					so->nlist <= max_read ? "reading" : "walking only",
					(long long) so->nlist)));
	if (so->nlist <= max_read)
	{
		n2_iter_free(it);
		so->it_valid = false;
		list_pass_setup(so);
		MemoryContextSwitchTo(oldcxt);
		return;
	}
	nseeds = (int) Min(so->nlist, (int64) N2_FILTER_SEEDS);
	seeds = palloc(sizeof(N2Ref) * nseeds);
	for (int i = 0; i < nseeds; i++)
		seeds[i] = so->list[(int64) i * so->nlist / nseeds];
	it->member = list_contains;
	it->member_arg = so;
	if (!n2_iter_add_seeds(it, seeds, nseeds))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	pfree(seeds);
	MemoryContextSwitchTo(oldcxt);
}

/* Remembers a node the walk yields in strict order, if at the top distance. */
static void
note_yield(N2ScanOpaque so, N2Candidate c)
{
	if (so->nties == 0 || c.dist != so->tie_dist)
	{
		so->tie_dist = c.dist;
		so->nties = 0;
	}
	if (so->nties == so->tiecap)
	{
		so->tiecap *= 2;
		so->ties = repalloc(so->ties, sizeof(N2Ref) * so->tiecap);
	}
	so->ties[so->nties++] = c.ref;
}

/* The walk's next node, the one certain_order took first if it did. */
static bool
walk_next(N2ScanOpaque so, N2Candidate *c)
{
	N2Ahead		ahead = so->ahead;

	so->ahead = N2_AHEAD_NONE;
	if (ahead == N2_AHEAD_NODE)
		*c = so->ahead_node;
	else if (ahead == N2_AHEAD_NONE)
		return n2_iter_next(&so->it, c);
	return ahead == N2_AHEAD_NODE;
}

/*
 * Whether the executor may skip the recheck of the walk's node just loaded,
 * a single row whose operator distance lies in [so->dist, so->ub]: when
 * every row returned before has an upper bound below so->dist, and the next
 * node of the walk (whose bound, the walk being in order, no later row's
 * undercuts) a lower bound above so->ub.  Reported at so->dist, the row then
 * sorts after the rows before it and before the rows after it, as its exact
 * distance would, and its vector need not be read from the table.
 */
static bool
certain_order(N2ScanOpaque so)
{
	double		next;

	if (so->ntids != 1 || so->max_ub >= so->dist)
		return false;
	if (so->ahead == N2_AHEAD_NONE)
		so->ahead = n2_iter_next(&so->it, &so->ahead_node) ?
			N2_AHEAD_NODE : N2_AHEAD_END;
	if (so->ahead != N2_AHEAD_NODE)
		return false;
	next = so->ahead_node.dist;
	if (so->params.metric == N2_METRIC_L2)
		next = sqrt(next);
	return so->ub < next;
}

/* The next element of the exact finish; false when it is done. */
static bool
sweep_next(N2ScanOpaque so, N2Candidate *c)
{
	while (!n2_sweep_next(&so->sweep, c))
	{
		if (so->npasses > 0 && !n2_sweep_needs_pass(&so->sweep))
			return false;
		sweep_pass(so);
	}
	return true;
}

bool
n2_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	N2ScanOpaque so = (N2ScanOpaque) scan->opaque;

	if (!so->started)
		scan_start(scan);
	if (so->query == NULL)
		return false;

	for (;;)
	{
		N2Candidate c;

		if (so->tidpos < so->ntids)
		{
			scan->xs_heaptid = so->tids[so->tidpos++];
			scan->xs_recheck = false;
			scan->xs_recheckorderby = so->lossy && !so->certain;
			if (so->lossy)
			{
				/*
				 * The exact finish of a query that is not finite orders by
				 * distances to decoded codes, which bound nothing: report
				 * -Infinity, so the executor sorts every row itself.
				 */
				scan->xs_orderbyvals[0] = Float8GetDatum(so->exact ?
														 -get_float8_infinity() :
														 so->dist);
				scan->xs_orderbynulls[0] = false;
			}
			if (so->sd_registered)
			{
				/*
				 * A bounded list pass sums by blocks, in another order than
				 * the operator: its distance may differ in the last bits, so
				 * the projection computes its own.
				 */
				so->sd.tid = scan->xs_heaptid;
				so->sd.dist = so->dist;
				so->sd.valid = !(so->list_pass && so->list_bounded);
			}
			return true;
		}
		CHECK_FOR_INTERRUPTS();
		if (so->sweeping)
		{
			if (!sweep_next(so, &c))
				return false;
		}
		else if (!walk_next(so, &c))
		{
			if (so->it.paused)
			{
				so->it.paused = false;
				probe_decide(so);
				continue;
			}
			if (!sweep_begin(so))
				return false;
			continue;
		}
		else if (so->it.stop_at_bound)
			note_yield(so, c);
		if (so->exact)
			so->dist = exact_distance(c.dist);
		else if (so->params.metric == N2_METRIC_L2)
			so->dist = sqrt((double) c.dist);
		else
			so->dist = c.dist;
		load_tids(so, c.ref);
		so->certain = false;
		if (so->certify && !so->sweeping && so->ntids > 0)
		{
			so->certain = certain_order(so);
			so->max_ub = Max(so->max_ub, so->ub);
		}
	}
}

void
n2_endscan(IndexScanDesc scan)
{
	N2ScanOpaque so = (N2ScanOpaque) scan->opaque;

	scan_reset(so);
	MemoryContextDelete(so->cxt);
	pfree(so);
	scan->opaque = NULL;
}
