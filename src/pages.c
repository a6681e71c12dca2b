/*
 * Copyright (c) 2025-2026, the n2 developers
 * pages.c
 *		Page and tuple access: page and metapage initialisation, the
 *		metapage, tuple geometry, checked tuple accessors, the TID-chain
 *		walk and a walk over every live element.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "core/graph.h"
#include "filter.h"
#include "n2.h"

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
	N2MetaPage	meta;

	n2_init_page(page, N2_PAGE_META);
	meta = N2PageGetMeta(page);
	memset(meta, 0, sizeof(N2MetaPageData));
	meta->magic = N2_MAGIC;
	meta->version = N2_FORMAT_VERSION;
	meta->dims = p->dims;
	meta->metric = (uint8) p->metric;
	meta->select = (uint8) p->select;
	meta->merge_level0 = p->merge_level0 ? 1 : 0;
	meta->storage = (uint8) p->storage;
	meta->m = p->m;
	meta->max_m0 = p->max_m0;
	meta->ef_construction = p->ef_construction;
	meta->mult = p->mult;
	ItemPointerSetInvalid(&meta->entry);
	meta->max_level = -1;
	meta->insert_page = InvalidBlockNumber;
	meta->seed = seed;
	ItemPointerSetInvalid(&meta->quant);
	Assert(p->link_bytes == 3 || p->link_bytes == 4 || p->link_bytes == 6);
	Assert(p->link_bytes != 3 ||
		   (p->link_offset_bits >= 1 &&
			p->link_offset_bits <= N2_LINK3_MAX_OFFSET_BITS));
	meta->link_bytes = (uint8) p->link_bytes;
	meta->link_offset_bits = p->link_bytes == 3 ? (uint8) p->link_offset_bits : 0;
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
	if (meta->metric > N2_METRIC_L1 || meta->select > N2_SELECT_KEEP_HALF ||
		meta->storage > N2_STORAGE_SQ8)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("n2 index \"%s\" has an unknown metric, neighbour selection or storage (%d, %d, %d) in its metapage",
						RelationGetRelationName(index), meta->metric,
						meta->select, meta->storage)));
	if ((meta->link_bytes != 3 && meta->link_bytes != 4 && meta->link_bytes != 6) ||
		(meta->link_bytes == 3 &&
		 (meta->link_offset_bits < 1 ||
		  meta->link_offset_bits > N2_LINK3_MAX_OFFSET_BITS)))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("n2 index \"%s\" has links of %u bytes (%u offset bits)",
						RelationGetRelationName(index), meta->link_bytes,
						meta->link_offset_bits),
				 errhint("REINDEX the index.")));
}

/*
 * How many blocks an index whose links are link_bytes wide (and, for 3,
 * have offset_bits bits of offset) may have; InvalidBlockNumber, more than
 * any relation has, for 6-byte links.  The test-only GUCs
 * n2.link4_max_blocks and n2.link3_max_blocks lower the 4- and 3-byte ones.
 */
BlockNumber
n2_link_block_limit(int link_bytes, int offset_bits)
{
	BlockNumber limit;
	int			lower;

	if (link_bytes == 4)
	{
		limit = N2_LINK4_BLOCKS;
		lower = n2_link4_max_blocks;
	}
	else if (link_bytes == 3)
	{
		Assert(offset_bits >= 1 && offset_bits <= N2_LINK3_MAX_OFFSET_BITS);
		limit = n2_link3_blocks(offset_bits);
		lower = n2_link3_max_blocks;
	}
	else
		return InvalidBlockNumber;
	return lower > 0 ? Min((BlockNumber) lower, limit) : limit;
}

/* The width to rebuild an index with narrow links with, and its name. */
static int
wider_links(Relation index, int link_bytes, int offset_bits, char **name)
{
	*name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(index)),
									   RelationGetRelationName(index));
	return link_bytes == 3 &&
		n2_link3_blocks(offset_bits) <= N2_LINK4_BLOCKS / 8 ? 4 : 6;
}

/*
 * An index with 4- or 3-byte links that has grown to block blkno, past half
 * of what its links name, warns at every 32nd of that limit, so that it is
 * rebuilt with wider links before inserts fail.
 */
