/*
 * Copyright (c) 2025-2026, the n2 developers
 * build.c
 *		Threaded HNSW bulk builder over an N2Graph.  Pure C and POSIX threads.
 *
 * Nodes are inserted in an order fixed before the threads start, positions
 * taken from an atomic counter.  Each node's neighbour lists are guarded by a
 * spinlock of its own: readers copy a list under it, writers change it under
 * it, so threads only meet when they touch the same node.  The entry point is
 * one atomic word, (max_level << 32) | id, changed under a mutex so two
 * raises cannot interleave.
 *
 * The order.  The nodes above level 0 go first, in id order: they make the
 * upper levels and a sparse level 0 the way an id-order build would.  Then
 * every level-0 node descends the finished upper levels, as its insertion
 * would, down to the route level, and the level-0 nodes are inserted grouped
 * by the node their descent reaches there, each resuming its descent from
 * it.  Nodes of a group are close, so consecutive insertions search the same
 * neighbourhood and find its vectors and lists still in the CPU's caches.
 * Nothing above level 0 changes while the groups are inserted, so each
 * node's descent is the one its insertion would have made.  The route level
 * is the lowest whose nodes head groups of GROUP_NODES level-0 nodes or more
 * on average (level 2 at m = 12 to 64).  On fashion-mnist (60,000 x 784,
 * m = 16) groups of 16, from level 1, cost 0.008 of recall@10 at ef 10;
 * groups of 256 gave id order's recall within 0.002 at every ef, and a build
 * 19 % faster on two threads.  Where the vectors fit in the caches anyway
 * (bigann10k: 10,000 x 128, 5 MB) grouping saves nothing, so by default only
 * builds whose vectors take more than GROUPED_MIN_BYTES are grouped.
 *
 * Weakly linked nodes.  A node inserted before any of its neighbourhood was
 * (the first of a cluster, or one whose search missed it) links only to far
 * nodes, and the neighbours inserted later need not find it: it keeps one
 * in-link from a far node, or none, and no search for its own vector reaches
 * it.  On 20,000 clustered 3,072-d vectors such rows were missed even at
 * ef 1000.  So once everything is inserted, every node at most WEAK_IN_LINKS
 * level-0 lists point to is looked for with its own vector at ef FIND_EF,
 * and one the search misses is inserted again: its search now finds its
 * neighbourhood, its list gains those neighbours and they gain links to it.
 * On fashion-mnist that checks 2,800 nodes of 60,000 and inserts 400 again
 * (2 % of a core-only build, about 5 % of CREATE INDEX's); rows missed at
 * ef 1000 fall from 31 to 12, and from 0-3 to none on the clustered set.
 *
 * Worker threads never allocate and call nothing but this core; all memory is
 * set up by n2_builder_create on the caller's thread.
 */
#include "build.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hugepage.h"
#include "quantize.h"
#include "search.h"

/* Prefetch at most this many bytes of a vector (a 1,024-d float4 one). */
#define PREFETCH_BYTES 4096

/* Stack pages a worker touches: its thread descriptor, TLS and a few frames. */
#define WORKER_STACK_BYTES 16384

typedef struct GraphCtx
{
	const N2Graph *g;
	const float *query;
	const uint8_t *qcode;		/* the query's code in g->codes, or NULL */
} GraphCtx;

/*
 * Keep pruned re-selects a list each time a full one gains a link.  On level
 * 0, where nearly all of that work is, each list is kept in ascending
 * distance with its distances and which entries the heuristic keeps (every
 * entry examined, none cut off by the cap), so that adding one candidate
 * re-selects incrementally: it is compared with the kept entries before it,
 * and the kept entries after it with it, instead of running the heuristic
 * over the whole list again.  Guarded by the node's lock, like the list.
 */
typedef struct ListCache
{
	float	   *dist;			/* n * max_m0: distance to the list's owner */
	uint8_t    *closer;			/* n * max_m0: the heuristic keeps it */
	uint8_t    *ordered;		/* per node: the two above describe the list */
} ListCache;

/* What the threads do in one step of a build. */
typedef enum StepKind
{
	STEP_INSERT,				/* insert order[pos] (or pos) */
	STEP_ROUTE,					/* descend order[pos] to level 1 */
	STEP_INSERT_REVERSE,		/* merge_level0: insert n - 1 - pos */
	STEP_MERGE,					/* merge_level0: merge node pos's lists */
	STEP_RELINK					/* insert weak[pos] again if unfindable */
} StepKind;

/* Fewest level-0 nodes a group should have on average (see above). */
#define GROUP_NODES 128

/* N2_ORDER_AUTO groups the build of more vector bytes than this. */
#define GROUPED_MIN_BYTES ((size_t) 32 * 1024 * 1024)

/* Weakly linked: at most this many level-0 lists point to the node. */
#define WEAK_IN_LINKS 1

/* The search width that must find a weakly linked node. */
#define FIND_EF 16

typedef struct BuildStep
{
	StepKind	kind;
	N2BuildPhase phase;			/* what n2_builder_poll reports */
	uint64_t	first;			/* positions [first, end) */
	uint64_t	end;
} BuildStep;

#define MAX_STEPS 6

typedef struct N2Worker
{
	N2Builder  *b;
	pthread_t	thread;
	N2Search	search;
	GraphCtx	ctx;
	N2Candidate *w;				/* layer results, entries of the next layer */
	N2Candidate *sel;			/* selected neighbours */
	N2Candidate *tmp;			/* re-selection and merge scratch */
	uint8_t    *flags;			/* incremental re-selection scratch */
} N2Worker;

struct N2Builder
{
	N2Graph    *g;
	N2Graph		rev;			/* merge_level0: built in reverse order */
	bool		has_rev;
	bool		cached;			/* keep pruned: level-0 list caches */
	ListCache	cache[2];		/* forward and reverse graphs */
	int			n_threads;
	int			ef;
	int			max_degree;
	BuildStep	steps[MAX_STEPS];
	int			nsteps;

	/*
	 * Grouped order (NULL in id order): order[pos] is the node inserted at
	 * position pos; the nodes above level 0 fill [0, ngroup) (position 0, the
	 * first entry point, is not inserted).  keys[pos - ngroup] is a level-0
	 * node's (node its descent reaches on the route level << 32 | node).
	 */
	uint32_t   *order;
	uint64_t   *keys;
	uint64_t	ngroup;
	int			route_level;

