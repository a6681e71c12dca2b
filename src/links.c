/*
 * Copyright (c) 2025-2026, the n2 developers
 * links.c
 *		Neighbour-list maintenance on index pages, shared by inserts and
 *		VACUUM's repair: reading vectors, choosing links, writing them.
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "n2.h"

/*
 * A palloc'd copy of an element's vector; NULL if ref names none, or one
 * VACUUM flagged deleted: no new link may lead to such an element.
 */
float *
n2_read_vector(N2PageGraph *pg, N2Ref ref)
{
	float	   *v = palloc(sizeof(float) * pg->params->dims);
	N2ElementTuple et;

	n2_page_graph_read(pg, n2_ref_block(ref));
	LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
	et = n2_page_graph_element(pg, ref);
	if (et == NULL || (et->flags & N2_ELEMENT_DELETED))
	{
		LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
		pfree(v);
		return NULL;
	}
	memcpy(v, n2_element_vector(pg, et), sizeof(float) * pg->params->dims);
	LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
	return v;
}

/*
 * Locks the page holding ref exclusively for a WAL-logged change and
 * returns the element there (NULL, with nothing locked, if it is gone).
 */
N2ElementTuple
n2_lock_element(Relation index, N2Ref ref, GenericXLogState **state, Buffer *buf)
{
	Page		page;
	N2ElementTuple et;

	*buf = ReadBuffer(index, n2_ref_block(ref));
	LockBuffer(*buf, BUFFER_LOCK_EXCLUSIVE);
	*state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(*state, *buf, 0);
	et = n2_page_tuple(page, n2_ref_offset(ref), N2_TUPLE_ELEMENT);
	if (et != NULL)
		return et;
	GenericXLogAbort(*state);
	UnlockReleaseBuffer(*buf);
	return NULL;
}

