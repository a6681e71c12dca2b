/*
 * Copyright (c) 2025-2026, the n2 developers
 * verify.c
 *		n2_verify(regclass): checks every structural invariant of an index
 *		and returns one row per problem found (none when it is sound), in the
 *		spirit of amcheck.
 *
 * Checked: the metapage; every tuple's kind and size; element TID counts;
 * link targets (an element, not the element itself, no duplicates, on a
 * level the target has, valid entries first; an element VACUUM flagged
 * deleted is a valid target until VACUUM, which rebuilds every list naming
 * it, gets there, concurrently or after a cancel, but not once the metapage
 * says every element flagged in its generation is unlinked (tomb_xid)); TID and
 * vector chains (kinds, lengths); that no TID chunk is in two chains, and
 * none in no chain holds a visible row (scans would not see it there); the
 * entry point (an element on the top level); and that every element
 * holding a visible row is reachable from the entry point on level 0.
 *
 * On a hot standby, where replay does not wait for n2_verify's lock, only
 * the problems that several passes a moment apart all find are returned.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "core/graph.h"
#include "core/reach.h"
#include "filter.h"
#include "n2.h"

/* One problem found: the row n2_verify returns for it. */
typedef struct VerifyProblem
{
	BlockNumber blkno;
	OffsetNumber off;
	char	   *text;
} VerifyProblem;

/*
 * On a hot standby replay changes the index while a pass reads it: a pass
 * sees pages from before and after an insert or VACUUM step, and reports
 * links to elements not there yet and the like.  Only what a few passes,
 * apart, all find is returned.
 */
#define N2_VERIFY_STANDBY_PASSES	3
#define N2_VERIFY_STANDBY_GAP_MS	200

typedef struct N2VerifyState
{
	Relation	index;
	Relation	heap;
	N2MetaPageData meta;
	N2Params	p;
	MemoryContext resultcxt;	/* where found lives, across passes */
	List	   *found;			/* VerifyProblem, in the order found */

	/* every element, in page order (so sorted by ref) */
	N2Ref	   *refs;
	uint8	   *levels;
	bool	   *live;			/* not flagged deleted: a valid link target */
	bool	   *unlinked;		/* a tombstone: no live element may link to it */
	bool	   *holds;			/* live and holding heap TIDs: must be
								 * reachable */
	uint32	   *keyhash;		/* a hash of the element's filter keys */
	int64		nrefs;
	int64		caprefs;

	/* every TID chunk, in page order, and how many chains lead to it */
	N2Ref	   *chunks;
	uint8	   *chained;
	int64		nchunks;
	int64		capchunks;

	/* key directory entries: element ref, keys hash and the entry's place */
	uint64	   *entries;
	int64		nentries;
	int64		capentries;
	N2Reach    *reach;			/* pass 3's walk (malloc'd core state) */
} N2VerifyState;

static void
			problem(N2VerifyState *vs, BlockNumber blkno, OffsetNumber off,
					const char *fmt,...) pg_attribute_printf(4, 5);

static void
problem(N2VerifyState *vs, BlockNumber blkno, OffsetNumber off,
		const char *fmt,...)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(vs->resultcxt);
	VerifyProblem *pr = palloc(sizeof(VerifyProblem));
	char		buf[512];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	pr->blkno = blkno;
	pr->off = off;
	pr->text = pstrdup(buf);
	vs->found = lappend(vs->found, pr);
	MemoryContextSwitchTo(oldcxt);
}

