/*
 * Copyright (c) 2025-2026, the n2 developers
 * n2.h
 *		The n2 index access method: page layout and shared declarations.
 *
 * Block 0 is the metapage.  Every other page holds tuples of three kinds:
 *
 * element	one graph node: flags, level, up to N2_INLINE_TIDS heap TIDs, its
 *			filter keys (indexes with filter columns), the first part of its
 *			vector code (all of it unless it is wide), then its links: max_m0
 *			on level 0 followed by m per upper level.  Visiting a node reads
 *			one tuple; its size is fixed when it is created, so every later
 *			change is an in-place overwrite.
 * tids		more heap TIDs for an element whose identical vector many heap
 *			rows share (a chain; no cap).
 * vector	the rest of a vector too wide to sit in its element tuple (a
 *			chain of continuation tuples, filled page by page).
 *
 * A link names an element tuple in link_bytes bytes, fixed per index at
 * CREATE INDEX: 6, an ItemPointerData; 4, the core's 32-bit code; or 3, its
 * 24-bit code with the offset bits the metapage names (4 and 3 name blocks
 * below n2_link_block_limit()).  n2_link_get and n2_link_set are the only
 * readers and writers of link slots, besides n2_links_refs, the walk's
 * reader.  An empty slot reads as an invalid TID, and a list's valid
 * entries come first.
 */
#ifndef N2_H
#define N2_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/genam.h"
#include "access/itup.h"
#include "lib/ilist.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/relcache.h"

#include "core/distance.h"
/* offsets up to N2_MAX_PAGE_TUPLES must fit in a 4-byte link */
#define N2_LINK4_OFFSET_BITS (BLCKSZ <= 8192 ? 9 : BLCKSZ <= 16384 ? 10 : 11)
#include "core/link.h"
#include "core/quantize.h"
#include "core/search.h"
#include "core/select.h"

#define N2_MAGIC			0x4E32484E	/* "N2HN" */
#define N2_FORMAT_VERSION	2
#define N2_METAPAGE_BLKNO	0
#define N2_PAGE_ID			0xFF8C

/* Page special space */
typedef struct N2PageOpaqueData
{
	uint16		flags;
	uint16		page_id;		/* N2_PAGE_ID, for tools like pg_filedump */
	BlockNumber next;			/* keys pages: the next one, else unused */
} N2PageOpaqueData;

typedef N2PageOpaqueData *N2PageOpaque;

#define N2_PAGE_META		(1 << 0)
#define N2_PAGE_DATA		(1 << 1)
#define N2_PAGE_KEYS		(1 << 2)	/* the key directory (keys.c) */

#define N2PageGetOpaque(page) ((N2PageOpaque) PageGetSpecialPointer(page))

/* Bounds */
#define N2_MAX_DIM			16000
#define N2_MIN_M			2
#define N2_MAX_M			100
#define N2_MAX_M0			400
#define N2_MAX_MULT			10
#define N2_DEFAULT_M		12
#define N2_DEFAULT_EF_CONSTRUCTION 100
#define N2_DEFAULT_KEEP_PRUNED N2_KEEP_PRUNED_OFF
#define N2_MAX_EF			1000
#define N2_MAX_THREADS		256

/* Metapage contents; magic and version lead it in every format version */
typedef struct N2MetaPageData
{
	uint32		magic;
	uint32		version;		/* N2_FORMAT_VERSION when written */
	int32		dims;			/* 0 until the first vector (real[] columns) */
	uint8		metric;			/* N2Metric */
	uint8		select;			/* N2SelectMethod */
	uint8		merge_level0;
	uint8		storage;		/* N2Storage: how vectors are coded */
	int32		m;
	int32		max_m0;
	int32		ef_construction;
	float8		mult;
	ItemPointerData entry;		/* entry point, invalid when empty */
	int16		max_level;		/* level of the entry point, -1 when empty */
	BlockNumber insert_page;	/* where inserts look for free space first */
	int64		nelements;		/* graph nodes, including deleted ones */
	int64		ndeleted;		/* nodes unlinked by VACUUM, space reusable */
	uint64		seed;			/* mixed into level draws */
	ItemPointerData quant;		/* sq8: first quantizer chunk, invalid until
								 * trained */
	uint8		link_bytes;		/* bytes of a link: 3, 4 or 6 */
	uint8		link_offset_bits;	/* 3-byte links: bits of the offset, 1 ..
									 * N2_LINK3_MAX_OFFSET_BITS; else 0 */

	/*
	 * The key directory of an index with filter columns: its first page, and
	 * a hint where inserts look for room (its last page, or the first VACUUM
	 * freed room on).  0 (the metapage) when it has none, as in indexes built
	 * before it existed.
	 */
	BlockNumber keys_head;
	BlockNumber keys_tail;

	/*
	 * Tombstones: elements VACUUM flagged deleted and unlinked but has not
	 * removed, because a scan that began before the unlinking may still walk
	 * through them.  They come in two generations (N2_ELEMENT_EPOCH), so that
	 * new ones do not hold back older ones.  When tomb_xid[g] is valid (a
	 * FullTransactionId), every element flagged deleted in generation g was
	 * unlinked before it was assigned, and is removed by the first VACUUM no
	 * snapshot that old is left for.  0 when none is known: a VACUUM clears
	 * it before it flags anything in g and sets it when it has unlinked all
	 * it flagged.  Indexes written before it existed read 0.
	 */
	uint64		tomb_xid[2];

	/*
	 * Counts VACUUM's unlinkings and deletions, each counted before it
	 * begins: scans trust the page copies earlier scans took under an equal
	 * snapshot only while the metapage is unchanged (pagecopy.c).  Indexes
	 * written before it existed read 0.
	 */
	uint64		vacuum_changes;
} N2MetaPageData;

