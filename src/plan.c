/*
 * Copyright (c) 2025-2026, the n2 developers
 * plan.c
 *		Lets the rows of an n2 index scan carry the distance the index already
 *		computed, instead of the executor computing it again.
 *
 * For ORDER BY v <-> q the planner puts v <-> q in the scan's target list,
 * so the executor evaluates it for every row the scan returns: it reads the
 * row's vector, decompressing it when it is stored compressed (as vectors of
 * more than about 500 dimensions are by default), and computes a distance the
 * index computed moments before.  That is up to a fifth of a k-NN query.
 *
 * A planner hook rewrites that expression, in the target list and filter of
 * each n2 index scan, into n2_index_distance(v, q, ctid, index, function).
 * It returns the distance the scan computed when the row in hand is the one
 * the scan just returned for that query (same heap TID: an updated row
 * version has another) and the index's distance is exactly the operator's
 * (L2, L1 and inner product: the index keeps those vectors as they are and
 * runs the same kernels; angular normalises them, so its values differ in
 * the last bits); in every other case it calls the operator's function.
 * Only operators of n2's own library are rewritten: pgvector's compute the
 * same distances with other kernels, whose last bits differ.
 *
 * Often no node above the scan uses that column at all: it is there for the
 * ordering, which the index provides (SELECT id ... ORDER BY v <-> q LIMIT k
 * discards it).  Where the plan says so, the expression becomes a NULL
 * constant, and a scan on compact codes that returns a row without recheck
 * (scan.c, certain_order) then never reads the row's vector.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "n2.h"

static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_executor_start_hook = NULL;

/* Distances the running n2 scans of this backend last returned. */
static dlist_head active_scans = DLIST_STATIC_INIT(active_scans);

void
n2_scan_distance_register(N2ScanDistance *sd)
{
	sd->valid = false;
	dlist_push_head(&active_scans, &sd->node);
}

void
n2_scan_distance_unregister(N2ScanDistance *sd)
{
	dlist_delete(&sd->node);
}

typedef struct N2PlanRewrite
{
	Expr	   *orderby;		/* the scan's ORDER BY expression */
	Expr	   *replacement;	/* n2_index_distance(...) */
} N2PlanRewrite;

static Node *
rewrite_mutator(Node *node, N2PlanRewrite *rw)
{
	if (node == NULL)
		return NULL;
	if (equal(node, rw->orderby))
		return copyObject((Node *) rw->replacement);
	return expression_tree_mutator(node, rewrite_mutator, (void *) rw);
}

/* The access method of an n2 index; InvalidOid for other indexes. */
static Oid
n2_access_method(Oid indexoid)
{
	Relation	index = relation_open(indexoid, NoLock);
	Oid			am = InvalidOid;

	if (index->rd_indam != NULL && index->rd_indam->amgettuple == n2_gettuple)
		am = index->rd_rel->relam;
	relation_close(index, NoLock);
	return am;
}

/* The library a C function is in (probin); NULL for other languages. */
static char *
function_library(Oid func)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(func));
	char	   *result = NULL;
	Datum		probin;
	bool		isnull;

	if (!HeapTupleIsValid(tuple))
		return NULL;
	probin = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_probin, &isnull);
	if (!isnull)
		result = TextDatumGetCString(probin);
	ReleaseSysCache(tuple);
	return result;
}

/* Whether func is in the library of the access method's handler. */
static bool
function_of_am_library(Oid func, Oid am)
{
	HeapTuple	tuple = SearchSysCache1(AMOID, ObjectIdGetDatum(am));
	char	   *mine;
	char	   *theirs;

	if (!HeapTupleIsValid(tuple))
		return false;
	mine = function_library(((Form_pg_am) GETSTRUCT(tuple))->amhandler);
	ReleaseSysCache(tuple);
	theirs = function_library(func);
	return mine != NULL && theirs != NULL && strcmp(mine, theirs) == 0;
}

/* n2_index_distance, in the schema of the access method's handler. */
static Oid
lookup_distance_function(Oid am)
{
	Oid			argtypes[5] = {INTERNALOID, INTERNALOID, TIDOID, REGCLASSOID, REGPROCOID};
	HeapTuple	tuple = SearchSysCache1(AMOID, ObjectIdGetDatum(am));
	char	   *schema;

	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	schema = get_namespace_name(get_func_namespace(((Form_pg_am) GETSTRUCT(tuple))->amhandler));
	ReleaseSysCache(tuple);
	if (schema == NULL)
		return InvalidOid;
	return LookupFuncName(list_make2(makeString(schema), makeString("n2_index_distance")),
						  5, argtypes, true);
}

