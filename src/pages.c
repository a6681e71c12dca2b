/*
 * Copyright (c) 2025-2026, the n2 developers
 * pages.c
 *		Page and tuple access: metapage, tuple geometry, column values to
 *		float vectors, a walk over every live element, and the page-backed
 *		graph the core searches.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/graph.h"
#include "n2.h"
#include "vector.h"

void
n2_init_page(Page page, uint16 flags)
{
	N2PageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(N2PageOpaqueData));
	opaque = N2PageGetOpaque(page);
	opaque->flags = flags;
	opaque->page_id = N2_PAGE_ID;
}

void
n2_init_meta(Page page, const N2Params *p, uint64 seed)
{
	N2MetaPage meta;

	n2_init_page(page, N2_PAGE_META);
	meta = N2PageGetMeta(page);
	memset(meta, 0, sizeof(N2MetaPageData));
	meta->magic = N2_MAGIC;
	meta->version = N2_FORMAT_VERSION;
	meta->dims = p->dims;
	meta->metric = (uint8) p->metric;
	meta->select = (uint8) p->select;
	meta->merge_level0 = p->merge_level0 ? 1 : 0;
	meta->m = p->m;
	meta->max_m0 = p->max_m0;
	meta->ef_construction = p->ef_construction;
	meta->mult = p->mult;
	ItemPointerSetInvalid(&meta->entry);
	meta->max_level = -1;
	meta->insert_page = InvalidBlockNumber;
	meta->seed = seed;
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(N2MetaPageData)) - (char *) page;
}

/*
 * Refuses an index this build cannot read: not n2's, or written in another
 * on-disk format.  magic and version lead the metapage in every format, so
 * they can be checked before anything else is trusted.
 */
static void
n2_check_meta(Relation index, const N2MetaPageData *meta)
{
	if (meta->magic != N2_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not an n2 index",
						RelationGetRelationName(index))));
	if (meta->version != N2_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("index \"%s\" has n2 on-disk format version %u, this n2 needs version %u",
						RelationGetRelationName(index), meta->version,
						N2_FORMAT_VERSION),
				 errhint("REINDEX INDEX %s",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(index)),
													RelationGetRelationName(index)))));
}

/*
 * Copies the metapage, checking that this is an n2 index in the format this
 * build reads.  Every path that reads or changes an index calls this first.
 */
void
n2_read_meta(Relation index, N2MetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	memcpy(meta, N2PageGetMeta(page), sizeof(N2MetaPageData));
	UnlockReleaseBuffer(buf);
	n2_check_meta(index, meta);
}

void
n2_params_from_meta(Relation index, const N2MetaPageData *meta, N2Params *p)
{
	p->metric = (N2Metric) meta->metric;
	p->dims = meta->dims;
	p->m = meta->m;
	p->max_m0 = meta->max_m0;
	p->ef_construction = meta->ef_construction;
	p->mult = meta->mult;
	p->select = (N2SelectMethod) meta->select;
	p->merge_level0 = meta->merge_level0 != 0;
	p->is_array = n2_index_is_array(index);
}

/*
 * Size of an element tuple on the given level.  The vector sits inline when
 * the whole tuple fits on a page; otherwise the inline part fills the page
 * and the rest goes to vector continuation tuples.
 */
Size
n2_element_size(const N2Params *p, int level, int *ninline)
{
	Size		fixed = N2_ELEMENT_HEADER + sizeof(ItemPointerData) * n2_links_count(p, level);
	int			room = (int) ((N2_MAX_TUPLE_SIZE - fixed) / sizeof(float));

	*ninline = Min(p->dims, room);
	return fixed + sizeof(float) * (*ninline);
}

/*
 * The highest level an element may have: its links must leave room in a
 * page for at least part of its vector.  Levels drawn above it are capped
 * (they are only reached with tiny m and huge mult).
 */
int
n2_max_level(const N2Params *p)
{
	Size		room = N2_MAX_TUPLE_SIZE - N2_ELEMENT_HEADER -
		sizeof(float) * Min(p->dims, 16) -
		sizeof(ItemPointerData) * p->max_m0;
	int			level = (int) (room / (sizeof(ItemPointerData) * p->m));

	return Min(level, N2_MAX_LEVEL);
}