void
n2_warn_link_room(Relation index, int link_bytes, int offset_bits,
				  BlockNumber blkno)
{
	BlockNumber limit;
	BlockNumber step;
	char	   *name;
	int			wider;

	if (link_bytes == 6)
		return;
	limit = n2_link_block_limit(link_bytes, offset_bits);
	step = Max(limit / 32, 1);
	if (blkno < limit / 2 || (blkno - limit / 2) % step != 0)
		return;
	wider = wider_links(index, link_bytes, offset_bits, &name);
	ereport(WARNING,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("n2 index \"%s\" has %u of the %u blocks its %d-byte links can name",
					RelationGetRelationName(index), blkno + 1, limit, link_bytes),
			 errdetail("Inserts that need a block past them will fail."),
			 errhint("Rebuild it with %d-byte links: ALTER INDEX %s SET (link_bytes = %d); REINDEX INDEX CONCURRENTLY %s;",
					 wider, name, wider, name)));
}

/*
 * Refuses to grow an index with 4- or 3-byte links to nblocks blocks when
 * its links could not name them all.  An index with 6-byte links is not
 * limited.  The hint names the next width with room to spare: 4 bytes for
 * a 3-byte index whose limit is at most an eighth of theirs, else 6.
 */
void
n2_check_link_room(Relation index, int link_bytes, int offset_bits,
				   BlockNumber nblocks)
{
	BlockNumber limit;
	int			wider;
	char	   *name;

	if (link_bytes == 6)
		return;
	limit = n2_link_block_limit(link_bytes, offset_bits);
	if (nblocks <= limit)
		return;
	wider = wider_links(index, link_bytes, offset_bits, &name);
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("n2 index \"%s\" cannot grow past %u blocks: its links are %d bytes",
					RelationGetRelationName(index), limit, link_bytes),
			 errhint("Rebuild it with %d-byte links: ALTER INDEX %s SET (link_bytes = %d); REINDEX INDEX %s;",
					 wider, name, wider, name)));
}

/*
 * The offset bits 3-byte links need in an index with parameters p, or 0
 * when it cannot have them.  A link's offset must name every line pointer a
 * page holding elements can ever have.  PageAddItem reuses an unused line
 * pointer before it adds one, so a page never has more line pointers than
 * tuples it held at once, and that is bounded by the smallest tuple such a
 * page can hold: a level-0 element without keys, a TID chunk (always
 * written at full capacity), or sq8's last quantizer tuple.  Vector chunks
 * (the rest of a vector too wide for its element) can be as small as one
 * dimension, so an index where any element could be too wide (at the
 * highest level n2_max_level allows, with the largest keys its filter
 * columns allow) cannot have 3-byte links; nor can one whose dimensions
 * are not yet known (a real[] column, or a vector column without a
 * dimension, before its first row).  Key directory pages hold no elements,
 * so no link names them.
 */
int
n2_link3_offset_bits_for(Relation index, const N2Params *p)
{
	N2Params	q = *p;
	int			ninline;
	Size		smallest;
	Size		quant;
	int			maxkeylen;
	uint32		maxtuples;

	if (p->dims <= 0)
		return 0;
	q.link_bytes = 3;
	maxkeylen = IndexRelationGetNumberOfKeyAttributes(index) > 1 ? N2_MAX_KEYLEN : 0;
	(void) n2_element_size(&q, n2_max_level(&q), maxkeylen, &ninline);
	if (ninline < p->dims)
		return 0;
	smallest = MAXALIGN(n2_element_size(&q, 0, 0, &ninline));
	smallest = Min(smallest, MAXALIGN(n2_tid_chunk_size(N2_TID_CHUNK_CAPACITY)));
	quant = n2_storage_smallest_tuple(&q);
	if (quant > 0)
		smallest = Min(smallest, MAXALIGN(quant));
	maxtuples = (BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(N2PageOpaqueData))) /
		(smallest + sizeof(ItemIdData));
	Assert(maxtuples >= 1 && maxtuples <= N2_MAX_PAGE_TUPLES);
	return n2_link3_offset_bits(maxtuples);
}

