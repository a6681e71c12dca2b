/*
 * Copyright (c) 2025-2026, the n2 developers
 * vacuum.c
 *		VACUUM: remove dead heap TIDs, then unlink the elements left with
 *		none, repair the neighbour lists that pointed to them, and free
 *		their space for later inserts.
 *
 * Pass 1 (no graph lock; scans and inserts go on) filters heap TIDs page by
 * page and notes the elements left empty.  The repair takes N2_UPDATE_LOCK
 * exclusively (inserts wait; scans go on) only for two short steps.  First:
 * the empty elements are re-checked (an insert of the same vector may have
 * refilled one), the entry point moves if it is doomed, and the doomed
 * elements are flagged deleted, so that no insert joins or links to them
 * from then on.  Then, without the lock, every list that links to a doomed
 * element is rebuilt from the doomed element's own neighbours (and a search
 * when that leaves too few), each written only if no insert changed it
 * meanwhile.  Second, under the lock: lists an insert gave a doomed link
 * meanwhile are rebuilt too, and any live element left without an incoming
 * path is reconnected.  Only then, with the lock in a mode inserts do not
 * wait for, are the doomed tuples deleted (without moving other line
 * pointers) and their space recorded in the free space map.  Each change
 * is WAL-logged page by page.  A crash
 * before the reconnection may leave live elements unreachable (the repair
 * dropped their only path); the next VACUUM finds the flagged elements
 * again (they hold no heap TIDs) and reconnects them.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "n2.h"

typedef struct N2RefSet
{
	N2Ref	   *refs;			/* sorted */
	int64		n;
	int64		cap;
} N2RefSet;

typedef struct N2VacuumState
{
	IndexVacuumInfo *info;
	Relation	index;
	IndexBulkDeleteResult *stats;
	IndexBulkDeleteCallback callback;
	void	   *callback_state;
	N2MetaPageData meta;
	N2Params	p;
	N2RefSet	dead;			/* elements left without heap TIDs */
	N2PageGraph pg;
	N2Search	search;
	bool		search_valid;
	MemoryContextCallback cleanup;
} N2VacuumState;