	/*
	 * Before the relinking step, the in-link count of every node; in it, the
	 * weakly linked nodes.
	 */
	uint32_t   *weak;
	N2Worker   *workers;
	int			nstarted;
	bool		started;
	bool		joined;

	/* Guards entry point raises, the start gate and the phase barrier. */
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	bool		go;
	int			barrier_count;
	uint64_t	barrier_gen;

	_Atomic uint64_t entry[2];	/* forward and reverse graphs */
	atomic_int	phase;
	atomic_bool cancel;
	atomic_bool finished;
	_Atomic uint64_t next;		/* next position to claim in this step */
	_Atomic uint64_t done;		/* nodes inserted or merged in this phase */
	_Atomic uint64_t total;		/* nodes this phase works on */
	_Atomic uint64_t seq;		/* odd while a step is set up */
};

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void
node_lock(const N2Graph *g, uint32_t id)
{
	int			spins = 0;

	while (atomic_flag_test_and_set_explicit(&g->locks[id], memory_order_acquire))
	{
		/* Holders may compute a few dozen distances; yield past that. */
		if (++spins < 100)
			cpu_relax();
		else
		{
			sched_yield();
			spins = 0;
		}
	}
}

static inline void
node_unlock(const N2Graph *g, uint32_t id)
{
	atomic_flag_clear_explicit(&g->locks[id], memory_order_release);
}

static inline uint64_t
pack_entry(int level, uint32_t id)
{
	return ((uint64_t) level << 32) | id;
}

/*
 * Starts loading up to PREFETCH_BYTES from p.  Always inlined: GCC splits a
 * static helper whose only effect is a prefetch into a part it deems free of
 * side effects, then drops the calls to it.
 */
static N2_ALWAYS_INLINE void
prefetch_bytes(const void *p, size_t bytes)
{
	if (bytes > PREFETCH_BYTES)
		bytes = PREFETCH_BYTES;
	for (size_t off = 0; off < bytes; off += 64)
		__builtin_prefetch((const char *) p + off);
}

static N2_ALWAYS_INLINE void
prefetch_vector(const N2Graph *g, N2Ref ref)
{
	prefetch_bytes(n2_graph_vector(g, (uint32_t) ref),
				   (size_t) g->params.dim * sizeof(float));
}

/* q's code when the build compares codes (L2 only), else NULL */
static inline const uint8_t *
query_code(const N2Graph *g, uint32_t q)
{
	if (g->codes == NULL || g->params.metric != N2_METRIC_L2)
		return NULL;
	return g->codes + (size_t) q * g->params.dim;
}

/* N2GraphOps over a graph being built: lists are copied under their lock. */
static int
locked_neighbors(void *arg, N2Ref ref, int level, N2Ref *out, int max)
{
	const N2Graph *g = ((GraphCtx *) arg)->g;
	uint32_t	id = (uint32_t) ref;
	const uint32_t *l;
	int			n;

	if (level > g->levels[id])
		return 0;
	l = n2_graph_links(g, id, level);
	node_lock(g, id);
	n = (int) l[0] < max ? (int) l[0] : max;
	for (int i = 0; i < n; i++)
		out[i] = l[1 + i];
	node_unlock(g, id);
	return n;
}

/* N2GraphOps over a finished graph: nothing changes, so no locks. */
static int
plain_neighbors(void *arg, N2Ref ref, int level, N2Ref *out, int max)
{
	const N2Graph *g = ((GraphCtx *) arg)->g;
	uint32_t	id = (uint32_t) ref;
	const uint32_t *l;
	int			n;

	if (level > g->levels[id])
		return 0;
	l = n2_graph_links(g, id, level);
	n = (int) l[0] < max ? (int) l[0] : max;
	for (int i = 0; i < n; i++)
		out[i] = l[1 + i];
	return n;
}

static void
graph_distances(void *arg, const N2Ref *refs, int n, float *out)
{
	const GraphCtx *c = arg;
	const N2Graph *g = c->g;
	const float *q = c->query;
	int			dim = g->params.dim;

	/* exact codes: the same distances from a quarter of the bytes */
	if (c->qcode != NULL)
	{
		float		(*u8_l2sq) (const uint8_t *, const uint8_t *, int) = n2_code_kernels.u8_l2sq;

		for (int i = 0; i < n; i++)
			__builtin_prefetch(g->codes + (size_t) refs[i] * dim);
		for (int i = 0; i < n; i++)
		{
			if (i + 1 < n)
				prefetch_bytes(g->codes + (size_t) refs[i + 1] * dim, dim);
			out[i] = u8_l2sq(g->codes + (size_t) refs[i] * dim, c->qcode, dim);
		}
		return;
	}

	/* every first line now, so that their misses overlap */
	for (int i = 0; i < n; i++)
		__builtin_prefetch(n2_graph_vector(g, (uint32_t) refs[i]));
	prefetch_vector(g, refs[0]);
	switch (g->params.metric)
	{
		case N2_METRIC_L2:
			{
				float		(*l2sq) (const float *, const float *, int) = n2_kernels.l2sq;

				for (int i = 0; i < n; i++)
				{
					if (i + 1 < n)
						prefetch_vector(g, refs[i + 1]);
					out[i] = l2sq(n2_graph_vector(g, (uint32_t) refs[i]), q, dim);
				}
				break;
			}
		case N2_METRIC_L1:
			for (int i = 0; i < n; i++)
			{
				if (i + 1 < n)
					prefetch_vector(g, refs[i + 1]);
				out[i] = n2_kernels.l1(n2_graph_vector(g, (uint32_t) refs[i]), q, dim);
			}
			break;
		case N2_METRIC_ANGULAR:
		case N2_METRIC_DOT:
			{
				float		(*dot) (const float *, const float *, int) = n2_kernels.dot;
				bool		angular = g->params.metric == N2_METRIC_ANGULAR;

				for (int i = 0; i < n; i++)
				{
					float		ip;

					if (i + 1 < n)
						prefetch_vector(g, refs[i + 1]);
					ip = dot(n2_graph_vector(g, (uint32_t) refs[i]), q, dim);
					out[i] = angular ? 1.0f - ip : -ip;
				}
				break;
			}
	}
}

static inline int
level_cap(const N2Graph *g, int level)
{
	return level == 0 ? g->params.max_m0 : g->params.m;
}