Size
n2_vector_chunk_size(int nfloats)
{
	return N2_VECTOR_CHUNK_HEADER + sizeof(float) * nfloats;
}

Size
n2_tid_chunk_size(int capacity)
{
	return offsetof(N2TidChunkData, tids) + sizeof(ItemPointerData) * capacity;
}

bool
n2_vector_is_finite(const float *v, int dims)
{
	for (int i = 0; i < dims; i++)
	{
		if (isnan(v[i]) || isinf(v[i]))
			return false;
	}
	return true;
}

/*
 * A column value as a palloc'd float array of *dims elements, normalised
 * for angular.  p->dims, when set, is the dimension every value must have.
 */
float *
n2_datum_to_vector(Relation index, Datum value, const N2Params *p, int *dims)
{
	float	   *result;
	int			n;

	if (p->is_array)
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);

		if (ARR_NDIM(arr) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("n2 index \"%s\" needs one-dimensional arrays, got %d dimensions",
							RelationGetRelationName(index), ARR_NDIM(arr))));
		if (ARR_HASNULL(arr) && array_contains_nulls(arr))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain nulls")));
		n = ARR_DIMS(arr)[0];
		if (n < 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("n2 index \"%s\" cannot index an empty array",
							RelationGetRelationName(index))));
		if (n > N2_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("array has %d elements; n2 indexes at most %d dimensions",
							n, N2_MAX_DIM)));
		result = palloc(sizeof(float) * n);
		memcpy(result, ARR_DATA_PTR(arr), sizeof(float) * n);
		if (!n2_vector_is_finite(result, n))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("n2 index \"%s\" cannot index NaN or infinite values",
							RelationGetRelationName(index))));
	}
	else
	{
		Vector	   *v = DatumGetVector(value);

		n = v->dim;
		if (n > N2_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("vector has %d dimensions; n2 indexes at most %d",
							n, N2_MAX_DIM)));
		result = palloc(sizeof(float) * n);
		memcpy(result, v->x, sizeof(float) * n);
	}

	if (p->dims > 0 && n != p->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", p->dims, n),
				 errdetail("Index \"%s\" holds %d-dimensional vectors.",
						   RelationGetRelationName(index), p->dims)));
	if (p->metric == N2_METRIC_ANGULAR)
		n2_normalize(result, n);
	*dims = n;
	return result;
}

/*
 * Calls visit for every live element of the index in physical order, with
 * its page share-locked.  Before each page it honours cancel requests, and
 * in VACUUM also the cost-based delay.
 */
void
n2_for_each_element(Relation index, BufferAccessStrategy strategy,
					bool in_vacuum, N2ElementVisitor visit, void *arg)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	for (BlockNumber blkno = N2_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		if (in_vacuum)
			vacuum_delay_point();
		else
			CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageIsNew(page) ? InvalidOffsetNumber : PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			N2ElementTuple et = n2_page_live_element(page, off);

			if (et != NULL)
				visit(arg, n2_ref(blkno, off), et);
		}
		UnlockReleaseBuffer(buf);
	}
}

/* The element at off on a locked page, or NULL if off holds no live one. */
N2ElementTuple
n2_page_live_element(Page page, OffsetNumber off)
{
	ItemId		iid = PageGetItemId(page, off);
	N2ElementTuple et;

	if (!ItemIdIsNormal(iid))
		return NULL;
	et = (N2ElementTuple) PageGetItem(page, iid);
	if (et->type != N2_TUPLE_ELEMENT || (et->flags & N2_ELEMENT_DELETED))
		return NULL;
	return et;
}

/*
 * The TID chunk tid names on a locked page.  A TID chain only ever names
 * chunks, so anything else is a broken index: an error.
 */
N2TidChunk
n2_page_tid_chunk(Relation index, Page page, ItemPointer tid)
{
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	N2TidChunk	tc = NULL;

	if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) &&
		ItemIdIsNormal(PageGetItemId(page, off)))
		tc = (N2TidChunk) PageGetItem(page, PageGetItemId(page, off));
	if (tc == NULL || tc->type != N2_TUPLE_TIDS)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("n2 index \"%s\" has a broken TID chain at (%u,%u)",
						RelationGetRelationName(index),
						ItemPointerGetBlockNumber(tid), off)));
	return tc;
}

