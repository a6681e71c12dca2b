/*
 * links.c
 *		Neighbour-list maintenance on index pages, shared by inserts and
 *		VACUUM's repair: reading vectors, choosing links, writing them.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "n2.h"

/* A palloc'd copy of an element's vector; NULL if ref names none. */
float *
n2_read_vector(N2PageGraph *pg, N2Ref ref)
{
	float	   *v = palloc(sizeof(float) * pg->params->dims);
	N2ElementTuple et;

	n2_page_graph_read(pg, (BlockNumber) (ref >> 16));
	LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
	et = n2_page_graph_element(pg, ref);
	if (et == NULL)
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
	OffsetNumber off = (OffsetNumber) (ref & 0xFFFF);

	*buf = ReadBuffer(index, (BlockNumber) (ref >> 16));
	LockBuffer(*buf, BUFFER_LOCK_EXCLUSIVE);
	*state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(*state, *buf, 0);
	if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page))
	{
		ItemId		iid = PageGetItemId(page, off);

		if (ItemIdIsNormal(iid))
		{
			N2ElementTuple et = (N2ElementTuple) PageGetItem(page, iid);

			if (et->type == N2_TUPLE_ELEMENT)
				return et;
		}
	}
	GenericXLogAbort(*state);
	UnlockReleaseBuffer(*buf);
	return NULL;
}

void
n2_finish_element(GenericXLogState *state, Buffer buf)
{
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

void
n2_abort_element(GenericXLogState *state, Buffer buf)
{
	GenericXLogAbort(state);
	UnlockReleaseBuffer(buf);
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
 * base node, in any order) with the index's selection method.  Candidates
 * that no longer exist are dropped.  Writes the chosen refs to out in
 * ascending distance and returns how many.
 */
int
n2_select_refs(N2PageGraph *pg, N2Candidate *cands, int n, int cap,
			   N2Candidate *out)
{
	const N2Params *p = pg->params;
	N2LocalVectors lv;
	N2Candidate *local = palloc(sizeof(N2Candidate) * Max(n, 1));
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
		v = p->select == N2_SELECT_NAIVE ? NULL : n2_read_vector(pg, cands[i].ref);
		if (v == NULL && p->select != N2_SELECT_NAIVE)
			continue;
		lv.vecs[nlocal] = v;
		origin[nlocal] = i;
		local[nlocal].dist = cands[i].dist;
		local[nlocal].ref = (N2Ref) nlocal;
		nlocal++;
	}
	nsel = n2_select_neighbors(p->select, local, nlocal, cap, local_pairdist,
							   &lv, local);
	for (int i = 0; i < nsel; i++)
		out[i] = cands[origin[local[i].ref]];
	for (int i = 0; i < nlocal; i++)
	{
		if (lv.vecs[i])
			pfree(lv.vecs[i]);
	}
	pfree(lv.vecs);
	pfree(local);
	pfree(origin);
	return nsel;
}

/*
 * Makes nb link to newref on level, re-selecting nb's list when it is full.
 * Optimistic: the new list is computed from a copy and written only if the
 * list is still that copy, else recomputed.  Returns true when newref ends
 * up in the list.  The links re-selection dropped are reported in dropped
 * (room for the level's capacity) and *ndropped, so that the caller can keep
 * a path to them.
 */
bool
n2_add_link(N2PageGraph *pg, N2Ref nb, int level, N2Ref newref,
			N2Ref *dropped, int *ndropped)
{
	const N2Params *p = pg->params;
	int			cap = n2_links_cap(p, level);
	int			start = n2_links_start(p, level);
	ItemPointerData *old = palloc(sizeof(ItemPointerData) * cap);
	ItemPointerData *new = palloc(sizeof(ItemPointerData) * cap);
	N2Candidate *cands = palloc(sizeof(N2Candidate) * (cap + 1));
	N2Ref	   *refs = palloc(sizeof(N2Ref) * (cap + 1));
	float	   *dists = palloc(sizeof(float) * (cap + 1));
	float	   *nbvec = palloc(sizeof(float) * p->dims);
	ItemPointerData newtid;

	n2_ref_to_tid(newref, &newtid);
	*ndropped = 0;
	for (;;)
	{
		N2ElementTuple et;
		GenericXLogState *state;
		Buffer		buf;
		int			count = 0;
		bool		keep_new = true;

		CHECK_FOR_INTERRUPTS();
		n2_page_graph_read(pg, (BlockNumber) (nb >> 16));
		LockBuffer(pg->buf, BUFFER_LOCK_SHARE);
		et = n2_page_graph_element(pg, nb);
		if (et == NULL || et->level < level || (et->flags & N2_ELEMENT_DELETED))
		{
			LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);
			return false;
		}
		memcpy(old, N2ElementLinks(et) + start, sizeof(ItemPointerData) * cap);
		memcpy(nbvec, n2_element_vector(pg, et), sizeof(float) * p->dims);
		LockBuffer(pg->buf, BUFFER_LOCK_UNLOCK);

		while (count < cap && ItemPointerIsValid(&old[count]))
		{
			if (ItemPointerEquals(&old[count], &newtid))
				return true;
			count++;
		}

		memcpy(new, old, sizeof(ItemPointerData) * cap);
		if (count < cap)
			new[count] = newtid;
		else
		{
			const float *q = pg->query;
			int			nsel;

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
			nsel = n2_select_refs(pg, cands, count + 1, cap, cands);

			keep_new = false;
			for (int i = 0; i < cap; i++)
			{
				if (i < nsel)
				{
					n2_ref_to_tid(cands[i].ref, &new[i]);
					if (cands[i].ref == newref)
						keep_new = true;
				}
				else
					ItemPointerSetInvalid(&new[i]);
			}
			if (!keep_new)
				return false;
		}

		et = n2_lock_element(pg->index, nb, &state, &buf);
		if (et == NULL)
			return false;
		if (memcmp(N2ElementLinks(et) + start, old, sizeof(ItemPointerData) * cap) != 0)
		{
			/* someone changed the list meanwhile: start over from it */
			n2_abort_element(state, buf);
			continue;
		}
		memcpy(N2ElementLinks(et) + start, new, sizeof(ItemPointerData) * cap);
		n2_finish_element(state, buf);
		for (int i = 0; i < count; i++)
		{
			bool		kept = false;

			for (int j = 0; j < cap && !kept; j++)
				kept = ItemPointerEquals(&old[i], &new[j]);
			if (!kept)
				dropped[(*ndropped)++] = n2_tid_to_ref(&old[i]);
		}
		return true;
	}
}