static void
rewrite_index_scan(IndexScan *scan, Oid *funcoid)
{
	OpExpr	   *op;
	N2PlanRewrite rw;
	List	   *args;
	Oid			am;

	if (list_length(scan->indexorderbyorig) != 1)
		return;
	op = (OpExpr *) linitial(scan->indexorderbyorig);
	if (!IsA(op, OpExpr) || list_length(op->args) != 2)
		return;
	am = n2_access_method(scan->indexid);
	if (!OidIsValid(am) || !function_of_am_library(op->opfuncid, am))
		return;
	if (!OidIsValid(*funcoid))
		*funcoid = lookup_distance_function(am);
	if (!OidIsValid(*funcoid))
		return;

	args = list_make5(copyObject(linitial(op->args)),
					  copyObject(lsecond(op->args)),
					  makeVar(scan->scan.scanrelid, SelfItemPointerAttributeNumber,
							  TIDOID, -1, InvalidOid, 0),
					  makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
								ObjectIdGetDatum(scan->indexid), false, true),
					  makeConst(REGPROCOID, -1, InvalidOid, sizeof(Oid),
								ObjectIdGetDatum(op->opfuncid), false, true));
	rw.orderby = (Expr *) op;
	rw.replacement = (Expr *) makeFuncExpr(*funcoid, op->opresulttype, args,
										   InvalidOid, op->inputcollid,
										   COERCE_EXPLICIT_CALL);
	scan->scan.plan.targetlist = (List *)
		rewrite_mutator((Node *) scan->scan.plan.targetlist, &rw);
	scan->scan.plan.qual = (List *)
		rewrite_mutator((Node *) scan->scan.plan.qual, &rw);
}

/*
 * The output columns of a node's children that the node uses.  After
 * set_plan_references a node names them as OUTER_VAR (lefttree) and
 * INNER_VAR (righttree) Vars whose varattno is the child's target list
 * position; a whole-row Var uses all.
 */
typedef struct N2ColumnUse
{
	Bitmapset  *outer;
	Bitmapset  *inner;
	bool		outer_all;
	bool		inner_all;
} N2ColumnUse;

static bool
column_use_walker(Node *node, N2ColumnUse *use)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varno == OUTER_VAR)
		{
			if (var->varattno <= 0)
				use->outer_all = true;
			else
				use->outer = bms_add_member(use->outer, var->varattno);
		}
		else if (var->varno == INNER_VAR)
		{
			if (var->varattno <= 0)
				use->inner_all = true;
			else
				use->inner = bms_add_member(use->inner, var->varattno);
		}
		return false;
	}
	return expression_tree_walker(node, column_use_walker, (void *) use);
}

/* Adds what the entries of plan's target list at the positions in needed use. */
static void
use_targets(Plan *plan, Bitmapset *needed, N2ColumnUse *use)
{
	ListCell   *lc;

	foreach(lc, plan->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (bms_is_member(tle->resno, needed))
			column_use_walker((Node *) tle->expr, use);
	}
}

/* Every output column of plan. */
static Bitmapset *
all_columns(Plan *plan)
{
	Bitmapset  *all = NULL;

	for (int i = 1; plan != NULL && i <= list_length(plan->targetlist); i++)
		all = bms_add_member(all, i);
	return all;
}

/*
 * Replaces the distances n2 index scans under plan project into columns
 * nothing uses with NULL constants; needed holds the output columns of
 * plan its parent uses.  Only nodes whose every use of their children's
 * columns is known here are looked through; below any other node, nothing
 * changes.
 */
