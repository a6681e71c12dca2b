/*
 * Copyright (c) 2025-2026, the n2 developers
 * pgvector.c
 *		n2 beside pgvector: the event trigger that lets pgvector be installed
 *		after n2, in the schema where n2 keeps its own vector types.
 *
 * n2's own vector and halfvec types have pgvector's names (and layout), so
 * pgvector's script would fail on them.  Before CREATE EXTENSION vector runs,
 * n2 drops its own types with everything built on them, provided nothing
 * outside n2 uses them; a database restored by pg_restore, which creates n2
 * before vector (extensions are dumped in name order), is always in that
 * state.  After it, and after ALTER EXTENSION vector (an update may bring
 * types or operators), n2 creates the operator classes it lacks on
 * pgvector's types, as members of n2.  The design is in src/README, "n2 and
 * pgvector".
 */
#include "postgres.h"

#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "n2.h"

/*
 * n2's own vector types and the functions of theirs that name neither type
 * (so that dropping the types would leave them, in pgvector's way; the bit
 * distances take their operators with them): their oids, and the schema of
 * the types.
 */
typedef struct OwnObjects
{
	Oid			nsp;
	int			ntypes;
	Oid			types[2];
	int			nfuncs;
	Oid			funcs[16];
	List	   *families;		/* of their operator classes */
} OwnObjects;

static void
own_objects(Oid n2, OwnObjects *own)
{
	Datum		arg = ObjectIdGetDatum(n2);
	Oid			argtype = OIDOID;

	memset(own, 0, sizeof(*own));
	if (SPI_execute_with_args(
							  "SELECT d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass, d.objid, "
							  "coalesce(t.typnamespace, p.pronamespace) "
							  "FROM pg_catalog.pg_depend d "
							  "LEFT JOIN pg_catalog.pg_type t ON d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass "
							  "AND t.oid = d.objid AND t.typname IN ('vector', 'halfvec') "
							  "LEFT JOIN pg_catalog.pg_proc p ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
							  "AND p.oid = d.objid AND p.proname IN ('vector_typmod_in', 'vector_typmod_out', "
							  "'vector_combine', 'halfvec_typmod_in', 'halfvec_typmod_out', 'halfvec_combine', "
							  "'hamming_distance', 'jaccard_distance') "
							  "WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass "
							  "AND d.refobjid = $1 AND d.deptype = 'e' "
							  "AND (t.oid IS NOT NULL OR p.oid IS NOT NULL) "
							  "ORDER BY 1 DESC, 2",
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list n2's vector types");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		is_type = DatumGetBool(SPI_getbinval(tuple, desc, 1, &isnull));
		Oid			oid = DatumGetObjectId(SPI_getbinval(tuple, desc, 2, &isnull));

		if (is_type && own->ntypes < lengthof(own->types))
		{
			own->types[own->ntypes++] = oid;
			own->nsp = DatumGetObjectId(SPI_getbinval(tuple, desc, 3, &isnull));
		}
		else if (!is_type && own->nfuncs < lengthof(own->funcs))
			own->funcs[own->nfuncs++] = oid;
	}

	/* a family outlives its classes, and pgvector's would join it */
	for (int i = 0; i < own->ntypes; i++)
	{
		arg = ObjectIdGetDatum(own->types[i]);
		if (SPI_execute_with_args("SELECT DISTINCT opcfamily FROM pg_catalog.pg_opclass "
								  "WHERE opcintype = $1",
								  1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not list the operator families of n2's vector types");
		for (uint64 j = 0; j < SPI_processed; j++)
		{
			bool		isnull;

			own->families = lappend_oid(own->families,
										DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[j],
																	   SPI_tuptable->tupdesc,
																	   1, &isnull)));
		}
	}
}

static Datum
oid_array(const Oid *oids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = ObjectIdGetDatum(oids[i]);
	return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid),
										   true, TYPALIGN_INT));
}

/*
 * An object outside n2 that depends on n2's types, on their array types, on
 * the functions own_objects found or on a member of n2 built on them (a
 * column, a view, an index, a function): its description, or NULL when there
 * is none.
 */
