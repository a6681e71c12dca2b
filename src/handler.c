/*
 * Copyright (c) 2025-2026, the n2 developers
 * handler.c
 *		Module load, the index AM handler, reloptions, GUCs and operator
 *		class validation.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "access/amvalidate.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "fmgr.h"
#include "commands/vacuum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "filter.h"
#include "n2.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			n2_ef_search = 40;
int			n2_upper_ef_search = 0;
int			n2_build_threads = 0;
int			n2_max_build_threads = 0;
int			n2_iterative_scan = N2_ITERATIVE_STRICT;
int			n2_max_scan_tuples = 20000;
double		n2_scan_mem_multiplier = 1.0;
int			n2_scan_fallback = N2_FALLBACK_SEQUENTIAL;
int			n2_scan_cache_size = 16384;
char	   *n2_pause_at = NULL;
int			n2_pause_key = 0x6E32;
int			n2_mark_cache_limit = 0;
int			n2_link4_max_blocks = 0;
int			n2_link3_max_blocks = 0;
static char *n2_simd = NULL;

/* n2.simd's boot value: the GUC machinery keeps the pointer, not a copy */
static char simd_shown[64];

static relopt_kind n2_relopt_kind;
static object_access_hook_type prev_object_access_hook = NULL;

static void n2_object_access(ObjectAccessType access, Oid classId,
							 Oid objectId, int subId, void *arg);

static relopt_enum_elt_def n2_select_values[] = {
	{"heuristic", N2_SELECT_HEURISTIC},
	{"naive", N2_SELECT_NAIVE},
	{NULL}
};

static relopt_enum_elt_def n2_keep_pruned_values[] = {
	{"off", N2_KEEP_PRUNED_OFF},
	{"half", N2_KEEP_PRUNED_HALF},
	{"on", N2_KEEP_PRUNED_ON},
	/* it was a boolean before it took "half" */
	{"true", N2_KEEP_PRUNED_ON},
	{"false", N2_KEEP_PRUNED_OFF},
	{NULL}
};

static relopt_enum_elt_def n2_merge_values[] = {
	{"skip", 0},
	{"merge_level0", 1},
	{NULL}
};

static relopt_enum_elt_def n2_storage_values[] = {
	{"auto", N2_STORAGE_AUTO},
	{"float4", N2_STORAGE_FLOAT4},
	{"float16", N2_STORAGE_FLOAT16},
	{"sq8", N2_STORAGE_SQ8},
	{NULL}
};