/*
 * Appends target to ref's list on level if there is room and it is not
 * there yet; returns whether target is in the list afterwards.
 */
bool
n2_append_link(Relation index, const N2Params *p, N2Ref ref, int level,
			   N2Ref target)
{
	GenericXLogState *state;
	Buffer		buf;
	N2ElementTuple et = n2_lock_element(index, ref, &state, &buf);
	ItemPointer links;
	ItemPointerData tid;
	int			cap = n2_links_cap(p, level);
	int			count = 0;

	if (et == NULL)
		return false;
	if (et->level < level || target == ref)
	{
		n2_abort_element(state, buf);
		return false;
	}
	n2_ref_to_tid(target, &tid);
	links = N2ElementLinks(et) + n2_links_start(p, level);
	while (count < cap && ItemPointerIsValid(&links[count]))
	{
		if (ItemPointerEquals(&links[count], &tid))
		{
			n2_abort_element(state, buf);
			return true;
		}
		count++;
	}
	if (count == cap)
	{
		n2_abort_element(state, buf);
		return false;
	}
	links[count] = tid;
	n2_finish_element(state, buf);
	return true;
}

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

/*
 * Guarantees ref an incoming level-0 link, so it stays reachable: appends
 * it to the nearest node (found from pg->query, ref's vector) that has a
 * free slot, else makes the nearest one replace its farthest link.  When
 * usable is given, only nodes it accepts are linked from (VACUUM passes the
 * nodes it knows to be reachable on level 0: a search also arrives through
 * upper levels).
 */
void
n2_connect(N2PageGraph *pg, N2Search *search, ItemPointer entry, int top,
		   N2Ref ref, bool (*usable) (void *arg, N2Ref ref), void *arg)
{
	const N2Params *p = pg->params;
	int			ef = Max(p->ef_construction, 1);
	N2Candidate *near = palloc(sizeof(N2Candidate) * (ef + 1));
	int			n = n2_search_level(pg, search, entry, top, 0, ef, near);
	ItemPointerData tid;

	/* the entry point, reachable by definition, is the last resort */
	near[n].ref = n2_tid_to_ref(entry);
	near[n].dist = 0;
	n++;

	n2_ref_to_tid(ref, &tid);
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < n; i++)
		{
			GenericXLogState *state;
			Buffer		buf;
			N2ElementTuple et;
			ItemPointer links;
			int			count = 0;
			bool		last = i == n - 1;

			if (near[i].ref == ref || (usable && !last && !usable(arg, near[i].ref)))
				continue;
			et = n2_lock_element(pg->index, near[i].ref, &state, &buf);
			if (et == NULL)
				continue;
			if (et->flags & N2_ELEMENT_DELETED)
			{
				n2_abort_element(state, buf);
				continue;
			}
			links = N2ElementLinks(et);
			while (count < p->max_m0 && ItemPointerIsValid(&links[count]))
			{
				if (ItemPointerEquals(&links[count], &tid))
				{
					n2_abort_element(state, buf);
					return;
				}
				count++;
			}
			if (count < p->max_m0)
				links[count] = tid;
			else if (pass == 1)
				links[p->max_m0 - 1] = tid;
			else
			{
				n2_abort_element(state, buf);
				continue;
			}
			n2_finish_element(state, buf);
			return;
		}
	}
}