static int
compare_problems(const void *a, const void *b)
{
	const VerifyProblem *x = *(VerifyProblem *const *) a;
	const VerifyProblem *y = *(VerifyProblem *const *) b;

	if (x->blkno != y->blkno)
		return x->blkno < y->blkno ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* Of the problems in now, those before holds too, in now's order. */
static List *
problems_in_both(List *before, List *now)
{
	int			n = list_length(before);
	VerifyProblem **sorted = palloc(sizeof(VerifyProblem *) * Max(n, 1));
	List	   *kept = NIL;
	ListCell   *lc;
	int			i = 0;

	foreach(lc, before)
		sorted[i++] = lfirst(lc);
	qsort(sorted, n, sizeof(VerifyProblem *), compare_problems);
	foreach(lc, now)
	{
		VerifyProblem *pr = lfirst(lc);

		if (bsearch(&pr, sorted, n, sizeof(VerifyProblem *), compare_problems))
			kept = lappend(kept, pr);
	}
	pfree(sorted);
	return kept;
}

static void check_keys_page(N2VerifyState *vs, BlockNumber blkno, Page page);

static inline int64
find_ref(const N2VerifyState *vs, N2Ref ref)
{
	return n2_ref_position(vs->refs, vs->nrefs, ref);
}

/* The tuple tid names, with its page share-locked in *buf; NULL if none. */
static char *
fetch_tuple(N2VerifyState *vs, ItemPointer tid, Buffer *buf, Size *size)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Page		page;
	ItemId		iid;

	*buf = InvalidBuffer;
	if (blkno == N2_METAPAGE_BLKNO || blkno >= RelationGetNumberOfBlocks(vs->index))
		return NULL;
	*buf = ReadBuffer(vs->index, blkno);
	LockBuffer(*buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(*buf);
	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page) ||
		!ItemIdIsNormal(iid = PageGetItemId(page, off)))
	{
		UnlockReleaseBuffer(*buf);
		*buf = InvalidBuffer;
		return NULL;
	}
	*size = ItemIdGetLength(iid);
	return PageGetItem(page, iid);
}

/*
 * Counts a chain's visit to the TID chunk at tid; false, with a problem
 * reported, when another chain got there first (the rest of this chain is
 * that one's, or a cycle).
 */