/*
 * The search calls this for the node it will expand next while it computes
 * the distances of this one, so that list's cache misses (and its lock's)
 * overlap them instead of stalling the next expansion.
 */
static void
prefetch_links(void *arg, N2Ref ref, int level)
{
	const N2Graph *g = ((GraphCtx *) arg)->g;
	uint32_t	id = (uint32_t) ref;
	const char *l;
	size_t		bytes;

	if (level > g->levels[id])
		return;
	l = (const char *) n2_graph_links(g, id, level);
	bytes = (size_t) (1 + level_cap(g, level)) * sizeof(uint32_t);
	for (size_t off = 0; off < bytes; off += 64)
		__builtin_prefetch(l + off);
	__builtin_prefetch(&g->locks[id], 1);
}

static const N2GraphOps build_ops = {
	locked_neighbors, graph_distances, NULL, prefetch_links
};
static const N2GraphOps finished_ops = {
	plain_neighbors, graph_distances, NULL, prefetch_links
};

/* Every node-to-node distance of the build, from the exact codes if set. */
static float
node_distance(const N2Graph *g, uint32_t a, uint32_t b)
{
	int			dim = g->params.dim;

	if (g->codes != NULL && g->params.metric == N2_METRIC_L2)
		return n2_code_kernels.u8_l2sq(g->codes + (size_t) a * dim,
									   g->codes + (size_t) b * dim, dim);
	return n2_metric_distance(g->params.metric, n2_graph_vector(g, a),
							  n2_graph_vector(g, b), dim);
}

static float
pair_distance(void *arg, N2Ref a, N2Ref b)
{
	return node_distance(arg, (uint32_t) a, (uint32_t) b);
}

/*
 * v's distance to itself: the distance of every node with v's vector (its
 * copy, n2_select_neighbors), by node_distance or by the search alike.  0
 * on L2 and L1, whatever the kernel; rounding decides it on the others.
 */
static inline float
copy_distance(const N2Graph *g, uint32_t v)
{
	if (g->params.metric == N2_METRIC_L2 || g->params.metric == N2_METRIC_L1)
		return 0.0f;
	return node_distance(g, v, v);
}

/* Sorts cands (distances to v) and selects at most cap into cands. */
static int
reselect(const N2Graph *g, uint32_t v, N2Candidate *cands, int n, int cap)
{
	n2_candidates_sort(cands, n);
	return n2_select_neighbors(g->params.select, cands, n, cap,
							   pair_distance, (void *) g, cands,
							   copy_distance(g, v));
}

/* lc when level 0 of g is cached, else NULL. */
static inline ListCache *
level_cache(N2Builder *b, const N2Graph *g, int level)
{
	if (!b->cached || level != 0)
		return NULL;
	return &b->cache[g == b->g ? 0 : 1];
}

/*
 * Writes q's list on level.  Other threads may have linked to q there
 * already (they found it through a higher level); those links are kept
 * when there is room, otherwise everything is selected afresh.
 */
static void
set_links(N2Worker *w, const N2Graph *g, ListCache *lc, uint32_t q, int level,
		  const N2Candidate *sel, int nsel)
{
	uint32_t   *l = n2_graph_links(g, q, level);
	int			cap = level_cap(g, level);
	const N2Candidate *src = sel;
	int			n = nsel;

	node_lock(g, q);
	if (l[0] != 0)
	{
		memcpy(w->tmp, sel, nsel * sizeof(N2Candidate));
		for (uint32_t i = 0; i < l[0]; i++)
		{
			uint32_t	u = l[1 + i];
			bool		dup = false;

			for (int j = 0; j < nsel && !dup; j++)
				dup = (sel[j].ref == u);
			if (!dup)
			{
				w->tmp[n].dist = node_distance(g, q, u);
				w->tmp[n].ref = u;
				n++;
			}
		}
		if (n > cap)
			n = reselect(g, q, w->tmp, n, cap);
		src = w->tmp;
	}
	for (int i = 0; i < n; i++)
		l[1 + i] = (uint32_t) src[i].ref;
	l[0] = n;
	if (lc != NULL)
	{
		size_t		base = (size_t) q * g->params.max_m0;

		for (int i = 0; i < n; i++)
			lc->dist[base + i] = src[i].dist;
		lc->ordered[q] = 0;
	}
	node_unlock(g, q);
}

/*
 * Puts v's cached list in ascending distance and runs the heuristic over all
 * of it, recording which entries it keeps.
 */
static void
order_list(N2Worker *w, const N2Graph *g, ListCache *lc, uint32_t v)
{
	uint32_t   *l = n2_graph_links(g, v, 0);
	int			c = (int) l[0];
	size_t		base = (size_t) v * g->params.max_m0;
	float	   *d = lc->dist + base;
	uint8_t    *cl = lc->closer + base;
	N2Candidate *t = w->tmp;
	float		self = copy_distance(g, v);

	for (int i = 0; i < c; i++)
	{
		t[i].dist = d[i];
		t[i].ref = l[1 + i];
	}
	n2_candidates_sort(t, c);
	for (int i = 0; i < c; i++)
	{
		bool		keep = true;

		for (int j = 0; j < i && keep && !n2_is_copy(t[i].dist, self); j++)
			keep = !cl[j] || n2_is_copy(t[j].dist, self) ||
				node_distance(g, (uint32_t) t[i].ref,
							  (uint32_t) t[j].ref) > t[i].dist;
		l[1 + i] = (uint32_t) t[i].ref;
		d[i] = t[i].dist;
		cl[i] = keep;
	}
	lc->ordered[v] = 1;
}

/*
 * Whether the heuristic keeps e against the kept ones among t[0..n), copies
 * of the base (at self) neither pruned nor pruning.
 */
static bool
closer_than_kept(const N2Graph *g, N2Candidate e, const N2Candidate *t,
				 const uint8_t *kept, int n, float self)
{
	if (n2_is_copy(e.dist, self))
		return true;
	for (int j = 0; j < n; j++)
	{
		if (kept[j] && !n2_is_copy(t[j].dist, self) &&
			node_distance(g, (uint32_t) e.ref, (uint32_t) t[j].ref) <= e.dist)
			return false;
	}
	return true;
}

/*
 * Keep pruned on a full, cached level-0 list of v: q joins it and the
 * farthest entry the heuristic rejects leaves (the last one when it rejects
 * none), as a full re-selection would choose.  Called under v's lock.
 */
