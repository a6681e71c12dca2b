/*
 * Copyright (c) 2025-2026, the n2 developers
 * vacuum.c
 *		VACUUM: remove dead heap TIDs, then unlink the elements left with
 *		none, repair the neighbour lists that pointed to them, and free
 *		their space for later inserts.
 *
 * Pass 1 (no graph lock; scans and inserts go on) filters heap TIDs page by
 * page and notes the elements left empty.  The repair takes N2_UPDATE_LOCK
 * exclusively (inserts wait; scans go on) only for two short steps, and
 * holds it in N2_LOCK_VACUUM mode, which inserts do not wait for, from the
 * first to the end.  First: the empty elements are re-checked (an insert
 * of the same vector may have refilled one) and the doomed ones flagged
 * deleted, so that no insert joins or links to them from then on.  Then a
 * walk over live elements from the entry point finds those that only
 * doomed ones reach, and links each from a reached one, as an insert links
 * a new node.  Then every list that links to a doomed element is rebuilt:
 * its live links stay, and its doomed ones give way to the best of the
 * doomed element's own neighbours (and of a search when those are too
 * few), each list written only if no insert changed it meanwhile.  No path
 * of live elements breaks, so a scan that starts during the repair finds
 * every row.  Second: the entry point moves if it is doomed, lists an
 * insert gave a doomed link meanwhile are rebuilt too, and any live element
 * concurrent inserts left without an incoming path is reconnected.  Only
 * then are the doomed tuples deleted (without moving other line pointers)
 * and their space recorded in the free space map.  Each change is
 * WAL-logged page by page.  A crash (or a cancel) before the reconnection
 * may leave such elements unreachable; the next VACUUM finds the flagged
 * elements again (they hold no heap TIDs) and reconnects them.
 *
 * Memory: the doomed elements of one batch (8 bytes each, twice: the
 * candidates and those confirmed) stay within maintenance_work_mem
 * (autovacuum_work_mem in autovacuum).  When pass 1 has collected that
 * many, it stops, the repair passes handle the batch, and pass 1 goes on
 * from the page where it stopped.  The lists to repair are found and
 * repaired a page at a time.  Only the reachability check needs state for
 * every live element: bitmaps over the index's line pointers, in a mark
 * file that spills to a temporary file past the budget (see N2LiveSlots).
 *
 * Every loop checks for interrupts (vacuum_delay_point) with no buffer
 * locked, so a cancel takes effect promptly; nothing done by then is lost,
 * and the next VACUUM finishes the job.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/transam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "postmaster/autovacuum.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "core/reach.h"
#include "n2.h"

typedef struct N2RefSet
{
	N2Ref	   *refs;			/* sorted */
	int64		n;
	int64		cap;			/* allocated */
	int64		max;			/* never more: the memory bound */
} N2RefSet;

typedef struct N2VacuumState
{
	IndexVacuumInfo *info;
	Relation	index;
	IndexBulkDeleteResult *stats;
	IndexBulkDeleteCallback callback;
	void	   *callback_state;
	int64		max_batch;		/* doomed elements handled per batch */
	int			nbatches;
	N2MetaPageData meta;
	N2Params	p;
	N2RefSet	dead;			/* elements left without heap TIDs */
	FullTransactionId tomb_xid[2];	/* the metapage's when VACUUM began */
	bool		purge[2];		/* those generations can be removed now */
	int			gen;			/* the generation this VACUUM flags into */
	bool		gen_cleared;	/* it cleared tomb_xid[gen] */
	int64		nflagged;		/* elements it unlinked and kept */
	int64		nkept[2];		/* older tombstones kept, by generation */
	int64		npurged;		/* older tombstones removed */
	int			wait_ms;		/* for older snapshots (tombstones_removable) */
	N2PageGraph pg;
	N2Search	search;
	bool		search_valid;
	N2Reach		reach;			/* the orphan check's walk */
	bool		reach_valid;
	MemoryContextCallback cleanup;
} N2VacuumState;

static void
refset_init(N2RefSet *set, int64 max)
{
	set->refs = NULL;
	set->n = 0;
	set->cap = 0;
	set->max = max;
}

static void
refset_free(N2RefSet *set)
{
	if (set->refs != NULL)
		pfree(set->refs);
	set->refs = NULL;
	set->n = 0;
	set->cap = 0;
}

/* Appends ref; callers keep n below max. */
static void
refset_add(N2RefSet *set, N2Ref ref)
{
	if (set->n == set->cap)
	{
		Assert(set->cap < set->max);
		set->cap = Min(Max(set->cap * 2, 256), set->max);
		if (set->refs == NULL)
			set->refs = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(N2Ref) * set->cap);
		else
			set->refs = repalloc_huge(set->refs, sizeof(N2Ref) * set->cap);
	}
	set->refs[set->n++] = ref;
}

static inline int64
refset_index(const N2RefSet *set, N2Ref ref)
{
	return n2_ref_position(set->refs, set->n, ref);
}

static inline bool
refset_contains(const N2RefSet *set, N2Ref ref)
{
	return refset_index(set, ref) >= 0;
}

/* Removes dead TIDs from tids[0..n) in place; returns how many remain. */
static int
filter_tids(N2VacuumState *vs, ItemPointerData *tids, int n, bool *changed)
{
	int			kept = 0;

	for (int i = 0; i < n; i++)
	{
		if (!vs->callback(&tids[i], vs->callback_state))
			tids[kept++] = tids[i];
	}
	for (int i = kept; i < n; i++)
		ItemPointerSetInvalid(&tids[i]);
	vs->stats->tuples_removed += n - kept;
	vs->stats->num_index_tuples += kept;
	if (kept != n)
		*changed = true;
	return kept;
}

/*
 * Whether a TID chain holds a heap TID that is not dead.  Chunks on pages
 * pass 1 has not reached yet still hold their dead TIDs, so every TID is
 * checked; *ndead counts the dead ones still there.  The caller holds the
 * element's page locked, which keeps the chain from changing.
 */
static bool
chain_holds_live_tid(N2VacuumState *vs, Buffer ebuf, ItemPointerData next,
					 int64 *ndead)
{
	N2TidChainIter it;
	N2TidChunk	tc;
	bool		live = false;

	*ndead = 0;
	n2_tid_chain_begin(&it, vs->index, ebuf, next);
	while (!live && (tc = n2_tid_chain_next(&it)) != NULL)
	{
		for (int i = 0; i < tc->ntids && !live; i++)
		{
			if (vs->callback(&tc->tids[i], vs->callback_state))
				(*ndead)++;
			else
				live = true;
		}
	}
	n2_tid_chain_end(&it);
	return live;
}