typedef N2MetaPageData *N2MetaPage;

#define N2PageGetMeta(page) ((N2MetaPage) PageGetContents(page))

/* Tuple kinds */
#define N2_TUPLE_ELEMENT	1
#define N2_TUPLE_TIDS		2
#define N2_TUPLE_VECTOR		3
#define N2_TUPLE_QUANT		4
#define N2_TUPLE_KEYS		5

#define N2_INLINE_TIDS		1

/* Element flags */
#define N2_ELEMENT_DELETED	(1 << 0)	/* unlinked by VACUUM; slot reusable */
#define N2_ELEMENT_EPOCH	(1 << 1)	/* a tombstone's generation: 0 or 1 */

typedef struct N2ElementTupleData
{
	uint8		type;			/* N2_TUPLE_ELEMENT */
	uint8		level;
	uint8		flags;
	uint8		ntids;			/* inline heap TIDs in use */
	uint16		ninline;		/* vector dimensions stored here */
	uint16		keylen;			/* bytes of filter keys, 0 without */
	ItemPointerData tidchain;	/* more heap TIDs, or invalid */
	ItemPointerData vecnext;	/* rest of the vector, or invalid */
	ItemPointerData heaptids[N2_INLINE_TIDS];
	uint16		codelen;		/* bytes of the inline vector code */

	/*
	 * Then, each part starting 4-byte aligned: char keys[keylen], the code of
	 * the first ninline dimensions (codelen bytes), ItemPointerData links[].
	 */
} N2ElementTupleData;

typedef N2ElementTupleData *N2ElementTuple;

#define N2_ELEMENT_HEADER	TYPEALIGN(4, sizeof(N2ElementTupleData))

#define N2ElementKeys(et) ((char *) (et) + N2_ELEMENT_HEADER)
#define N2ElementCode(et) (N2ElementKeys(et) + TYPEALIGN(4, (et)->keylen))
#define N2ElementVector(et) ((float *) N2ElementCode(et))
#define N2ElementLinks(et) (N2ElementCode(et) + TYPEALIGN(4, (et)->codelen))

typedef struct N2TidChunkData
{
	uint8		type;			/* N2_TUPLE_TIDS */
	uint8		unused;
	uint16		ntids;			/* in use */
	uint16		capacity;
	ItemPointerData next;
	ItemPointerData tids[FLEXIBLE_ARRAY_MEMBER];
} N2TidChunkData;

typedef N2TidChunkData *N2TidChunk;

#define N2_TID_CHUNK_CAPACITY 64

/*
 * A key directory entry: one element's filter keys, so that a scan learns
 * which elements pass its filter without reading their pages (keys.c).
 */
typedef struct N2KeyEntryData
{
	uint8		type;			/* N2_TUPLE_KEYS */
	uint8		unused;
	uint16		keylen;
	ItemPointerData element;
	/* char keys[keylen] follow at N2_KEY_ENTRY_HEADER */
} N2KeyEntryData;

typedef N2KeyEntryData *N2KeyEntry;

#define N2_KEY_ENTRY_HEADER	sizeof(N2KeyEntryData)
#define N2KeyEntryKeys(ke) ((char *) (ke) + N2_KEY_ENTRY_HEADER)

typedef struct N2VectorChunkData
{
	uint8		type;			/* N2_TUPLE_VECTOR */
	uint8		unused;
	uint16		ndims;			/* dimensions this chunk codes */
	ItemPointerData next;
	uint16		codelen;		/* bytes of their code */
	/* the code follows at N2_VECTOR_CHUNK_HEADER */
} N2VectorChunkData;

typedef N2VectorChunkData *N2VectorChunk;

#define N2_VECTOR_CHUNK_HEADER	TYPEALIGN(4, sizeof(N2VectorChunkData))
#define N2VectorChunkCode(vc) ((char *) (vc) + N2_VECTOR_CHUNK_HEADER)

/*
 * Compact codes (float16, sq8) start, in the element, with what a scan needs
 * to bound the error of a distance computed on the code.
 */
typedef struct N2CodeHeader
{
	float		err;			/* >= |vector - decoded code| */
	float		norm;			/* >= |vector| */
} N2CodeHeader;

/*
 * sq8's trained ranges: a chain of these, each holding lo[ndims] then
 * step[ndims] for dimensions start .. start + ndims - 1.
 */