static void
add_link_cached(N2Worker *w, const N2Graph *g, ListCache *lc, uint32_t v,
				uint32_t q, float dist)
{
	uint32_t   *l = n2_graph_links(g, v, 0);
	int			c = (int) l[0];
	size_t		base = (size_t) v * g->params.max_m0;
	float	   *d = lc->dist + base;
	uint8_t    *cl = lc->closer + base;
	N2Candidate *t = w->tmp;
	uint8_t    *kept = w->flags;
	N2Candidate qc = {dist, q};
	float		self = copy_distance(g, v);
	int			pos = 0;
	int			drop;
	bool		removed = false;

	if (!lc->ordered[v])
		order_list(w, g, lc, v);

	/* the c + 1 candidates in order, q at pos, with the old statuses */
	while (pos < c)
	{
		N2Candidate at = {d[pos], l[1 + pos]};

		if (!n2_cand_less(at, qc))
			break;
		pos++;
	}
	for (int i = 0, k = 0; i <= c; i++)
	{
		if (i == pos)
		{
			t[i] = qc;
			continue;
		}
		t[i].dist = d[k];
		t[i].ref = l[1 + k];
		kept[i] = cl[k];
		k++;
	}

	/*
	 * Entries before q keep their status.  If q is kept, an entry after it
	 * that was kept stays so unless q or one newly kept shadows it; one that
	 * was rejected stays so until some kept entry before it is lost.
	 */
	kept[pos] = closer_than_kept(g, qc, t, kept, pos, self);
	for (int i = pos + 1; i <= c && kept[pos]; i++)
	{
		if (kept[i])
		{
			for (int j = pos; j < i && kept[i] && !n2_is_copy(t[i].dist, self); j++)
			{
				if (kept[j] && (j == pos || !cl[j - 1]) &&
					!n2_is_copy(t[j].dist, self) &&
					node_distance(g, (uint32_t) t[i].ref, (uint32_t) t[j].ref) <= t[i].dist)
					kept[i] = 0;
			}
			removed |= !kept[i];
		}
		else if (removed)
			kept[i] = closer_than_kept(g, t[i], t, kept, i, self);
	}

	for (drop = c; drop >= 0 && kept[drop]; drop--)
		;
	if (drop < 0)
		drop = c;
	if (drop == pos)
		return;
	for (int i = 0, k = 0; i <= c; i++)
	{
		if (i == drop)
			continue;
		l[1 + k] = (uint32_t) t[i].ref;
		d[k] = t[i].dist;
		cl[k] = kept[i];
		k++;
	}
}

/* Adds the link v -> q on level, re-selecting v's list when it is full. */
static void
add_link(N2Worker *w, const N2Graph *g, ListCache *lc, uint32_t v, uint32_t q,
		 int level, float dist)
{
	uint32_t   *l = n2_graph_links(g, v, level);
	int			cap = level_cap(g, level);
	int			c;
	int			n;

	node_lock(g, v);
	c = (int) l[0];
	/* v may have chosen q itself while both were being inserted. */
	for (int i = 0; i < c; i++)
	{
		if (l[1 + i] == q)
		{
			node_unlock(g, v);
			return;
		}
	}
	if (c < cap)
	{
		l[1 + c] = q;
		l[0] = c + 1;
		if (lc != NULL)
		{
			lc->dist[(size_t) v * g->params.max_m0 + c] = dist;
			lc->ordered[v] = 0;
		}
		node_unlock(g, v);
		return;
	}
	if (lc != NULL)
	{
		add_link_cached(w, g, lc, v, q, dist);
		node_unlock(g, v);
		return;
	}

	w->tmp[0].dist = dist;
	w->tmp[0].ref = q;
	for (int i = 0; i < c; i++)
	{
		w->tmp[1 + i].dist = node_distance(g, v, l[1 + i]);
		w->tmp[1 + i].ref = l[1 + i];
	}
	n = reselect(g, v, w->tmp, c + 1, cap);
	for (int i = 0; i < n; i++)
		l[1 + i] = (uint32_t) w->tmp[i].ref;
	l[0] = n;
	node_unlock(g, v);
}

/*
 * The node where q's greedy descent from the forward graph's entry point
 * ends on to_level (the entry point itself when the graph has none above it).
 * Points the worker's distance context at q.
 */
static N2Candidate
descend(N2Worker *w, const N2GraphOps *ops, uint32_t q, int to_level)
{
	const N2Graph *g = w->b->g;
	uint64_t	e = atomic_load(&w->b->entry[0]);
	N2Candidate cur;
	N2Ref		ep = (uint32_t) e;

	w->ctx.g = g;
	w->ctx.query = n2_graph_vector(g, q);
	w->ctx.qcode = query_code(g, q);
	graph_distances(&w->ctx, &ep, 1, &cur.dist);
	cur.ref = ep;
	for (int l = (int) (e >> 32); l >= to_level; l--)
		cur = n2_search_greedy(&w->search, ops, &w->ctx, cur, l);
	return cur;
}

/*
 * The node where q's descent ends on the route level.  Only while nothing
 * above level 0 changes.
 */
static uint32_t
route_node(N2Worker *w, uint32_t q)
{
	return (uint32_t) descend(w, &finished_ops, q, w->b->route_level).ref;
}

/*
 * Inserts q.  from is the node route_node gave for q, whose descent resumes
 * below the route level, or -1 to descend from the entry point.
 */
