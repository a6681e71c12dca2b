/*
 * handler.c
 *		Module load, the index AM handler, reloptions, GUCs and operator
 *		class validation.
 */
#include "postgres.h"

#include <math.h>

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "fmgr.h"
#include "commands/vacuum.h"
#include "utils/guc.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "n2.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			n2_ef_search = 40;
int			n2_build_threads = 0;
int			n2_iterative_scan = N2_ITERATIVE_STRICT;
int			n2_max_scan_tuples = 20000;
double		n2_scan_mem_multiplier = 1.0;
int			n2_scan_fallback = N2_FALLBACK_SEQUENTIAL;

static relopt_kind n2_relopt_kind;

static relopt_enum_elt_def n2_select_values[] = {
	{"heuristic", N2_SELECT_HEURISTIC},
	{"naive", N2_SELECT_NAIVE},
	{NULL}
};

static relopt_enum_elt_def n2_merge_values[] = {
	{"skip", 0},
	{"merge_level0", 1},
	{NULL}
};

static const struct config_enum_entry n2_iterative_values[] = {
	{"off", N2_ITERATIVE_OFF, false},
	{"strict_order", N2_ITERATIVE_STRICT, false},
	{"relaxed_order", N2_ITERATIVE_RELAXED, false},
	{NULL, 0, false}
};

static const struct config_enum_entry n2_fallback_values[] = {
	{"off", N2_FALLBACK_OFF, false},
	{"sequential", N2_FALLBACK_SEQUENTIAL, false},
	{NULL, 0, false}
};