typedef struct N2QuantChunkData
{
	uint8		type;			/* N2_TUPLE_QUANT */
	uint8		unused;
	uint16		ndims;
	ItemPointerData next;
	uint16		start;
	/* float lo[ndims], step[ndims] follow at N2_QUANT_CHUNK_HEADER */
} N2QuantChunkData;

typedef N2QuantChunkData *N2QuantChunk;

#define N2_QUANT_CHUNK_HEADER	TYPEALIGN(4, sizeof(N2QuantChunkData))
#define N2QuantChunkFloats(qc) ((float *) ((char *) (qc) + N2_QUANT_CHUNK_HEADER))

/*
 * Largest tuple we place on a page: one alone on a page, less one free
 * space map step, so that a page VACUUM emptied is found again for a tuple
 * this big (the map rounds free space down to BLCKSZ / 256 bytes).
 */
#define N2_MAX_TUPLE_SIZE \
	MAXALIGN_DOWN(BLCKSZ - SizeOfPageHeaderData - sizeof(ItemIdData) - \
				  MAXALIGN(sizeof(N2PageOpaqueData)) - BLCKSZ / 256)

/*
 * The most line pointers a page can have: each was added when all the
 * others were in use (PageAddItem reuses unused ones first), and every
 * tuple n2 writes takes at least N2_MIN_TUPLE_SIZE bytes (a vector chunk
 * with one byte of code is the smallest).
 */
#define N2_MIN_TUPLE_SIZE	MAXALIGN(sizeof(N2VectorChunkData) + 1)
#define N2_MAX_PAGE_TUPLES \
	((BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(N2PageOpaqueData))) / \
	 (N2_MIN_TUPLE_SIZE + sizeof(ItemIdData)))

StaticAssertDecl(N2_MAX_PAGE_TUPLES <= N2_LINK4_MAX_OFFSET,
				 "a 4-byte link must name every offset of a page");
StaticAssertDecl(N2_MAX_PAGE_TUPLES < (1 << N2_LINK3_MAX_OFFSET_BITS),
				 "3-byte links may take as many offset bits as a page needs");

/* Refs: an element's TID packed into the core's N2Ref. */
static inline N2Ref
n2_ref(BlockNumber blkno, OffsetNumber off)
{
	return ((uint64) blkno << 16) | off;
}

static inline BlockNumber
n2_ref_block(N2Ref ref)
{
	return (BlockNumber) (ref >> 16);
}

static inline OffsetNumber
n2_ref_offset(N2Ref ref)
{
	return (OffsetNumber) (ref & 0xFFFF);
}

static inline N2Ref
n2_tid_to_ref(ItemPointer tid)
{
	return n2_ref(ItemPointerGetBlockNumberNoCheck(tid),
				  ItemPointerGetOffsetNumberNoCheck(tid));
}

static inline void
n2_ref_to_tid(N2Ref ref, ItemPointer tid)
{
	ItemPointerSet(tid, n2_ref_block(ref), n2_ref_offset(ref));
}

/* Position of ref in refs[0..n), sorted ascending; -1 when absent. */
static inline int64
n2_ref_position(const N2Ref *refs, int64 n, N2Ref ref)
{
	int64		lo = 0;
	int64		hi = n - 1;

	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (refs[mid] == ref)
			return mid;
		if (refs[mid] < ref)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * The tuple of the given kind (N2_TUPLE_*) at off on a locked page; NULL
 * when off names none: out of range, not a normal line pointer, or a tuple
 * of another kind.  Every read of a tuple named by a link or a chain goes
 * through here, since what it names may have been deleted and its slot
 * reused.
 */
static inline void *
n2_page_tuple(Page page, OffsetNumber off, uint8 kind)
{
	ItemId		iid;
	char	   *tuple;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	iid = PageGetItemId(page, off);
	if (!ItemIdIsNormal(iid))
		return NULL;
	tuple = PageGetItem(page, iid);
	return tuple[0] == kind ? tuple : NULL;
}

/*
 * The next tuple after *off on a locked page, skipping line pointers that
 * hold none; NULL past the last.  Its first byte is its kind (N2_TUPLE_*).
 * A walk starts with *off = InvalidOffsetNumber.
 */
static inline char *
n2_page_next_tuple(Page page, OffsetNumber *off)
{
	OffsetNumber maxoff;

	maxoff = PageIsNew(page) ? InvalidOffsetNumber : PageGetMaxOffsetNumber(page);
	while (*off < maxoff)
	{
		ItemId		iid = PageGetItemId(page, ++(*off));

		if (ItemIdIsNormal(iid))
			return PageGetItem(page, iid);
	}
	return NULL;
}

/* The same walk over a page's live elements (not flagged deleted). */
static inline N2ElementTuple
n2_page_next_element(Page page, OffsetNumber *off)
{
	char	   *tuple;

	while ((tuple = n2_page_next_tuple(page, off)) != NULL)
	{
		N2ElementTuple et = (N2ElementTuple) tuple;

		if (et->type == N2_TUPLE_ELEMENT && !(et->flags & N2_ELEMENT_DELETED))
			return et;
	}
	return NULL;
}

/* keep_pruned: how far the heuristic fills a list with what it pruned */
typedef enum N2KeepPruned
{
	N2_KEEP_PRUNED_OFF = 0,
	N2_KEEP_PRUNED_HALF = 1,	/* to half the cap */
	N2_KEEP_PRUNED_ON = 2		/* to the cap, as pgvector */
} N2KeepPruned;

/* Options (reloptions) */
#define N2_STORAGE_AUTO		(-1)	/* float16 for halfvec columns, else
									 * float4 */

typedef struct N2Options
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;
	int			max_m0;			/* -1: 2 * m */
	int			ef_construction;
	int			n_threads;		/* -1: n2.build_threads */
	double		mult;			/* <= 0: 1 / ln(m) */
	int			neighbor_selecting; /* N2SelectMethod */
	int			graph_merging;	/* 0 skip, 1 merge_level0 */
	int			keep_pruned;	/* N2KeepPruned */
	int			storage;		/* N2Storage, or N2_STORAGE_AUTO */
	int			link_bytes;		/* 3, 4, 6, or 0: auto */
} N2Options;