/* Ends the WAL-logged change of a page locked by n2_lock_element & co. */
void
n2_finish_page(GenericXLogState *state, Buffer buf)
{
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/* Or drops it, the page unchanged. */
void
n2_abort_page(GenericXLogState *state, Buffer buf)
{
	GenericXLogAbort(state);
	UnlockReleaseBuffer(buf);
}

/* Position of tid among the first n links, or -1. */
static int
link_position(ItemPointerData *links, int n, ItemPointer tid)
{
	for (int i = 0; i < n && ItemPointerIsValid(&links[i]); i++)
	{
		if (ItemPointerEquals(&links[i], tid))
			return i;
	}
	return -1;
}

/* How many valid links lead a list of cap. */
static int
links_used(const ItemPointerData *links, int cap)
{
	int			n = 0;

	while (n < cap && ItemPointerIsValid(&links[n]))
		n++;
	return n;
}

/* Selection runs over local indexes into vectors copied from the pages. */
typedef struct N2LocalVectors
{
	N2Metric	metric;
	int			dims;
	float	  **vecs;
} N2LocalVectors;

static float
local_pairdist(void *ctx, N2Ref a, N2Ref b)
{
	N2LocalVectors *lv = (N2LocalVectors *) ctx;

	return n2_metric_distance(lv->metric, lv->vecs[a], lv->vecs[b], lv->dims);
}

/*
 * Chooses at most cap links among cands (refs with their distance to the
 * base node, in any order) with method.  Candidates that no longer exist or
 * are flagged deleted are dropped.  base is the base node's vector as
 * n2_read_vector gives it (or NULL): candidates holding that same vector
 * are its copies (n2_select_neighbors), which rows with other filter values,
 * or vectors sq8 codes alike, make.  Writes the chosen refs to out in
 * ascending distance and returns how many; if gone is given, the refs of the
 * dropped candidates are added to it (*ngone).
 */
int
n2_select_refs(N2PageGraph *pg, N2SelectMethod method,
			   N2Candidate *cands, int n, int cap,
			   N2Candidate *out, N2Ref *gone, int *ngone, const float *base)
{
	const N2Params *p = pg->params;
	N2LocalVectors lv;
	N2Candidate *local = palloc(sizeof(N2Candidate) * Max(n, 1));
	N2Candidate *chosen = palloc(sizeof(N2Candidate) * Max(n, 1));
	int		   *origin = palloc(sizeof(int) * Max(n, 1));
	int			nlocal = 0;
	int			nsel;

	lv.metric = p->metric;
	lv.dims = p->dims;
	lv.vecs = palloc(sizeof(float *) * Max(n, 1));
	n2_candidates_sort(cands, n);
	for (int i = 0; i < n; i++)
	{
		float	   *v;

		if (i > 0 && cands[i].ref == cands[i - 1].ref)
			continue;
		v = n2_read_vector(pg, cands[i].ref);
		if (v == NULL)
		{
			if (gone != NULL)
				gone[(*ngone)++] = cands[i].ref;
			continue;
		}
		lv.vecs[nlocal] = v;
		origin[nlocal] = i;

		/*
		 * Copies go first, at a distance no other candidate has: only the
		 * vectors tell them apart from the rest on compact codes or under
		 * dot.  out takes the candidates' own distances back.
		 */
		local[nlocal].dist = base != NULL &&
			memcmp(v, base, sizeof(float) * p->dims) == 0 ?
			-INFINITY : cands[i].dist;
		local[nlocal].ref = (N2Ref) nlocal;
		nlocal++;
	}
	n2_candidates_sort(local, nlocal);
	nsel = n2_select_neighbors(method, local, nlocal, cap, local_pairdist,
							   &lv, local, -INFINITY);

	/*
	 * Through chosen: out may be cands, and with copies moved first the
	 * choices do not come in cands' order, so writing out directly would
	 * overwrite candidates still to be copied (a list naming a node twice).
	 */
	for (int i = 0; i < nsel; i++)
		chosen[i] = cands[origin[local[i].ref]];
	memcpy(out, chosen, sizeof(N2Candidate) * nsel);
	/* copies went first: under dot their own distances need not be least */
	n2_candidates_sort(out, nsel);
	for (int i = 0; i < nlocal; i++)
	{
		if (lv.vecs[i])
			pfree(lv.vecs[i]);
	}
	pfree(lv.vecs);
	pfree(local);
	pfree(chosen);
	pfree(origin);
	return nsel;
}

/*
 * Makes newref link on level 0 to the nodes in drop[0..n) (links that a
 * re-selection is about to take out of another list): in a free slot, else
 * in the slot of its farthest spare link.  Moves the ones it has no room
 * for to the front of drop and returns how many.
 *
 * Giving up a spare link newref -> x cuts no path: x was reachable without
 * newref when newref's search chose it, and every later change keeps a
 * detour around each link it drops (through another new node, or through
 * newref, which is why every target passed here stops being spare), except
 * VACUUM's repair, whose orphan check waits for this insert to end.
 */
static int
absorb_links(Relation index, const N2Params *p, N2Ref newref,
			 ItemPointerData *drop, int n, N2SpareLinks *spare)
{
	GenericXLogState *state;
	Buffer		buf;
	N2ElementTuple et;
	ItemPointerData links[N2_MAX_M0];
	int			cap = p->max_m0;
	int			used;
	int			kept = 0;
	bool		changed = false;

	for (int i = 0; spare != NULL && i < n; i++)
	{
		for (int s = 0; s < spare->n; s++)
		{
			if (spare->refs[s] == n2_tid_to_ref(&drop[i]))
				spare->refs[s] = N2_INVALID_REF;
		}
	}
	et = n2_lock_element(index, newref, &state, &buf);
	if (et == NULL)
		return n;
	n2_links_read(p, et, 0, cap, links);
	used = links_used(links, cap);
	for (int i = 0; i < n; i++)
	{
		int			slot = -1;

		if (link_position(links, used, &drop[i]) >= 0)
			continue;
		if (used < cap)
			slot = used++;
		for (int s = spare != NULL ? spare->n - 1 : -1; s >= 0 && slot < 0; s--)
		{
			ItemPointerData tid;

			if (spare->refs[s] == N2_INVALID_REF)
				continue;
			n2_ref_to_tid(spare->refs[s], &tid);
			slot = link_position(links, used, &tid);
			spare->refs[s] = N2_INVALID_REF;
		}
		if (slot < 0)
		{
			drop[kept++] = drop[i];
			continue;
		}
		n2_link_set(p, et, slot, &drop[i]);
		links[slot] = drop[i];
		changed = true;
	}
	if (changed)
		n2_finish_page(state, buf);
	else
		n2_abort_page(state, buf);
	return kept;
}

/*
 * Makes nb link to newref on level, re-selecting nb's list when it is full.
 * Optimistic: the new list is computed from a copy and written only if the
 * list is still that copy, else recomputed.  On level 0 a link the
 * re-selection drops may be the only path to its target, so newref links to
 * each dropped target before nb's list changes (nb then reaches it through
 * newref), giving up spare links of its own for them when its list is full
 * (absorb_links); a target newref has no room for stays in nb's list, and
 * if that leaves no room for newref, nb does not take it.  So no change
 * here ever leaves a node unreachable, whatever runs concurrently.  Returns
 * true when newref ends up in the list.
 */
bool
n2_add_link(N2PageGraph *pg, N2Ref nb, int level, N2Ref newref,
			N2SpareLinks *spare)
{
	const N2Params *p = pg->params;
	int			cap = n2_links_cap(p, level);
	int			start = n2_links_start(p, level);
	ItemPointerData *old = palloc(sizeof(ItemPointerData) * cap);
	ItemPointerData *new = palloc(sizeof(ItemPointerData) * cap);
	ItemPointerData *drop = palloc(sizeof(ItemPointerData) * cap);
	ItemPointerData *now = palloc(sizeof(ItemPointerData) * cap);
	N2Candidate *cands = palloc(sizeof(N2Candidate) * (cap + 1));
	N2Ref	   *refs = palloc(sizeof(N2Ref) * (cap + 1));
	float	   *dists = palloc(sizeof(float) * (cap + 1));
	float	   *nbvec = palloc(sizeof(float) * p->dims);
	N2Ref	   *gone = palloc(sizeof(N2Ref) * (cap + 1));
	int			ngone;
	ItemPointerData newtid;

	n2_ref_to_tid(newref, &newtid);
	for (;;)
	{
		N2ElementTuple et;
		GenericXLogState *state;
		Buffer		buf;
		int			count;

		CHECK_FOR_INTERRUPTS();
		n2_page_graph_read(pg, n2_ref_block(nb));
		LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
		et = n2_page_graph_element(pg, nb);
		if (et == NULL || et->level < level || (et->flags & N2_ELEMENT_DELETED))
		{
			LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
			return false;
		}
		n2_links_read(p, et, start, cap, old);
		memcpy(nbvec, n2_element_vector(pg, et), sizeof(float) * p->dims);
		LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);

		count = links_used(old, cap);
		if (link_position(old, count, &newtid) >= 0)
			return true;

		memcpy(new, old, sizeof(ItemPointerData) * cap);
		if (count < cap)
			new[count] = newtid;
		else
		{
			const float *q = pg->query;
			int			nsel;
			int			ndrop = 0;
			bool		keep_new = false;

			/* distances from nb to its links and to the new node */
			for (int i = 0; i < count; i++)
				refs[i] = n2_tid_to_ref(&old[i]);
			refs[count] = newref;
			pg->query = nbvec;
			n2_page_graph_ops.distances(pg, refs, count + 1, dists);
			pg->query = q;
			for (int i = 0; i <= count; i++)
			{
				cands[i].ref = refs[i];
				cands[i].dist = dists[i];
			}
			ngone = 0;
			nsel = n2_select_refs(pg, p->select, cands, count + 1, cap, cands,
								  gone, &ngone, nbvec);
			for (int i = 0; i < cap; i++)
			{
				if (i < nsel)
				{
					n2_ref_to_tid(cands[i].ref, &new[i]);
					keep_new |= cands[i].ref == newref;
				}
				else
					ItemPointerSetInvalid(&new[i]);
			}
			if (!keep_new)
				return false;

			if (level == 0)
			{
				for (int i = 0; i < count; i++)
				{
					bool		is_gone = false;

					/* a deleted target needs no path, and must get no link */
					for (int g = 0; g < ngone && !is_gone; g++)
						is_gone = gone[g] == n2_tid_to_ref(&old[i]);
					if (!is_gone && link_position(new, nsel, &old[i]) < 0)
						drop[ndrop++] = old[i];
				}
				ndrop = absorb_links(pg->index, p, newref, drop, ndrop, spare);
				if (nsel + ndrop > cap)
					return false;
				memcpy(new + nsel, drop, sizeof(ItemPointerData) * ndrop);
			}
		}

		et = n2_lock_element(pg->index, nb, &state, &buf);
		if (et == NULL)
			return false;
		n2_links_read(p, et, start, cap, now);
		if (memcmp(now, old, sizeof(ItemPointerData) * cap) != 0)
		{
			/* someone changed the list meanwhile: start over from it */
			n2_abort_page(state, buf);
			continue;
		}
		n2_links_write(p, et, start, cap, new);
		n2_finish_page(state, buf);
		return true;
	}
}