/*
 * Pass 1 from block start up to end: filter heap TIDs (unless there is no
 * callback: then it only looks for tombstones); collect the elements left
 * with none inline, and the tombstones that can be removed.  Stops before a
 * page whose elements might not fit in the batch; returns the block to go
 * on from (end when done).
 */
static BlockNumber
remove_dead_tids(N2VacuumState *vs, BlockNumber start, BlockNumber end,
				 N2RefSet *empty, N2RefSet *tombs)
{
	for (BlockNumber blkno = start; blkno < end; blkno++)
	{
		Buffer		buf;
		Page		page;
		GenericXLogState *state;
		OffsetNumber off = InvalidOffsetNumber;
		char	   *tuple;
		bool		changed = false;
		int64		held = empty->n + tombs->n;

		if (held > 0 && held + MaxIndexTuplesPerPage > empty->max)
			return blkno;
		vacuum_delay_point();
		buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blkno, RBM_NORMAL,
								 vs->info->strategy);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(vs->index);
		if (PageIsNew(BufferGetPage(buf)))
		{
			/*
			 * An insert extended the file and crashed before writing the
			 * page: initialise it and offer it to later inserts.
			 */
			page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
			n2_init_page(page, N2_PAGE_DATA);
			GenericXLogFinish(state);
			RecordPageWithFreeSpace(vs->index, blkno, PageGetFreeSpace(BufferGetPage(buf)));
			UnlockReleaseBuffer(buf);
			continue;
		}
		page = GenericXLogRegisterBuffer(state, buf, 0);
		while ((tuple = n2_page_next_tuple(page, &off)) != NULL)
		{
			if (tuple[0] == N2_TUPLE_ELEMENT)
			{
				N2ElementTuple et = (N2ElementTuple) tuple;

				/*
				 * Flagged in a generation whose tomb_xid is valid: unlinked
				 * already, by a VACUUM that finished.
				 */
				if (et->flags & N2_ELEMENT_DELETED)
				{
					int			g = (et->flags & N2_ELEMENT_EPOCH) ? 1 : 0;

					if (FullTransactionIdIsValid(vs->tomb_xid[g]))
					{
						if (vs->purge[g])
							refset_add(tombs, n2_ref(blkno, off));
						else
							vs->nkept[g]++;
						continue;
					}
				}
				if (vs->callback == NULL)
					continue;
				et->ntids = (uint8) filter_tids(vs, et->heaptids, et->ntids, &changed);
				if (et->ntids == 0)
					refset_add(empty, n2_ref(blkno, off));
			}
			else if (tuple[0] == N2_TUPLE_TIDS && vs->callback != NULL)
			{
				N2TidChunk	tc = (N2TidChunk) tuple;

				tc->ntids = (uint16) filter_tids(vs, tc->tids, tc->ntids, &changed);
			}
		}
		if (changed)
			GenericXLogFinish(state);
		else
			GenericXLogAbort(state);
		UnlockReleaseBuffer(buf);
	}
	return end;
}

/*
 * Keeps in vs->dead the elements of candidates that hold no heap TID at
 * all now (run under the exclusive update lock, so this stays true).  The
 * dead TIDs left in their chains go with them: count them removed.
 */
static void
confirm_dead(N2VacuumState *vs, const N2RefSet *candidates)
{
	refset_init(&vs->dead, Max(candidates->n, 1));
	for (int64 i = 0; i < candidates->n; i++)
	{
		N2Ref		ref = candidates->refs[i];
		N2ElementTuple et;
		bool		dead;
		int64		ndead = 0;

		vacuum_delay_point();
		n2_page_graph_read(&vs->pg, n2_ref_block(ref));
		LockBuffer(vs->pg.buf, BUFFER_LOCK_SHARE);
		et = n2_page_graph_element(&vs->pg, ref);
		dead = et != NULL && et->ntids == 0 &&
			!chain_holds_live_tid(vs, vs->pg.buf, et->tidchain, &ndead);
		LockBuffer(vs->pg.buf, BUFFER_LOCK_UNLOCK);
		if (dead)
		{
			refset_add(&vs->dead, ref);
			vs->stats->tuples_removed += ndead;
		}
	}
}

typedef void (*ElementVisitor) (N2VacuumState *vs, N2Ref ref,
								N2ElementTuple et, void *arg);

typedef struct N2VacuumVisit
{
	N2VacuumState *vs;
	ElementVisitor visit;
	void	   *arg;
} N2VacuumVisit;

static void
vacuum_visit(void *arg, N2Ref ref, N2ElementTuple et)
{
	N2VacuumVisit *v = (N2VacuumVisit *) arg;

	v->visit(v->vs, ref, et, v->arg);
}

/* Calls visit for every live element, its page share-locked. */
static void
for_each_element(N2VacuumState *vs, ElementVisitor visit, void *arg)
{
	N2VacuumVisit v = {vs, visit, arg};

	n2_for_each_element(vs->index, vs->info->strategy, true, vacuum_visit, &v);
}

typedef struct N2TopArg
{
	N2Ref		ref;
	int			level;
} N2TopArg;

static void
visit_top(N2VacuumState *vs, N2Ref ref, N2ElementTuple et, void *arg)
{
	N2TopArg   *top = (N2TopArg *) arg;

	if (et->level > top->level && !refset_contains(&vs->dead, ref))
	{
		top->level = et->level;
		top->ref = ref;
	}
}

/*
 * Writes the entry point (only under the exclusive update lock) or, with
 * deleted > 0, takes that many elements off the metapage's count (inserts
 * may have moved the entry meanwhile: it is left as it is).
 */