/* Parameters in force for an index: from the metapage once built. */
typedef struct N2Params
{
	N2Metric	metric;
	int			dims;
	int			m;
	int			max_m0;
	int			ef_construction;
	double		mult;
	N2SelectMethod select;
	bool		merge_level0;
	bool		is_array;		/* real[] column instead of vector */
	N2Storage	storage;
	int			link_bytes;		/* 3, 4 or 6; 0 (auto) until a build decides */
	int			link_offset_bits;	/* 3-byte links: the metapage's; else 0 */
	const float *sq8_lo;		/* sq8's ranges (dims each); NULL until */
	const float *sq8_step;		/* trained */
} N2Params;

/*
 * What sq8 trains on: each dimension's range over n vectors, and whether it
 * held only integers.
 */
typedef struct N2Ranges
{
	int64		n;
	int			dims;
	float	   *vmin;
	float	   *vmax;
	bool	   *integral;
} N2Ranges;

/* Geometry of element tuples for an index (derived from N2Params). */
static inline int
n2_links_count(const N2Params *p, int level)
{
	return p->max_m0 + level * p->m;
}

/* Where a level's list starts among an element's links, and its capacity. */
static inline int
n2_links_start(const N2Params *p, int level)
{
	return level == 0 ? 0 : p->max_m0 + (level - 1) * p->m;
}

static inline int
n2_links_cap(const N2Params *p, int level)
{
	return level == 0 ? p->max_m0 : p->m;
}

/* Link slot i of et, as a TID: invalid when the slot is empty. */
static inline void
n2_link_get(const N2Params *p, N2ElementTuple et, int i, ItemPointer tid)
{
	char	   *slot = N2ElementLinks(et) + (Size) i * p->link_bytes;

	if (p->link_bytes == 4)
	{
		uint32		code;

		memcpy(&code, slot, sizeof(code));
		if (code == N2_LINK4_EMPTY)
			ItemPointerSetInvalid(tid);
		else
			ItemPointerSet(tid, n2_link4_block(code), n2_link4_offset(code));
	}
	else if (p->link_bytes == 3)
	{
		uint32		code = n2_link3_load((const unsigned char *) slot);

		if (code == N2_LINK3_EMPTY)
			ItemPointerSetInvalid(tid);
		else
			ItemPointerSet(tid, n2_link3_block(code, p->link_offset_bits),
						   n2_link3_offset(code, p->link_offset_bits));
	}
	else
		memcpy(tid, slot, sizeof(ItemPointerData));
}

/*
 * Sets link slot i of et to tid (invalid: empty).  A 4- or 3-byte index
 * never grows past the blocks its links can name (n2_check_link_room), and
 * its pages never have more line pointers than its codes' offsets name, so
 * a TID without a code is a bug, and never written.
 */
static inline void
n2_link_set(const N2Params *p, N2ElementTuple et, int i, const ItemPointerData *tid)
{
	char	   *slot = N2ElementLinks(et) + (Size) i * p->link_bytes;

	if (p->link_bytes == 4)
	{
		uint32		code = N2_LINK4_EMPTY;

		if (ItemPointerIsValid(tid))
		{
			BlockNumber blkno = ItemPointerGetBlockNumber(tid);
			OffsetNumber off = ItemPointerGetOffsetNumber(tid);

			if (!n2_link4_fits(blkno, off))
				elog(ERROR, "n2: TID (%u,%u) has no 4-byte link", blkno, off);
			code = n2_link4_pack(blkno, off);
		}
		memcpy(slot, &code, sizeof(code));
	}
	else if (p->link_bytes == 3)
	{
		uint32		code = N2_LINK3_EMPTY;

		if (ItemPointerIsValid(tid))
		{
			BlockNumber blkno = ItemPointerGetBlockNumber(tid);
			OffsetNumber off = ItemPointerGetOffsetNumber(tid);

			if (!n2_link3_fits(blkno, off, p->link_offset_bits))
				elog(ERROR, "n2: TID (%u,%u) has no 3-byte link (%d offset bits)",
					 blkno, off, p->link_offset_bits);
			code = n2_link3_pack(blkno, off, p->link_offset_bits);
		}
		n2_link3_store((unsigned char *) slot, code);
	}
	else if (ItemPointerIsValid(tid))
		memcpy(slot, tid, sizeof(ItemPointerData));
	else
		ItemPointerSetInvalid((ItemPointer) slot);
}