static char *
first_user(Oid n2, const OwnObjects *own)
{
	Datum		args[3];
	Oid			argtypes[3] = {OIDOID, OIDARRAYOID, OIDARRAYOID};

	args[0] = ObjectIdGetDatum(n2);
	args[1] = oid_array(own->types, own->ntypes);
	args[2] = oid_array(own->funcs, own->nfuncs);
	if (SPI_execute_with_args(
							  "WITH member AS ("
							  "  SELECT classid, objid FROM pg_catalog.pg_depend "
							  "  WHERE refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass "
							  "  AND refobjid = $1 AND deptype = 'e'), "
							  "family AS ("
							  "  SELECT 'pg_catalog.pg_type'::pg_catalog.regclass AS classid, oid AS objid "
							  "  FROM pg_catalog.pg_type WHERE oid = ANY ($2) OR typelem = ANY ($2) "
							  "  UNION "
							  "  SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, oid "
							  "  FROM pg_catalog.pg_proc WHERE oid = ANY ($3) "
							  "  UNION "
							  "  SELECT d.classid, d.objid FROM pg_catalog.pg_depend d "
							  "  JOIN member m ON (m.classid, m.objid) = (d.classid, d.objid) "
							  "  WHERE (d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass "
							  "         AND d.refobjid = ANY ($2)) "
							  "  OR (d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
							  "      AND d.refobjid = ANY ($3))) "
							  "SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) "
							  "FROM pg_catalog.pg_depend d "
							  "JOIN family f ON (f.classid, f.objid) = (d.refclassid, d.refobjid) "
							  "WHERE (d.classid, d.objid) NOT IN (SELECT classid, objid FROM family) "
							  "AND (d.classid, d.objid) NOT IN (SELECT classid, objid FROM member) "
							  "AND d.classid NOT IN ('pg_catalog.pg_amop'::pg_catalog.regclass, "
							  "                      'pg_catalog.pg_amproc'::pg_catalog.regclass) "
							  "ORDER BY 1 LIMIT 1",
							  3, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look for users of n2's vector types");
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* The schema CREATE EXTENSION will install pgvector into. */
static Oid
target_schema(CreateExtensionStmt *stmt)
{
	ListCell   *lc;
	List	   *path;

	foreach(lc, stmt->options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "schema") == 0)
			return get_namespace_oid(defGetString(d), true);
	}
	path = fetch_search_path(false);
	return path == NIL ? InvalidOid : linitial_oid(path);
}

/*
 * Whether the current user may run CREATE EXTENSION vector as stmt asks:
 * as PostgreSQL decides it, a superuser, or a version that does not need
 * one, or a trusted one and CREATE on the database.  Otherwise n2 leaves
 * its types alone and lets CREATE EXTENSION refuse.
 */
static bool
may_create_vector(CreateExtensionStmt *stmt)
{
	const char *version = NULL;
	ListCell   *lc;
	Oid			argtype = TEXTOID;
	Datum		arg;
	bool		isnull;
	bool		superuser_needed;
	bool		trusted;

	if (superuser())
		return true;
	foreach(lc, stmt->options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "new_version") == 0)
			version = defGetString(d);
	}
	arg = version ? CStringGetTextDatum(version) : (Datum) 0;
	if (SPI_execute_with_args("SELECT v.superuser, v.trusted "
							  "FROM pg_catalog.pg_available_extension_versions v "
							  "JOIN pg_catalog.pg_available_extensions a USING (name) "
							  "WHERE v.name = 'vector' "
							  "AND v.version = COALESCE($1, a.default_version)",
							  1, &argtype, &arg, version ? " " : "n",
							  true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up pgvector's control file");
	if (SPI_processed == 0)
		return false;
	superuser_needed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 1, &isnull));
	trusted = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 2, &isnull));
	return !superuser_needed ||
		(trusted && pg_database_aclcheck(MyDatabaseId, GetUserId(),
										 ACL_CREATE) == ACLCHECK_OK);
}

/*
 * Before CREATE EXTENSION vector into schema target: n2's types there make
 * way, unless something uses them.
 */