static bool
note_chained(N2VerifyState *vs, BlockNumber blkno, OffsetNumber off,
			 ItemPointer tid)
{
	int64		at = n2_ref_position(vs->chunks, vs->nchunks, n2_tid_to_ref(tid));

	if (at < 0)
		return true;			/* not seen by pass 1: added since */
	if (vs->chained[at] == 0)
	{
		vs->chained[at] = 1;
		return true;
	}
	problem(vs, blkno, off, "TID chain reaches TID chunk (%u,%u) a second time: it is in another chain too, or this one loops",
			ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
	return false;
}

/* Walks an element's TID chain; returns the heap TIDs found there. */
static int64
check_tid_chain(N2VerifyState *vs, BlockNumber blkno, OffsetNumber off,
				ItemPointerData next)
{
	int64		ntids = 0;
	int			hops = 0;

	while (ItemPointerIsValid(&next))
	{
		Buffer		buf;
		Size		size;
		N2TidChunk	tc;

		CHECK_FOR_INTERRUPTS();
		tc = (N2TidChunk) fetch_tuple(vs, &next, &buf, &size);
		if (tc == NULL || tc->type != N2_TUPLE_TIDS ||
			size < n2_tid_chunk_size(tc->capacity) || tc->ntids > tc->capacity)
		{
			problem(vs, blkno, off, "TID chain entry (%u,%u) is not a valid TID chunk",
					ItemPointerGetBlockNumber(&next), ItemPointerGetOffsetNumber(&next));
			if (BufferIsValid(buf))
				UnlockReleaseBuffer(buf);
			return ntids;
		}
		ntids += tc->ntids;
		if (!note_chained(vs, blkno, off, &next))
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		next = tc->next;
		UnlockReleaseBuffer(buf);
		if (++hops > 1000000)
		{
			problem(vs, blkno, off, "TID chain does not end");
			break;
		}
	}
	return ntids;
}

static void
check_vector_chain(N2VerifyState *vs, BlockNumber blkno, OffsetNumber off,
				   N2ElementTuple et)
{
	int			have = et->ninline;
	ItemPointerData next = et->vecnext;

	while (ItemPointerIsValid(&next) && have < vs->p.dims)
	{
		Buffer		buf;
		Size		size;
		N2VectorChunk vc = (N2VectorChunk) fetch_tuple(vs, &next, &buf, &size);

		if (vc == NULL || vc->type != N2_TUPLE_VECTOR ||
			size < n2_vector_chunk_size(&vs->p, vc->ndims) ||
			vc->codelen != n2_chunk_code_bytes(&vs->p, vc->ndims))
		{
			problem(vs, blkno, off, "vector chain entry (%u,%u) is not a valid vector chunk",
					ItemPointerGetBlockNumber(&next), ItemPointerGetOffsetNumber(&next));
			if (BufferIsValid(buf))
				UnlockReleaseBuffer(buf);
			return;
		}
		have += vc->ndims;
		next = vc->next;
		UnlockReleaseBuffer(buf);
	}
	if (have != vs->p.dims)
		problem(vs, blkno, off, "vector has %d of %d dimensions", have, vs->p.dims);
}

/* Pass 1: tuple formats, element inventory. */
static void
check_pages(N2VerifyState *vs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);

	for (BlockNumber blkno = N2_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf = ReadBuffer(vs->index, blkno);
		Page		page;
		OffsetNumber maxoff;
		N2ElementTuple *elements;
		int			nelements = 0;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page))
		{
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (PageGetSpecialSize(page) != MAXALIGN(sizeof(N2PageOpaqueData)) ||
			N2PageGetOpaque(page)->page_id != N2_PAGE_ID ||
			!(N2PageGetOpaque(page)->flags & (N2_PAGE_DATA | N2_PAGE_KEYS)))
		{
			problem(vs, blkno, InvalidOffsetNumber, "not an n2 data page");
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (N2PageGetOpaque(page)->flags & N2_PAGE_KEYS)
		{
			check_keys_page(vs, blkno, page);
			UnlockReleaseBuffer(buf);
			continue;
		}
		maxoff = PageGetMaxOffsetNumber(page);
		elements = palloc(sizeof(N2ElementTuple) * (maxoff + 1));
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			char	   *tuple;
			Size		size;

			if (!ItemIdIsNormal(iid))
				continue;
			tuple = PageGetItem(page, iid);
			size = ItemIdGetLength(iid);
			if (tuple[0] == N2_TUPLE_ELEMENT)
			{
				N2ElementTuple et = (N2ElementTuple) tuple;
				int			ninline;
				const char *keyproblem;

				if (et->level > N2_MAX_LEVEL ||
					size != n2_element_size(&vs->p, et->level, et->keylen, &ninline) ||
					et->ninline != ninline ||
					et->codelen != n2_code_bytes(&vs->p, ninline))
				{
					problem(vs, blkno, off, "element has size %zu, level %d and %d inline dimensions, which do not match the index parameters",
							size, et->level, et->ninline);
					continue;
				}
				if (et->ntids > N2_INLINE_TIDS)
					problem(vs, blkno, off, "element claims %d inline heap TIDs", et->ntids);
				keyproblem = n2_keys_problem(vs->index, N2ElementKeys(et), et->keylen);
				if (keyproblem != NULL)
					problem(vs, blkno, off, "%s", keyproblem);
				if ((vs->p.link_bytes == 3 &&
					 !n2_link3_fits(blkno, off, vs->p.link_offset_bits)) ||
					(vs->p.link_bytes == 4 && !n2_link4_fits(blkno, off)))
					problem(vs, blkno, off, "element has no %d-byte link",
							vs->p.link_bytes);
				if (vs->nrefs == vs->caprefs)
				{
					vs->caprefs = Max(vs->caprefs * 2, 1024);
					vs->refs = repalloc_huge(vs->refs, sizeof(N2Ref) * vs->caprefs);
					vs->levels = repalloc_huge(vs->levels, vs->caprefs);
					vs->live = repalloc_huge(vs->live, sizeof(bool) * vs->caprefs);
					vs->unlinked = repalloc_huge(vs->unlinked, sizeof(bool) * vs->caprefs);
					vs->holds = repalloc_huge(vs->holds, sizeof(bool) * vs->caprefs);
					vs->keyhash = repalloc_huge(vs->keyhash, sizeof(uint32) * vs->caprefs);
				}
				vs->keyhash[vs->nrefs] = hash_bytes((const unsigned char *) N2ElementKeys(et),
													et->keylen);
				vs->refs[vs->nrefs] = n2_ref(blkno, off);
				vs->levels[vs->nrefs] = et->level;
				vs->live[vs->nrefs] = !(et->flags & N2_ELEMENT_DELETED);
				vs->unlinked[vs->nrefs] = !vs->live[vs->nrefs] &&
					vs->meta.tomb_xid[(et->flags & N2_ELEMENT_EPOCH) ? 1 : 0] != 0;
				vs->holds[vs->nrefs] = false;
				vs->nrefs++;
				elements[nelements++] = et;
			}
			else if (tuple[0] == N2_TUPLE_TIDS)
			{
				if (vs->nchunks == vs->capchunks)
				{
					vs->capchunks = Max(vs->capchunks * 2, 1024);
					vs->chunks = vs->chunks == NULL ?
						MemoryContextAllocHuge(CurrentMemoryContext, sizeof(N2Ref) * vs->capchunks) :
						repalloc_huge(vs->chunks, sizeof(N2Ref) * vs->capchunks);
					vs->chained = vs->chained == NULL ?
						MemoryContextAllocHuge(CurrentMemoryContext, vs->capchunks) :
						repalloc_huge(vs->chained, vs->capchunks);
				}
				vs->chunks[vs->nchunks] = n2_ref(blkno, off);
				vs->chained[vs->nchunks] = 0;
				vs->nchunks++;
			}
			else if (tuple[0] != N2_TUPLE_VECTOR && tuple[0] != N2_TUPLE_QUANT)
				problem(vs, blkno, off, "unknown tuple kind %d", tuple[0]);
		}
		pfree(elements);
		UnlockReleaseBuffer(buf);
	}
}