static void
insert_node(N2Worker *w, const N2Graph *g, _Atomic uint64_t *entry, uint32_t q,
			int64_t from)
{
	N2Builder  *b = w->b;
	N2Search   *s = &w->search;
	int			level = g->levels[q];
	uint64_t	e = atomic_load(entry);
	int			max_level = (int) (e >> 32);
	bool		raising = level > max_level;
	N2Candidate cur;
	N2Ref		ep;
	int			nw = 1;

	/*
	 * A node above the entry point's level becomes the entry point.  Two such
	 * at once would each link only below the level it read, leaving the lower
	 * of them unlinked between the two: they go one at a time (rare), the
	 * second reading the level the first raised.
	 */
	if (raising)
	{
		pthread_mutex_lock(&b->mutex);
		e = atomic_load(entry);
		max_level = (int) (e >> 32);
	}
	ep = from >= 0 ? (N2Ref) from : (uint32_t) e;

	w->ctx.g = g;
	w->ctx.query = n2_graph_vector(g, q);
	w->ctx.qcode = query_code(g, q);
	graph_distances(&w->ctx, &ep, 1, &cur.dist);
	cur.ref = ep;

	if (from >= 0 && max_level >= b->route_level)
		max_level = b->route_level - 1;
	for (int l = max_level; l > level; l--)
		cur = n2_search_greedy(s, &build_ops, &w->ctx, cur, l);
	w->w[0] = cur;

	for (int l = level < max_level ? level : max_level; l >= 0; l--)
	{
		int			k = 0;
		int			nsel;

		/* Fixed buffers: cannot fail. */
		nw = n2_search_layer(s, &build_ops, &w->ctx, w->w, nw, b->ef, l, w->w);

		/* q can be reached through a link another thread added to it. */
		for (int i = 0; i < nw; i++)
		{
			if (w->w[i].ref != q)
				w->w[k++] = w->w[i];
		}
		nw = k;
		if (nw == 0)
		{
			w->w[0] = cur;
			nw = 1;
			continue;
		}

		nsel = n2_select_neighbors(g->params.select, w->w, nw, level_cap(g, l),
								   pair_distance, (void *) g, w->sel,
								   copy_distance(g, q));
		set_links(w, g, level_cache(b, g, l), q, l, w->sel, nsel);
		for (int i = 0; i < nsel; i++)
			add_link(w, g, level_cache(b, g, l), (uint32_t) w->sel[i].ref, q, l,
					 w->sel[i].dist);
	}

	if (raising)
	{
		if (level > max_level)
			atomic_store(entry, pack_entry(level, q));
		pthread_mutex_unlock(&b->mutex);
	}
}

/* Whether a search for q's own vector at width ef finds q. */
static bool
findable(N2Worker *w, uint32_t q, int ef)
{
	int			nw;

	w->w[0] = descend(w, &build_ops, q, 1);
	nw = n2_search_layer(&w->search, &build_ops, &w->ctx, w->w, 1,
						 ef < w->b->ef ? ef : w->b->ef, 0, w->w);
	for (int i = 0; i < nw; i++)
	{
		if (w->w[i].ref == q)
			return true;
	}
	return false;
}

/* Level 0 of node i becomes a selection from both graphs' lists. */
static void
merge_node(N2Worker *w, uint32_t i)
{
	const N2Graph *g = w->b->g;
	uint32_t   *l1 = n2_graph_links(g, i, 0);
	const uint32_t *l2 = n2_graph_links(&w->b->rev, i, 0);
	ListCache  *lc = level_cache(w->b, g, 0);
	int			n = 0;
	int			nsel;
	int			nkept;

	for (uint32_t j = 0; j < l1[0]; j++)
	{
		w->tmp[n].ref = l1[1 + j];
		w->tmp[n].dist = node_distance(g, i, l1[1 + j]);
		n++;
	}
	for (uint32_t j = 0; j < l2[0]; j++)
	{
		uint32_t	u = l2[1 + j];
		bool		dup = false;

		for (uint32_t k = 0; k < l1[0] && !dup; k++)
			dup = (l1[1 + k] == u);
		if (dup)
			continue;
		w->tmp[n].ref = u;
		w->tmp[n].dist = node_distance(g, i, u);
		n++;
	}
	n2_candidates_sort(w->tmp, n);
	nsel = n2_select_neighbors(g->params.select, w->tmp, n, g->params.max_m0,
							   pair_distance, (void *) g, w->sel,
							   copy_distance(g, i));

	/*
	 * Like N2's post-merge policy, fill the free slots with the closest
	 * candidates the heuristic pruned: the union holds twice as many
	 * candidates, and pruning alone would leave nodes with fewer links than
	 * either graph gave them.  sel is a subsequence of tmp, in order.
	 */
	nkept = nsel;
	for (int j = 0, k = 0; j < n && nsel < g->params.max_m0; j++)
	{
		if (k < nkept && w->sel[k].ref == w->tmp[j].ref)
			k++;
		else
			w->sel[nsel++] = w->tmp[j];
	}
	for (int j = 0; j < nsel; j++)
		l1[1 + j] = (uint32_t) w->sel[j].ref;
	l1[0] = nsel;
	/* keep pruned's cache follows the merged list, as set_links keeps it */
	if (lc != NULL)
	{
		size_t		base = (size_t) i * g->params.max_m0;

		for (int j = 0; j < nsel; j++)
			lc->dist[base + j] = w->sel[j].dist;
		lc->ordered[i] = 0;
	}
}

static void
run_step(N2Worker *w, const BuildStep *step)
{
	N2Builder  *b = w->b;
	uint32_t	n = b->g->n;

	for (;;)
	{
		uint64_t	pos;
		uint64_t	key;

		if (atomic_load_explicit(&b->cancel, memory_order_relaxed))
			return;
		pos = atomic_fetch_add(&b->next, 1);
		if (pos >= step->end)
			return;
		switch (step->kind)
		{
			case STEP_INSERT:
				if (b->order == NULL)
					insert_node(w, b->g, &b->entry[0], (uint32_t) pos, -1);
				else if (pos < b->ngroup)
					insert_node(w, b->g, &b->entry[0], b->order[pos], -1);
				else
				{
					key = b->keys[pos - b->ngroup];
					insert_node(w, b->g, &b->entry[0], (uint32_t) key,
								(int64_t) (key >> 32));
				}
				break;
			case STEP_ROUTE:
				key = route_node(w, b->order[pos]);
				b->keys[pos - b->ngroup] = key << 32 | b->order[pos];
				continue;		/* inserts nothing: not counted */
			case STEP_INSERT_REVERSE:
				insert_node(w, &b->rev, &b->entry[1], (uint32_t) (n - 1 - pos), -1);
				break;
			case STEP_MERGE:
				merge_node(w, (uint32_t) pos);
				break;
			case STEP_RELINK:
				if (!findable(w, b->weak[pos], FIND_EF))
					insert_node(w, b->g, &b->entry[0], b->weak[pos], -1);
				break;
		}
		atomic_fetch_add_explicit(&b->done, 1, memory_order_relaxed);
	}
}

/* Moves a[i] down the max-heap a[0..n). */
static void
sift_key(uint64_t *a, size_t i, size_t n)
{
	uint64_t	x = a[i];

	for (;;)
	{
		size_t		c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[c] <= x)
			break;
		a[i] = a[c];
		i = c;
	}
	a[i] = x;
}