/*
 * Walks the TID chain that starts at next, one chunk at a time:
 *
 *		n2_tid_chain_begin(&it, index, ebuf, et->tidchain);
 *		while ((tc = n2_tid_chain_next(&it)) != NULL)
 *			... tc, its page share-locked until the next call ...
 *		n2_tid_chain_end(&it);
 *
 * ebuf is the element's buffer, share-locked by the caller, who keeps it so
 * throughout: VACUUM deletes an element before its chain, so no chunk of it
 * is deleted, and its slot reused, during the walk.  Chunks on the
 * element's own page are read there, others locked one at a time.
 */
void
n2_tid_chain_begin(N2TidChainIter *it, Relation index, Buffer ebuf,
				   ItemPointerData next)
{
	it->index = index;
	it->ebuf = ebuf;
	it->next = next;
	it->cbuf = InvalidBuffer;
}

N2TidChunk
n2_tid_chain_next(N2TidChainIter *it)
{
	BlockNumber blkno;
	Buffer		buf;
	N2TidChunk	tc;

	n2_tid_chain_end(it);
	if (!ItemPointerIsValid(&it->next))
		return NULL;
	blkno = ItemPointerGetBlockNumber(&it->next);
	if (blkno == BufferGetBlockNumber(it->ebuf))
		buf = it->ebuf;
	else
	{
		buf = it->cbuf = n2_read_buffer(it->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
	}
	tc = n2_page_tid_chunk(it->index, BufferGetPage(buf), &it->next);
	it->next = tc->next;
	return tc;
}

/* Releases the chunk the walk last returned (not the element's page). */
void
n2_tid_chain_end(N2TidChainIter *it)
{
	if (BufferIsValid(it->cbuf))
		UnlockReleaseBuffer(it->cbuf);
	it->cbuf = InvalidBuffer;
}

/* The page-backed graph */

void
n2_page_graph_init(N2PageGraph *pg, Relation index, const N2Params *p,
				   const float *query)
{
	pg->index = index;
	pg->params = p;
	pg->query = query;
	pg->vecbuf = palloc(sizeof(float) * Max(p->dims, 1));
	pg->buf = InvalidBuffer;
	pg->nvisited = 0;
}

void
n2_page_graph_release(N2PageGraph *pg)
{
	if (BufferIsValid(pg->buf))
		ReleaseBuffer(pg->buf);
	pg->buf = InvalidBuffer;
}

/*
 * Where index pages were last seen in shared buffers, per backend.  A hit
 * lets ReadRecentBuffer pin the page without a buffer mapping lookup, which
 * otherwise costs a hash probe under a partition lock per visited node.  The
 * hint may be stale; ReadRecentBuffer checks the tag before pinning.
 */
#define N2_RECENT_SLOTS 65536

typedef struct N2RecentBuffer
{
	Oid			relnode;		/* with blkno, a hint; the tag is rechecked */
	BlockNumber blkno;
	Buffer		buf;
} N2RecentBuffer;

static N2RecentBuffer *recent_buffers;

/* The hint slot of blkno, or NULL for a temporary index (local buffers). */
static inline N2RecentBuffer *
recent_slot(Relation index, BlockNumber blkno)
{
	if (RelationUsesLocalBuffers(index))
		return NULL;
	if (recent_buffers == NULL)
		recent_buffers = MemoryContextAllocZero(TopMemoryContext,
												sizeof(N2RecentBuffer) * N2_RECENT_SLOTS);
	return &recent_buffers[(blkno ^ (index->rd_node.relNode * 0x9E3779B1U)) &
						   (N2_RECENT_SLOTS - 1)];
}

/* The buffer slot last saw blkno in, or InvalidBuffer. */
static inline Buffer
recent_hint(N2RecentBuffer *slot, Relation index, BlockNumber blkno)
{
	if (slot != NULL && slot->blkno == blkno &&
		slot->relnode == index->rd_node.relNode)
		return slot->buf;
	return InvalidBuffer;
}

/* Pins blkno, trying the hint first and recording where it was found. */
static Buffer
read_hinted(Relation index, BlockNumber blkno, N2RecentBuffer *slot, Buffer hint)
{
	Buffer		buf;

	if (BufferIsValid(hint) &&
		ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blkno, hint))
		return hint;
	buf = ReadBuffer(index, blkno);
	if (slot != NULL)
	{
		slot->relnode = index->rd_node.relNode;
		slot->blkno = blkno;
		slot->buf = buf;
	}
	return buf;
}