static void
write_meta(N2VacuumState *vs, int64 deleted)
{
	GenericXLogState *state = GenericXLogStart(vs->index);
	Buffer		buf = ReadBuffer(vs->index, N2_METAPAGE_BLKNO);
	N2MetaPage	meta;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	meta = N2PageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
	if (deleted > 0)
		meta->nelements = Max(meta->nelements - deleted, 0);
	else
	{
		meta->entry = vs->meta.entry;
		meta->max_level = vs->meta.max_level;
	}
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/*
 * Starts a change of the metapage fields an index written before they
 * existed lacks: its metapage is shorter, so its pd_lower grows to cover
 * them, or generic WAL would take them for the page's hole and zero them.
 */
static N2MetaPage
start_meta_change(N2VacuumState *vs, GenericXLogState **state, Buffer *buf)
{
	Page		page;
	N2MetaPage	meta;
	LocationIndex end;

	*state = GenericXLogStart(vs->index);
	*buf = ReadBuffer(vs->index, N2_METAPAGE_BLKNO);
	LockBuffer(*buf, BUFFER_LOCK_EXCLUSIVE);
	page = GenericXLogRegisterBuffer(*state, *buf, 0);
	meta = N2PageGetMeta(page);
	end = ((char *) meta + sizeof(N2MetaPageData)) - (char *) page;
	if (((PageHeader) page)->pd_lower < end)
		((PageHeader) page)->pd_lower = end;
	return meta;
}

/* Sets the metapage's tomb_xid of generation gen. */
static void
write_tomb_xid(N2VacuumState *vs, int gen, FullTransactionId xid)
{
	GenericXLogState *state;
	Buffer		buf;
	N2MetaPage	meta = start_meta_change(vs, &state, &buf);

	meta->tomb_xid[gen] = U64FromFullTransactionId(xid);
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	vs->meta.tomb_xid[gen] = U64FromFullTransactionId(xid);
}

/*
 * Counts a change on the metapage before elements are unlinked or deleted.
 * A scan may trust a page copy an earlier scan took under an equal snapshot
 * (pagecopy.c), and such a copy may still link an element this VACUUM
 * unlinks.  With the count first, scans that begin afterwards check their
 * copies again, and those that began before hold snapshots older than the
 * unlinking, for which the unlinked elements stay as tombstones.
 */
static void
count_vacuum_change(N2VacuumState *vs)
{
	GenericXLogState *state;
	Buffer		buf;
	N2MetaPage	meta = start_meta_change(vs, &state, &buf);

	meta->vacuum_changes++;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/*
 * Chooses the highest survivor as the entry point when the entry point is
 * doomed; returns whether it did.  The caller writes the metapage once
 * everything live is reachable from the new one.
 */
static bool
choose_entry_point(N2VacuumState *vs)
{
	N2TopArg	top = {N2_INVALID_REF, -1};

	if (!ItemPointerIsValid(&vs->meta.entry) ||
		!refset_contains(&vs->dead, n2_tid_to_ref(&vs->meta.entry)))
		return false;
	for_each_element(vs, visit_top, &top);
	if (top.ref == N2_INVALID_REF)
		ItemPointerSetInvalid(&vs->meta.entry);
	else
		n2_ref_to_tid(top.ref, &vs->meta.entry);
	vs->meta.max_level = (int16) top.level;
	return true;
}

/* Valid links of ref on level, appended to out; returns the new count. */
static int
append_links(N2VacuumState *vs, N2Ref ref, int level, N2Ref *out, int n, int cap)
{
	int			got = n2_page_graph_ops.neighbors(&vs->pg, ref, level, out + n, cap - n);

	return n + got;
}

/*
 * How a repaired list is chosen: the heuristic, then filled to the cap with
 * the closest candidates it pruned (keep_pruned = on), whatever the index's
 * keep_pruned.  A list the heuristic alone rebuilds from the two-hop pool is
 * sparser than the one it replaces: bigann10k with half its rows deleted
 * fell to recall@10 0.836 / 0.944 / 0.983 at ef 10 / 20 / 40, below a fresh
 * build of the rows left (0.876 / 0.962 / 0.988); filled, 0.937 / 0.981 /
 * 0.996, at no more buffer reads per query for the same recall.
 */
static N2SelectMethod
repair_method(const N2Params *p)
{
	return p->select == N2_SELECT_NAIVE ? N2_SELECT_NAIVE : N2_SELECT_KEEP_PRUNED;
}

/*
 * Rebuilds e's lists on every level where it links to a doomed element.
 * The live links stay: the doomed ones' slots go to the best of the other
 * candidates the selection chose.  Every path made of live links thus stays
 * while the repair goes on (the walk before it made every live element
 * reachable by one), so a scan that starts meanwhile finds every row.
 */
static void
repair_element(N2VacuumState *vs, N2Ref e)
{
	const N2Params *p = &vs->p;
	float	   *vec = n2_read_vector(&vs->pg, e);
	N2ElementTuple et;
	int			level;
	int			maxcand = (p->max_m0 + 1) * (p->max_m0 + 1) + p->ef_construction;
	N2Ref	   *pool;
	N2Ref	   *hop;
	N2Candidate *cands;
	float	   *dists;
	ItemPointerData *seen;
	int		   *keep;			/* positions of e's live links in pool */
	N2Candidate *list;

	if (vec == NULL)
		return;
	pool = palloc(sizeof(N2Ref) * maxcand);
	hop = palloc(sizeof(N2Ref) * (p->max_m0 + 1));
	keep = palloc(sizeof(int) * (p->max_m0 + 1));
	list = palloc(sizeof(N2Candidate) * (p->max_m0 + 1));
	cands = palloc(sizeof(N2Candidate) * maxcand);
	dists = palloc(sizeof(float) * maxcand);
	seen = palloc(sizeof(ItemPointerData) * (p->max_m0 + 1));
	n2_page_graph_read(&vs->pg, n2_ref_block(e));
	LockBuffer(vs->pg.buf, BUFFER_LOCK_SHARE);
	et = n2_page_graph_element(&vs->pg, e);
	level = et ? et->level : -1;
	LockBuffer(vs->pg.buf, BUFFER_LOCK_UNLOCK);

	vs->pg.query = vec;
	for (int l = 0; l <= level; l++)
	{
		int			cap = n2_links_cap(p, l);
		int			start = n2_links_start(p, l);
		int			nlinks;
		int			npool = 0;
		int			nkeep = 0;
		int			nk;
		int			nlist;
		bool		damaged = false;
		bool		changed = false;
		int			n = 0;
		int			nsel;
		GenericXLogState *state;
		Buffer		buf;
		ItemPointerData tid;

		/*
		 * Inserts go on meanwhile: the new list is computed from a copy and
		 * written only if the list is still that copy, else this level is
		 * done again from the list as it is now.
		 */
		n2_page_graph_read(&vs->pg, n2_ref_block(e));
		LockBuffer(vs->pg.buf, BUFFER_LOCK_SHARE);
		et = n2_page_graph_element(&vs->pg, e);
		if (et == NULL)
		{
			LockBuffer(vs->pg.buf, BUFFER_LOCK_UNLOCK);
			break;
		}
		n2_links_read(p, et, start, cap, seen);
		LockBuffer(vs->pg.buf, BUFFER_LOCK_UNLOCK);
		for (nlinks = 0; nlinks < cap && ItemPointerIsValid(&seen[nlinks]); nlinks++)
			hop[nlinks] = n2_tid_to_ref(&seen[nlinks]);

		for (int i = 0; i < nlinks; i++)
		{
			N2Ref		x = hop[i];

			if (!refset_contains(&vs->dead, x))
			{
				keep[nkeep++] = npool;
				pool[npool++] = x;
				continue;
			}
			damaged = true;

			/* a doomed neighbour's neighbours, one more hop past doomed ones */
			{
				int			first = npool;

				npool = append_links(vs, x, l, pool, npool, maxcand - p->ef_construction);
				for (int j = first, end = npool; j < end && npool < maxcand - p->ef_construction - cap; j++)
				{
					if (refset_contains(&vs->dead, pool[j]))
						npool = append_links(vs, pool[j], l, pool, npool,
											 maxcand - p->ef_construction);
				}
			}
		}
		if (!damaged)
			continue;

		/* keep the live ones, not e itself; keep follows e's links */
		nk = 0;
		for (int i = 0, k = 0; i < npool; i++)
		{
			bool		is_link = k < nkeep && keep[k] == i;

			k += is_link;
			if (pool[i] != e && !refset_contains(&vs->dead, pool[i]))
			{
				if (is_link)
					keep[nk++] = n;
				pool[n++] = pool[i];
			}
		}
		npool = n;
		nkeep = nk;

		/*
		 * Few to choose from (the neighbourhood lost much of itself): search
		 * for more around e, as an insert would.
		 */
		if (npool < 2 * cap)
		{
			N2Candidate *found = palloc(sizeof(N2Candidate) * Max(p->ef_construction, 1));
			int			nfound = n2_search_level(&vs->pg, &vs->search, &vs->meta.entry,
												 vs->meta.max_level, l,
												 Max(p->ef_construction, 1), found);

			for (int i = 0; i < nfound; i++)
			{
				if (found[i].ref != e && !refset_contains(&vs->dead, found[i].ref))
					pool[npool++] = found[i].ref;
			}
			pfree(found);
		}

		n2_page_graph_ops.distances(&vs->pg, pool, npool, dists);
		for (int i = 0; i < npool; i++)
		{
			cands[i].ref = pool[i];
			cands[i].dist = dists[i];
		}
		nsel = n2_select_refs(&vs->pg, repair_method(p), cands, npool, cap,
							  cands, NULL, NULL, vs->pg.query);

		/* the live links, then the nearest chosen others, near to far */
		for (nlist = 0; nlist < nkeep; nlist++)
		{
			list[nlist].ref = pool[keep[nlist]];
			list[nlist].dist = dists[keep[nlist]];
		}
		for (int i = 0; i < nsel && nlist < cap; i++)
		{
			bool		kept = false;

			for (int k = 0; k < nkeep && !kept; k++)
				kept = pool[keep[k]] == cands[i].ref;
			if (!kept)
				list[nlist++] = cands[i];
		}
		n2_candidates_sort(list, nlist);

		et = n2_lock_element(vs->index, e, &state, &buf);
		if (et == NULL)
			break;
		for (int i = 0; i < cap && !changed; i++)
		{
			n2_link_get(p, et, start + i, &tid);
			changed = !ItemPointerEquals(&tid, &seen[i]);
		}
		if (changed)
		{
			n2_abort_page(state, buf);
			l--;
			continue;
		}
		for (int i = 0; i < cap; i++)
		{
			if (i < nlist)
				n2_ref_to_tid(list[i].ref, &tid);
			else
				ItemPointerSetInvalid(&tid);
			n2_link_set(p, et, start + i, &tid);
		}
		n2_finish_page(state, buf);
	}
	pfree(pool);
	pfree(hop);
	pfree(keep);
	pfree(list);
	pfree(cands);
	pfree(dists);
	pfree(seen);
	pfree(vec);
}

/* Whether a live element links to a doomed one on any level. */
static bool
links_to_dead(N2VacuumState *vs, N2ElementTuple et)
{
	int			nlinks = n2_links_count(&vs->p, et->level);

	for (int i = 0; i < nlinks; i++)
	{
		ItemPointerData link;

		n2_link_get(&vs->p, et, i, &link);
		if (ItemPointerIsValid(&link) &&
			refset_contains(&vs->dead, n2_tid_to_ref(&link)))
			return true;
	}
	return false;
}

/*
 * Whether a cancel or a termination waits for the repair (repair_graph
 * holds interrupts through it): the repair then stops where it is.
 */
static inline bool
repair_cut_short(void)
{
	return QueryCancelPending || ProcDiePending;
}

/*
 * Repairs every live element that links to a doomed one, a page at a time:
 * the page's damaged elements are noted under its share lock, then repaired
 * with it released.  A repair rewrites only the repaired element's lists,
 * so this finds the same elements as a walk that noted all of them first,
 * with one page's worth in memory.
 */
static void
repair_damaged(N2VacuumState *vs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);
	N2Ref	   *damaged = palloc(sizeof(N2Ref) * MaxOffsetNumber);

	for (BlockNumber blkno = N2_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off = InvalidOffsetNumber;
		N2ElementTuple et;
		int			n = 0;

		vacuum_delay_point();
		buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blkno, RBM_NORMAL,
								 vs->info->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		while ((et = n2_page_next_element(page, &off)) != NULL)
		{
			N2Ref		ref = n2_ref(blkno, off);

			if (!refset_contains(&vs->dead, ref) && links_to_dead(vs, et))
				damaged[n++] = ref;
		}
		UnlockReleaseBuffer(buf);
		for (int i = 0; i < n; i++)
		{
			vacuum_delay_point();
			if (repair_cut_short())
				break;
			repair_element(vs, damaged[i]);
		}
		if (repair_cut_short())
			break;
	}
	pfree(damaged);
}

/* Reads blkno, locks it exclusively and starts its WAL-logged change. */
static Page
change_page(N2VacuumState *vs, BlockNumber blkno, Buffer *buf,
			GenericXLogState **state)
{
	*buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blkno, RBM_NORMAL,
							  vs->info->strategy);
	LockBuffer(*buf, BUFFER_LOCK_EXCLUSIVE);
	*state = GenericXLogStart(vs->index);
	return GenericXLogRegisterBuffer(*state, *buf, 0);
}

