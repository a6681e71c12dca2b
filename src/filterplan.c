/*
 * Copyright (c) 2025-2026, the n2 developers
 * filterplan.c
 *		Planning and DDL for filter columns (filter.c stores and evaluates
 *		their keys).
 *
 * Two kinds of conditions on a filter column never reach an ordered n2 scan
 * through the core planner.  PostgreSQL 15 leaves = ANY(array) on an index
 * column after the first out of every ordered index path (it assumes a
 * btree, whose order such a condition breaks), and it matches a bare
 * boolean column (WHERE b, WHERE NOT b) only for the btree and hash
 * boolean families.  Nor does it match column = a OR column = b,
 * column <> ALL (array), which NOT IN becomes, or IS [NOT] NULL (n2 does
 * not claim amsearchnulls, which would offer it on the vector column too).  An n2 scan answers all of
 * them without changing its order, so set_rel_pathlist_hook adds, next to
 * each ordered n2 path, one that also hands them to the index (b as
 * b = true, the OR as = ANY, <> ALL as one <> per element); add_path keeps
 * whichever costs less.
 *
 * ProcessUtility_hook turns the error PostgreSQL gives for a filter column
 * of a type n2 cannot store ("no default operator class") into one that
 * names the column, once the library is loaded in the session.
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "filter.h"
#include "n2.h"

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;

/* Whether rinfo is already one of the path's index clauses. */
static bool
has_clause(IndexPath *path, RestrictInfo *rinfo)
{
	ListCell   *lc;

	foreach(lc, path->indexclauses)
	{
		if (((IndexClause *) lfirst(lc))->rinfo == rinfo)
			return true;
	}
	return false;
}

/* An operand the scan can compute before it starts: no Var of rel. */
static bool
is_scan_constant(PlannerInfo *root, IndexOptInfo *index, Node *operand)
{
	return !bms_is_member(index->rel->relid, pull_varnos(root, operand)) &&
		!contain_volatile_functions(operand);
}

/* An IndexClause for rinfo, evaluated as quals by the index, not lossy. */
static IndexClause *
make_index_clause(RestrictInfo *rinfo, List *quals, int indexcol)
{
	IndexClause *iclause = makeNode(IndexClause);

	iclause->rinfo = rinfo;
	iclause->indexquals = quals;
	iclause->lossy = false;
	iclause->indexcol = indexcol;
	iclause->indexcols = NIL;
	return iclause;
}

/* column = ANY (array) on filter column indexcol, or NULL. */
static IndexClause *
saop_clause(PlannerInfo *root, IndexOptInfo *index, RestrictInfo *rinfo,
			int indexcol)
{
	ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) rinfo->clause;

	if (!saop->useOr ||
		!match_index_to_operand(linitial(saop->args), indexcol, index) ||
		!op_in_opfamily(saop->opno, index->opfamily[indexcol]) ||
		(OidIsValid(index->indexcollations[indexcol]) &&
		 index->indexcollations[indexcol] != saop->inputcollid) ||
		!is_scan_constant(root, index, lsecond(saop->args)))
		return NULL;
	return make_index_clause(rinfo, list_make1(rinfo), indexcol);
}

/*
 * column <> ALL (constant array) on filter column indexcol, as one
 * column <> element per element; or NULL.  An empty array (true even for a
 * NULL column) or a NULL element (never true) stays above the scan.
 */
static IndexClause *
not_in_clause(PlannerInfo *root, IndexOptInfo *index, RestrictInfo *rinfo,
			  int indexcol)
{
	ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) rinfo->clause;
	Node	   *column = linitial(saop->args);
	Const	   *array = (Const *) lsecond(saop->args);
	ArrayType  *a;
	Oid			elemtype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *quals = NIL;

	if (saop->useOr || !IsA(array, Const) || array->constisnull ||
		!match_index_to_operand(column, indexcol, index) ||
		get_op_opfamily_strategy(saop->opno, index->opfamily[indexcol]) !=
		N2_STRATEGY_NE ||
		(OidIsValid(index->indexcollations[indexcol]) &&
		 index->indexcollations[indexcol] != saop->inputcollid))
		return NULL;
	a = DatumGetArrayTypeP(array->constvalue);
	elemtype = ARR_ELEMTYPE(a);
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(a, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	if (n == 0)
		return NULL;
	for (int i = 0; i < n; i++)
	{
		Expr	   *ne;

		if (nulls[i])
			return NULL;
		ne = make_opclause(saop->opno, BOOLOID, false, (Expr *) copyObject(column),
						   (Expr *) makeConst(elemtype, -1, array->constcollid,
											  typlen, elems[i], false, typbyval),
						   InvalidOid, saop->inputcollid);
		set_opfuncid((OpExpr *) ne);
		quals = lappend(quals, make_simple_restrictinfo(root, ne));
	}
	return make_index_clause(rinfo, quals, indexcol);
}