Buffer
n2_read_buffer(Relation index, BlockNumber blkno)
{
	N2RecentBuffer *slot = recent_slot(index, blkno);

	return read_hinted(index, blkno, slot, recent_hint(slot, index, blkno));
}

/* Pins blkno (reusing the last pin when it is the same page); not locked. */
Page
n2_page_graph_read(N2PageGraph *pg, BlockNumber blkno)
{
	if (!BufferIsValid(pg->buf) || BufferGetBlockNumber(pg->buf) != blkno)
	{
		if (BufferIsValid(pg->buf))
			ReleaseBuffer(pg->buf);
		pg->buf = n2_read_buffer(pg->index, blkno);
	}
	return BufferGetPage(pg->buf);
}

/*
 * The element tuple ref names, on the pinned page, which the caller has
 * locked; NULL when ref no longer names an element (a stale link).
 */
N2ElementTuple
n2_page_graph_element(N2PageGraph *pg, N2Ref ref)
{
	Page		page = BufferGetPage(pg->buf);
	OffsetNumber off = n2_ref_offset(ref);
	ItemId		iid;
	N2ElementTuple et;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	iid = PageGetItemId(page, off);
	if (!ItemIdIsNormal(iid))
		return NULL;
	et = (N2ElementTuple) PageGetItem(page, iid);
	if (et->type != N2_TUPLE_ELEMENT)
		return NULL;
	return et;
}

/*
 * The element's whole vector.  Narrow vectors are returned in place (valid
 * while the page stays locked); wide ones are assembled in pg->vecbuf, which
 * reads their continuation pages with the element's page still locked: the
 * chain is written before the element becomes reachable and never changes.
 */
const float *
n2_element_vector(N2PageGraph *pg, N2ElementTuple et)
{
	ItemPointerData next;
	int			have;

	if (et->ninline >= pg->params->dims)
		return N2ElementVector(et);

	memcpy(pg->vecbuf, N2ElementVector(et), sizeof(float) * et->ninline);
	have = et->ninline;
	next = et->vecnext;
	while (have < pg->params->dims && ItemPointerIsValid(&next))
	{
		Buffer		buf = n2_read_buffer(pg->index, ItemPointerGetBlockNumber(&next));
		Page		page;
		N2VectorChunk vc;
		int			take;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		vc = (N2VectorChunk) PageGetItem(page, PageGetItemId(page, ItemPointerGetOffsetNumber(&next)));
		if (vc->type != N2_TUPLE_VECTOR)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("n2 index \"%s\" has a broken vector chain at (%u,%u)",
							RelationGetRelationName(pg->index),
							ItemPointerGetBlockNumber(&next),
							ItemPointerGetOffsetNumber(&next))));
		take = Min(vc->nfloats, pg->params->dims - have);
		memcpy(pg->vecbuf + have, N2VectorChunkFloats(vc), sizeof(float) * take);
		have += take;
		next = vc->next;
		UnlockReleaseBuffer(buf);
	}
	if (have < pg->params->dims)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("n2 index \"%s\" has a truncated vector chain",
						RelationGetRelationName(pg->index))));
	return pg->vecbuf;
}

static int
page_graph_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	N2PageGraph *pg = (N2PageGraph *) ctx;
	N2ElementTuple et;
	int			n = 0;

	n2_page_graph_read(pg, n2_ref_block(ref));
	LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
	et = n2_page_graph_element(pg, ref);
	if (et != NULL && et->level >= level)
	{
		ItemPointer links = N2ElementLinks(et);
		int			start = n2_links_start(pg->params, level);
		int			count = n2_links_cap(pg->params, level);

		for (int i = 0; i < count && n < max; i++)
		{
			if (!ItemPointerIsValid(&links[start + i]))
				break;
			out[n++] = n2_tid_to_ref(&links[start + i]);
		}
	}
	LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
	return n;
}