/*
 * Flags the doomed elements deleted, a page at a time (one WAL record
 * each): from here on inserts and reconnection skip them.  A VACUUM
 * interrupted after this finds them again (they have no heap TIDs) and
 * finishes the job.
 */
static void
flag_dead(N2VacuumState *vs)
{
	for (int64 i = 0; i < vs->dead.n;)
	{
		BlockNumber blkno = n2_ref_block(vs->dead.refs[i]);
		Buffer		buf;
		GenericXLogState *state;
		Page		page;

		vacuum_delay_point();
		page = change_page(vs, blkno, &buf, &state);
		for (; i < vs->dead.n && n2_ref_block(vs->dead.refs[i]) == blkno; i++)
		{
			N2ElementTuple et = n2_page_tuple(page, n2_ref_offset(vs->dead.refs[i]),
											  N2_TUPLE_ELEMENT);

			if (et != NULL)
			{
				et->flags |= N2_ELEMENT_DELETED;
				if (vs->gen == 1)
					et->flags |= N2_ELEMENT_EPOCH;
				else
					et->flags &= ~N2_ELEMENT_EPOCH;
			}
		}
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}
}

/* Whether ref is one of the elements this batch deletes. */
static bool
doomed(void *arg, N2Ref ref)
{
	N2VacuumState *vs = (N2VacuumState *) arg;

	return refset_contains(&vs->dead, ref);
}

