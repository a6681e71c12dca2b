/*
 * Copyright (c) 2025-2026, the n2 developers
 * pagegraph.c
 *		The page-backed graph the core searches (N2GraphOps over index
 *		pages): pinning through a per-backend hint of where pages sit in
 *		shared buffers, element and vector reads, neighbour lists, and
 *		distance batches with their prefetch pipeline, on the buffers or on
 *		a scan's page copies (pagecopy.c).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "filter.h"
#include "n2.h"

/*
 * The hardware's cache line.  PG_CACHE_LINE_SIZE (128) is PostgreSQL's
 * padding unit: prefetching at that stride would skip every other line.
 */
#define N2_LINE_BYTES 64

/*
 * What a distance reads of a tuple is prefetched a batch at once when it
 * spans at most this many lines (copies_batch): 16 nodes' then fill a third
 * of a 32 kB first-level cache.
 */
#define N2_BATCH_LINES 10

void
n2_page_graph_init(N2PageGraph *pg, Relation index, const N2Params *p,
				   const float *query)
{
	pg->index = index;
	pg->params = p;
	pg->query = query;
	pg->vecbuf = palloc(sizeof(float) * Max(p->dims, 1));
	pg->buf = InvalidBuffer;
	pg->copies = false;
	pg->links0_bytes = (Size) p->link_bytes * n2_links_count(p, 0);
	pg->batch_lines = (N2_ELEMENT_HEADER + TYPEALIGN(4, n2_code_bytes(p, p->dims)) +
					   N2_LINE_BYTES - 1) / N2_LINE_BYTES + 1;
	if (pg->batch_lines > N2_BATCH_LINES ||
		RelationGetNumberOfAttributes(index) > 1)
		pg->batch_lines = 0;
	pg->nvisited = 0;
	pg->lower_bounds = false;
	pg->qnorm = 0.0f;
	pg->filter = NULL;
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
	return n2_page_tuple(BufferGetPage(pg->buf), n2_ref_offset(ref),
						 N2_TUPLE_ELEMENT);
}

/*
 * The element's whole vector, decoded.  Narrow float4 vectors are returned
 * in place (valid while the page stays locked); others are assembled in
 * pg->vecbuf, which reads their continuation pages with the element's page
 * still locked: the chain is written before the element becomes reachable
 * and never changes.
 */
const float *
n2_element_vector(N2PageGraph *pg, N2ElementTuple et)
{
	ItemPointerData next;
	int			have;

	if (et->ninline >= pg->params->dims &&
		pg->params->storage == N2_STORAGE_FLOAT4)
		return N2ElementVector(et);

	n2_decode_element_code(pg->params, et, pg->vecbuf);
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
		vc = n2_page_tuple(page, ItemPointerGetOffsetNumber(&next), N2_TUPLE_VECTOR);
		if (vc == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("n2 index \"%s\" has a broken vector chain at (%u,%u)",
							RelationGetRelationName(pg->index),
							ItemPointerGetBlockNumber(&next),
							ItemPointerGetOffsetNumber(&next))));
		take = Min(vc->ndims, pg->params->dims - have);
		n2_decode_chunk_code(pg->params, vc, have, pg->vecbuf + have);
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

/* The level's links of the element ref names on page, at most max. */
static int
element_links(N2PageGraph *pg, Page page, N2Ref ref, int level, N2Ref *out,
			  int max)
{
	N2ElementTuple et = n2_page_tuple(page, n2_ref_offset(ref),
									  N2_TUPLE_ELEMENT);

	if (et == NULL || et->level < level)
		return 0;
	return n2_links_refs(pg->params, et, n2_links_start(pg->params, level),
						 n2_links_cap(pg->params, level), out, max);
}

static int
page_graph_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	N2PageGraph *pg = (N2PageGraph *) ctx;
	Page		page = NULL;
	int			n;

	if (pg->copies)
		page = n2_page_copy(pg->index, n2_ref_block(ref));
	if (page != NULL)
		return element_links(pg, page, ref, level, out, max);
	n2_page_graph_read(pg, n2_ref_block(ref));
	LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
	n = element_links(pg, BufferGetPage(pg->buf), ref, level, out, max);
	LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
	return n;
}

/*
 * Distances to a batch of nodes, N2_DISTANCE_BATCH at a time.  A visit is
 * mostly cache misses on a random page: its hint slot, its buffer header,
 * its line pointer, the tuple, each address known only once the one before
 * has arrived.  So the batch goes in stages that each start the next stage's
 * misses for every node before waiting on any: the hint slots; the headers
 * and line pointers where the hints say the pages are; the first lines of
 * the tuples those line pointers name; then, node by node, pin, compare and
 * unpin, while the whole tuple two nodes ahead loads.  Only the last stage
 * relies on what it reads: the earlier ones read unpinned pages, where a
 * stale hint or line pointer just prefetches the wrong lines.  The batch
 * goes in page order, so nodes on one page (the build puts linked nodes
 * together, core/order.c) share one pin and one lock.  One page is pinned at
 * a time, so the backend's few fast pin slots never overflow.
 */