/*
 * column = a OR column = b ... on filter column indexcol (one equality
 * operator throughout), as column = ANY (ARRAY[a, b, ...]); or NULL.
 */
static IndexClause *
or_clause(PlannerInfo *root, IndexOptInfo *index, RestrictInfo *rinfo,
		  int indexcol)
{
	Oid			opno = InvalidOid;
	Oid			collid = InvalidOid;
	Node	   *column = NULL;
	List	   *values = NIL;
	ListCell   *lc;
	ArrayExpr  *array;
	ScalarArrayOpExpr *saop;

	foreach(lc, ((BoolExpr *) rinfo->clause)->args)
	{
		OpExpr	   *op = (OpExpr *) lfirst(lc);
		Node	   *left;
		Node	   *right;

		if (!IsA(op, OpExpr) || list_length(op->args) != 2 ||
			(OidIsValid(opno) && op->opno != opno))
			return NULL;
		left = linitial(op->args);
		right = lsecond(op->args);
		/* value = column, when = is its own commutator */
		if (!match_index_to_operand(left, indexcol, index) &&
			get_commutator(op->opno) == op->opno)
		{
			left = lsecond(op->args);
			right = linitial(op->args);
		}
		/* one collation throughout: the index compares with one */
		if (!match_index_to_operand(left, indexcol, index) ||
			!is_scan_constant(root, index, right) ||
			(OidIsValid(opno) && op->inputcollid != collid))
			return NULL;
		opno = op->opno;
		collid = op->inputcollid;
		column = left;
		values = lappend(values, copyObject(right));
	}
	if (get_op_opfamily_strategy(opno, index->opfamily[indexcol]) != N2_STRATEGY_EQ ||
		(OidIsValid(index->indexcollations[indexcol]) &&
		 index->indexcollations[indexcol] != collid))
		return NULL;
	array = makeNode(ArrayExpr);
	array->element_typeid = exprType(linitial(values));
	array->array_typeid = get_array_type(array->element_typeid);
	if (!OidIsValid(array->array_typeid))
		return NULL;
	array->elements = values;
	array->multidims = false;
	array->location = -1;
	saop = makeNode(ScalarArrayOpExpr);
	saop->opno = opno;
	saop->opfuncid = get_opcode(opno);
	saop->useOr = true;
	saop->inputcollid = collid;
	saop->args = list_make2(copyObject(column), array);
	return make_index_clause(rinfo,
							 list_make1(make_simple_restrictinfo(root, (Expr *) saop)),
							 indexcol);
}

/* column IS [NOT] NULL on filter column indexcol, or NULL. */
static IndexClause *
null_test_clause(IndexOptInfo *index, RestrictInfo *rinfo, int indexcol)
{
	NullTest   *nt = (NullTest *) rinfo->clause;

	if (nt->argisrow || !match_index_to_operand((Node *) nt->arg, indexcol, index))
		return NULL;
	return make_index_clause(rinfo, list_make1(rinfo), indexcol);
}

/* b or NOT b on boolean filter column indexcol, as b = true/false; or NULL. */
static IndexClause *
bool_clause(PlannerInfo *root, IndexOptInfo *index, RestrictInfo *rinfo,
			int indexcol)
{
	Node	   *clause = (Node *) rinfo->clause;
	bool		value = true;
	Expr	   *eq;

	if (index->opcintype[indexcol] != BOOLOID)
		return NULL;
	if (is_notclause(clause))
	{
		clause = (Node *) get_notclausearg((Expr *) clause);
		value = false;
	}
	if (!match_index_to_operand(clause, indexcol, index))
		return NULL;
	eq = make_opclause(BooleanEqualOperator, BOOLOID, false,
					   (Expr *) copyObject(clause),
					   (Expr *) makeBoolConst(value, false),
					   InvalidOid, InvalidOid);
	set_opfuncid((OpExpr *) eq);
	return make_index_clause(rinfo, list_make1(make_simple_restrictinfo(root, eq)),
							 indexcol);
}