static int
compare_tids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/*
 * Deletes the tuples tids[0 .. n) name (sorted) without moving other line
 * pointers, a page at a time: each deletion shifts the page's tuple data,
 * which one WAL record per tuple would log again and again.  Appends the
 * chain links they held (TID and vector chains) to links; returns how many.
 */
static int
delete_tuples(N2VacuumState *vs, const ItemPointerData *tids, int n,
			  ItemPointerData *links)
{
	int			nlinks = 0;

	for (int i = 0; i < n;)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&tids[i]);
		Buffer		buf;
		GenericXLogState *state;
		Page		page = change_page(vs, blkno, &buf, &state);

		for (; i < n && ItemPointerGetBlockNumber(&tids[i]) == blkno; i++)
		{
			OffsetNumber off = ItemPointerGetOffsetNumber(&tids[i]);
			char	   *tuple = PageGetItem(page, PageGetItemId(page, off));
			ItemPointerData held[2];

			ItemPointerSetInvalid(&held[0]);
			ItemPointerSetInvalid(&held[1]);
			if (tuple[0] == N2_TUPLE_ELEMENT)
			{
				held[0] = ((N2ElementTuple) tuple)->tidchain;
				held[1] = ((N2ElementTuple) tuple)->vecnext;
			}
			else if (tuple[0] == N2_TUPLE_TIDS)
				held[0] = ((N2TidChunk) tuple)->next;
			else
				held[0] = ((N2VectorChunk) tuple)->next;
			for (int h = 0; h < 2; h++)
			{
				if (ItemPointerIsValid(&held[h]))
					links[nlinks++] = held[h];
			}
			PageIndexTupleDeleteNoCompact(page, off);
		}
		PageSetHasFreeLinePointers(page);
		GenericXLogFinish(state);
		RecordPageWithFreeSpace(vs->index, blkno,
								PageGetFreeSpace(BufferGetPage(buf)));
		UnlockReleaseBuffer(buf);
	}
	return nlinks;
}

/*
 * Deletes the elements of set with their TID and vector chains, a page of
 * elements at a time: the elements, then their chains, link after link, a
 * page of tuples per WAL record.  No interrupt is taken before a page's
 * elements have lost their chains too: a chain whose element is gone would
 * never be freed.  The metapage counts the change first.
 */
static void
delete_elements(N2VacuumState *vs, const N2RefSet *set)
{
	/* a tuple holds at most two links, and a chain tuple one */
	ItemPointerData *cur = palloc(sizeof(ItemPointerData) * 2 * MaxIndexTuplesPerPage);
	ItemPointerData *next = palloc(sizeof(ItemPointerData) * 2 * MaxIndexTuplesPerPage);

	count_vacuum_change(vs);
	for (int64 i = 0; i < set->n;)
	{
		BlockNumber blkno = n2_ref_block(set->refs[i]);
		int			n = 0;

		vacuum_delay_point();
		for (; i < set->n && n2_ref_block(set->refs[i]) == blkno; i++)
			n2_ref_to_tid(set->refs[i], &cur[n++]);
		while (n > 0)
		{
			ItemPointerData *swap = cur;

			n = delete_tuples(vs, cur, n, next);
			qsort(next, n, sizeof(ItemPointerData), compare_tids);
			cur = next;
			next = swap;
		}
	}
	pfree(cur);
	pfree(next);
}

/*
 * VACUUM's memory budget: maintenance_work_mem, or
 * autovacuum_work_mem in an autovacuum worker when it is set.
 */
static int64
vacuum_work_mem(void)
{
	int			kb = maintenance_work_mem;

	if (IsAutoVacuumWorkerProcess() && autovacuum_work_mem != -1)
		kb = autovacuum_work_mem;
	return (int64) kb * 1024;
}

/*
 * The slots of the reachability walk (core/reach.h): one per line pointer
 * up to each page's last live element, slot base[blkno] + offset - 1, and a
 * bitmap of those holding live elements.  With the walk's two bitmaps, that
 * is 8 bytes per page and 3 bits per line pointer (about 1.2 MB for a
 * million elements of 128 dimensions, 11 to a page), kept with the walk's
 * in a mark file (markfile.c), which spills to a temporary file past
 * maintenance_work_mem; and the walk's stack, an eighth of the budget at
 * most (it spills into the pending bits).
 */
#define MARKS_LIVE	2			/* after the walk's N2_REACH_* maps */
#define MARKS_BASE	3

typedef struct N2LiveSlots
{
	N2MarkFile *marks;
	BlockNumber nblocks;
	BlockNumber based;			/* blocks up to here have their base */
	uint64		nslots;
	int64		nlive;
} N2LiveSlots;

static inline uint64
slot_base(N2LiveSlots *ls, BlockNumber blkno)
{
	return *n2_mark_file_word(ls->marks, MARKS_BASE, blkno, false);
}

/* The slot of a live element's ref, or -1 when ref names none. */
static int64_t
live_slot(void *arg, N2Ref ref)
{
	N2LiveSlots *ls = (N2LiveSlots *) arg;
	BlockNumber blkno = n2_ref_block(ref);
	OffsetNumber off = n2_ref_offset(ref);
	uint64		slot;

	if (blkno >= ls->nblocks || off < FirstOffsetNumber)
		return -1;
	slot = slot_base(ls, blkno) + off - 1;
	if (slot >= slot_base(ls, blkno + 1) ||
		!((*n2_mark_file_word(ls->marks, MARKS_LIVE, slot / 64, false) >>
		   (slot % 64)) & 1))
		return -1;
	return (int64_t) slot;
}

/* The ref of a slot: its page is the last whose slots start at or before it. */
static N2Ref
live_ref(void *arg, uint64 slot)
{
	N2LiveSlots *ls = (N2LiveSlots *) arg;
	BlockNumber lo = 0;
	BlockNumber hi = ls->nblocks - 1;

	while (lo < hi)
	{
		BlockNumber mid = lo + (hi - lo + 1) / 2;

		if (slot_base(ls, mid) <= slot)
			lo = mid;
		else
			hi = mid - 1;
	}
	return n2_ref(lo, slot - slot_base(ls, lo) + 1);
}

static void
live_poll(void *arg)
{
	vacuum_delay_point();
}

static const N2ReachOps live_slot_ops = {live_slot, live_ref, NULL, live_poll};