static void
make_way(Oid n2, Oid target)
{
	OwnObjects	own;
	char	   *user;
	ObjectAddresses *objects;
	ObjectAddress addr;
	ListCell   *lc;

	own_objects(n2, &own);
	if (own.ntypes == 0 || target != own.nsp)
		return;
	user = first_user(n2, &own);
	if (user != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("pgvector cannot be installed in schema \"%s\": n2's own vector type is there and in use",
						get_namespace_name(own.nsp)),
				 errdetail("%s depends on it.", user),
				 errhint("Install pgvector in another schema (CREATE EXTENSION vector SCHEMA ...).")));

	objects = new_object_addresses();
	for (int i = 0; i < own.ntypes; i++)
	{
		ObjectAddressSet(addr, TypeRelationId, own.types[i]);
		add_exact_object_address(&addr, objects);
	}
	for (int i = 0; i < own.nfuncs; i++)
	{
		ObjectAddressSet(addr, ProcedureRelationId, own.funcs[i]);
		add_exact_object_address(&addr, objects);
	}
	foreach(lc, own.families)
	{
		ObjectAddressSet(addr, OperatorFamilyRelationId, lfirst_oid(lc));
		add_exact_object_address(&addr, objects);
	}

	/*
	 * SKIP_EXTENSIONS: the members go without their extension (a DROP of a
	 * member would otherwise be refused, or take all of n2 with it).
	 */
	performMultipleDeletions(objects, DROP_CASCADE,
							 PERFORM_DELETION_INTERNAL |
							 PERFORM_DELETION_QUIETLY |
							 PERFORM_DELETION_SKIP_EXTENSIONS);
	ereport(NOTICE,
			(errmsg("n2's own vector types in schema \"%s\" make way for pgvector's",
					get_namespace_name(own.nsp))));
}

/* After CREATE or ALTER EXTENSION vector: n2's classes on pgvector's types. */
static void
follow(Oid n2)
{
	bool		save_creating = creating_extension;
	Oid			save_extension = CurrentExtensionObject;
	char	   *command;

	if (SPI_execute("SELECT pg_catalog.format('SELECT %s.n2_create_opclasses(%s)', "
					"n.extnamespace::pg_catalog.regnamespace, v.extnamespace) "
					"FROM pg_catalog.pg_extension n, pg_catalog.pg_extension v "
					"WHERE n.extname = 'n2' AND v.extname = 'vector'",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not find the schemas of n2 and pgvector");
	if (SPI_processed != 1)
		return;
	command = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

	/*
	 * What an extension script does, so that the new classes become members
	 * of n2 (recordDependencyOnCurrentExtension), as those created by n2's
	 * own script when pgvector came first.
	 */
	creating_extension = true;
	CurrentExtensionObject = n2;
	PG_TRY();
	{
		if (SPI_execute(command, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not create n2's operator classes on pgvector's types");
	}
	PG_FINALLY();
	{
		creating_extension = save_creating;
		CurrentExtensionObject = save_extension;
	}
	PG_END_TRY();
}

PG_FUNCTION_INFO_V1(n2_pgvector_event);
Datum
n2_pgvector_event(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	CreateExtensionStmt *stmt;
	bool		before;
	Oid			n2;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	Oid			target = InvalidOid;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("n2_pgvector_event() is an event trigger function")));
	trigdata = (EventTriggerData *) fcinfo->context;
	before = strcmp(trigdata->event, "ddl_command_start") == 0;
	if (IsA(trigdata->parsetree, AlterExtensionStmt))
	{
		/* an update of pgvector may add types or operators: follow them */
		if (before ||
			strcmp(((AlterExtensionStmt *) trigdata->parsetree)->extname, "vector") != 0)
			PG_RETURN_VOID();
		stmt = NULL;
	}
	else if (IsA(trigdata->parsetree, CreateExtensionStmt))
	{
		stmt = (CreateExtensionStmt *) trigdata->parsetree;
		if (strcmp(stmt->extname, "vector") != 0)
			PG_RETURN_VOID();
	}
	else
		PG_RETURN_VOID();
	n2 = get_extension_oid("n2", true);
	/* IF NOT EXISTS on an installed pgvector changes nothing */
	if (!OidIsValid(n2) || (before && OidIsValid(get_extension_oid("vector", true))))
		PG_RETURN_VOID();
	/* under the caller's search_path, as CREATE EXTENSION will see it */
	if (before)
	{
		bool		may;

		target = target_schema(stmt);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		may = may_create_vector(stmt);
		SPI_finish();
		if (!may)
			PG_RETURN_VOID();
	}

	/*
	 * pgvector is trusted: whoever may install it may make this happen.  The
	 * changes are n2's own, made as its script made them: as the bootstrap
	 * superuser, with a safe search_path.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (before)
		make_way(n2, target);
	else
		follow(n2);
	SPI_finish();
	AtEOXact_GUC(true, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	PG_RETURN_VOID();
}