/* A key directory page: entries only, each with sound keys. */
static void
check_keys_page(N2VerifyState *vs, BlockNumber blkno, Page page)
{
	OffsetNumber off = InvalidOffsetNumber;
	char	   *tuple;

	while ((tuple = n2_page_next_tuple(page, &off)) != NULL)
	{
		N2KeyEntry	ke = (N2KeyEntry) tuple;
		const char *keyproblem;

		if (ke->type != N2_TUPLE_KEYS ||
			ItemIdGetLength(PageGetItemId(page, off)) != N2_KEY_ENTRY_HEADER + ke->keylen)
		{
			problem(vs, blkno, off, "key directory page holds a tuple of kind %d and %u bytes",
					ke->type, ItemIdGetLength(PageGetItemId(page, off)));
			continue;
		}
		keyproblem = n2_keys_problem(vs->index, N2KeyEntryKeys(ke), ke->keylen);
		if (keyproblem != NULL)
			problem(vs, blkno, off, "key directory entry: %s", keyproblem);
		if (vs->nentries + 3 > vs->capentries)
		{
			vs->capentries = Max(vs->capentries * 2, 1024);
			vs->entries = vs->entries == NULL ?
				MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * vs->capentries) :
				repalloc_huge(vs->entries, sizeof(uint64) * vs->capentries);
		}
		vs->entries[vs->nentries++] = n2_tid_to_ref(&ke->element);
		vs->entries[vs->nentries++] =
			hash_bytes((const unsigned char *) N2KeyEntryKeys(ke), ke->keylen);
		vs->entries[vs->nentries++] = n2_ref(blkno, off);
	}
}

static int
compare_entries(const void *a, const void *b)
{
	const uint64 *x = a;
	const uint64 *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	if (x[1] != y[1])
		return x[1] < y[1] ? -1 : 1;
	return 0;
}

/*
 * Pass 2b: in an index with a key directory, every element holding heap
 * TIDs has an entry with its keys (a scan listing the elements its filter
 * passes from the directory would miss its rows otherwise), and every entry
 * names an element with its keys (VACUUM removes an element's entry before
 * the element).
 */