/* The n slots from start of et's links, read to out / written from in. */
static inline void
n2_links_read(const N2Params *p, N2ElementTuple et, int start, int n,
			  ItemPointerData *out)
{
	for (int i = 0; i < n; i++)
		n2_link_get(p, et, start + i, &out[i]);
}

static inline void
n2_links_write(const N2Params *p, N2ElementTuple et, int start, int n,
			   const ItemPointerData *in)
{
	for (int i = 0; i < n; i++)
		n2_link_set(p, et, start + i, &in[i]);
}

/*
 * The refs of the valid links among the count slots from start of et's
 * links, at most max: n2_link_get's decoding, a loop per link width, as a
 * walk reads some thirty links at each node it expands.
 */
static inline int
n2_links_refs(const N2Params *p, N2ElementTuple et, int start, int count,
			  N2Ref *out, int max)
{
	const unsigned char *slot = (const unsigned char *) N2ElementLinks(et) +
	(Size) start * p->link_bytes;
	int			n = Min(count, max);
	int			i;

	if (p->link_bytes == 3)
	{
		int			ob = p->link_offset_bits;

		for (i = 0; i < n; i++, slot += 3)
		{
			uint32		code = n2_link3_load(slot);

			if (code == N2_LINK3_EMPTY)
				break;
			out[i] = n2_ref(n2_link3_block(code, ob), n2_link3_offset(code, ob));
		}
		return i;
	}
	if (p->link_bytes == 4)
	{
		for (i = 0; i < n; i++, slot += 4)
		{
			uint32		code;

			memcpy(&code, slot, sizeof(code));
			if (code == N2_LINK4_EMPTY)
				break;
			out[i] = n2_ref(n2_link4_block(code), n2_link4_offset(code));
		}
		return i;
	}
	for (i = 0; i < n; i++)
	{
		ItemPointerData link;

		n2_link_get(p, et, start + i, &link);
		if (!ItemPointerIsValid(&link))
			break;
		out[i] = n2_tid_to_ref(&link);
	}
	return i;
}

/* GUCs */
extern int	n2_ef_search;
extern int	n2_upper_ef_search;
extern int	n2_build_threads;
extern int	n2_max_build_threads;
extern int	n2_iterative_scan;
extern int	n2_max_scan_tuples;
extern double n2_scan_mem_multiplier;
extern int	n2_scan_fallback;
extern int	n2_scan_cache_size;
extern char *n2_pause_at;
extern int	n2_pause_key;
extern int	n2_mark_cache_limit;
extern int	n2_link4_max_blocks;
extern int	n2_link3_max_blocks;

typedef enum N2IterativeScan
{
	N2_ITERATIVE_OFF,
	N2_ITERATIVE_STRICT,
	N2_ITERATIVE_RELAXED
} N2IterativeScan;

/* What a scan does when a bound stops its graph walk (n2.scan_fallback) */
typedef enum N2ScanFallback
{
	N2_FALLBACK_OFF,			/* end the scan there */
	N2_FALLBACK_SEQUENTIAL		/* finish with an exact pass over the index */
} N2ScanFallback;

/* CREATE INDEX progress phases (pg_stat_progress_create_index) */
#define N2_PHASE_LOAD			2
#define N2_PHASE_BUILD			3
#define N2_PHASE_BUILD_REVERSE	4
#define N2_PHASE_MERGE			5
#define N2_PHASE_WRITE			6
#define N2_PHASE_INSERT			7
#define N2_PHASE_RELINK			8

/*
 * Heavyweight page lock (block 0 used as a name) serialising graph-shape
 * changes, and its modes:
 *	N2_LOCK_INSERT			an insert that keeps the entry point; inserts run
 *							in parallel
 *	N2_LOCK_INSERT_ENTRY	an insert that sets the entry point or the real[]
 *							dimension: one at a time, and alone among inserts
 *	N2_LOCK_VACUUM			VACUUM's repair and deletions: only n2_verify and
 *							VACUUM's own critical steps wait for it
 *	N2_LOCK_EXCLUSIVE		VACUUM's two critical steps and n2_verify: alone
 * (ShareLock, ShareRowExclusiveLock, RowShareLock and ExclusiveLock: each
 * conflicts with the others as that list says.)
 *
 * Page locks on blocks from N2_VECTOR_LOCK_FIRST up (no index gets that
 * large) name vectors instead: an insert holds the one its vector's hash
 * names, exclusively, around all of its work (insert.c).
 */
#define N2_UPDATE_LOCK			0
#define N2_LOCK_INSERT			ShareLock
#define N2_LOCK_INSERT_ENTRY	ShareRowExclusiveLock
#define N2_LOCK_VACUUM			RowShareLock
#define N2_LOCK_EXCLUSIVE		ExclusiveLock
#define N2_VECTOR_LOCK_FIRST	((BlockNumber) 0x80000000)