static void
refset_add(N2RefSet *set, N2Ref ref)
{
	if (set->n == set->cap)
	{
		set->cap = Max(set->cap * 2, 256);
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

/* Heap TIDs an element holds, its chain included. */
static int64
element_tid_count(Relation index, N2ElementTuple et)
{
	int64		n = et->ntids;
	ItemPointerData next = et->tidchain;

	while (ItemPointerIsValid(&next))
	{
		Buffer		buf = ReadBuffer(index, ItemPointerGetBlockNumber(&next));
		Page		page;
		N2TidChunk	tc;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		tc = (N2TidChunk) PageGetItem(page, PageGetItemId(page, ItemPointerGetOffsetNumber(&next)));
		n += tc->ntids;
		next = tc->next;
		UnlockReleaseBuffer(buf);
	}
	return n;
}

/* Pass 1: filter heap TIDs; collect elements left with none inline. */
static void
remove_dead_tids(N2VacuumState *vs, N2RefSet *empty)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);

	for (BlockNumber blkno = N2_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		GenericXLogState *state;
		OffsetNumber maxoff;
		bool		changed = false;

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
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			char	   *tuple;

			if (!ItemIdIsNormal(iid))
				continue;
			tuple = PageGetItem(page, iid);
			if (tuple[0] == N2_TUPLE_ELEMENT)
			{
				N2ElementTuple et = (N2ElementTuple) tuple;

				et->ntids = (uint8) filter_tids(vs, et->heaptids, et->ntids, &changed);
				if (et->ntids == 0)
				{
					ItemPointerData tid;

					ItemPointerSet(&tid, blkno, off);
					refset_add(empty, n2_tid_to_ref(&tid));
				}
			}
			else if (tuple[0] == N2_TUPLE_TIDS)
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
}

/*
 * Keeps in vs->dead the elements of candidates that hold no heap TID at
 * all now (run under the exclusive update lock, so this stays true).
 */
static void
confirm_dead(N2VacuumState *vs, const N2RefSet *candidates)
{
	for (int64 i = 0; i < candidates->n; i++)
	{
		N2Ref		ref = candidates->refs[i];
		N2ElementTuple et;
		bool		dead;

		n2_page_graph_read(&vs->pg, (BlockNumber) (ref >> 16));
		LockBuffer(vs->pg.buf, BUFFER_LOCK_SHARE);
		et = n2_page_graph_element(&vs->pg, ref);
		dead = et != NULL && element_tid_count(vs->index, et) == 0;
		LockBuffer(vs->pg.buf, BUFFER_LOCK_UNLOCK);
		if (dead)
			refset_add(&vs->dead, ref);
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

/* Moves the entry point off a doomed element, to the highest survivor. */
static void
move_entry_point(N2VacuumState *vs)
{
	N2TopArg	top = {N2_INVALID_REF, -1};

	if (!ItemPointerIsValid(&vs->meta.entry) ||
		!refset_contains(&vs->dead, n2_tid_to_ref(&vs->meta.entry)))
		return;
	for_each_element(vs, visit_top, &top);
	if (top.ref == N2_INVALID_REF)
		ItemPointerSetInvalid(&vs->meta.entry);
	else
		n2_ref_to_tid(top.ref, &vs->meta.entry);
	vs->meta.max_level = (int16) top.level;
	write_meta(vs, 0);
}

static void
visit_damaged(N2VacuumState *vs, N2Ref ref, N2ElementTuple et, void *arg)
{
	N2RefSet   *damaged = (N2RefSet *) arg;
	ItemPointer links = N2ElementLinks(et);
	int			nlinks = n2_links_count(&vs->p, et->level);

	if (refset_contains(&vs->dead, ref))
		return;
	for (int i = 0; i < nlinks; i++)
	{
		if (ItemPointerIsValid(&links[i]) &&
			refset_contains(&vs->dead, n2_tid_to_ref(&links[i])))
		{
			refset_add(damaged, ref);
			return;
		}
	}
}

/* Valid links of ref on level, appended to out; returns the new count. */
static int
append_links(N2VacuumState *vs, N2Ref ref, int level, N2Ref *out, int n, int cap)
{
	int			got = n2_page_graph_ops.neighbors(&vs->pg, ref, level, out + n, cap - n);

	return n + got;
}

/* Rebuilds e's lists on every level where it links to a doomed element. */
static void
repair_element(N2VacuumState *vs, N2Ref e)
{
	const N2Params *p = &vs->p;
	float	   *vec = n2_read_vector(&vs->pg, e);
	N2ElementTuple et;
	int			level;
	int			maxcand = (p->max_m0 + 1) * (p->max_m0 + 1) + p->ef_construction;
	N2Ref	   *pool = palloc(sizeof(N2Ref) * maxcand);
	N2Ref	   *hop = palloc(sizeof(N2Ref) * (p->max_m0 + 1));
	N2Candidate *cands = palloc(sizeof(N2Candidate) * maxcand);
	float	   *dists = palloc(sizeof(float) * maxcand);
	ItemPointerData *seen = palloc(sizeof(ItemPointerData) * (p->max_m0 + 1));

	if (vec == NULL)
		return;
	n2_page_graph_read(&vs->pg, (BlockNumber) (e >> 16));
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
		bool		damaged = false;
		int			n = 0;
		int			nsel;
		GenericXLogState *state;
		Buffer		buf;
		ItemPointer links;

		/*
		 * Inserts go on meanwhile: the new list is computed from a copy and
		 * written only if the list is still that copy, else this level is
		 * done again from the list as it is now.
		 */
		n2_page_graph_read(&vs->pg, (BlockNumber) (e >> 16));
		LockBuffer(vs->pg.buf, BUFFER_LOCK_SHARE);
		et = n2_page_graph_element(&vs->pg, e);
		if (et == NULL)
		{
			LockBuffer(vs->pg.buf, BUFFER_LOCK_UNLOCK);
			break;
		}
		memcpy(seen, N2ElementLinks(et) + start, sizeof(ItemPointerData) * cap);
		LockBuffer(vs->pg.buf, BUFFER_LOCK_UNLOCK);
		for (nlinks = 0; nlinks < cap && ItemPointerIsValid(&seen[nlinks]); nlinks++)
			hop[nlinks] = n2_tid_to_ref(&seen[nlinks]);

		for (int i = 0; i < nlinks; i++)
		{
			N2Ref		x = hop[i];

			if (!refset_contains(&vs->dead, x))
			{
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

		/* keep the live ones, once each, not e itself */
		for (int i = 0; i < npool; i++)
		{
			if (pool[i] != e && !refset_contains(&vs->dead, pool[i]))
				pool[n++] = pool[i];
		}
		npool = n;

		/*
		 * Few to choose from (the neighbourhood lost much of itself):
		 * search for more around e, as an insert would.
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
		nsel = n2_select_refs(&vs->pg, cands, npool, cap, cands, NULL, NULL);

		et = n2_lock_element(vs->index, e, &state, &buf);
		if (et == NULL)
			break;
		links = N2ElementLinks(et) + start;
		if (memcmp(links, seen, sizeof(ItemPointerData) * cap) != 0)
		{
			n2_abort_element(state, buf);
			l--;
			continue;
		}
		for (int i = 0; i < cap; i++)
		{
			if (i < nsel)
				n2_ref_to_tid(cands[i].ref, &links[i]);
			else
				ItemPointerSetInvalid(&links[i]);
		}
		n2_finish_element(state, buf);
	}
	pfree(pool);
	pfree(hop);
	pfree(cands);
	pfree(dists);
	pfree(seen);
	pfree(vec);
}

/*
 * Flags a doomed element deleted: from here on inserts and reconnection
 * skip it.  A VACUUM interrupted after this finds it again (it has no heap
 * TIDs) and finishes the job.
 */
static void
flag_dead(N2VacuumState *vs, N2Ref ref)
{
	GenericXLogState *state;
	Buffer		buf;
	N2ElementTuple et = n2_lock_element(vs->index, ref, &state, &buf);

	if (et == NULL)
		return;
	et->flags |= N2_ELEMENT_DELETED;
	n2_finish_element(state, buf);
}

/* Deletes a tuple without moving other line pointers; WAL-logged. */
static void
delete_tuple(N2VacuumState *vs, ItemPointer tid, ItemPointerData *tidchain,
			 ItemPointerData *vecnext)
{
	Buffer		buf = ReadBuffer(vs->index, ItemPointerGetBlockNumber(tid));
	GenericXLogState *state;
	Page		page;
	char	   *tuple;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(vs->index);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	tuple = PageGetItem(page, PageGetItemId(page, ItemPointerGetOffsetNumber(tid)));
	ItemPointerSetInvalid(tidchain);
	ItemPointerSetInvalid(vecnext);
	if (tuple[0] == N2_TUPLE_ELEMENT)
	{
		*tidchain = ((N2ElementTuple) tuple)->tidchain;
		*vecnext = ((N2ElementTuple) tuple)->vecnext;
	}
	else if (tuple[0] == N2_TUPLE_TIDS)
		*tidchain = ((N2TidChunk) tuple)->next;
	else
		*vecnext = ((N2VectorChunk) tuple)->next;
	PageIndexTupleDeleteNoCompact(page, ItemPointerGetOffsetNumber(tid));
	PageSetHasFreeLinePointers(page);
	GenericXLogFinish(state);
	RecordPageWithFreeSpace(vs->index, BufferGetBlockNumber(buf),
							PageGetFreeSpace(BufferGetPage(buf)));
	UnlockReleaseBuffer(buf);
}

/* Deletes a doomed element and its TID and vector chains. */
static void
delete_element(N2VacuumState *vs, N2Ref ref)
{
	ItemPointerData tid;
	ItemPointerData tidchain;
	ItemPointerData vecnext;

	n2_ref_to_tid(ref, &tid);
	delete_tuple(vs, &tid, &tidchain, &vecnext);
	while (ItemPointerIsValid(&tidchain))
	{
		ItemPointerData next;
		ItemPointerData unused;

		delete_tuple(vs, &tidchain, &next, &unused);
		tidchain = next;
	}
	while (ItemPointerIsValid(&vecnext))
	{
		ItemPointerData next;
		ItemPointerData unused;

		delete_tuple(vs, &vecnext, &unused, &next);
		vecnext = next;
	}
}

static void
visit_collect(N2VacuumState *vs, N2Ref ref, N2ElementTuple et, void *arg)
{
	refset_add((N2RefSet *) arg, ref);
}

typedef struct N2Reach
{
	N2VacuumState *vs;
	N2RefSet	all;			/* live elements, sorted */
	bool	   *seen;			/* reachable on level 0, per element */
	int64	   *queue;
	N2Ref	   *nbuf;
} N2Reach;

/* Marks what is reachable on level 0 from all.refs[start]. */
static void
reach_from(N2Reach *r, int64 start)
{
	int64		head = 0;
	int64		tail = 0;

	if (r->seen[start])
		return;
	r->seen[start] = true;
	r->queue[tail++] = start;
	while (head < tail)
	{
		int			n = n2_page_graph_ops.neighbors(&r->vs->pg, r->all.refs[r->queue[head++]],
													0, r->nbuf, r->vs->p.max_m0);

		for (int i = 0; i < n; i++)
		{
			int64		j = refset_index(&r->all, r->nbuf[i]);

			if (j >= 0 && !r->seen[j])
			{
				r->seen[j] = true;
				r->queue[tail++] = j;
			}
		}
	}
}

static bool
reach_seen(void *arg, N2Ref ref)
{
	N2Reach    *r = (N2Reach *) arg;
	int64		j = refset_index(&r->all, ref);

	return j >= 0 && r->seen[j];
}

/*
 * Reconnects live elements that no level-0 path from the entry reaches,
 * each from a node already known reachable; what a reconnected element
 * reaches becomes reachable with it.
 */
static void
reconnect_orphans(N2VacuumState *vs)
{
	N2Reach		r = {0};
	int64		entry;

	if (!ItemPointerIsValid(&vs->meta.entry))
		return;
	r.vs = vs;
	for_each_element(vs, visit_collect, &r.all);
	entry = refset_index(&r.all, n2_tid_to_ref(&vs->meta.entry));
	if (entry < 0)
		return;
	r.seen = palloc0_array(bool, r.all.n);
	r.queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * r.all.n);
	r.nbuf = palloc(sizeof(N2Ref) * vs->p.max_m0);
	reach_from(&r, entry);
	for (int64 i = 0; i < r.all.n; i++)
	{
		float	   *vec;

		if (r.seen[i])
			continue;
		vacuum_delay_point();
		vec = n2_read_vector(&vs->pg, r.all.refs[i]);
		if (vec == NULL)
			continue;
		vs->pg.query = vec;
		n2_connect(&vs->pg, &vs->search, &vs->meta.entry, vs->meta.max_level,
				   r.all.refs[i], reach_seen, &r);
		pfree(vec);
		reach_from(&r, i);
	}
}

static void
vacuum_free_core(void *arg)
{
	N2VacuumState *vs = (N2VacuumState *) arg;

	if (vs->search_valid)
		n2_search_free(&vs->search);
	vs->search_valid = false;
}

/* Rebuilds every live list that links to a doomed element. */
static void
repair_damaged(N2VacuumState *vs)
{
	N2RefSet	damaged = {0};

	for_each_element(vs, visit_damaged, &damaged);
	for (int64 i = 0; i < damaged.n; i++)
	{
		vacuum_delay_point();
		repair_element(vs, damaged.refs[i]);
	}
	if (damaged.refs)
		pfree(damaged.refs);
}

/*
 * The graph lock is held exclusively only twice, briefly: to confirm and
 * flag the doomed elements and move the entry point off them, and to
 * reconnect what the repair left unreachable.  In between, inserts go on
 * while the lists that link to doomed elements are rebuilt: they see the
 * deleted flags, so they neither join nor link to a doomed element (see
 * n2_read_vector), and the repair writes a list only if it is still the
 * one it read.  A new node may meanwhile be linked only from a node the
 * repair left unreachable; the reconnection, under the lock, finds it with
 * the rest.  Once no live list names a doomed element and no insert can
 * reach one, the doomed tuples are deleted while inserts go on.
 */
static void
repair_graph(N2VacuumState *vs, const N2RefSet *empty)
{
	LockPage(vs->index, N2_UPDATE_LOCK, ExclusiveLock);
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
		UnlockPage(vs->index, N2_UPDATE_LOCK, ExclusiveLock);
		return;
	}
	move_entry_point(vs);
	for (int64 i = 0; i < vs->dead.n; i++)
		flag_dead(vs, vs->dead.refs[i]);
	UnlockPage(vs->index, N2_UPDATE_LOCK, ExclusiveLock);
	n2_pause_point("vacuum-flagged");

	repair_damaged(vs);
	n2_pause_point("vacuum-rebuilt");

	/*
	 * Under the lock again: an insert that ran during the repair may have
	 * taken a doomed link over from a list not yet rebuilt; rebuild those
	 * too, then reconnect.  A crash before this point leaves live elements
	 * that the next VACUUM reconnects.
	 */
	LockPage(vs->index, N2_UPDATE_LOCK, ExclusiveLock);
	n2_read_meta(vs->index, &vs->meta);
	repair_damaged(vs);
	reconnect_orphans(vs);
	UnlockPage(vs->index, N2_UPDATE_LOCK, ExclusiveLock);

	/*
	 * RowShareLock lets inserts (ShareLock) go on but waits for n2_verify
	 * (ExclusiveLock), which follows TID chains from copies.
	 */
	LockPage(vs->index, N2_UPDATE_LOCK, RowShareLock);
	for (int64 i = 0; i < vs->dead.n; i++)
	{
		vacuum_delay_point();
		delete_element(vs, vs->dead.refs[i]);
	}
	UnlockPage(vs->index, N2_UPDATE_LOCK, RowShareLock);
	write_meta(vs, vs->dead.n);
	IndexFreeSpaceMapVacuum(vs->index);
	n2_page_graph_release(&vs->pg);
}

IndexBulkDeleteResult *
n2_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			  IndexBulkDeleteCallback callback, void *callback_state)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "n2 vacuum", ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	N2VacuumState *vs = palloc0(sizeof(N2VacuumState));
	N2RefSet	empty = {0};

	if (stats == NULL)
		stats = MemoryContextAllocZero(oldcxt, sizeof(IndexBulkDeleteResult));
	vs->info = info;
	vs->index = info->index;
	vs->stats = stats;
	vs->callback = callback;
	vs->callback_state = callback_state;
	vs->cleanup.func = vacuum_free_core;
	vs->cleanup.arg = vs;
	MemoryContextRegisterResetCallback(cxt, &vs->cleanup);

	/* refuse an index in another format before changing any page */
	n2_read_meta(vs->index, &vs->meta);
	stats->num_index_tuples = 0;
	remove_dead_tids(vs, &empty);
	if (empty.n > 0)
		repair_graph(vs, &empty);
	stats->num_pages = RelationGetNumberOfBlocks(info->index);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return stats;
}

IndexBulkDeleteResult *
n2_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		/* no bulkdelete pass ran: report what the heap says */
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		stats->num_index_tuples = info->num_heap_tuples;
		stats->estimated_count = info->estimated_count;
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