static void
check_key_directory(N2VerifyState *vs)
{
	int64		n = vs->nentries / 3;

	if (vs->meta.keys_head == N2_METAPAGE_BLKNO)
	{
		if (n > 0)
			problem(vs, N2_METAPAGE_BLKNO, InvalidOffsetNumber,
					"metapage names no key directory, but %lld entries exist",
					(long long) n);
		return;
	}
	for (int64 i = 0; i < n; i++)
	{
		uint64	   *e = &vs->entries[3 * i];
		int64		at = find_ref(vs, e[0]);

		if (at < 0 || vs->keyhash[at] != e[1])
			problem(vs, n2_ref_block(e[2]), n2_ref_offset(e[2]),
					"key directory entry names (%u,%u), %s",
					n2_ref_block(e[0]), n2_ref_offset(e[0]),
					at < 0 ? "which is not an element" : "whose keys differ");
	}
	if (n > 1)
		qsort(vs->entries, n, 3 * sizeof(uint64), compare_entries);
	for (int64 i = 0; i < vs->nrefs; i++)
	{
		uint64		key[3] = {vs->refs[i], vs->keyhash[i], 0};

		CHECK_FOR_INTERRUPTS();
		if (!vs->holds[i])
			continue;
		if (n == 0 || bsearch(key, vs->entries, n, 3 * sizeof(uint64),
							  compare_entries) == NULL)
			problem(vs, n2_ref_block(vs->refs[i]), n2_ref_offset(vs->refs[i]),
					"element has no key directory entry with its keys");
	}
}

/* Pass 2: every element's links and chains. */
static void
check_elements(N2VerifyState *vs)
{
	const N2Params *p = &vs->p;
	ItemPointerData *links = palloc(sizeof(ItemPointerData) *
									n2_links_count(p, N2_MAX_LEVEL));

	for (int64 i = 0; i < vs->nrefs; i++)
	{
		ItemPointerData tid;
		Buffer		buf;
		Size		size;
		N2ElementTuple et;
		BlockNumber blkno;
		OffsetNumber off;
		ItemPointerData tidchain;
		int64		ntids;

		CHECK_FOR_INTERRUPTS();
		n2_ref_to_tid(vs->refs[i], &tid);
		blkno = ItemPointerGetBlockNumber(&tid);
		off = ItemPointerGetOffsetNumber(&tid);
		et = (N2ElementTuple) fetch_tuple(vs, &tid, &buf, &size);
		if (et == NULL)
			continue;			/* removed concurrently */
		if (!vs->live[i])
		{
			/* VACUUM deletes its chain with it: no chunk there is lost */
			tidchain = et->tidchain;
			UnlockReleaseBuffer(buf);
			(void) check_tid_chain(vs, blkno, off, tidchain);
			continue;
		}

		n2_links_read(p, et, 0, n2_links_count(p, et->level), links);
		for (int level = 0; level <= et->level; level++)
		{
			int			start = n2_links_start(p, level);
			int			cap = n2_links_cap(p, level);
			bool		ended = false;

			for (int j = 0; j < cap; j++)
			{
				ItemPointer link = &links[start + j];
				int64		target;

				if (!ItemPointerIsValid(link))
				{
					ended = true;
					continue;
				}
				if (ended)
					problem(vs, blkno, off, "level %d link %d follows an empty slot", level, j);
				if (ItemPointerEquals(link, &tid))
					problem(vs, blkno, off, "level %d links to the element itself", level);
				for (int k = 0; k < j; k++)
				{
					if (ItemPointerEquals(link, &links[start + k]))
						problem(vs, blkno, off, "level %d links twice to (%u,%u)", level,
								ItemPointerGetBlockNumber(link), ItemPointerGetOffsetNumber(link));
				}
				target = find_ref(vs, n2_tid_to_ref(link));
				if (target < 0)
					problem(vs, blkno, off, "level %d link (%u,%u) is not an element",
							level, ItemPointerGetBlockNumber(link), ItemPointerGetOffsetNumber(link));
				else if (vs->levels[target] < level)
					problem(vs, blkno, off, "level %d links to (%u,%u), which has only level %d",
							level, ItemPointerGetBlockNumber(link),
							ItemPointerGetOffsetNumber(link), vs->levels[target]);
				else if (vs->unlinked[target])
					problem(vs, blkno, off, "level %d links to (%u,%u), which VACUUM unlinked",
							level, ItemPointerGetBlockNumber(link),
							ItemPointerGetOffsetNumber(link));
			}
		}
		tidchain = et->tidchain;
		ntids = et->ntids;
		if (et->ninline < p->dims)
			check_vector_chain(vs, blkno, off, et);
		else if (ItemPointerIsValid(&et->vecnext))
			problem(vs, blkno, off, "narrow element has a vector chain");
		UnlockReleaseBuffer(buf);

		ntids += check_tid_chain(vs, blkno, off, tidchain);

		/*
		 * An element whose rows all died awaits VACUUM: still a fine link
		 * target, but nothing needs to reach it.
		 */
		vs->holds[i] = ntids > 0;
	}
	pfree(links);
}