/* handler.c */
extern N2Options *n2_get_options(Relation index);
extern const char *n2_keep_pruned_name(N2SelectMethod select);
extern void n2_params_from_options(Relation index, N2Params *p);
extern N2Metric n2_index_metric(Relation index);
extern bool n2_index_is_array(Relation index);
extern bool n2_index_is_half(Relation index);

/* keys.c */
struct GenericXLogState;
struct N2KeyFilter;
extern void n2_keys_build(Relation index, const ItemPointerData *element,
						  const uint32 *order, uint32 n, const char *keys,
						  const uint32 *keyoff);
extern int	n2_keys_add(Relation index, struct GenericXLogState *state,
						BlockNumber tail, ItemPointer element,
						const char *keys, int keylen, Buffer *bufs,
						BlockNumber *newtail);
extern void n2_keys_set_tail(Relation index, BlockNumber tail);
extern bool n2_keys_collect(Relation index, BlockNumber head,
							const struct N2KeyFilter *filter, int64 max,
							N2Ref **refs, int64 *n, int64 *total);
extern void n2_keys_remove(Relation index, BlockNumber head,
						   bool (*doomed) (void *arg, N2Ref ref), void *arg,
						   BufferAccessStrategy strategy);

/* pages.c */
extern void n2_init_page(Page page, uint16 flags);
extern void n2_init_meta(Page page, const N2Params *p, uint64 seed);
extern XLogRecPtr n2_read_meta(Relation index, N2MetaPageData *meta);
extern bool n2_read_meta_quietly(Relation index, N2MetaPageData *meta);
extern BlockNumber n2_link_block_limit(int link_bytes, int offset_bits);
extern void n2_check_link_room(Relation index, int link_bytes,
							   int offset_bits, BlockNumber nblocks);
extern void n2_warn_link_room(Relation index, int link_bytes, int offset_bits,
							  BlockNumber blkno);
extern int	n2_link3_offset_bits_for(Relation index, const N2Params *p);
extern void n2_params_from_meta(Relation index, const N2MetaPageData *meta, N2Params *p);
extern Size n2_code_bytes(const N2Params *p, int ndims);
extern Size n2_chunk_code_bytes(const N2Params *p, int ndims);
extern Size n2_element_size(const N2Params *p, int level, int keylen,
							int *ninline);
extern int	n2_max_level(const N2Params *p);
extern Size n2_vector_chunk_size(const N2Params *p, int ndims);
extern Size n2_tid_chunk_size(int capacity);
extern int	n2_vector_chunk_dims(const N2Params *p);
extern int	n2_vector_chunks(const N2Params *p, int ninline);
extern void n2_form_element(N2ElementTuple et, const N2Params *p, int level,
							const char *keys, int keylen, const float *vec,
							const ItemPointerData *tids, int ntids,
							ItemPointer tidchain, ItemPointer vecnext);
extern Size n2_form_vector_chunk(N2VectorChunk vc, const N2Params *p,
								 const float *vec, int ninline, int i,
								 ItemPointer next);

typedef void (*N2ElementVisitor) (void *arg, N2Ref ref, N2ElementTuple et);
extern void n2_for_each_element(Relation index, BufferAccessStrategy strategy,
								bool in_vacuum, N2ElementVisitor visit, void *arg);
extern N2TidChunk n2_page_tid_chunk(Relation index, Page page, ItemPointer tid);

typedef struct N2TidChainIter
{
	Relation	index;
	Buffer		ebuf;			/* the element's page, locked by the caller */
	ItemPointerData next;
	Buffer		cbuf;			/* the current chunk's, when another page */
} N2TidChainIter;

extern void n2_tid_chain_begin(N2TidChainIter *it, Relation index, Buffer ebuf,
							   ItemPointerData next);
extern N2TidChunk n2_tid_chain_next(N2TidChainIter *it);
extern void n2_tid_chain_end(N2TidChainIter *it);

/* datum.c */
extern float *n2_datum_to_vector(Relation index, Datum value, const N2Params *p,
								 int *dims);
extern bool n2_vector_is_finite(const float *v, int dims);

/* pagegraph.c: page-backed graph access for the core's beam search */
typedef struct N2PageGraph
{
	Relation	index;
	const N2Params *params;
	const float *query;			/* normalised for angular */
	float	   *vecbuf;			/* assembles split (wide) or coded vectors */
	bool		lower_bounds;	/* distances are lower bounds of the
								 * operator's (compact storage scans) */
	float		qnorm;			/* >= |query|, for lower_bounds */
	Buffer		buf;			/* last buffer pinned, kept to save lookups */
	bool		copies;			/* the scan ops read page copies (pagecopy.c) */
	Size		links0_bytes;	/* level 0's links: no distance reads them */
	int			batch_lines;	/* lines prefetched per tuple a batch at once
								 * (copies_batch); 0: in stages */
	uint64		nvisited;		/* tuples whose distance was computed */
	const struct N2KeyFilter *filter;	/* n2_page_graph_filtered_ops' */
} N2PageGraph;

extern Buffer n2_read_buffer(Relation index, BlockNumber blkno);
extern const N2GraphOps n2_page_graph_ops;