/*
 * Locks near's element for a change to its level-0 list, which it copies to
 * links; NULL (nothing locked) when it is gone, or flagged deleted and not
 * allowed.
 */
static N2ElementTuple
lock_list(N2PageGraph *pg, N2Ref near, bool allow_deleted,
		  GenericXLogState **state, Buffer *buf, ItemPointerData *links)
{
	N2ElementTuple et = n2_lock_element(pg->index, near, state, buf);

	if (et == NULL)
		return NULL;
	if ((et->flags & N2_ELEMENT_DELETED) && !allow_deleted)
	{
		n2_abort_page(*state, *buf);
		return NULL;
	}
	n2_links_read(pg->params, et, 0, pg->params->max_m0, links);
	return et;
}

/*
 * Step 3 of n2_connect: near, locked in state and buf with a full list whose
 * last link is z, gives that slot to ref once ref links to z.  Locks one
 * page at a time, ref's first, so that z always has a path.  If ref's list
 * is full, z takes its last slot: nothing reachable goes through ref yet
 * (that is n2_connect's precondition), so no path is lost.  Returns false
 * when near's list lost z meanwhile (a concurrent change, which keeps z
 * reachable itself): ref then still needs a link, and its own list may
 * have changed, which the caller reads again.
 */
static bool
give_last_slot(N2PageGraph *pg, N2Ref ref, N2Ref near, bool near_is_entry,
			   ItemPointerData z, GenericXLogState *state, Buffer buf)
{
	int			cap = pg->params->max_m0;
	N2ElementTuple et;
	ItemPointerData links[N2_MAX_M0];
	ItemPointerData tid;
	int			used;
	int			slot;

	n2_abort_page(state, buf);
	et = lock_list(pg, ref, false, &state, &buf, links);
	if (et == NULL)
		return true;
	used = links_used(links, cap);
	if (link_position(links, used, &z) >= 0)
		n2_abort_page(state, buf);
	else
	{
		n2_link_set(pg->params, et, used < cap ? used : cap - 1, &z);
		n2_finish_page(state, buf);
	}

	et = lock_list(pg, near, near_is_entry, &state, &buf, links);
	if (et == NULL)
		return false;
	n2_ref_to_tid(ref, &tid);
	used = links_used(links, cap);
	slot = link_position(links, used, &z);
	if (slot < 0 && link_position(links, used, &tid) >= 0)
	{
		n2_abort_page(state, buf);
		return true;
	}
	if (slot < 0 && used < cap)
		slot = used;
	if (slot < 0)
	{
		n2_abort_page(state, buf);
		return false;
	}
	n2_link_set(pg->params, et, slot, &tid);
	n2_finish_page(state, buf);
	return true;
}