static void
drop_unused_distances(Plan *plan, Bitmapset *needed, Oid funcoid)
{
	N2ColumnUse use = {0};
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			foreach(lc, plan->targetlist)
			{
				TargetEntry *tle = lfirst_node(TargetEntry, lc);
				Expr	   *expr = tle->expr;

				if (!bms_is_member(tle->resno, needed) && IsA(expr, FuncExpr) &&
					((FuncExpr *) expr)->funcid == funcoid)
					tle->expr = (Expr *) makeNullConst(exprType((Node *) expr),
													   exprTypmod((Node *) expr),
													   exprCollation((Node *) expr));
			}
			return;
		case T_Limit:
			if (((Limit *) plan)->limitOption != LIMIT_OPTION_COUNT)
				return;
			use_targets(plan, needed, &use);
			break;
		case T_NestLoop:
			use_targets(plan, needed, &use);
			column_use_walker((Node *) plan->qual, &use);
			column_use_walker((Node *) ((Join *) plan)->joinqual, &use);
			foreach(lc, ((NestLoop *) plan)->nestParams)
				column_use_walker((Node *) lfirst_node(NestLoopParam, lc)->paramval,
								  &use);
			break;
		case T_Agg:
			{
				Agg		   *agg = (Agg *) plan;

				if (agg->groupingSets != NIL || agg->chain != NIL)
					return;
				use_targets(plan, needed, &use);
				column_use_walker((Node *) plan->qual, &use);
				for (int i = 0; i < agg->numCols; i++)
					use.outer = bms_add_member(use.outer, agg->grpColIdx[i]);
			}
			break;
		case T_Result:
			use_targets(plan, needed, &use);
			column_use_walker((Node *) plan->qual, &use);
			column_use_walker(((Result *) plan)->resconstantqual, &use);
			break;
		default:
			return;
	}
	drop_unused_distances(plan->lefttree,
						  use.outer_all ? all_columns(plan->lefttree) : use.outer,
						  funcoid);
	drop_unused_distances(plan->righttree,
						  use.inner_all ? all_columns(plan->righttree) : use.inner,
						  funcoid);
}

static void rewrite_plan(Plan *plan, Oid *funcoid);

static void
rewrite_plans(List *plans, Oid *funcoid)
{
	ListCell   *lc;

	foreach(lc, plans)
		rewrite_plan((Plan *) lfirst(lc), funcoid);
}

static void
rewrite_plan(Plan *plan, Oid *funcoid)
{
	if (plan == NULL)
		return;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			rewrite_index_scan((IndexScan *) plan, funcoid);
			break;
		case T_Append:
			rewrite_plans(((Append *) plan)->appendplans, funcoid);
			break;
		case T_MergeAppend:
			rewrite_plans(((MergeAppend *) plan)->mergeplans, funcoid);
			break;
		case T_BitmapAnd:
			rewrite_plans(((BitmapAnd *) plan)->bitmapplans, funcoid);
			break;
		case T_BitmapOr:
			rewrite_plans(((BitmapOr *) plan)->bitmapplans, funcoid);
			break;
		case T_SubqueryScan:
			rewrite_plan(((SubqueryScan *) plan)->subplan, funcoid);
			break;
		case T_CustomScan:
			rewrite_plans(((CustomScan *) plan)->custom_plans, funcoid);
			break;
		default:
			break;
	}
	rewrite_plan(plan->lefttree, funcoid);
	rewrite_plan(plan->righttree, funcoid);
}

/*
 * Rewrites the n2 index scans of stmt in place; whether it had any.
 */
static bool
rewrite_stmt(PlannedStmt *stmt)
{
	Oid			funcoid = InvalidOid;

	rewrite_plan(stmt->planTree, &funcoid);
	rewrite_plans(stmt->subplans, &funcoid);

	/* a SELECT sends its non-junk columns only; row marks need their own */
	if (OidIsValid(funcoid) && stmt->commandType == CMD_SELECT &&
		stmt->rowMarks == NIL)
	{
		Bitmapset  *needed = NULL;
		ListCell   *lc;

		foreach(lc, stmt->planTree->targetlist)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (!tle->resjunk)
				needed = bms_add_member(needed, tle->resno);
		}
		drop_unused_distances(stmt->planTree, needed, funcoid);
	}
	return OidIsValid(funcoid);
}

static PlannedStmt *
n2_planner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	PlannedStmt *stmt;

	if (prev_planner_hook)
		stmt = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);
	rewrite_stmt(stmt);
	return stmt;
}

/*
 * Unless it is preloaded, the library loads when the planner first opens an
 * n2 index, in the middle of planning: the planner hook comes too late for
 * that plan.  So saved plans are invalidated once, to be planned again
 * through the hook (else a PL/pgSQL statement or a generic plan made then
 * would keep the unrewritten plan for the session), and until the
 * transaction ends the executor runs a rewritten copy of any plan the hook
 * did not see (the statement that was being planned).
 */
static bool unhooked_plans = false;