/* for scans: they take a cancel at each node (filtered: and test the filter) */
extern const N2GraphOps n2_page_graph_scan_ops;
extern const N2GraphOps n2_page_graph_filtered_ops;
extern void n2_page_graph_init(N2PageGraph *pg, Relation index,
							   const N2Params *p, const float *query);
extern void n2_page_graph_release(N2PageGraph *pg);

/* pagecopy.c: backend-private copies of the pages a scan reads */
extern bool n2_page_copies_begin(Relation index, Snapshot snapshot,
								 XLogRecPtr meta_lsn, BlockNumber *nblocks);
extern Page n2_page_copy_miss(Relation index, BlockNumber blkno);

/*
 * The copies most lookups find, by block number, of the index the running
 * scan reads: valid while they hold gen.  A copy in the map is trusted as it
 * is, with no check of its buffer, by every scan under the same trust key
 * (pagecopy.c).  Another key starts a new generation.  Copies in the map do
 * not make way.
 */
typedef struct N2MapEntry
{
	Page		page;
	uint64		gen;
} N2MapEntry;

typedef struct N2CopyMap
{
	Relation	index;			/* the running scan's when it reads copies
								 * through the map */
	N2MapEntry *entries;
	BlockNumber nblocks;		/* entries in use: the index's size */
	uint64		gen;
} N2CopyMap;

extern N2CopyMap n2_copy_map;

/*
 * The running scan's copy of page blkno of index; NULL when there is no room
 * for it (read the buffer instead).  A copy stays while the scan runs (no
 * later call makes it give way), unless n2_page_copies_begin starts another
 * scan.  Inline: a scan looks up a page for each node it evaluates.
 */
static inline Page
n2_page_copy(Relation index, BlockNumber blkno)
{
	if (index == n2_copy_map.index && blkno < n2_copy_map.nblocks &&
		n2_copy_map.entries[blkno].gen == n2_copy_map.gen)
		return n2_copy_map.entries[blkno].page;
	return n2_page_copy_miss(index, blkno);
}

extern Page n2_page_graph_read(N2PageGraph *pg, BlockNumber blkno);
extern N2ElementTuple n2_page_graph_element(N2PageGraph *pg, N2Ref ref);
extern const float *n2_element_vector(N2PageGraph *pg, N2ElementTuple et);
extern int	n2_search_level(N2PageGraph *pg, N2Search *search, ItemPointer entry,
							int top, int level, int ef, N2Candidate *out);

/* info.c */
extern Relation n2_open_index(Oid relid);

/* layout.c */
typedef struct N2Layout N2Layout;
struct N2Graph;

/* A heap TID of a build's node beyond its first */
typedef struct N2ExtraTid
{
	uint32		node;
	ItemPointerData tid;
} N2ExtraTid;

/* The heap TIDs of a build's nodes (rows sharing a vector share a node) */
typedef struct N2NodeTids
{
	const ItemPointerData *first;	/* per node */
	const N2ExtraTid *extra;	/* the others, sorted by node */
	int64		nextra;
	const char *keys;			/* filter keys: node i's start at keyoff[i] */
	const uint32 *keyoff;		/* n + 1 offsets; NULL without filter columns */
} N2NodeTids;

extern Size n2_layout_memory(uint32 n);
extern N2Layout *n2_layout_create(Relation index, const N2Params *p,
								  const struct N2Graph *g,
								  const N2NodeTids *tids);
extern BlockNumber n2_layout_blocks(const N2Layout *lo);
extern uint32 n2_layout_next_node(const N2Layout *lo);
extern void n2_layout_free(N2Layout *lo);
extern void n2_layout_write_meta(N2Layout *lo, uint64 seed);
extern void n2_layout_write_node(N2Layout *lo, uint32 node, const float *vec);
extern void n2_layout_finish(N2Layout *lo);

/* build.c */
extern IndexBuildResult *n2_build(Relation heap, Relation index,
								  struct IndexInfo *indexInfo);
extern void n2_buildempty(Relation index);

/* insert.c */
extern bool n2_insert(Relation index, Datum *values, bool *isnull,
					  ItemPointer heap_tid, Relation heap,
					  IndexUniqueCheck checkUnique, bool indexUnchanged,
					  struct IndexInfo *indexInfo);
extern void n2_insert_vector(Relation index, float *v, int dims,
							 const char *keys, int keylen,
							 ItemPointer heap_tid);

extern void n2_place_tuple_keyed(Relation index, const void *tuple, Size size,
								 const char *keys, int keylen, ItemPointer tid);
extern void n2_place_tuple(Relation index, const void *tuple, Size size,
						   ItemPointer tid);

/* links.c */
struct GenericXLogState;
extern float *n2_read_vector(N2PageGraph *pg, N2Ref ref);
extern N2ElementTuple n2_lock_element(Relation index, N2Ref ref,
									  struct GenericXLogState **state,
									  Buffer *buf);
