/*
 * Copyright (c) 2025-2026, the n2 developers
 * cost.c
 *		Planner cost estimate for n2 index scans.
 *
 * The index is only useful for ORDER BY column <op> constant; without that
 * ordering the scan returns nothing useful, so its cost is made prohibitive.
 *
 * With it, the startup cost is the first beam search: about ef_search nodes
 * expanded, each costing a page read and max_m0 distance evaluations.  After
 * that every further row costs about one more expansion, the iterative scan
 * widening as the executor asks for more.  The total cost therefore grows
 * with the rows fetched, so a LIMIT over a selective filter (which needs
 * LIMIT / selectivity rows) looks as expensive as it is, and the planner
 * prefers a btree or a sequential scan with a sort when those are cheaper.
 *
 * Past a point the scan stops walking and finishes with a pass over every
 * element (scan.c): it reads every page once and computes distances only
 * for the elements that pass the index conditions on filter columns.  So
 * the cost of the rows a LIMIT takes is the lesser of the walk's and that
 * pass's; the run cost is scaled so that the planner's interpolation at the
 * LIMIT (root->limit_tuples) gives it.  With conditions on filter columns
 * the pass can be one over the elements the key directory lists instead.
 * Without them the walk comes first whatever the LIMIT: the pass only
 * follows once the walk has evaluated n2.max_scan_tuples nodes.
 *
 * Without a LIMIT every row is wanted, in order, and the index cannot give
 * that: in strict order its walk skips rows it finds after farther ones,
 * and it is slower than a sort (20,000 x 128-d: 42 ms against 23 ms for
 * the sequential scan and its sort on disk).  Such a scan is costed as a
 * whole walk and a pass, so the planner sorts instead.  A cursor plans for
 * cursor_tuple_fraction of that (a tenth): it walks only where a tenth of
 * the table costs less through the index than a sort.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"

#include "n2.h"

/* Bytes a key directory entry takes with its line pointer, typically. */
#define N2_KEY_ENTRY_ESTIMATE	40

void
n2_costestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				Cost *indexStartupCost, Cost *indexTotalCost,
				Selectivity *indexSelectivity, double *indexCorrelation,
				double *indexPages)
{
	GenericCosts costs;
	IndexOptInfo *index = path->indexinfo;
	double		ntuples = Max(index->tuples, 1);
	double		random_page_cost;
	double		seq_page_cost;
	int			dims;
	int			max_m0;
	double		per_distance;
	double		per_node;
	double		first_nodes;
	double		rows;
	double		wanted;
	Cost		walk;
	Cost		pass;
	Cost		startup;

	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	MemSet(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);
	get_tablespace_page_costs(index->reltablespace, &random_page_cost, &seq_page_cost);

	/*
	 * The work per visited node scales with the bytes of a stored vector and
	 * the links a node has, as the metapage gives them.  The page count would
	 * also hold filter keys and the key directory, making an index with
	 * filter columns look dearer than one without for the same walk.  Before
	 * a real[] column's first vector, for a hypothetical index (hypopg) and
	 * for one in a format this build does not read, the page count is all
	 * there is.
	 */
	dims = 0;
	max_m0 = 2 * N2_DEFAULT_M;
	if (!index->hypothetical && index->pages > 0)
	{
		Relation	rel = index_open(index->indexoid, NoLock);
		N2MetaPageData meta;

		if (n2_read_meta_quietly(rel, &meta))
		{
			dims = meta.dims * n2_storage_dim_bytes((N2Storage) meta.storage) /
				(int) sizeof(float);
			max_m0 = meta.max_m0;
		}
		index_close(rel, NoLock);
	}
	if (dims <= 0)
		dims = (int) Max(1, (double) index->pages * BLCKSZ / ntuples / sizeof(float));

	/* one distance: a few operator costs per 64 dimensions */
	per_distance = cpu_operator_cost * (1.0 + dims / 64.0);
	per_node = max_m0 * per_distance + random_page_cost * 0.25;
	first_nodes = Min(ntuples, (double) n2_ef_search);

	startup = first_nodes * per_node + log(ntuples) * per_node;

	/* every row: the walk visits every node, or one pass does it */
	walk = ntuples * (per_node + cpu_index_tuple_cost);
	pass = index->pages * seq_page_cost +
		ntuples * (cpu_operator_cost + costs.indexSelectivity * per_distance);

	/*
	 * With conditions on filter columns, the key directory lists the elements
	 * that pass (scan.c): its pages, a test per entry and a random read per
	 * element listed.
	 */
	if (path->indexclauses != NIL)
	{
		double		listed = ntuples * costs.indexSelectivity;
		Cost		list;

		list = ceil(ntuples * N2_KEY_ENTRY_ESTIMATE / BLCKSZ) * seq_page_cost +
			ntuples * cpu_operator_cost +
			listed * (random_page_cost * 0.25 + per_distance + cpu_index_tuple_cost);
		pass = Min(pass, list);
	}
	else
	{
		/* without them the pass follows a walk to the bound */
		pass += Min(ntuples, (double) n2_max_scan_tuples) *
			(per_node + cpu_index_tuple_cost);
	}

	/* the LIMIT's rows cost min(walk's share, the pass): scale to all rows */
	rows = Max(path->path.rows, 1);
	*indexStartupCost = startup;
	if (root->limit_tuples > 0)
	{
		wanted = Min(root->limit_tuples, rows);
		*indexTotalCost = startup + Min(walk, pass * rows / wanted);
	}
	else
		*indexTotalCost = startup + walk + pass;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = costs.numIndexPages;
}