/* Copies the metapage as it is; returns its LSN. */
static XLogRecPtr
read_meta_page(Relation index, N2MetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, N2_METAPAGE_BLKNO);
	XLogRecPtr	lsn;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(meta, N2PageGetMeta(BufferGetPage(buf)), sizeof(N2MetaPageData));
	lsn = PageGetLSN(BufferGetPage(buf));
	UnlockReleaseBuffer(buf);
	return lsn;
}

/*
 * Copies the metapage, checking that this is an n2 index in the format this
 * build reads.  Every path that reads or changes an index calls this first.
 * Returns the metapage's LSN.
 */
XLogRecPtr
n2_read_meta(Relation index, N2MetaPageData *meta)
{
	XLogRecPtr	lsn = read_meta_page(index, meta);

	n2_check_meta(index, meta);
	return lsn;
}

/*
 * The planner's read of the metapage: whether it is one this build reads,
 * raising no error, so that a query still plans around an index that needs
 * a REINDEX (only its scan says so).
 */
bool
n2_read_meta_quietly(Relation index, N2MetaPageData *meta)
{
	read_meta_page(index, meta);
	return meta->magic == N2_MAGIC && meta->version == N2_FORMAT_VERSION &&
		meta->storage <= N2_STORAGE_SQ8 &&
		meta->dims >= 0 && meta->dims <= N2_MAX_DIM &&
		meta->m >= N2_MIN_M && meta->m <= N2_MAX_M &&
		meta->max_m0 >= meta->m && meta->max_m0 <= N2_MAX_M0;
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
	p->storage = (N2Storage) meta->storage;
	p->link_bytes = meta->link_bytes;
	p->link_offset_bits = meta->link_bytes == 3 ? meta->link_offset_bits : 0;
	n2_storage_load(index, meta, p);
}

/*
 * Bytes the code of a vector's first ndims dimensions takes in its element:
 * compact codes start with an N2CodeHeader.
 */
Size
n2_code_bytes(const N2Params *p, int ndims)
{
	return (p->storage == N2_STORAGE_FLOAT4 ? 0 : sizeof(N2CodeHeader)) +
		(Size) n2_storage_dim_bytes(p->storage) * ndims;
}

/* Bytes the code of ndims dimensions takes in a vector chunk. */
Size
n2_chunk_code_bytes(const N2Params *p, int ndims)
{
	return (Size) n2_storage_dim_bytes(p->storage) * ndims;
}

/*
 * Size of an element tuple on the given level with keylen bytes of filter
 * keys.  The vector sits inline when the whole tuple fits on a page;
 * otherwise the inline part fills the page and the rest goes to vector
 * continuation tuples.
 */
Size
n2_element_size(const N2Params *p, int level, int keylen, int *ninline)
{
	Size		fixed;
	Size		room;
	int			n = p->dims;

	fixed = N2_ELEMENT_HEADER + TYPEALIGN(4, keylen) +
		(Size) p->link_bytes * n2_links_count(p, level);
	room = fixed < N2_MAX_TUPLE_SIZE ? N2_MAX_TUPLE_SIZE - fixed : 0;

	/* Codes grow about linearly: estimate, then step down to a fit. */
	if (TYPEALIGN(4, n2_code_bytes(p, n)) > room)
		n = (int) (room * p->dims / n2_code_bytes(p, p->dims));
	while (n > 0 && TYPEALIGN(4, n2_code_bytes(p, n)) > room)
		n--;
	*ninline = n;
	return fixed + TYPEALIGN(4, n2_code_bytes(p, n));
}

/*
 * The highest level an element may have: its links must leave room in a
 * page for the largest filter keys and at least part of its vector.  Levels
 * drawn above it are capped (they are only reached with tiny m and huge
 * mult).  The cap counts 6-byte links whatever the index's width, so a
 * build can draw levels before it has chosen the width.
 */
int
n2_max_level(const N2Params *p)
{
	Size		room;
	int			level;

	room = N2_MAX_TUPLE_SIZE - N2_ELEMENT_HEADER - N2_MAX_KEYLEN -
		n2_code_bytes(p, Min(p->dims, 16)) -
		sizeof(ItemPointerData) * p->max_m0;
	level = (int) (room / (sizeof(ItemPointerData) * p->m));
	return Min(level, N2_MAX_LEVEL);
}