/*
 * Sorts the routing keys in place: a worker thread runs it, and workers
 * allocate nothing (glibc's qsort may malloc a copy of the array).
 */
static void
sort_keys(uint64_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_key(a, i, n);
	for (size_t end = n; end > 1; end--)
	{
		uint64_t	top = a[0];

		a[0] = a[end - 1];
		a[end - 1] = top;
		sift_key(a, 0, end - 1);
	}
}

/* Sets up step p: its positions, and the phase and count poll reports. */
static void
begin_step(N2Builder *b, int p)
{
	const BuildStep *step = &b->steps[p];

	atomic_fetch_add(&b->seq, 1);
	atomic_store(&b->next, step->first);
	if (p == 0 || step->phase != b->steps[p - 1].phase)
		atomic_store(&b->done, step->first);
	atomic_store(&b->total, step->kind == STEP_RELINK ? step->end : b->g->n);
	atomic_store(&b->phase, step->phase);
	atomic_fetch_add(&b->seq, 1);
}

/*
 * Lists the weakly linked nodes in b->weak (counting in-links there first)
 * and returns how many.  The entry point is where every search starts.
 */
static uint64_t
weak_nodes(N2Builder *b)
{
	const N2Graph *g = b->g;
	uint32_t	entry = (uint32_t) atomic_load(&b->entry[0]);
	uint64_t	k = 0;

	memset(b->weak, 0, (size_t) g->n * sizeof(uint32_t));
	for (uint32_t i = 0; i < g->n; i++)
	{
		const uint32_t *l = n2_graph_links(g, i, 0);

		for (uint32_t j = 0; j < l[0]; j++)
			b->weak[l[1 + j]]++;
	}
	/* in place: weak[k] is written after weak[i >= k] was read */
	for (uint32_t i = 0; i < g->n; i++)
	{
		if (b->weak[i] <= WEAK_IN_LINKS && i != entry)
			b->weak[k++] = i;
	}
	return k;
}

/*
 * Waits for every worker to finish step p; the last to arrive sets up the
 * next step (after routing, puts the level-0 nodes in their groups' order),
 * or records the outcome after the last one.
 */
static void
step_barrier(N2Builder *b, int p)
{
	pthread_mutex_lock(&b->mutex);
	if (++b->barrier_count == b->nstarted)
	{
		b->barrier_count = 0;
		b->barrier_gen++;
		if (b->steps[p].kind == STEP_ROUTE && !atomic_load(&b->cancel))
		{
			sort_keys(b->keys, b->g->n - b->ngroup);
			for (uint64_t i = b->ngroup; i < b->g->n; i++)
				b->order[i] = (uint32_t) b->keys[i - b->ngroup];
		}
		if (p + 1 < b->nsteps)
		{
			/* once cancelled, the steps left run nothing: set none up */
			if (b->steps[p + 1].kind == STEP_RELINK && !atomic_load(&b->cancel))
				b->steps[p + 1].end = weak_nodes(b);
			if (!atomic_load(&b->cancel))
				begin_step(b, p + 1);
		}
		else
		{
			uint64_t	e = atomic_load(&b->entry[0]);

			if (b->g->n > 0)
			{
				b->g->entry = (uint32_t) e;
				b->g->max_level = (int) (e >> 32);
			}
			/* one step for poll: the outcome only once finished */
			atomic_fetch_add(&b->seq, 1);
			atomic_store(&b->phase, atomic_load(&b->cancel) ?
						 N2_BUILD_CANCELLED : N2_BUILD_DONE);
			atomic_store(&b->finished, true);
			atomic_fetch_add(&b->seq, 1);
		}
		pthread_cond_broadcast(&b->cond);
	}
	else
	{
		uint64_t	gen = b->barrier_gen;

		while (gen == b->barrier_gen)
			pthread_cond_wait(&b->cond, &b->mutex);
	}
	pthread_mutex_unlock(&b->mutex);
}

static void *
worker_main(void *arg)
{
	N2Worker   *w = arg;
	N2Builder  *b = w->b;

	/* Wait until the starter knows how many threads it got. */
	pthread_mutex_lock(&b->mutex);
	while (!b->go)
		pthread_cond_wait(&b->cond, &b->mutex);
	pthread_mutex_unlock(&b->mutex);

	for (int p = 0; p < b->nsteps; p++)
	{
		run_step(w, &b->steps[p]);
		step_barrier(b, p);
	}
	return NULL;
}

static uint64_t
upper_words(const N2Graph *g)
{
	uint32_t	last;

	if (g->n == 0)
		return 0;
	last = g->n - 1;
	return g->upper_start[last] + (uint64_t) g->levels[last] * (1 + g->params.m);
}

/* Per-worker scratch sizes, shared by create and memory accounting. */
static void
worker_sizes(const N2GraphParams *p, int *ef, int *max_degree, int *ntmp)
{
	*ef = p->ef_construction > 0 ? p->ef_construction : 1;
	*max_degree = p->max_m0 > p->m ? p->max_m0 : p->m;
	if (*max_degree < 1)
		*max_degree = 1;
	/* A merge or a list update unites two lists of at most max_degree. */
	*ntmp = 2 * *max_degree + 1;
}

static size_t
list_cache_bytes(const N2GraphParams *p, uint32_t n)
{
	return ((size_t) n * p->max_m0 + 1) * (sizeof(float) + 1) + (size_t) n + 1;
}

static bool
list_cache_init(ListCache *lc, const N2Graph *g)
{
	size_t		slots = (size_t) g->n * g->params.max_m0 + 1;

	lc->dist = malloc(slots * sizeof(float));
	lc->closer = malloc(slots);
	lc->ordered = calloc((size_t) g->n + 1, 1);
	return lc->dist != NULL && lc->closer != NULL && lc->ordered != NULL;
}

static void
list_cache_free(ListCache *lc)
{
	free(lc->dist);
	free(lc->closer);
	free(lc->ordered);
}

static bool
grouped(const N2GraphParams *p, uint32_t n, const N2BuildOptions *opts)
{
	if (opts->order == N2_ORDER_AUTO)
		return (size_t) n * p->dim * sizeof(float) > GROUPED_MIN_BYTES;
	return opts->order == N2_ORDER_GROUPED;
}