extern void n2_finish_page(struct GenericXLogState *state, Buffer buf);
extern void n2_abort_page(struct GenericXLogState *state, Buffer buf);
extern int	n2_select_refs(N2PageGraph *pg, N2SelectMethod method,
						   N2Candidate *cands, int n, int cap,
						   N2Candidate *out, N2Ref *gone, int *ngone,
						   const float *base);

/*
 * The far half of a new node's own level-0 choices, which it may give up
 * for a target a neighbour drops (n2_add_link): nearest first; an entry
 * becomes N2_INVALID_REF once that link may be the target's only path.
 */
typedef struct N2SpareLinks
{
	N2Ref	   *refs;
	int			n;
} N2SpareLinks;

extern bool n2_add_link(N2PageGraph *pg, N2Ref nb, int level, N2Ref newref,
						N2SpareLinks *spare);
extern void n2_connect(N2PageGraph *pg, N2Search *search, ItemPointer entry,
					   int top, N2Ref ref,
					   bool (*usable) (void *arg, N2Ref ref), void *arg);

/* markfile.c: word arrays in a temporary file behind a bounded cache */
typedef struct N2MarkFile N2MarkFile;

extern N2MarkFile *n2_mark_file_create(Size budget);
extern uint64 *n2_mark_file_word(N2MarkFile *mf, int map, uint64 word, bool dirty);
extern uint64_t *n2_mark_file_reach_word(void *ctx, int map, uint64_t word,
										 bool dirty);
extern void n2_mark_file_stats(const N2MarkFile *mf, int64 *writes, int64 *reads);
extern void n2_mark_file_close(N2MarkFile *mf);

/* storage.c: vector codes (float4, float16, sq8) on pages */
extern const char *n2_storage_name(N2Storage storage);
extern bool n2_storage_is_exact(const N2Params *p);
extern float *n2_storage_stored_form(const N2Params *p, const float *vec);
extern void n2_encode_element_code(const N2Params *p, const float *vec,
								   int ninline, char *out);
extern void n2_encode_chunk_code(const N2Params *p, const float *vec, int start,
								 int n, char *out);
extern void n2_decode_element_code(const N2Params *p, N2ElementTuple et,
								   float *out);
extern void n2_decode_chunk_code(const N2Params *p, N2VectorChunk vc,
								 int start, float *out);
extern float n2_element_distance(N2PageGraph *pg, N2ElementTuple et);
extern double n2_element_upper_bound(N2PageGraph *pg, N2ElementTuple et);
extern void n2_ranges_init(N2Ranges *r, int dims);
extern bool n2_ranges_add(N2Ranges *r, const float *v);
extern void n2_ranges_free(N2Ranges *r);
extern bool n2_storage_train_ranges(N2Params *p, const N2Ranges *r);
extern bool n2_storage_train(N2Params *p, const float *vectors, int64 n);
extern void n2_storage_load(Relation index, const N2MetaPageData *meta,
							N2Params *p);
extern void n2_storage_write(Relation index, const N2Params *p);
extern bool n2_storage_needs_training(const N2Params *p);
extern void n2_storage_report_training(Relation index, const N2Params *p,
									   int64 nrows);
extern bool n2_storage_same_vector(N2PageGraph *pg, N2Ref ref, const float *v);
extern int	n2_storage_self_distances(N2PageGraph *pg, const float *v,
									  const float *stored, float *out);
extern Size n2_storage_smallest_tuple(const N2Params *p);

/* pause.c: test-only pause points (n2.pause_at) */
extern void n2_pause_point(const char *name);

/* plan.c: the distance an n2 scan computed for the row it last returned */
typedef struct N2ScanDistance
{
	dlist_node	node;
	Oid			indexoid;
	struct varlena *query;		/* the ORDER BY argument, detoasted */
	struct varlena *packed;		/* and as given, if compressed or toasted */
	bool		valid;			/* tid and dist are set */
	ItemPointerData tid;		/* the heap TID last returned */
	double		dist;			/* its distance, as the operator gives it */
} N2ScanDistance;

extern void n2_scan_distance_register(N2ScanDistance *sd);
extern void n2_scan_distance_unregister(N2ScanDistance *sd);
extern void n2_install_planner_hook(void);

/* scan.c */
extern IndexScanDesc n2_beginscan(Relation index, int nkeys, int norderbys);
extern void n2_rescan(IndexScanDesc scan, ScanKey keys, int nkeys,
					  ScanKey orderbys, int norderbys);
extern bool n2_gettuple(IndexScanDesc scan, ScanDirection dir);
extern void n2_endscan(IndexScanDesc scan);

/* vacuum.c */
extern IndexBulkDeleteResult *n2_bulkdelete(IndexVacuumInfo *info,
											IndexBulkDeleteResult *stats,
											IndexBulkDeleteCallback callback,
											void *callback_state);
extern IndexBulkDeleteResult *n2_vacuumcleanup(IndexVacuumInfo *info,
											   IndexBulkDeleteResult *stats);

/* cost.c */
extern void n2_costestimate(struct PlannerInfo *root, struct IndexPath *path,
							double loop_count, Cost *indexStartupCost,
							Cost *indexTotalCost, Selectivity *indexSelectivity,
							double *indexCorrelation, double *indexPages);

#endif							/* N2_H */