void
_PG_init(void)
{
	n2_distance_init();
	n2_install_planner_hook();

	n2_relopt_kind = add_reloption_kind();
	add_int_reloption(n2_relopt_kind, "m",
					  "Maximum links per node on levels above 0",
					  N2_DEFAULT_M, N2_MIN_M, N2_MAX_M, AccessExclusiveLock);
	add_int_reloption(n2_relopt_kind, "max_m0",
					  "Maximum links per node on level 0 (-1: 2 * m)",
					  -1, -1, N2_MAX_M0, AccessExclusiveLock);
	add_int_reloption(n2_relopt_kind, "ef_construction",
					  "Candidate list size while building",
					  N2_DEFAULT_EF_CONSTRUCTION, 1, N2_MAX_EF,
					  AccessExclusiveLock);
	add_int_reloption(n2_relopt_kind, "n_threads",
					  "Build threads (-1: n2.build_threads, 0: number of CPUs)",
					  -1, -1, N2_MAX_THREADS, AccessExclusiveLock);
	add_real_reloption(n2_relopt_kind, "mult",
					   "Level multiplier (-1: 1 / ln(m))",
					   -1, -1, 10, AccessExclusiveLock);
	add_enum_reloption(n2_relopt_kind, "neighbor_selecting",
					   "Neighbour selection: heuristic or naive",
					   n2_select_values, N2_SELECT_HEURISTIC,
					   "Valid values are \"heuristic\" and \"naive\".",
					   AccessExclusiveLock);
	add_enum_reloption(n2_relopt_kind, "graph_merging",
					   "Level-0 graph merging: skip or merge_level0",
					   n2_merge_values, 0,
					   "Valid values are \"skip\" and \"merge_level0\".",
					   AccessExclusiveLock);

	DefineCustomIntVariable("n2.ef_search",
							"Candidate list size for index scans.",
							"Larger values find more of the true nearest "
							"neighbours at the cost of speed.",
							&n2_ef_search, 40, 1, N2_MAX_EF,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("n2.build_threads",
							"Threads building an n2 index when its n_threads "
							"option is not set (0: number of CPUs).",
							NULL, &n2_build_threads, 0, 0, N2_MAX_THREADS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("n2.iterative_scan",
							 "How an index scan continues past its first "
							 "ef_search candidates.",
							 "off stops there; strict_order continues and "
							 "never returns a row out of distance order; "
							 "relaxed_order also returns rows found late.",
							 &n2_iterative_scan, N2_ITERATIVE_STRICT,
							 n2_iterative_values, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("n2.max_scan_tuples",
							"Most index tuples the graph walk of an iterative "
							"scan visits.",
							"Past it, n2.scan_fallback says how the scan goes on.",
							&n2_max_scan_tuples, 20000, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("n2.scan_mem_multiplier",
							 "Multiple of work_mem an iterative scan may use.",
							 "Past it, n2.scan_fallback says how the scan goes on.",
							 &n2_scan_mem_multiplier, 1.0, 1.0, 1000.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("n2.scan_fallback",
							 "How an iterative scan goes on once "
							 "n2.max_scan_tuples or its memory bound stops "
							 "the graph walk.",
							 "sequential reads the rest of the index once and "
							 "returns the remaining rows in distance order; "
							 "off ends the scan.",
							 &n2_scan_fallback, N2_FALLBACK_SEQUENTIAL,
							 n2_fallback_values, PGC_USERSET, 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("n2");
}

static bytea *
n2_options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(N2Options, m)},
		{"max_m0", RELOPT_TYPE_INT, offsetof(N2Options, max_m0)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(N2Options, ef_construction)},
		{"n_threads", RELOPT_TYPE_INT, offsetof(N2Options, n_threads)},
		{"mult", RELOPT_TYPE_REAL, offsetof(N2Options, mult)},
		{"neighbor_selecting", RELOPT_TYPE_ENUM, offsetof(N2Options, neighbor_selecting)},
		{"graph_merging", RELOPT_TYPE_ENUM, offsetof(N2Options, graph_merging)},
	};
	N2Options  *opts;

	opts = (N2Options *) build_reloptions(reloptions, validate, n2_relopt_kind,
										  sizeof(N2Options), tab, lengthof(tab));
	if (validate && opts != NULL)
	{
		if (opts->max_m0 != -1 && opts->max_m0 < opts->m)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value %d out of bounds for option \"max_m0\"",
							opts->max_m0),
					 errdetail("Valid values are -1 (2 * m) and integers from m (%d) to %d.",
							   opts->m, N2_MAX_M0)));
		if (opts->mult < 0 && opts->mult != -1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value %g out of bounds for option \"mult\"",
							opts->mult),
					 errdetail("Valid values are -1 (1 / ln(m)) and numbers from 0 to 10.")));
	}
	return (bytea *) opts;
}

N2Options *
n2_get_options(Relation index)
{
	static N2Options defaults = {
		0, N2_DEFAULT_M, -1, N2_DEFAULT_EF_CONSTRUCTION, -1, -1,
		N2_SELECT_HEURISTIC, 0
	};

	if (index->rd_options)
		return (N2Options *) index->rd_options;
	return &defaults;
}

/* The metric and column kind come from the operator class; cached. */
typedef struct N2AmCache
{
	N2Metric	metric;
	bool		is_array;
} N2AmCache;

static N2AmCache *
n2_am_cache(Relation index)
{
	if (index->rd_amcache == NULL)
	{
		N2AmCache  *cache;
		Oid			proc = index_getprocid(index, 1, 1);
		int32		metric;

		if (!OidIsValid(proc))
			elog(ERROR, "n2 operator class is missing support function 1");
		metric = DatumGetInt32(OidFunctionCall1(proc, (Datum) 0));
		if (metric < N2_METRIC_L2 || metric > N2_METRIC_DOT)
			elog(ERROR, "n2 support function returned unknown metric %d", metric);

		cache = MemoryContextAlloc(index->rd_indexcxt, sizeof(N2AmCache));
		cache->metric = (N2Metric) metric;
		cache->is_array = TupleDescAttr(RelationGetDescr(index), 0)->atttypid == FLOAT4ARRAYOID;
		index->rd_amcache = cache;
	}
	return (N2AmCache *) index->rd_amcache;
}