size_t
n2_builder_memory(const N2GraphParams *p, uint32_t n, uint64_t upper_lists,
				  const N2BuildOptions *opts)
{
	int			ef,
				max_degree,
				ntmp;
	int			nt = opts->n_threads > 0 ? opts->n_threads : 1;
	size_t		per_worker;
	size_t		total;

	worker_sizes(p, &ef, &max_degree, &ntmp);
	/* the search's dense visited set, its heaps and buffers, w, sel, tmp */
	per_worker = sizeof(N2Worker) + WORKER_STACK_BYTES +
		(size_t) (n > 0 ? n : 1) * sizeof(uint32_t) +
		(size_t) (ef + max_degree + 1 + ef + 1) * sizeof(N2Candidate) +
		(size_t) max_degree * (sizeof(N2Ref) + sizeof(float)) +
		(size_t) (ef + max_degree + ntmp) * sizeof(N2Candidate) + ntmp;
	total = sizeof(N2Builder) + per_worker * nt;
	/* the weakly linked nodes */
	total += ((size_t) n + 1) * sizeof(uint32_t);
	if (grouped(p, n, opts))
		total += ((size_t) n + 1) * (sizeof(uint32_t) + sizeof(uint64_t));
	if (p->select == N2_SELECT_KEEP_PRUNED && !opts->full_reselect)
		total += list_cache_bytes(p, n) * (opts->merge_level0 ? 2 : 1);
	/* the reverse graph shares vectors and levels: its lists and locks */
	if (opts->merge_level0)
		total += ((size_t) n * (1 + p->max_m0) + 1) * sizeof(uint32_t) +
			((size_t) upper_lists * (1 + p->m) + 1) * sizeof(uint32_t) +
			((size_t) n + 1) * sizeof(atomic_flag);
	return total;
}

/* The reverse graph shares params, vectors and levels with g. */
static bool
rev_graph_init(N2Graph *rev, const N2Graph *g)
{
	*rev = *g;
	rev->links0 = n2_calloc_huge((size_t) g->n * (1 + g->params.max_m0) + 1, sizeof(uint32_t));
	rev->upper = n2_calloc_huge(upper_words(g) + 1, sizeof(uint32_t));
	rev->locks = malloc(((size_t) g->n + 1) * sizeof(atomic_flag));
	if (rev->links0 == NULL || rev->upper == NULL || rev->locks == NULL)
		return false;
	for (uint32_t i = 0; i < g->n; i++)
		atomic_flag_clear(&rev->locks[i]);
	return true;
}

static void
rev_graph_free(N2Graph *rev)
{
	free(rev->links0);
	free(rev->upper);
	free(rev->locks);
}

static void
builder_release(N2Builder *b)
{
	if (b->workers != NULL)
	{
		for (int i = 0; i < b->n_threads; i++)
		{
			N2Worker   *w = &b->workers[i];

			n2_search_free(&w->search);
			free(w->w);
			free(w->sel);
			free(w->tmp);
			free(w->flags);
		}
		free(b->workers);
	}
	for (int i = 0; i < 2; i++)
		list_cache_free(&b->cache[i]);
	free(b->order);
	free(b->keys);
	free(b->weak);
	if (b->has_rev)
		rev_graph_free(&b->rev);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->mutex);
	free(b);
}

/*
 * The grouped order's first part: the nodes above level 0, then the level-0
 * nodes, each in id order.  False when out of memory.
 */
static bool
grouped_order(N2Builder *b)
{
	const N2Graph *g = b->g;
	uint64_t	k = 0;

	b->order = malloc(((size_t) g->n + 1) * sizeof(uint32_t));
	b->keys = malloc(((size_t) g->n + 1) * sizeof(uint64_t));
	if (b->order == NULL || b->keys == NULL)
		return false;
	for (uint32_t i = 0; i < g->n; i++)
	{
		if (g->levels[i] > 0)
			b->order[k++] = i;
	}
	/* with no node above level 0, position 0 (the entry) is not grouped */
	b->ngroup = k > 0 || g->n == 0 ? k : 1;
	b->route_level = 1;
	while (g->params.mult > 0 && b->route_level < 64 &&
		   exp(b->route_level / g->params.mult) < GROUP_NODES)
		b->route_level++;
	for (uint32_t i = 0; i < g->n; i++)
	{
		if (g->levels[i] == 0)
			b->order[k++] = i;
	}
	return true;
}

static void
add_step(N2Builder *b, StepKind kind, N2BuildPhase phase, uint64_t first,
		 uint64_t end)
{
	BuildStep  *step = &b->steps[b->nsteps++];

	step->kind = kind;
	step->phase = phase;
	step->first = first < end ? first : end;
	step->end = end;
}

/* Position 0 of an insertion is the first entry point, linked to nothing. */
static void
add_steps(N2Builder *b, bool merge_level0)
{
	uint64_t	n = b->g->n;
	uint64_t	first = n > 0 ? 1 : 0;

	if (b->order == NULL)
		add_step(b, STEP_INSERT, N2_BUILD_INSERTING, first, n);
	else
	{
		add_step(b, STEP_INSERT, N2_BUILD_INSERTING, first, b->ngroup);
		add_step(b, STEP_ROUTE, N2_BUILD_INSERTING, b->ngroup, n);
		add_step(b, STEP_INSERT, N2_BUILD_INSERTING, b->ngroup, n);
	}
	if (merge_level0)
	{
		add_step(b, STEP_INSERT_REVERSE, N2_BUILD_INSERTING_REVERSE, first, n);
		add_step(b, STEP_MERGE, N2_BUILD_MERGING, 0, n);
	}
	/* its end is set once the steps before it are done */
	add_step(b, STEP_RELINK, N2_BUILD_RELINKING, 0, n);
}