/* What n2_connect needs to know of the node it connects. */
typedef struct N2ConnectTarget
{
	N2Ref		ref;
	ItemPointerData tid;
	ItemPointerData *own;		/* its level-0 links, as last read */
	int			nown;
} N2ConnectTarget;

/*
 * One step of n2_connect over the near nodes: 1 when ref is linked now,
 * 0 when no node suits this step, -1 when step 3 lost a race (try again).
 */
static int
connect_step(N2PageGraph *pg, N2ConnectTarget *t, const N2Candidate *near,
			 int n, int step, bool (*usable) (void *arg, N2Ref ref), void *arg)
{
	int			cap = pg->params->max_m0;

	for (int i = 0; i < n; i++)
	{
		GenericXLogState *state;
		Buffer		buf;
		N2ElementTuple et;
		ItemPointerData links[N2_MAX_M0];
		int			used;
		int			slot = -1;

		if (near[i].ref == t->ref ||
			(usable && i < n - 1 && !usable(arg, near[i].ref)))
			continue;
		et = lock_list(pg, near[i].ref, i == n - 1, &state, &buf, links);
		if (et == NULL)
			continue;
		used = links_used(links, cap);
		if (link_position(links, used, &t->tid) >= 0)
		{
			n2_abort_page(state, buf);
			return 1;
		}
		if (step == 1 && used < cap)
			slot = used;
		for (int k = used - 1; step == 2 && k >= 0 && slot < 0; k--)
		{
			if (link_position(t->own, t->nown, &links[k]) >= 0)
				slot = k;
		}
		if (slot >= 0)
		{
			n2_link_set(pg->params, et, slot, &t->tid);
			n2_finish_page(state, buf);
			return 1;
		}
		if (step < 3 || used == 0)
		{
			n2_abort_page(state, buf);
			continue;
		}
		return give_last_slot(pg, t->ref, near[i].ref, i == n - 1,
							  links[used - 1], state, buf) ? 1 : -1;
	}
	return 0;
}