Size
n2_vector_chunk_size(const N2Params *p, int ndims)
{
	return N2_VECTOR_CHUNK_HEADER + n2_chunk_code_bytes(p, ndims);
}

Size
n2_tid_chunk_size(int capacity)
{
	return offsetof(N2TidChunkData, tids) + sizeof(ItemPointerData) * capacity;
}

/* Dimensions a vector chunk holds at most, and how many chunks a vector needs. */
int
n2_vector_chunk_dims(const N2Params *p)
{
	return (int) ((N2_MAX_TUPLE_SIZE - N2_VECTOR_CHUNK_HEADER) /
				  n2_storage_dim_bytes(p->storage));
}

int
n2_vector_chunks(const N2Params *p, int ninline)
{
	int			per = n2_vector_chunk_dims(p);

	return (p->dims - ninline + per - 1) / per;
}

/*
 * Forms in et (n2_element_size bytes for level and keylen) an element
 * holding the filter keys, vec's first dimensions, ntids heap TIDs inline
 * (at most N2_INLINE_TIDS; the rest go in the chain at tidchain), the
 * vector chain at vecnext, and empty link lists.  Build and insert both form
 * elements here.
 */
void
n2_form_element(N2ElementTuple et, const N2Params *p, int level,
				const char *keys, int keylen, const float *vec,
				const ItemPointerData *tids, int ntids,
				ItemPointer tidchain, ItemPointer vecnext)
{
	int			ninline;
	Size		size = n2_element_size(p, level, keylen, &ninline);
	ItemPointerData none;

	memset(et, 0, size);
	et->type = N2_TUPLE_ELEMENT;
	et->level = (uint8) level;
	et->ntids = (uint8) Min(ntids, N2_INLINE_TIDS);
	et->ninline = (uint16) ninline;
	et->keylen = (uint16) keylen;
	et->codelen = (uint16) n2_code_bytes(p, ninline);
	for (int i = 0; i < N2_INLINE_TIDS; i++)
	{
		if (i < ntids)
			et->heaptids[i] = tids[i];
		else
			ItemPointerSetInvalid(&et->heaptids[i]);
	}
	et->tidchain = *tidchain;
	et->vecnext = *vecnext;
	if (keylen > 0)
		memcpy(N2ElementKeys(et), keys, keylen);
	n2_encode_element_code(p, vec, ninline, N2ElementCode(et));
	ItemPointerSetInvalid(&none);
	for (int i = 0; i < n2_links_count(p, level); i++)
		n2_link_set(p, et, i, &none);
}

/*
 * Forms in vc chunk i of vec's continuation past ninline dimensions, linked
 * to next; returns its size.
 */
Size
n2_form_vector_chunk(N2VectorChunk vc, const N2Params *p, const float *vec,
					 int ninline, int i, ItemPointer next)
{
	int			start = ninline + i * n2_vector_chunk_dims(p);
	int			take = Min(n2_vector_chunk_dims(p), p->dims - start);
	Size		size = n2_vector_chunk_size(p, take);

	memset(vc, 0, size);
	vc->type = N2_TUPLE_VECTOR;
	vc->ndims = (uint16) take;
	vc->codelen = (uint16) n2_chunk_code_bytes(p, take);
	vc->next = *next;
	n2_encode_chunk_code(p, vec, start, take, N2VectorChunkCode(vc));
	return size;
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
		OffsetNumber off = InvalidOffsetNumber;
		N2ElementTuple et;

		if (in_vacuum)
			vacuum_delay_point();
		else
			CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		while ((et = n2_page_next_element(page, &off)) != NULL)
			visit(arg, n2_ref(blkno, off), et);
		UnlockReleaseBuffer(buf);
	}
}

/*
 * The TID chunk tid names on a locked page.  A TID chain only ever names
 * chunks, so anything else is a broken index: an error.
 */
N2TidChunk
n2_page_tid_chunk(Relation index, Page page, ItemPointer tid)
{
	N2TidChunk	tc = n2_page_tuple(page, ItemPointerGetOffsetNumber(tid),
								   N2_TUPLE_TIDS);

	if (tc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("n2 index \"%s\" has a broken TID chain at (%u,%u)",
						RelationGetRelationName(index),
						ItemPointerGetBlockNumber(tid),
						ItemPointerGetOffsetNumber(tid))));
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