/* Pages come in order and offsets ascend on each: slots are appended. */
static void
visit_live(N2VacuumState *vs, N2Ref ref, N2ElementTuple et, void *arg)
{
	N2LiveSlots *ls = (N2LiveSlots *) arg;
	BlockNumber blkno = n2_ref_block(ref);
	uint64		slot;

	if (blkno >= ls->nblocks)
		return;
	while (ls->based < blkno)
		*n2_mark_file_word(ls->marks, MARKS_BASE, ++ls->based, true) = ls->nslots;
	slot = slot_base(ls, blkno) + n2_ref_offset(ref) - 1;
	*n2_mark_file_word(ls->marks, MARKS_LIVE, slot / 64, true) |=
		UINT64CONST(1) << (slot % 64);
	ls->nslots = slot + 1;
	ls->nlive++;
}

static bool
reach_seen(void *arg, N2Ref ref)
{
	N2VacuumState *vs = (N2VacuumState *) arg;
	int64		slot = live_slot(vs->reach.ctx, ref);

	return slot >= 0 && n2_reach_seen(&vs->reach, slot);
}

/* Links an unreachable element from a reachable one, as an insert would. */
static bool
connect_orphan(void *arg, uint64 slot)
{
	N2VacuumState *vs = (N2VacuumState *) arg;
	N2Ref		ref = live_ref(vs->reach.ctx, slot);
	float	   *vec;

	vacuum_delay_point();
	vec = n2_read_vector(&vs->pg, ref);
	if (vec == NULL)
		return false;
	vs->pg.query = vec;
	n2_connect(&vs->pg, &vs->search, &vs->meta.entry, vs->meta.max_level, ref,
			   reach_seen, vs);
	pfree(vec);
	return true;
}

/*
 * Reconnects live elements that no level-0 path of live elements from the
 * entry reaches, each from a node already known reachable; what a
 * reconnected element reaches becomes reachable with it.  Before the repair
 * (before_repair) that finds the elements that only doomed ones reach.  A
 * doomed entry point, not yet moved, is then walked through: the walk
 * starts from its live neighbours, which it keeps until it moves.
 */
static void
reconnect_orphans(N2VacuumState *vs, bool before_repair)
{
	N2LiveSlots ls = {0};
	int64		budget = vacuum_work_mem();
	N2Ref		entry_ref;
	N2Ref	   *starts;
	uint64	   *slots;
	int			nstarts = 0;
	int			nslots = 0;

	if (!ItemPointerIsValid(&vs->meta.entry))
		return;
	entry_ref = n2_tid_to_ref(&vs->meta.entry);
	starts = palloc(sizeof(N2Ref) * (vs->p.max_m0 + 1));
	slots = palloc(sizeof(uint64) * (vs->p.max_m0 + 1));
	if (refset_contains(&vs->dead, entry_ref))
		nstarts = n2_page_graph_ops.neighbors(&vs->pg, entry_ref, 0, starts,
											  vs->p.max_m0);
	else
		starts[nstarts++] = entry_ref;
	ls.nblocks = RelationGetNumberOfBlocks(vs->index);
	ls.marks = n2_mark_file_create(n2_mark_cache_limit > 0 ?
								   (Size) n2_mark_cache_limit * BLCKSZ :
								   budget - budget / 8);
	for_each_element(vs, visit_live, &ls);
	while (ls.based < ls.nblocks)
		*n2_mark_file_word(ls.marks, MARKS_BASE, ++ls.based, true) = ls.nslots;
	for (int i = 0; i < nstarts; i++)
	{
		int64		slot = live_slot(&ls, starts[i]);

		if (slot >= 0)
			slots[nslots++] = (uint64) slot;
	}
	if (nslots > 0)
	{
		N2ReachMarks marks = {n2_mark_file_reach_word, ls.marks};
		uint64		stack = Min(ls.nlive / 64 + 1024,
								Max(budget / 8 / (int64) sizeof(N2Ref), 1024));
		int64		linked;
		int64		writes;
		int64		reads;

		if (!n2_reach_init(&vs->reach, &n2_page_graph_ops, &vs->pg,
						   &live_slot_ops, &ls, &marks, ls.nslots, stack,
						   vs->p.max_m0))
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("VACUUM of n2 index \"%s\" could not allocate its reachability state.",
							   RelationGetRelationName(vs->index))));
		vs->reach_valid = true;
		for (int i = 0; i < nslots; i++)
			n2_reach_from(&vs->reach, slots[i]);
		linked = n2_reach_connect(&vs->reach, MARKS_LIVE, connect_orphan, vs);
		n2_reach_free(&vs->reach);
		vs->reach_valid = false;
		n2_mark_file_stats(ls.marks, &writes, &reads);
		if (writes > 0)
			ereport(DEBUG1,
					(errmsg("n2 index \"%s\": the reachability marks of %lld elements spilled to a temporary file",
							RelationGetRelationName(vs->index),
							(long long) ls.nlive),
					 errdetail("%lld pages written, %lld read; %lld elements reconnected.",
							   (long long) writes, (long long) reads,
							   (long long) linked)));
		else if (linked > 0 && before_repair)
			ereport(DEBUG1,
					(errmsg("n2 index \"%s\": %lld elements that only deleted ones reached linked before the repair",
							RelationGetRelationName(vs->index),
							(long long) linked)));
		else if (linked > 0)
			ereport(DEBUG1,
					(errmsg("n2 index \"%s\": %lld unreachable elements reconnected",
							RelationGetRelationName(vs->index),
							(long long) linked)));
	}
	n2_mark_file_close(ls.marks);
	pfree(starts);
	pfree(slots);
}

static void
vacuum_free_core(void *arg)
{
	N2VacuumState *vs = (N2VacuumState *) arg;

	if (vs->search_valid)
		n2_search_free(&vs->search);
	vs->search_valid = false;
	if (vs->reach_valid)
		n2_reach_free(&vs->reach);
	vs->reach_valid = false;
}

/*
 * How long VACUUM waits for the transactions that hold a snapshot as old as
 * the unlinking to end, before it leaves the unlinked elements to a later
 * VACUUM.  Most are single short statements; a cursor or a long report is
 * not waited for, and once one has not ended, later batches of the same
 * VACUUM do not wait at all.
 */
#define N2_TOMBSTONE_WAIT_MS	1000
#define N2_TOMBSTONE_POLL_MS	10

/*
 * Whether no scan that began before xid was assigned can still be running,
 * waiting a moment for those that might.  A scan's snapshot was taken before
 * the scan began, and its xmin, at most the next transaction ID then, holds
 * while the scan runs.  So once the transactions whose snapshots had an
 * xmin at or before xid have ended (those begun since may have that xmin
 * too, when no transaction ID was assigned in between, but are not waited
 * for), and no replication slot's xmin is that old (a hot standby's
 * snapshots, with hot_standby_feedback), no such scan is left.  Unlike the
 * removal horizon, transactions that hold an XID but no snapshot (idle in a
 * transaction that wrote) do not count.  The 32-bit comparisons are made
 * only for an xid not yet removable, which wraparound protection keeps in
 * range.  *wait_ms bounds the wait; it drops to 0 once a transaction has
 * outlasted it.
 */