/* Whether any of the heap rows tids[0 .. n) is visible to our snapshot. */
static bool
any_visible(N2VerifyState *vs, ItemPointerData *tids, int n)
{
	for (int i = 0; i < n; i++)
	{
		bool		all_dead;

		if (table_index_fetch_tuple_check(vs->heap, &tids[i], GetActiveSnapshot(),
										  &all_dead))
			return true;
	}
	return false;
}

/*
 * Whether the TID chunk at tid holds a heap row visible to our snapshot;
 * *next gets the chunk's link (invalid if tid names no sound chunk).  next
 * may be tid.
 */
static bool
chunk_holds_visible_row(N2VerifyState *vs, ItemPointer tid, ItemPointerData *next)
{
	ItemPointerData at = *tid;
	Buffer		buf;
	Size		size;
	N2TidChunk	tc = (N2TidChunk) fetch_tuple(vs, &at, &buf, &size);
	ItemPointerData *tids;
	int			n;
	bool		visible;

	ItemPointerSetInvalid(next);
	if (tc == NULL)
		return false;
	if (tc->type != N2_TUPLE_TIDS || tc->ntids > tc->capacity ||
		size < n2_tid_chunk_size(tc->capacity))
	{
		UnlockReleaseBuffer(buf);
		return false;
	}
	n = tc->ntids;
	tids = palloc(sizeof(ItemPointerData) * Max(n, 1));
	memcpy(tids, tc->tids, sizeof(ItemPointerData) * n);
	*next = tc->next;
	UnlockReleaseBuffer(buf);
	visible = any_visible(vs, tids, n);
	pfree(tids);
	return visible;
}

/*
 * Whether any heap row of the element at tid is visible to our snapshot.
 * An insert that crashed (or was cancelled) between writing its element and
 * linking it leaves an unreachable element whose rows never committed; that
 * is harmless, and VACUUM removes it, so only visible rows count.
 */
static bool
holds_visible_row(N2VerifyState *vs, ItemPointer tid)
{
	Buffer		buf;
	Size		size;
	N2ElementTuple et = (N2ElementTuple) fetch_tuple(vs, tid, &buf, &size);
	ItemPointerData tids[N2_INLINE_TIDS];
	int			ntids;
	ItemPointerData next;
	bool		visible;

	if (et == NULL)
		return false;
	ntids = et->ntids;
	memcpy(tids, et->heaptids, sizeof(tids));
	next = et->tidchain;
	UnlockReleaseBuffer(buf);

	visible = any_visible(vs, tids, ntids);
	while (!visible && ItemPointerIsValid(&next))
	{
		CHECK_FOR_INTERRUPTS();
		visible = chunk_holds_visible_row(vs, &next, &next);
	}
	return visible;
}

/*
 * Pass 2c: a TID chunk no chain reaches is space nothing frees.  An insert
 * cancelled between writing its chunk and linking it leaves one, holding
 * only its own row, which never committed; one holding a visible row is a
 * row scans do not find there.
 */
static void
check_unchained(N2VerifyState *vs)
{
	for (int64 i = 0; i < vs->nchunks; i++)
	{
		ItemPointerData tid;
		ItemPointerData next;

		if (vs->chained[i] > 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		n2_ref_to_tid(vs->chunks[i], &tid);
		if (chunk_holds_visible_row(vs, &tid, &next))
			problem(vs, ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid),
					"TID chunk in no element's TID chain holds a visible row");
	}
}

/*
 * The reachability walk's slots are positions in refs: every element, live
 * or flagged (scans walk through flagged elements too).
 */
static int64_t
element_slot(void *arg, N2Ref ref)
{
	return find_ref((N2VerifyState *) arg, ref);
}

static N2Ref
element_ref(void *arg, uint64 slot)
{
	return ((N2VerifyState *) arg)->refs[slot];
}