#define N2_DISTANCE_BATCH 16

/* At most this much of a tuple is prefetched whole (a 784-d float4 one). */
#define N2_PREFETCH_LINES 64

/*
 * Starts loading the lines of the tuple the line pointer at off names, up to
 * lines of them, less its last trim bytes.  The page need not be pinned:
 * whatever it holds, nothing is read outside it.  Always inlined: GCC splits
 * a static helper whose only effect is a prefetch into a part it deems free
 * of side effects, then drops the calls to that part.
 */
static pg_attribute_always_inline void
prefetch_tuple(Page page, OffsetNumber off, Size trim, int lines)
{
	ItemId		lp;
	Size		start;
	Size		len;

	if (off < FirstOffsetNumber ||
		off > (BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData))
		return;
	lp = PageGetItemId(page, off);
	start = ItemIdGetOffset(lp);
	len = ItemIdGetLength(lp);
	len = Min(len > trim ? len - trim : len, (Size) lines * N2_LINE_BYTES);
	if (start + len > BLCKSZ)
		return;
	for (uintptr_t a = (uintptr_t) page + start; a < (uintptr_t) page + start + len;
		 a = (a | (N2_LINE_BYTES - 1)) + 1)
		__builtin_prefetch((char *) a);
}

/*
 * The distance from pg->query to the element at off on page (infinity when
 * off names none: a stale link), and whether it is live and passes the
 * filter.
 */
static inline void
evaluate_node(N2PageGraph *pg, Page page, OffsetNumber off, float *out,
			  bool *ok)
{
	N2ElementTuple et = n2_page_tuple(page, off, N2_TUPLE_ELEMENT);

	*out = et != NULL ? n2_element_distance(pg, et) : INFINITY;
	if (ok != NULL)
		*ok = et != NULL && !(et->flags & N2_ELEMENT_DELETED) &&
			n2_filter_match(pg->filter, N2ElementKeys(et), et->keylen);
	pg->nvisited++;
}

static void
distances_batch(N2PageGraph *pg, const N2Ref *refs, int n, float *out,
				bool *ok)
{
	Relation	index = pg->index;
	N2RecentBuffer *slots[N2_DISTANCE_BATCH];
	Buffer		hints[N2_DISTANCE_BATCH];
	Buffer		buf = InvalidBuffer;
	N2Ref		sorted[N2_DISTANCE_BATCH];
	int			pos[N2_DISTANCE_BATCH];

	Assert(n <= N2_DISTANCE_BATCH);

	/* refs order by block, then offset; pos[i] is where sorted[i] came from */
	for (int i = 0; i < n; i++)
	{
		int			j = i;

		for (; j > 0 && sorted[j - 1] > refs[i]; j--)
		{
			sorted[j] = sorted[j - 1];
			pos[j] = pos[j - 1];
		}
		sorted[j] = refs[i];
		pos[j] = i;
	}
	refs = sorted;

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
						   n2_ref_offset(refs[i]), 0, 2);
	}
	for (int i = 0; i < n; i++)
	{
		BlockNumber blkno = n2_ref_block(refs[i]);
		OffsetNumber off = n2_ref_offset(refs[i]);
		Page		page;

		if (!BufferIsValid(buf))
		{
			buf = read_hinted(index, blkno, slots[i], hints[i]);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
		}
		page = BufferGetPage(buf);
		/* the tuple two nodes ahead; at the start, the next two */
		for (int k = (i == 0 ? 1 : i + 2); k <= i + 2 && k < n; k++)
		{
			if (BufferIsValid(hints[k]))
				prefetch_tuple((Page) BufferGetBlock(hints[k]),
							   n2_ref_offset(refs[k]), pg->links0_bytes,
							   N2_PREFETCH_LINES);
		}
		evaluate_node(pg, page, off, &out[pos[i]], ok != NULL ? &ok[pos[i]] : NULL);

		/* the next node on the same page keeps the pin and the lock */
		if (i + 1 == n || n2_ref_block(refs[i + 1]) != blkno)
		{
			UnlockReleaseBuffer(buf);
			buf = InvalidBuffer;
		}
	}
}

/*
 * Starts loading lines cache lines from the start of the tuple the line
 * pointer at off names: as many for every tuple of a scan, so that the loop
 * always runs the same count, where a count from the tuple's length and
 * alignment would keep the branch predictor guessing.
 */
static pg_attribute_always_inline void
prefetch_lines(Page page, OffsetNumber off, int lines)
{
	uintptr_t	a;

	if (off < FirstOffsetNumber ||
		off > (BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData))
		return;
	a = ((uintptr_t) page + ItemIdGetOffset(PageGetItemId(page, off))) &
		~(uintptr_t) (N2_LINE_BYTES - 1);
	for (int l = 0; l < lines; l++)
		__builtin_prefetch((char *) a + l * N2_LINE_BYTES);
}

/*
 * distances_batch on the scan's page copies (pagecopy.c): the batch's pages
 * are copied first where the scan has no copy yet and every node's line
 * pointer starts loading.  Then what a distance reads of each tuple starts
 * loading: with short tuples and no filter keys, pg->batch_lines lines for
 * every node at once; else each tuple's first lines, and the rest, all but
 * its level-0 links, two nodes ahead while a node is evaluated (a batch of
 * long tuples would not fit the first-level cache).  A node whose page finds
 * no room is read from its buffer.
 */