N2Metric
n2_index_metric(Relation index)
{
	return n2_am_cache(index)->metric;
}

bool
n2_index_is_array(Relation index)
{
	return n2_am_cache(index)->is_array;
}

/* Parameters from reloptions, for a new build. */
void
n2_params_from_options(Relation index, N2Params *p)
{
	N2Options  *opts = n2_get_options(index);

	p->metric = n2_index_metric(index);
	p->is_array = n2_index_is_array(index);
	p->dims = 0;
	p->m = opts->m;
	p->max_m0 = opts->max_m0 == -1 ? 2 * opts->m : opts->max_m0;
	p->ef_construction = opts->ef_construction;
	p->mult = opts->mult < 0 ? 1.0 / log((double) opts->m) : opts->mult;
	p->select = (N2SelectMethod) opts->neighbor_selecting;
	p->merge_level0 = opts->graph_merging == 1;
}

static char *
n2_buildphasename(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case N2_PHASE_LOAD:
			return "loading tuples";
		case N2_PHASE_BUILD:
			return "building graph";
		case N2_PHASE_BUILD_REVERSE:
			return "building reverse graph";
		case N2_PHASE_MERGE:
			return "merging level 0";
		case N2_PHASE_WRITE:
			return "writing pages";
		case N2_PHASE_INSERT:
			return "inserting tuples";
		default:
			return NULL;
	}
}

/*
 * Operator class validation: every operator is a strategy-1 ordering
 * operator returning float8, and support function 1 returns the metric.
 */
static bool
n2_validate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	char	   *opclassname;
	CatCList   *proclist;
	CatCList   *oprlist;
	bool		have_metric = false;
	int			i;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opclassname = NameStr(classform->opcname);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(classform->opcfamily));
	for (i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (procform->amprocnum != 1 ||
			!check_amproc_signature(procform->amproc, INT4OID, false,
									1, 1, INTERNALOID))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("n2 operator class \"%s\" has invalid support function %d",
							opclassname, procform->amprocnum)));
			result = false;
		}
		else
			have_metric = true;
	}
	ReleaseSysCacheList(proclist);

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(classform->opcfamily));
	for (i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amopstrategy != 1 ||
			oprform->amoppurpose != AMOP_ORDER ||
			!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype, oprform->amoprighttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("n2 operator class \"%s\" has invalid operator %s",
							opclassname, format_operator(oprform->amopopr))));
			result = false;
		}
	}
	ReleaseSysCacheList(oprlist);

	if (!have_metric)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("n2 operator class \"%s\" is missing support function 1",
						opclassname)));
		result = false;
	}
	ReleaseSysCache(classtup);
	return result;
}

PG_FUNCTION_INFO_V1(n2_handler);
Datum
n2_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 1;
	amroutine->amsupport = 1;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = n2_build;
	amroutine->ambuildempty = n2_buildempty;
	amroutine->aminsert = n2_insert;
	amroutine->ambulkdelete = n2_bulkdelete;
	amroutine->amvacuumcleanup = n2_vacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = n2_costestimate;
	amroutine->amoptions = n2_options;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = n2_buildphasename;
	amroutine->amvalidate = n2_validate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = n2_beginscan;
	amroutine->amrescan = n2_rescan;
	amroutine->amgettuple = n2_gettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = n2_endscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}

/* Support function 1 of each operator class: which metric it orders by. */
PG_FUNCTION_INFO_V1(n2_l2_support);
Datum
n2_l2_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(N2_METRIC_L2);
}

PG_FUNCTION_INFO_V1(n2_angular_support);
Datum
n2_angular_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(N2_METRIC_ANGULAR);
}

PG_FUNCTION_INFO_V1(n2_dot_support);
Datum
n2_dot_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(N2_METRIC_DOT);
}