N2Builder *
n2_builder_create(N2Graph *g, const N2BuildOptions *opts)
{
	N2Builder  *b = calloc(1, sizeof(N2Builder));
	int			ntmp;

	if (b == NULL)
		return NULL;
	if (pthread_mutex_init(&b->mutex, NULL) != 0)
	{
		free(b);
		return NULL;
	}
	if (pthread_cond_init(&b->cond, NULL) != 0)
	{
		pthread_mutex_destroy(&b->mutex);
		free(b);
		return NULL;
	}
	b->g = g;
	b->n_threads = opts->n_threads > 0 ? opts->n_threads : 1;
	worker_sizes(&g->params, &b->ef, &b->max_degree, &ntmp);

	b->weak = malloc(((size_t) g->n + 1) * sizeof(uint32_t));
	if (b->weak == NULL ||
		(grouped(&g->params, g->n, opts) && !grouped_order(b)))
	{
		builder_release(b);
		return NULL;
	}
	add_steps(b, opts->merge_level0);
	if (opts->merge_level0)
	{
		b->has_rev = true;
		if (!rev_graph_init(&b->rev, g))
		{
			builder_release(b);
			return NULL;
		}
	}

	if (g->params.select == N2_SELECT_KEEP_PRUNED && !opts->full_reselect)
	{
		b->cached = true;
		if (!list_cache_init(&b->cache[0], g) ||
			(b->has_rev && !list_cache_init(&b->cache[1], &b->rev)))
		{
			builder_release(b);
			return NULL;
		}
	}

	b->workers = calloc(b->n_threads, sizeof(N2Worker));
	if (b->workers == NULL)
	{
		builder_release(b);
		return NULL;
	}
	for (int i = 0; i < b->n_threads; i++)
	{
		N2Worker   *w = &b->workers[i];

		w->b = b;
		w->w = malloc((size_t) b->ef * sizeof(N2Candidate));
		w->sel = malloc((size_t) b->max_degree * sizeof(N2Candidate));
		w->tmp = malloc((size_t) ntmp * sizeof(N2Candidate));
		w->flags = malloc(ntmp);
		if (!n2_search_init(&w->search, g->n > 0 ? g->n : 1, b->ef,
							b->max_degree, true) ||
			w->w == NULL || w->sel == NULL || w->tmp == NULL || w->flags == NULL)
		{
			builder_release(b);
			return NULL;
		}
	}

	if (g->n > 0)
	{
		uint32_t	first = b->order != NULL ? b->order[0] : 0;

		atomic_store(&b->entry[0], pack_entry(g->levels[first], first));
		atomic_store(&b->entry[1], pack_entry(g->levels[g->n - 1], g->n - 1));
	}
	atomic_store(&b->total, g->n);
	atomic_store(&b->phase, N2_BUILD_IDLE);
	return b;
}

int
n2_builder_start(N2Builder *b)
{
	sigset_t	all,
				old;
	int			err = 0;
	int			started = 0;

	if (b->started)
		return EINVAL;
	begin_step(b, 0);

	/* Threads inherit the mask: keep every signal on the caller's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; started < b->n_threads; started++)
	{
		err = pthread_create(&b->workers[started].thread, NULL, worker_main,
							 &b->workers[started]);
		if (err != 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	/* nodes are claimed from a counter: those started do the work */
	if (started > 0)
		err = 0;
	pthread_mutex_lock(&b->mutex);
	b->nstarted = started;
	b->go = true;
	if (err != 0)
		atomic_store(&b->cancel, true);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mutex);
	b->started = true;

	if (err != 0)
	{
		for (int i = 0; i < started; i++)
			pthread_join(b->workers[i].thread, NULL);
		b->joined = true;
		atomic_fetch_add(&b->seq, 1);
		atomic_store(&b->phase, N2_BUILD_FAILED);
		atomic_store(&b->finished, true);
		atomic_fetch_add(&b->seq, 1);
	}
	return err;
}

int
n2_builder_threads(const N2Builder *b)
{
	return b->nstarted;
}

bool
n2_builder_poll(N2Builder *b, N2BuildPhase *phase, uint64_t *done,
				uint64_t *total)
{
	bool		finished;
	uint64_t	seq;
	N2BuildPhase ph;
	uint64_t	d,
				t;

	/* all four from one step: retry across a step's set-up */
	do
	{
		while ((seq = atomic_load(&b->seq)) & 1)
			cpu_relax();
		finished = atomic_load(&b->finished);
		ph = atomic_load(&b->phase);
		d = atomic_load(&b->done);
		t = atomic_load(&b->total);
	} while (atomic_load(&b->seq) != seq);
	if (phase != NULL)
		*phase = ph;
	if (done != NULL)
		*done = d;
	if (total != NULL)
		*total = t;
	return finished;
}

void
n2_builder_cancel(N2Builder *b)
{
	atomic_store(&b->cancel, true);
}

N2BuildPhase
n2_builder_join(N2Builder *b)
{
	if (b->started && !b->joined)
	{
		for (int i = 0; i < b->nstarted; i++)
			pthread_join(b->workers[i].thread, NULL);
		b->joined = true;
	}
	return atomic_load(&b->phase);
}

bool
n2_builder_order(const N2Builder *b, const uint32_t **order, uint32_t *nupper)
{
	if (b->order == NULL)
		return false;
	*order = b->order;
	*nupper = b->ngroup > 0 && b->g->levels[b->order[0]] == 0 ? 0 :
		(uint32_t) b->ngroup;
	return true;
}

void
n2_builder_free(N2Builder *b)
{
	if (b == NULL)
		return;
	if (b->started && !b->joined)
	{
		n2_builder_cancel(b);
		n2_builder_join(b);
	}
	builder_release(b);
}

N2BuildPhase
n2_build_graph(N2Graph *g, const N2BuildOptions *opts)
{
	N2Builder  *b = n2_builder_create(g, opts);
	N2BuildPhase result;

	if (b == NULL)
		return N2_BUILD_FAILED;
	if (n2_builder_start(b) != 0)
		result = N2_BUILD_FAILED;
	else
		result = n2_builder_join(b);
	n2_builder_free(b);
	return result;
}

int
n2_graph_search(const N2Graph *g, N2Search *s, const float *query, int k,
				int ef, N2Candidate *out)
{
	GraphCtx	ctx = {g, query, NULL};
	N2Candidate ep;
	N2Ref		entry = g->entry;
	int			n;

	if (g->n == 0 || g->max_level < 0 || k <= 0)
		return 0;
	graph_distances(&ctx, &entry, 1, &ep.dist);
	ep.ref = entry;
	s->ndistances++;
	for (int l = g->max_level; l > 0; l--)
		ep = n2_search_greedy(s, &finished_ops, &ctx, ep, l);
	if (n2_search_layer(s, &finished_ops, &ctx, &ep, 1, ef > k ? ef : k, 0, NULL) < 0)
		return -1;

	/* Drop the worst beyond k, then pop the rest into ascending order. */
	while (s->nres > k)
		n2_maxheap_pop(s->res, &s->nres);
	n = s->nres;
	for (int i = n - 1; i >= 0; i--)
		out[i] = n2_maxheap_pop(s->res, &s->nres);
	return n;
}