static void
element_poll(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

static const N2ReachOps element_slot_ops = {element_slot, element_ref, NULL,
element_poll};

static void
free_reach(void *arg)
{
	n2_reach_free((N2Reach *) arg);
}

/* Pass 3: level-0 reachability of every live element from the entry. */
static void
check_reachable(N2VerifyState *vs)
{
	N2PageGraph *pg;
	MemoryContextCallback *cleanup;
	int64		entry;

	if (!ItemPointerIsValid(&vs->meta.entry))
	{
		for (int64 i = 0; i < vs->nrefs; i++)
		{
			if (vs->holds[i])
			{
				problem(vs, InvalidBlockNumber, InvalidOffsetNumber,
						"index has live elements but no entry point");
				break;
			}
		}
		return;
	}
	entry = find_ref(vs, n2_tid_to_ref(&vs->meta.entry));
	if (entry < 0)
	{
		problem(vs, N2_METAPAGE_BLKNO, InvalidOffsetNumber, "entry point (%u,%u) is not an element",
				ItemPointerGetBlockNumber(&vs->meta.entry), ItemPointerGetOffsetNumber(&vs->meta.entry));
		return;
	}
	if (vs->unlinked[entry])
		problem(vs, N2_METAPAGE_BLKNO, InvalidOffsetNumber,
				"entry point (%u,%u) is an element VACUUM unlinked",
				ItemPointerGetBlockNumber(&vs->meta.entry), ItemPointerGetOffsetNumber(&vs->meta.entry));
	if (vs->levels[entry] != vs->meta.max_level)
		problem(vs, N2_METAPAGE_BLKNO, InvalidOffsetNumber,
				"entry point has level %d but the metapage says %d",
				vs->levels[entry], vs->meta.max_level);
	for (int64 i = 0; i < vs->nrefs; i++)
	{
		/*
		 * A flagged element may be above it: VACUUM lowers the top level with
		 * the entry point before it deletes the old one, and a cancel between
		 * the two leaves it for the next VACUUM.
		 */
		if (vs->levels[i] > vs->meta.max_level && vs->live[i])
		{
			ItemPointerData tid;

			n2_ref_to_tid(vs->refs[i], &tid);
			problem(vs, ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid),
					"element level %d is above the top level %d", vs->levels[i],
					vs->meta.max_level);
		}
	}

	/* the walk's memory is malloc'd: an error frees it with this context */
	vs->reach = palloc0(sizeof(N2Reach));
	cleanup = palloc0(sizeof(MemoryContextCallback));
	cleanup->func = free_reach;
	cleanup->arg = vs->reach;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cleanup);
	pg = palloc0(sizeof(N2PageGraph));
	n2_page_graph_init(pg, vs->index, &vs->p, NULL);
	if (!n2_reach_init(vs->reach, &n2_page_graph_ops, pg, &element_slot_ops, vs, NULL,
					   vs->nrefs, vs->nrefs / 64 + 1024, vs->p.max_m0))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("n2_verify could not allocate its reachability state.")));
	n2_reach_from(vs->reach, entry);
	n2_page_graph_release(pg);
	for (int64 i = 0; i < vs->nrefs; i++)
	{
		if (vs->holds[i] && !n2_reach_seen(vs->reach, i))
		{
			ItemPointerData tid;

			CHECK_FOR_INTERRUPTS();
			n2_ref_to_tid(vs->refs[i], &tid);
			if (holds_visible_row(vs, &tid))
				problem(vs, ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid),
						"element holds a visible row but is not reachable from the entry point");
		}
	}
}

/*
 * One pass of every check over the index as it is, its problems appended
 * to vs->found; what it allocates goes with it.
 */