static void
n2_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (unhooked_plans)
	{
		PlannedStmt *copy = copyObject(queryDesc->plannedstmt);

		if (rewrite_stmt(copy))
			queryDesc->plannedstmt = copy;
	}
	if (prev_executor_start_hook)
		prev_executor_start_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
n2_plans_xact_callback(XactEvent event, void *arg)
{
	unhooked_plans = false;
}

void
n2_install_planner_hook(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = n2_planner;
	prev_executor_start_hook = ExecutorStart_hook;
	ExecutorStart_hook = n2_executor_start;

	if (!process_shared_preload_libraries_in_progress && !IsParallelWorker())
	{
		ResetPlanCache();
		unhooked_plans = true;
		RegisterXactCallback(n2_plans_xact_callback, NULL);
	}
}

/* What one n2_index_distance call keeps from row to row. */
typedef struct N2DistanceCache
{
	FmgrInfo	opfn;			/* the operator's function */
	struct varlena *packed;		/* the last compressed or toasted query */
	struct varlena *query;		/* and detoasted */
} N2DistanceCache;

/*
 * The query argument detoasted.  A query taken from a table reaches every
 * row of its scan compressed (the scan's own copy was detoasted by the
 * executor, so the bytes do not match the scan's): decompress it once per
 * distinct value, not once per row.
 */
static struct varlena *
detoast_query(N2DistanceCache *cache, MemoryContext mcxt, struct varlena *arg)
{
	Size		size;
	MemoryContext oldcxt;

	if (VARATT_IS_EXTERNAL_EXPANDED(arg))
		return PG_DETOAST_DATUM_PACKED(PointerGetDatum(arg));
	/* an out-of-line pointer has a short header too */
	if (!VARATT_IS_COMPRESSED(arg) && !VARATT_IS_EXTERNAL_ONDISK(arg))
		return arg;
	size = VARSIZE_ANY(arg);
	if (cache->packed != NULL && VARSIZE_ANY(cache->packed) == size &&
		memcmp(cache->packed, arg, size) == 0)
		return cache->query;
	if (cache->packed != NULL)
	{
		pfree(cache->packed);
		pfree(cache->query);
	}
	oldcxt = MemoryContextSwitchTo(mcxt);
	cache->packed = palloc(size);
	memcpy(cache->packed, arg, size);
	cache->query = PG_DETOAST_DATUM_PACKED(PointerGetDatum(arg));
	MemoryContextSwitchTo(oldcxt);
	return cache->query;
}

PG_FUNCTION_INFO_V1(n2_index_distance);
Datum
n2_index_distance(PG_FUNCTION_ARGS)
{
	struct varlena *arg = (struct varlena *) PG_GETARG_POINTER(1);
	ItemPointer tid = (ItemPointer) PG_GETARG_POINTER(2);
	Oid			indexoid = PG_GETARG_OID(3);
	N2DistanceCache *cache = (N2DistanceCache *) fcinfo->flinfo->fn_extra;
	struct varlena *query = NULL;
	dlist_iter	iter;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(N2DistanceCache));
		fmgr_info_cxt(PG_GETARG_OID(4), &cache->opfn, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = cache;
	}

	dlist_foreach(iter, &active_scans)
	{
		N2ScanDistance *sd = dlist_container(N2ScanDistance, node, iter.cur);

		if (!sd->valid || sd->indexoid != indexoid || !ItemPointerEquals(&sd->tid, tid))
			continue;

		/*
		 * The same compressed or toasted bytes are the same value: no need to
		 * decompress a query taken from a table (a LATERAL batch) per row.
		 */
		if (sd->packed != NULL && VARSIZE_ANY(arg) == VARSIZE_ANY(sd->packed) &&
			memcmp(arg, sd->packed, VARSIZE_ANY(arg)) == 0)
			PG_RETURN_FLOAT8(sd->dist);
		if (query == NULL)
			query = detoast_query(cache, fcinfo->flinfo->fn_mcxt, arg);
		if (VARSIZE_ANY_EXHDR(query) == VARSIZE_ANY_EXHDR(sd->query) &&
			memcmp(VARDATA_ANY(query), VARDATA_ANY(sd->query),
				   VARSIZE_ANY_EXHDR(query)) == 0)
			PG_RETURN_FLOAT8(sd->dist);
	}

	return FunctionCall2Coll(&cache->opfn, PG_GET_COLLATION(), PG_GETARG_DATUM(0),
							 PG_GETARG_DATUM(1));
}