/*
 * Gives ref, which no level-0 path from the entry reaches, an incoming
 * level-0 link from one of the nodes nearest to it (found from pg->query,
 * ref's vector; the entry point, reachable by definition, is the last
 * resort, even while VACUUM has it flagged deleted and not yet moved: it
 * is still walked through, and VACUUM reconnects what only it links to
 * before deleting it), without taking the only path to anything else:
 *	1. a node with a free slot appends ref;
 *	2. else a node linking to one of ref's own neighbours x gives that slot
 *	   to ref (x stays reachable, through ref): its last such link, lists
 *	   running from near to far, since a near link is the one a search for
 *	   x's vector follows (when ref is a copy of that node, x is often
 *	   another copy, whose in-links each new copy would otherwise take);
 *	3. else the nearest node gives its last slot, whose target z ref then
 *	   links to (see give_last_slot).
 * Precondition: nothing reachable goes through ref, so its own links may
 * change.  A node that is to become the entry point does not qualify (its
 * links are the only path to the old entry): it needs no incoming link.
 *
 * The search may arrive through upper levels at nodes that are not
 * reachable on level 0 either; when usable is given, only nodes it accepts
 * are linked from (VACUUM passes those it knows to be reachable).  An insert
 * passes none: it connects a node no other list names yet, while every
 * other node is reachable.
 *
 * It never gives up: a lost race in step 3 means a concurrent change took z
 * out of that list, so every attempt starts afresh, from a new search and
 * ref's own list as it is now (step 3 may have replaced one of its links).
 * Only an entry point that cannot be read stops it, with an error.
 */
void
n2_connect(N2PageGraph *pg, N2Search *search, ItemPointer entry, int top,
		   N2Ref ref, bool (*usable) (void *arg, N2Ref ref), void *arg)
{
	int			cap = pg->params->max_m0;
	int			ef = Max(pg->params->ef_construction, 1);
	N2Candidate *near = palloc(sizeof(N2Candidate) * (ef + 1));
	N2Ref	   *ownrefs = palloc(sizeof(N2Ref) * cap);
	N2ConnectTarget t;

	t.ref = ref;
	n2_ref_to_tid(ref, &t.tid);
	t.own = palloc(sizeof(ItemPointerData) * cap);

	for (;;)
	{
		int			n;
		int			r = 0;

		CHECK_FOR_INTERRUPTS();
		n = n2_search_level(pg, search, entry, top, 0, ef, near);
		near[n].ref = n2_tid_to_ref(entry);
		near[n].dist = 0;
		n++;

		t.nown = n2_page_graph_ops.neighbors(pg, ref, 0, ownrefs, cap);
		for (int i = 0; i < t.nown; i++)
			n2_ref_to_tid(ownrefs[i], &t.own[i]);

		for (int step = 1; step <= 3; step++)
		{
			r = connect_step(pg, &t, near, n, step, usable, arg);
			if (r != 0)
				break;
		}
		if (r > 0)
			break;
		if (r == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("n2 index \"%s\" has no readable entry point at (%u,%u)",
							RelationGetRelationName(pg->index),
							ItemPointerGetBlockNumber(entry),
							ItemPointerGetOffsetNumber(entry)),
					 errhint("REINDEX the index.")));
	}
	pfree(near);
	pfree(ownrefs);
	pfree(t.own);
}