static void
verify_pass(N2VerifyState *vs)
{
	MemoryContext passcxt = AllocSetContextCreate(CurrentMemoryContext,
												  "n2_verify pass",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(passcxt);

	vs->nrefs = 0;
	vs->caprefs = 1024;
	vs->refs = MemoryContextAllocHuge(passcxt, sizeof(N2Ref) * vs->caprefs);
	vs->levels = MemoryContextAllocHuge(passcxt, vs->caprefs);
	vs->live = MemoryContextAllocHuge(passcxt, sizeof(bool) * vs->caprefs);
	vs->unlinked = MemoryContextAllocHuge(passcxt, sizeof(bool) * vs->caprefs);
	vs->holds = MemoryContextAllocHuge(passcxt, sizeof(bool) * vs->caprefs);
	vs->keyhash = MemoryContextAllocHuge(passcxt, sizeof(uint32) * vs->caprefs);
	vs->chunks = NULL;
	vs->chained = NULL;
	vs->nchunks = 0;
	vs->capchunks = 0;
	vs->entries = NULL;
	vs->nentries = 0;
	vs->capentries = 0;
	vs->reach = NULL;

	/*
	 * Inserts and VACUUM's repair pass wait meanwhile, so every link is
	 * checked against a complete graph; scans go on.  The metapage is read
	 * under this lock too: an insert may set the dimension of a real[] index
	 * or move the entry point until we hold it.
	 */
	LockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_EXCLUSIVE);
	n2_read_meta(vs->index, &vs->meta);
	n2_params_from_meta(vs->index, &vs->meta, &vs->p);
	if (vs->meta.m < N2_MIN_M || vs->meta.m > N2_MAX_M ||
		vs->meta.max_m0 < vs->meta.m || vs->meta.max_m0 > N2_MAX_M0 ||
		vs->meta.dims < 0 || vs->meta.dims > N2_MAX_DIM ||
		vs->meta.storage > N2_STORAGE_SQ8)
		problem(vs, N2_METAPAGE_BLKNO, InvalidOffsetNumber,
				"metapage parameters out of range (m %d, max_m0 %d, dims %d, storage %d)",
				vs->meta.m, vs->meta.max_m0, vs->meta.dims, vs->meta.storage);
	else
	{
		if (n2_storage_needs_training(&vs->p) && ItemPointerIsValid(&vs->meta.entry))
			problem(vs, N2_METAPAGE_BLKNO, InvalidOffsetNumber,
					"sq8 index holds elements but names no quantizer");
		check_pages(vs);
		check_elements(vs);
		check_unchained(vs);
		check_key_directory(vs);
		check_reachable(vs);
	}
	UnlockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_EXCLUSIVE);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(passcxt);
}

/* The problems found, as n2_verify's rows. */
static void
emit_problems(N2VerifyState *vs, ReturnSetInfo *rsinfo)
{
	ListCell   *lc;

	foreach(lc, vs->found)
	{
		VerifyProblem *pr = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum((int64) pr->blkno);
		values[1] = Int32GetDatum((int32) pr->off);
		nulls[0] = pr->blkno == InvalidBlockNumber;
		nulls[1] = pr->off == InvalidOffsetNumber;
		values[2] = CStringGetTextDatum(pr->text);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

PG_FUNCTION_INFO_V1(n2_verify);
Datum
n2_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			indexoid = PG_GETARG_OID(0);
	Oid			heapoid;
	N2VerifyState vs;

	InitMaterializedSRF(fcinfo, 0);
	memset(&vs, 0, sizeof(vs));

	/* The table before its index, as everyone else locks them. */
	heapoid = IndexGetRelation(indexoid, true);
	if (OidIsValid(heapoid))
		vs.heap = table_open(heapoid, AccessShareLock);
	vs.index = n2_open_index(indexoid);
	if (vs.heap == NULL || vs.index->rd_index->indrelid != heapoid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("could not open the table of index \"%s\"",
						RelationGetRelationName(vs.index))));
	vs.resultcxt = CurrentMemoryContext;
	verify_pass(&vs);
	for (int pass = 1; RecoveryInProgress() && vs.found != NIL &&
		 pass < N2_VERIFY_STANDBY_PASSES; pass++)
	{
		List	   *before = vs.found;

		pg_usleep(N2_VERIFY_STANDBY_GAP_MS * 1000L);
		CHECK_FOR_INTERRUPTS();
		vs.found = NIL;
		verify_pass(&vs);
		vs.found = problems_in_both(before, vs.found);
	}
	emit_problems(&vs, rsinfo);

	relation_close(vs.index, AccessShareLock);
	table_close(vs.heap, AccessShareLock);
	return (Datum) 0;
}