static bool
tombstones_removable(FullTransactionId xid, int *wait_ms)
{
	TransactionId limit = XidFromFullTransactionId(xid);
	TransactionId slot_xmin;
	TransactionId slot_catalog_xmin;
	VirtualTransactionId *older;
	int			n;
	int			waited = 0;
	bool		ended = true;

	if (GlobalVisCheckRemovableFullXid(NULL, xid))
		return true;
	ProcArrayGetReplicationSlotXmin(&slot_xmin, &slot_catalog_xmin);
	if (TransactionIdIsValid(slot_xmin) &&
		TransactionIdPrecedesOrEquals(slot_xmin, limit))
		return false;
	older = GetCurrentVirtualXIDs(limit, true, true, PROC_IN_VACUUM, &n);
	for (int i = 0; i < n; i++)
	{
		while (!VirtualXactLock(older[i], false))
		{
			if (waited >= *wait_ms)
			{
				*wait_ms = 0;
				ended = false;
				break;
			}
			vacuum_delay_point();
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 N2_TOMBSTONE_POLL_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			waited += N2_TOMBSTONE_POLL_MS;
		}
		if (!ended)
			break;
	}
	pfree(older);
	return ended;
}

/*
 * The graph lock is held exclusively only twice, briefly: to confirm and
 * flag the doomed elements, and to move the entry point off them and
 * reconnect what is left unreachable.  In between, inserts go on while
 * what only doomed elements reach is linked and the lists that link to
 * doomed elements are rebuilt: they see the deleted flags, so they neither
 * join nor link to a doomed element (see n2_read_vector), and the repair
 * writes a list only if it is still the one it read.  A new node may
 * meanwhile be linked only from the flagged entry point; the second step
 * finds it with the rest.  Once no live list names a doomed element and no
 * insert can reach one, the doomed tuples are deleted while inserts go on.
 */
static void
repair_graph(N2VacuumState *vs, const N2RefSet *empty)
{
	bool		moved;

	LockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_EXCLUSIVE);
	n2_pause_point("vacuum-repair");
	n2_read_meta(vs->index, &vs->meta);
	n2_params_from_meta(vs->index, &vs->meta, &vs->p);
	n2_page_graph_init(&vs->pg, vs->index, &vs->p, NULL);
	if (!n2_search_init(&vs->search, 0, Max(vs->p.ef_construction, 1),
						Max(vs->p.max_m0, vs->p.m), false))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	vs->search_valid = true;

	confirm_dead(vs, empty);
	if (vs->dead.n == 0)
	{
		n2_page_graph_release(&vs->pg);
		n2_search_free(&vs->search);
		vs->search_valid = false;
		UnlockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_EXCLUSIVE);
		return;
	}

	/*
	 * Until this VACUUM has unlinked them, the elements it flags are no
	 * tombstones: the metapage must not say that every element flagged in
	 * their generation is.
	 */
	if (vs->meta.tomb_xid[vs->gen] != 0)
	{
		write_tomb_xid(vs, vs->gen, InvalidFullTransactionId);
		vs->gen_cleared = true;
	}
	count_vacuum_change(vs);
	flag_dead(vs);

	/*
	 * From here to the end VACUUM holds the lock in N2_LOCK_VACUUM, which
	 * only n2_verify (it must not see the graph half repaired) and the
	 * critical steps wait for.  The entry point stays where it is, even if
	 * doomed, until the second critical step: a flagged element can still be
	 * walked through, so everything it reached stays reachable for scans and
	 * inserts meanwhile.
	 */
	LockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_VACUUM);
	UnlockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_EXCLUSIVE);
	n2_pause_point("vacuum-flagged");

	/*
	 * A rebuilt list no longer links to a doomed element, so what only doomed
	 * elements reach would be unreachable from then on.  So first every live
	 * element gets a path of live elements (while inserts go on: n2_connect
	 * is safe beside them), and the repair keeps the live links: a scan that
	 * starts during the repair finds every row.  Concurrent inserts can still
	 * leave an element no path reaches (see n2_connect), and so can a crash
	 * or a cancel in the middle of a connection; the reconnection below, or
	 * the next VACUUM's, finds it.  Interrupts are held from the rebuilding
	 * to the end of the reconnection: a cancel cuts the rebuilding short
	 * instead (the lists not rebuilt keep their links to doomed elements,
	 * which stay, flagged, for the next VACUUM).
	 */
	reconnect_orphans(vs, true);
	HOLD_INTERRUPTS();
	repair_damaged(vs);
	n2_pause_point("vacuum-rebuilt");

	/*
	 * Exclusive again: lists an insert gave a doomed link meanwhile (a new
	 * entry point links the old one, or a re-selection kept a link of a list
	 * not yet rebuilt) are rebuilt; then what is left unreachable from the
	 * entry point, or from the survivor that replaces a doomed one, is
	 * reconnected.  Only then does the metapage name the new entry point:
	 * until it does, scans start from the old one, which still reaches every
	 * row.  A crash before this point leaves live elements that the next
	 * VACUUM reconnects.
	 */
	LockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_EXCLUSIVE);
	n2_read_meta(vs->index, &vs->meta);
	moved = choose_entry_point(vs);
	n2_pause_point("vacuum-entry");
	repair_damaged(vs);
	reconnect_orphans(vs, false);
	if (moved)
		write_meta(vs, 0);
	UnlockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_EXCLUSIVE);
	RESUME_INTERRUPTS();
	CHECK_FOR_INTERRUPTS();

	/*
	 * No live list names a doomed element, and no insert or scan that begins
	 * from now on can reach one.  A scan that began before may still walk
	 * through them (its frontier can hold nothing else: a cursor that has
	 * returned the rows inside a ring of deleted ones).  Unless no backend
	 * holds a snapshot that old, they stay as tombstones, for a later VACUUM
	 * (remove_tombstones).  The key directory lists only live elements.
	 */
	if (vs->meta.keys_head != N2_METAPAGE_BLKNO)
		n2_keys_remove(vs->index, vs->meta.keys_head, doomed, vs,
					   vs->info->strategy);
	vs->nbatches++;
	if (tombstones_removable(ReadNextFullTransactionId(), &vs->wait_ms))
	{
		delete_elements(vs, &vs->dead);
		UnlockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_VACUUM);
		write_meta(vs, vs->dead.n);
		ereport(vs->info->message_level,
				(errmsg("index \"%s\": batch %d removed %lld graph elements",
						RelationGetRelationName(vs->index), vs->nbatches,
						(long long) vs->dead.n)));
	}
	else
	{
		UnlockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_VACUUM);
		vs->nflagged += vs->dead.n;
		ereport(vs->info->message_level,
				(errmsg("index \"%s\": batch %d unlinked %lld graph elements",
						RelationGetRelationName(vs->index), vs->nbatches,
						(long long) vs->dead.n),
				 errdetail("A scan that began before may still walk through them: a later VACUUM removes them.")));
	}
	n2_page_graph_release(&vs->pg);
	n2_search_free(&vs->search);
	vs->search_valid = false;
	refset_free(&vs->dead);
}