static int
compare_indexcol(const ListCell *a, const ListCell *b)
{
	return ((IndexClause *) lfirst(a))->indexcol -
		((IndexClause *) lfirst(b))->indexcol;
}

/* The path with the conditions the core planner left out, or NULL. */
static IndexPath *
with_filter_clauses(PlannerInfo *root, RelOptInfo *rel, IndexPath *path)
{
	IndexOptInfo *index = path->indexinfo;
	List	   *clauses = list_copy(path->indexclauses);
	bool		added = false;
	ListCell   *lc;

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (rinfo->pseudoconstant || has_clause(path, rinfo))
			continue;
		for (int col = 1; col < index->nkeycolumns; col++)
		{
			IndexClause *iclause;

			if (IsA(rinfo->clause, ScalarArrayOpExpr))
				iclause = ((ScalarArrayOpExpr *) rinfo->clause)->useOr ?
					saop_clause(root, index, rinfo, col) :
					not_in_clause(root, index, rinfo, col);
			else if (is_orclause(rinfo->clause))
				iclause = or_clause(root, index, rinfo, col);
			else if (IsA(rinfo->clause, NullTest))
				iclause = null_test_clause(index, rinfo, col);
			else
				iclause = bool_clause(root, index, rinfo, col);
			if (iclause != NULL)
			{
				clauses = lappend(clauses, iclause);
				added = true;
				break;
			}
		}
	}
	if (!added)
		return NULL;
	list_sort(clauses, compare_indexcol);
	return create_index_path(root, index, clauses, path->indexorderbys,
							 path->indexorderbycols, path->path.pathkeys,
							 ForwardScanDirection, false, NULL, 1.0, false);
}

static void
n2_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
					RangeTblEntry *rte)
{
	List	   *extra = NIL;
	ListCell   *lc;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);
	foreach(lc, rel->pathlist)
	{
		IndexPath  *path = (IndexPath *) lfirst(lc);
		IndexPath  *better;

		if (!IsA(path, IndexPath) ||
			path->indexinfo->amcostestimate != n2_costestimate ||
			path->indexorderbys == NIL || path->indexinfo->nkeycolumns < 2 ||
			path->path.param_info != NULL)
			continue;
		better = with_filter_clauses(root, rel, path);
		if (better != NULL)
			extra = lappend(extra, better);
	}
	foreach(lc, extra)
		add_path(rel, (Path *) lfirst(lc));
}

/*
 * CREATE INDEX ... USING n2: a filter column of a type without an n2
 * operator class is refused here, naming the column.
 */
static void
check_index_stmt(IndexStmt *stmt)
{
	Oid			relid;
	Oid			amoid;
	ListCell   *lc;
	int			i = 0;

	if (stmt->accessMethod == NULL || strcmp(stmt->accessMethod, "n2") != 0)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	amoid = get_am_oid("n2", true);
	if (!OidIsValid(relid) || !OidIsValid(amoid))
		return;
	foreach(lc, stmt->indexParams)
	{
		IndexElem  *elem = lfirst_node(IndexElem, lc);
		AttrNumber	attnum;
		Oid			typid;

		if (i++ == 0 || elem->name == NULL || elem->opclass != NIL)
			continue;
		attnum = get_attnum(relid, elem->name);
		if (attnum == InvalidAttrNumber)
			continue;
		typid = get_atttype(relid, attnum);
		if (!OidIsValid(GetDefaultOpClass(typid, amoid)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 stmt->idxname ?
					 errmsg("n2 index \"%s\" cannot filter on column \"%s\" of type %s",
							stmt->idxname, elem->name, format_type_be(typid)) :
					 errmsg("n2 index cannot filter on column \"%s\" of type %s",
							elem->name, format_type_be(typid)),
					 errhint("Filter columns may be smallint, integer, bigint, boolean, text, varchar, uuid, smallint[], integer[], bigint[] or text[].")));
	}
}

static void
n2_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, IndexStmt))
		check_index_stmt((IndexStmt *) pstmt->utilityStmt);
	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
								  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
n2_install_filter_hooks(void)
{
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = n2_set_rel_pathlist;
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = n2_process_utility;
}