/*
 * Distances to a batch of nodes, N2_DISTANCE_BATCH at a time.  A visit is
 * mostly cache misses on a random page: its hint slot, its buffer header,
 * its line pointer, the tuple, each address known only once the one before
 * has arrived.  So the batch goes in stages that each start the next stage's
 * misses for every node before waiting on any: the hint slots; the headers
 * and line pointers where the hints say the pages are; the tuples those line
 * pointers name; then, node by node, pin, compare and unpin.  Only the last
 * stage relies on what it reads: the earlier ones read unpinned pages, where
 * a stale hint or line pointer just prefetches the wrong lines.  One page is
 * pinned at a time, so the backend's few fast pin slots never overflow.
 */
#define N2_DISTANCE_BATCH 16

/*
 * Starts loading the first lines of the tuple the line pointer at off names.
 * The page need not be pinned: whatever it holds, nothing is read outside it.
 */
static inline void
prefetch_tuple(Page page, OffsetNumber off, int lines)
{
	Size		start;

	if (off < FirstOffsetNumber ||
		off > (BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData))
		return;
	start = ItemIdGetOffset(PageGetItemId(page, off));
	if (start > BLCKSZ - lines * PG_CACHE_LINE_SIZE)
		return;
	for (int l = 0; l < lines; l++)
		__builtin_prefetch((char *) page + start + l * PG_CACHE_LINE_SIZE);
}

static void
distances_batch(N2PageGraph *pg, const N2Ref *refs, int n, float *out)
{
	const N2Params *p = pg->params;
	Relation	index = pg->index;
	N2RecentBuffer *slots[N2_DISTANCE_BATCH];
	Buffer		hints[N2_DISTANCE_BATCH];
	Buffer		buf = InvalidBuffer;

	Assert(n <= N2_DISTANCE_BATCH);
	for (int i = 0; i < n; i++)
	{
		slots[i] = recent_slot(index, n2_ref_block(refs[i]));
		__builtin_prefetch(slots[i]);
	}
	for (int i = 0; i < n; i++)
	{
		hints[i] = recent_hint(slots[i], index, n2_ref_block(refs[i]));
		if (BufferIsValid(hints[i]))
		{
			__builtin_prefetch(GetBufferDescriptor(hints[i] - 1), 1);
			__builtin_prefetch(PageGetItemId((Page) BufferGetBlock(hints[i]),
											 n2_ref_offset(refs[i])));
		}
	}
	for (int i = 0; i < n; i++)
	{
		if (BufferIsValid(hints[i]))
			prefetch_tuple((Page) BufferGetBlock(hints[i]),
						   n2_ref_offset(refs[i]), 2);
	}
	for (int i = 0; i < n; i++)
	{
		BlockNumber blkno = n2_ref_block(refs[i]);
		OffsetNumber off = n2_ref_offset(refs[i]);
		N2ElementTuple et = NULL;
		Page		page;

		if (!BufferIsValid(buf))
			buf = read_hinted(index, blkno, slots[i], hints[i]);
		page = BufferGetPage(buf);
		if (i + 1 < n && BufferIsValid(hints[i + 1]))
			prefetch_tuple((Page) BufferGetBlock(hints[i + 1]),
						   n2_ref_offset(refs[i + 1]), 8);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) &&
			ItemIdIsNormal(PageGetItemId(page, off)))
		{
			et = (N2ElementTuple) PageGetItem(page, PageGetItemId(page, off));
			if (et->type != N2_TUPLE_ELEMENT)
				et = NULL;
		}
		if (et != NULL)
			out[i] = n2_metric_distance(p->metric, n2_element_vector(pg, et),
										pg->query, p->dims);
		else
			out[i] = INFINITY;
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		pg->nvisited++;

		/* the next node on the same page keeps the pin */
		if (i + 1 == n || n2_ref_block(refs[i + 1]) != blkno)
		{
			ReleaseBuffer(buf);
			buf = InvalidBuffer;
		}
	}
}

static void
page_graph_distances(void *ctx, const N2Ref *refs, int n, float *out)
{
	N2PageGraph *pg = (N2PageGraph *) ctx;

	/* the hint slots of later batches load while earlier ones are computed */
	for (int i = N2_DISTANCE_BATCH; i < n; i++)
		__builtin_prefetch(recent_slot(pg->index, n2_ref_block(refs[i])));
	for (int i = 0; i < n; i += N2_DISTANCE_BATCH)
		distances_batch(pg, refs + i, Min(N2_DISTANCE_BATCH, n - i), out + i);
}

const N2GraphOps n2_page_graph_ops = {
	page_graph_neighbors,
	page_graph_distances
};