/*
 * Deletes tombstones: elements an earlier VACUUM unlinked before the
 * metapage's tomb_xid, which no running snapshot precedes.  Every scan that
 * could still walk through them has ended; new ones cannot reach them.
 */
static void
remove_tombstones(N2VacuumState *vs, const N2RefSet *tombs)
{
	LockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_VACUUM);
	delete_elements(vs, tombs);
	UnlockPage(vs->index, N2_UPDATE_LOCK, N2_LOCK_VACUUM);
	write_meta(vs, tombs->n);
	vs->npurged += tombs->n;
}

/*
 * Pass 1 and the repair of each batch, then the metapage's tomb_xid.  With
 * no callback (VACUUM did not call ambulkdelete) only tombstones are
 * removed.
 */
static void
vacuum_index(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			 IndexBulkDeleteCallback callback, void *callback_state)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "n2 vacuum", ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	N2VacuumState *vs = palloc0(sizeof(N2VacuumState));
	BlockNumber end = RelationGetNumberOfBlocks(info->index);

	vs->info = info;
	vs->index = info->index;
	vs->stats = stats;
	vs->callback = callback;
	vs->callback_state = callback_state;

	/*
	 * A batch's candidates and the confirmed ones take 8 bytes each; at least
	 * a page's worth, so that every batch makes progress.
	 */
	vs->max_batch = Max(vacuum_work_mem() / (2 * (int64) sizeof(N2Ref)),
						MaxIndexTuplesPerPage);
	vs->cleanup.func = vacuum_free_core;
	vs->cleanup.arg = vs;
	MemoryContextRegisterResetCallback(cxt, &vs->cleanup);

	/* refuse an index in another format before changing any page */
	n2_read_meta(vs->index, &vs->meta);
	vs->wait_ms = N2_TOMBSTONE_WAIT_MS;
	for (int g = 0; g < 2; g++)
	{
		vs->tomb_xid[g] = FullTransactionIdFromU64(vs->meta.tomb_xid[g]);
		vs->purge[g] = FullTransactionIdIsValid(vs->tomb_xid[g]) &&
			tombstones_removable(vs->tomb_xid[g], &vs->wait_ms);
	}

	/*
	 * New tombstones go to a generation that holds none known, or only ones
	 * this VACUUM removes; else they join the younger one, whose older
	 * tombstones then wait for the new tomb_xid.  The other generation's wait
	 * for theirs alone.
	 */
	if (!FullTransactionIdIsValid(vs->tomb_xid[0]) || vs->purge[0])
		vs->gen = 0;
	else if (!FullTransactionIdIsValid(vs->tomb_xid[1]) || vs->purge[1])
		vs->gen = 1;
	else
		vs->gen = FullTransactionIdFollows(vs->tomb_xid[1], vs->tomb_xid[0]) ? 1 : 0;

	/*
	 * Pages added meanwhile hold only new elements: the dead TIDs all come
	 * from index entries made before this VACUUM began, and so do the
	 * tombstones.
	 */
	if (callback != NULL)
		stats->num_index_tuples = 0;
	for (BlockNumber next = N2_METAPAGE_BLKNO + 1; next < end;)
	{
		N2RefSet	empty;
		N2RefSet	tombs;

		refset_init(&empty, vs->max_batch);
		refset_init(&tombs, vs->max_batch);
		next = remove_dead_tids(vs, next, end, &empty, &tombs);
		if (tombs.n > 0)
			remove_tombstones(vs, &tombs);
		if (empty.n > 0)
			repair_graph(vs, &empty);
		if (tombs.n > 0 || empty.n > 0)
			IndexFreeSpaceMapVacuum(vs->index);
		refset_free(&empty);
		refset_free(&tombs);
	}

	/*
	 * Every element flagged in its generation now was unlinked before the
	 * next transaction ID: those this VACUUM flagged and kept, and older ones
	 * kept there.  A generation it removed all of holds none.
	 */
	for (int g = 0; g < 2; g++)
	{
		if (g == vs->gen &&
			(vs->nflagged > 0 || (vs->gen_cleared && vs->nkept[g] > 0)))
			write_tomb_xid(vs, g, ReadNextFullTransactionId());
		else if (vs->purge[g] && vs->meta.tomb_xid[g] != 0)
			write_tomb_xid(vs, g, InvalidFullTransactionId);
	}
	if (vs->npurged > 0)
		ereport(info->message_level,
				(errmsg("index \"%s\": removed %lld graph elements an earlier VACUUM unlinked",
						RelationGetRelationName(vs->index), (long long) vs->npurged)));
	if (vs->nkept[0] + vs->nkept[1] > 0)
		ereport(info->message_level,
				(errmsg("index \"%s\": kept %lld graph elements an earlier VACUUM unlinked",
						RelationGetRelationName(vs->index),
						(long long) (vs->nkept[0] + vs->nkept[1])),
				 errdetail("A transaction that began before they were unlinked is still running; a later VACUUM removes them.")));
	stats->num_pages = RelationGetNumberOfBlocks(info->index);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
}

IndexBulkDeleteResult *
n2_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			  IndexBulkDeleteCallback callback, void *callback_state)
{
	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	vacuum_index(info, stats, callback, callback_state);
	return stats;
}

/*
 * When VACUUM skipped ambulkdelete (no dead rows, or too few to be worth
 * it), the tombstones an earlier VACUUM left are removed here.
 */
IndexBulkDeleteResult *
n2_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		N2MetaPageData meta;
		int			wait_ms = N2_TOMBSTONE_WAIT_MS;

		/* no bulkdelete pass ran: report what the heap says */
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		n2_read_meta(info->index, &meta);
		for (int g = 0; g < 2; g++)
		{
			if (meta.tomb_xid[g] != 0 &&
				tombstones_removable(FullTransactionIdFromU64(meta.tomb_xid[g]), &wait_ms))
			{
				vacuum_index(info, stats, NULL, NULL);
				break;
			}
		}
		stats->num_index_tuples = info->num_heap_tuples;
		stats->estimated_count = info->estimated_count;
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