static void
copies_batch(N2PageGraph *pg, const N2Ref *refs, int n, float *out, bool *ok)
{
	Page		pages[N2_DISTANCE_BATCH];
	Size		trim = pg->links0_bytes;
	int			lines = pg->batch_lines;
	bool		ahead = lines == 0;

	Assert(n <= N2_DISTANCE_BATCH);
	for (int i = 0; i < n; i++)
	{
		pages[i] = n2_page_copy(pg->index, n2_ref_block(refs[i]));
		if (pages[i] != NULL)
			__builtin_prefetch(PageGetItemId(pages[i], n2_ref_offset(refs[i])));
	}
	for (int i = 0; i < n; i++)
	{
		if (pages[i] == NULL)
			continue;
		if (ahead)
			prefetch_tuple(pages[i], n2_ref_offset(refs[i]), 0, 2);
		else
			prefetch_lines(pages[i], n2_ref_offset(refs[i]), lines);
	}
	for (int i = 0; i < n; i++)
	{
		if (ahead && i + 2 < n && pages[i + 2] != NULL)
			prefetch_tuple(pages[i + 2], n2_ref_offset(refs[i + 2]), trim,
						   N2_PREFETCH_LINES);
		if (pages[i] != NULL)
			evaluate_node(pg, pages[i], n2_ref_offset(refs[i]), &out[i],
						  ok != NULL ? &ok[i] : NULL);
		else
			distances_batch(pg, refs + i, 1, out + i, ok != NULL ? ok + i : NULL);
	}
}

/* Distances to n nodes, and with ok whether each passes pg->filter. */
static void
graph_distances(N2PageGraph *pg, const N2Ref *refs, int n, float *out,
				bool *ok)
{
	for (int i = 0; i < n; i += N2_DISTANCE_BATCH)
	{
		int			take = Min(N2_DISTANCE_BATCH, n - i);
		bool	   *batch_ok = ok != NULL ? ok + i : NULL;

		if (pg->copies)
			copies_batch(pg, refs + i, take, out + i, batch_ok);
		else
			distances_batch(pg, refs + i, take, out + i, batch_ok);
	}
}

static void
page_graph_distances(void *ctx, const N2Ref *refs, int n, float *out)
{
	N2PageGraph *pg = (N2PageGraph *) ctx;

	/* the hint slots of later batches load while earlier ones are computed */
	for (int i = N2_DISTANCE_BATCH; i < n && !pg->copies; i++)
		__builtin_prefetch(recent_slot(pg->index, n2_ref_block(refs[i])));
	graph_distances(pg, refs, n, out, NULL);
}

/* The same, and whether each node passes pg->filter (filter.c). */
static void
page_graph_distances_match(void *ctx, const N2Ref *refs, int n, float *out,
						   bool *ok)
{
	N2PageGraph *pg = (N2PageGraph *) ctx;

	for (int i = N2_DISTANCE_BATCH; i < n && !pg->copies; i++)
		__builtin_prefetch(recent_slot(pg->index, n2_ref_block(refs[i])));
	graph_distances(pg, refs, n, out, ok);
}

/*
 * A scan's walk can be long (a filter few nodes near the query pass): it
 * takes a cancel at each node it expands, holding no buffer lock.  Inserts
 * and VACUUM use the plain ops, so that no step of theirs ends half-way.
 */
static int
page_graph_scan_neighbors(void *ctx, N2Ref ref, int level, N2Ref *out, int max)
{
	CHECK_FOR_INTERRUPTS();
	return page_graph_neighbors(ctx, ref, level, out, max);
}

const N2GraphOps n2_page_graph_ops = {
	page_graph_neighbors,
	page_graph_distances,
	NULL,
	NULL
};

const N2GraphOps n2_page_graph_scan_ops = {
	page_graph_scan_neighbors,
	page_graph_distances,
	NULL,
	NULL
};

const N2GraphOps n2_page_graph_filtered_ops = {
	page_graph_scan_neighbors,
	page_graph_distances,
	page_graph_distances_match,
	NULL
};

/*
 * The ef nodes nearest to pg->query on level: greedy descent from the entry
 * point, then a beam search.  Returns how many, sorted, in out (room for ef).
 */
int
n2_search_level(N2PageGraph *pg, N2Search *search, ItemPointer entry,
				int top, int level, int ef, N2Candidate *out)
{
	N2Candidate ep;
	int			n;

	if (!ItemPointerIsValid(entry))
		return 0;
	ep.ref = n2_tid_to_ref(entry);
	n2_page_graph_ops.distances(pg, &ep.ref, 1, &ep.dist);
	for (int l = top; l > level; l--)
		ep = n2_search_greedy(search, &n2_page_graph_ops, pg, ep, l);
	n = n2_search_layer(search, &n2_page_graph_ops, pg, &ep, 1, ef, level, out);
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	return n;
}