static relopt_enum_elt_def n2_link_bytes_values[] = {
	{"auto", 0},
	{"3", 3},
	{"4", 4},
	{"6", 6},
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
	n2_code_init();
	/* what they chose, for SHOW n2.simd */
	{
		const char *dist = n2_simd_name(n2_simd_active());

		if (strcmp(dist, n2_code_kernels.name) == 0)
			strlcpy(simd_shown, dist, sizeof(simd_shown));
		else
			snprintf(simd_shown, sizeof(simd_shown), "%s, codes %s",
					 dist, n2_code_kernels.name);
	}
	n2_install_planner_hook();
	n2_install_filter_hooks();

	n2_relopt_kind = add_reloption_kind();
	add_int_reloption(n2_relopt_kind, "m",
					  "Maximum links per node on levels above 0",
					  N2_DEFAULT_M, N2_MIN_M, N2_MAX_M, AccessExclusiveLock);
	/* max_m0 and mult: their bounds depend on m, n2_options checks them */
	add_int_reloption(n2_relopt_kind, "max_m0",
					  "Maximum links per node on level 0 (-1: 2 * m)",
					  -1, INT_MIN, INT_MAX, AccessExclusiveLock);
	add_int_reloption(n2_relopt_kind, "ef_construction",
					  "Candidate list size while building",
					  N2_DEFAULT_EF_CONSTRUCTION, 1, N2_MAX_EF,
					  AccessExclusiveLock);
	add_int_reloption(n2_relopt_kind, "n_threads",
					  "Build threads (-1: n2.build_threads, 0: number of CPUs)",
					  -1, -1, N2_MAX_THREADS, AccessExclusiveLock);
	add_real_reloption(n2_relopt_kind, "mult",
					   "Level multiplier (-1: 1 / ln(m))",
					   -1, -INFINITY, INFINITY, AccessExclusiveLock);
	add_enum_reloption(n2_relopt_kind, "neighbor_selecting",
					   "Neighbour selection: heuristic or naive",
					   n2_select_values, N2_SELECT_HEURISTIC,
					   "Valid values are \"heuristic\" and \"naive\".",
					   AccessExclusiveLock);
	add_enum_reloption(n2_relopt_kind, "keep_pruned",
					   "Fill each neighbour list with the closest candidates the "
					   "heuristic pruned: off, to half its cap, or on (to its cap)",
					   n2_keep_pruned_values, N2_DEFAULT_KEEP_PRUNED,
					   "Valid values are \"off\", \"half\" and \"on\".",
					   AccessExclusiveLock);
	add_enum_reloption(n2_relopt_kind, "graph_merging",
					   "Level-0 graph merging: skip or merge_level0",
					   n2_merge_values, 0,
					   "Valid values are \"skip\" and \"merge_level0\".",
					   AccessExclusiveLock);
	add_enum_reloption(n2_relopt_kind, "storage",
					   "How vectors are stored: float4, float16 or sq8 "
					   "(auto: float16 for halfvec columns, else float4)",
					   n2_storage_values, N2_STORAGE_AUTO,
					   "Valid values are \"auto\", \"float4\", \"float16\" and \"sq8\".",
					   AccessExclusiveLock);
	add_enum_reloption(n2_relopt_kind, "link_bytes",
					   "Bytes of a graph link: 3, 4, 6, or auto (3 when the "
					   "index fills at most an eighth of the blocks 3-byte "
					   "links name, else 4 unless it would fill half of "
					   "theirs, else 6)",
					   n2_link_bytes_values, 0,
					   "Valid values are \"auto\", \"3\", \"4\" and \"6\".",
					   AccessExclusiveLock);

	DefineCustomIntVariable("n2.ef_search",
							"Candidate list size for index scans.",
							"Larger values find more of the true nearest "
							"neighbours at the cost of speed.",
							&n2_ef_search, 40, 1, N2_MAX_EF,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("n2.upper_ef_search",
							"Candidate list size on the upper levels of the "
							"graph for index scans (0: automatic).",
							"1 is HNSW's greedy descent; larger values start "
							"the search from that many nodes.  0 uses 8 for "
							"indexes of 100,000 rows or more, else 1.",
							&n2_upper_ef_search, 0, 0, N2_MAX_EF,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("n2.build_threads",
							"Threads building an n2 index when its n_threads "
							"option is not set (0: number of CPUs).",
							"n2.max_build_threads caps it.",
							&n2_build_threads, 0, 0, N2_MAX_THREADS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("n2.max_build_threads",
							"Most threads one n2 index build starts "
							"(0: number of CPUs).",
							"Caps both n2.build_threads and the n_threads "
							"option; only superusers can raise it.",
							&n2_max_build_threads, 0, 0, N2_MAX_THREADS,
							PGC_SUSET, 0, NULL, NULL, NULL);
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
	DefineCustomIntVariable("n2.scan_cache_size",
							"Memory each backend may keep copies of index "
							"pages in for its scans.",
							"A scan of an index no larger reads each page "
							"once, not at every visit; 0 turns the copies off.",
							&n2_scan_cache_size, 16384, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomStringVariable("n2.pause_at",
							   "Test only: the pause point where this "
							   "session's index operations wait.",
							   "At that point the backend waits until it can "
							   "take the advisory lock n2.pause_key in share "
							   "mode (src/pause.c).",
							   &n2_pause_at, "", PGC_SUSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("n2.pause_key",
							"Test only: the advisory lock key that holds "
							"n2.pause_at's point.",
							NULL, &n2_pause_key, 0x6E32, 0, INT_MAX,
							PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("n2.mark_cache_limit",
							"Test only: most pages of VACUUM's reachability "
							"marks kept in memory.",
							"0: as many as maintenance_work_mem allows; the "
							"rest go to a temporary file.",
							&n2_mark_cache_limit, 0, 0, INT_MAX,
							PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("n2.link4_max_blocks",
							"Test only: most blocks an index with 4-byte "
							"links may have.",
							"0: all that 4-byte links can name.",
							&n2_link4_max_blocks, 0, 0, INT_MAX,
							PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("n2.link3_max_blocks",
							"Test only: most blocks an index with 3-byte "
							"links may have.",
							"0: all that its 3-byte links can name.",
							&n2_link3_max_blocks, 0, 0, INT_MAX,
							PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);

	DefineCustomStringVariable("n2.simd",
							   "SIMD kernels n2 uses in this server.",
							   "The distance kernels' level, and the code "
							   "kernels' when it is lower.  N2_SIMD in the "
							   "server's environment caps both.",
							   &n2_simd, simd_shown, PGC_INTERNAL,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("n2");

	prev_object_access_hook = object_access_hook;
	object_access_hook = n2_object_access;
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
		{"keep_pruned", RELOPT_TYPE_ENUM, offsetof(N2Options, keep_pruned)},
		{"storage", RELOPT_TYPE_ENUM, offsetof(N2Options, storage)},
		{"link_bytes", RELOPT_TYPE_ENUM, offsetof(N2Options, link_bytes)},
	};
	N2Options  *opts;

	opts = (N2Options *) build_reloptions(reloptions, validate, n2_relopt_kind,
										  sizeof(N2Options), tab, lengthof(tab));
	if (validate && opts != NULL)
	{
		if (opts->max_m0 != -1 &&
			(opts->max_m0 < opts->m || opts->max_m0 > N2_MAX_M0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value %d out of bounds for option \"max_m0\"",
							opts->max_m0),
					 errdetail("Valid values are -1 (2 * m) and integers from m (%d) to %d.",
							   opts->m, N2_MAX_M0)));
		if (opts->mult != -1 && (opts->mult < 0 || opts->mult > N2_MAX_MULT))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value %g out of bounds for option \"mult\"",
							opts->mult),
					 errdetail("Valid values are -1 (1 / ln(m)) and numbers from 0 to %d.",
							   N2_MAX_MULT)));
	}
	return (bytea *) opts;
}

/* What an index without reloptions gets. */
static N2Options n2_default_options = {
	0, N2_DEFAULT_M, -1, N2_DEFAULT_EF_CONSTRUCTION, -1, -1,
	N2_SELECT_HEURISTIC, 0, N2_DEFAULT_KEEP_PRUNED, N2_STORAGE_AUTO, 0
};

N2Options *
n2_get_options(Relation index)
{
	if (index->rd_options)
		return (N2Options *) index->rd_options;
	return &n2_default_options;
}

/* The metric and column kind come from the operator class; cached. */
typedef struct N2AmCache
{
	N2Metric	metric;
	bool		is_array;
	bool		is_half;
} N2AmCache;

static bool
type_is_named(Oid type, const char *name)
{
	HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
	bool		result;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for type %u", type);
	result = strcmp(NameStr(((Form_pg_type) GETSTRUCT(tuple))->typname), name) == 0;
	ReleaseSysCache(tuple);
	return result;
}

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
		if (metric < N2_METRIC_L2 || metric > N2_METRIC_L1)
			elog(ERROR, "n2 support function returned unknown metric %d", metric);

		cache = MemoryContextAlloc(index->rd_indexcxt, sizeof(N2AmCache));
		cache->metric = (N2Metric) metric;
		cache->is_array = TupleDescAttr(RelationGetDescr(index), 0)->atttypid == FLOAT4ARRAYOID;

		/*
		 * halfvec, n2's or pgvector's: the same layout as vector with half
		 * floats.  n2 creates operator classes only for these types, so the
		 * name tells them apart.
		 */
		cache->is_half = !cache->is_array &&
			type_is_named(TupleDescAttr(RelationGetDescr(index), 0)->atttypid,
						  "halfvec");
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

bool
n2_index_is_half(Relation index)
{
	return n2_am_cache(index)->is_half;
}

/*
 * The graph shape options say, defaults resolved.  A halfvec column's values
 * are float16 already, so that is how its index stores them by default.
 */
static void
shape_from_options(const N2Options *opts, bool is_half, N2Params *p)
{
	p->m = opts->m;
	p->max_m0 = opts->max_m0 == -1 ? 2 * opts->m : opts->max_m0;
	p->ef_construction = opts->ef_construction;
	p->mult = opts->mult < 0 ? 1.0 / log((double) opts->m) : opts->mult;
	p->select = (N2SelectMethod) opts->neighbor_selecting;
	/* naive lists are full anyway */
	if (p->select == N2_SELECT_HEURISTIC && opts->keep_pruned == N2_KEEP_PRUNED_ON)
		p->select = N2_SELECT_KEEP_PRUNED;
	else if (p->select == N2_SELECT_HEURISTIC && opts->keep_pruned == N2_KEEP_PRUNED_HALF)
		p->select = N2_SELECT_KEEP_HALF;
	p->merge_level0 = opts->graph_merging == 1;
	if (opts->storage == N2_STORAGE_AUTO)
		p->storage = is_half ? N2_STORAGE_FLOAT16 : N2_STORAGE_FLOAT4;
	else
		p->storage = (N2Storage) opts->storage;
	p->link_bytes = opts->link_bytes;
	p->link_offset_bits = 0;
	p->sq8_lo = NULL;
	p->sq8_step = NULL;
}

/* Parameters from reloptions, for a new build. */
void
n2_params_from_options(Relation index, N2Params *p)
{
	p->metric = n2_index_metric(index);
	p->is_array = n2_index_is_array(index);
	p->dims = 0;
	shape_from_options(n2_get_options(index), n2_index_is_half(index), p);
}

static bool
same_shape(const N2Params *a, const N2Params *b)
{
	return a->m == b->m && a->max_m0 == b->max_m0 &&
		a->ef_construction == b->ef_construction && a->mult == b->mult &&
		a->select == b->select && a->merge_level0 == b->merge_level0 &&
		a->storage == b->storage && a->link_bytes == b->link_bytes;
}

static const char *
select_name(N2SelectMethod select)
{
	return select == N2_SELECT_NAIVE ? "naive" : "heuristic";
}

/* The keep_pruned value that gives select ("off" for naive too). */
const char *
n2_keep_pruned_name(N2SelectMethod select)
{
	return select == N2_SELECT_KEEP_PRUNED ? "on" :
		select == N2_SELECT_KEEP_HALF ? "half" : "off";
}

static const char *
merge_name(bool merge_level0)
{
	return merge_level0 ? "merge_level0" : "skip";
}

/* The shape options on which a and b differ, as a has them: "m = 16, ...". */
static char *
shape_differences(const N2Params *a, const N2Params *b)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (a->m != b->m)
		appendStringInfo(&buf, ", m = %d", a->m);
	if (a->max_m0 != b->max_m0)
		appendStringInfo(&buf, ", max_m0 = %d", a->max_m0);
	if (a->ef_construction != b->ef_construction)
		appendStringInfo(&buf, ", ef_construction = %d", a->ef_construction);
	if (a->mult != b->mult)
		appendStringInfo(&buf, ", mult = %g", a->mult);
	if (strcmp(select_name(a->select), select_name(b->select)) != 0)
		appendStringInfo(&buf, ", neighbor_selecting = %s", select_name(a->select));
	if (strcmp(n2_keep_pruned_name(a->select), n2_keep_pruned_name(b->select)) != 0)
		appendStringInfo(&buf, ", keep_pruned = %s", n2_keep_pruned_name(a->select));
	if (a->merge_level0 != b->merge_level0)
		appendStringInfo(&buf, ", graph_merging = %s", merge_name(a->merge_level0));
	if (a->storage != b->storage)
		appendStringInfo(&buf, ", storage = %s", n2_storage_name(a->storage));
	if (a->link_bytes != b->link_bytes)
		appendStringInfo(&buf, ", link_bytes = %d", a->link_bytes);
	return buf.len > 0 ? buf.data + 2 : buf.data;
}

/*
 * The reloptions an ALTER just wrote for relid, read with SnapshotSelf since
 * the command has not yet made them visible; false if there is no such row.
 */
static bool
altered_options(Oid relid, N2Options *opts)
{
	Relation	pgclass = table_open(RelationRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc sscan;
	HeapTuple	tuple;
	bool		found = false;

	ScanKeyInit(&key, Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	sscan = systable_beginscan(pgclass, ClassOidIndexId, true, SnapshotSelf,
							   1, &key);
	tuple = systable_getnext(sscan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		datum = heap_getattr(tuple, Anum_pg_class_reloptions,
										 RelationGetDescr(pgclass), &isnull);
		bytea	   *parsed = n2_options(isnull ? (Datum) 0 : datum, false);

		*opts = parsed ? *(N2Options *) parsed : n2_default_options;
		found = true;
	}
	systable_endscan(sscan);
	table_close(pgclass, AccessShareLock);
	return found;
}

/*
 * After ALTER INDEX ... SET or RESET on a built n2 index.  The graph keeps
 * the shape it was built with (the metapage's parameters, which inserts use
 * too) until REINDEX rebuilds it from the options: say so when the command
 * changed a shape option to something the graph does not have.  n_threads
 * only matters to builds, so it needs no word.
 */
static void
check_altered_options(Oid relid)
{
	Relation	index;
	N2Options	newopts;
	N2Params	before;
	N2Params	after;
	N2Params	built;
	N2MetaPageData meta;

	if (get_rel_relkind(relid) != RELKIND_INDEX)
		return;
	index = relation_open(relid, AccessShareLock);
	if (index->rd_indam == NULL || index->rd_indam->ambuild != n2_build ||
		RelationGetNumberOfBlocks(index) == 0 ||
		!altered_options(relid, &newopts))
	{
		relation_close(index, AccessShareLock);
		return;
	}

	/* the relation cache still holds the options from before the command */
	shape_from_options(n2_get_options(index), n2_index_is_half(index), &before);
	shape_from_options(&newopts, n2_index_is_half(index), &after);
	if (!same_shape(&before, &after))
	{
		Buffer		buf = ReadBuffer(index, N2_METAPAGE_BLKNO);

		/* no error for an index we cannot read: REINDEX is what it needs */
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(&meta, N2PageGetMeta(BufferGetPage(buf)), sizeof(meta));
		UnlockReleaseBuffer(buf);
		if (meta.magic == N2_MAGIC && meta.version == N2_FORMAT_VERSION)
			n2_params_from_meta(index, &meta, &built);
		else
			built = after;
		/* auto takes whatever width the build chose */
		if (after.link_bytes == 0)
			after.link_bytes = built.link_bytes;
		if (!same_shape(&after, &built))
			ereport(NOTICE,
					(errmsg("n2 index \"%s\" keeps the graph it was built with until it is rebuilt",
							RelationGetRelationName(index)),
					 errdetail("The options now say %s; the graph has %s.",
							   shape_differences(&after, &built),
							   shape_differences(&built, &after)),
					 errhint("REINDEX the index to build it with the new options.")));
	}
	relation_close(index, AccessShareLock);
}

static void
n2_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_POST_ALTER && classId == RelationRelationId && subId == 0)
		check_altered_options(objectId);
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
		case N2_PHASE_RELINK:
			return "relinking weakly linked nodes";
		case N2_PHASE_WRITE:
			return "writing pages";
		case N2_PHASE_INSERT:
			return "inserting tuples";
		default:
			return NULL;
	}
}

/*
 * Operator class validation.  A vector class has strategy-1 ordering
 * operators returning float8 and support function 1, which returns the
 * metric; a filter class (src/sql/25_filter.sql) has search operators of
 * the filter strategies returning bool and no support function.
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
	bool		need_metric = false;
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

		bool		ok;

		if (oprform->amoppurpose == AMOP_ORDER)
		{
			ok = oprform->amopstrategy == 1 &&
				check_amop_signature(oprform->amopopr, FLOAT8OID,
									 oprform->amoplefttype, oprform->amoprighttype);
			need_metric = true;
		}
		else
			ok = oprform->amopstrategy >= 1 &&
				oprform->amopstrategy <= N2_FILTER_STRATEGIES &&
				check_amop_signature(oprform->amopopr, BOOLOID,
									 oprform->amoplefttype, oprform->amoprighttype);
		if (!ok)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("n2 operator class \"%s\" has invalid operator %s",
							opclassname, format_operator(oprform->amopopr))));
			result = false;
		}
	}
	ReleaseSysCacheList(oprlist);

	if (need_metric && !have_metric)
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

	amroutine->amstrategies = N2_FILTER_STRATEGIES;
	amroutine->amsupport = 1;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = true;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = true;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = true;
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

PG_FUNCTION_INFO_V1(n2_l1_support);
Datum
n2_l1_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(N2_METRIC_L1);
}
