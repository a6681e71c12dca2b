-- The n2 index access method and its operator classes.

CREATE FUNCTION n2_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD n2 TYPE INDEX HANDLER n2_handler;
COMMENT ON ACCESS METHOD n2 IS 'N2 HNSW approximate nearest-neighbour index';

-- Support function 1 of every operator class names the metric it orders by.
CREATE FUNCTION n2_l2_support(internal) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION n2_angular_support(internal) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION n2_dot_support(internal) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION n2_l1_support(internal) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The operator classes on the vector types, n2's own or pgvector's: every
-- type of vector and halfvec found in schema types gets, for each distance
-- operator, n2's class under pgvector's name (vector_l2_ops, ...) and under
-- n2's (vector_angular_ops, vector_dot_ops), those it lacks.  Run by this
-- script and by n2_pgvector_event when pgvector arrives; the classes are
-- created in n2's schema (in the types' when n2's own types, kept in n2's
-- schema, have those names) and become members of n2 either way.
CREATE FUNCTION n2_create_opclasses(types regnamespace) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	nsp text;
	typ text;
	cls record;
	cls_nsp text;
BEGIN
	IF types IS NULL THEN
		RAISE EXCEPTION 'n2_create_opclasses needs a schema, not NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT e.extnamespace::regnamespace::text INTO nsp
	FROM pg_extension e WHERE e.extname = 'n2';
	FOREACH typ IN ARRAY ARRAY['vector', 'halfvec'] LOOP
		CONTINUE WHEN to_regtype(format('%s.%I', types, typ)) IS NULL;
		FOR cls IN
			SELECT * FROM (VALUES ('l2', '<->', 'l2', true),
								  ('cosine', '<=>', 'angular', false),
								  ('ip', '<#>', 'dot', false),
								  ('l1', '<+>', 'l1', false),
								  ('angular', '<=>', 'angular', false),
								  ('dot', '<#>', 'dot', false))
				AS c(name, op, support, dflt)
		LOOP
			-- n2's schema, unless it has the name for n2's own type
			-- (pgvector went to another schema): then the type's schema
			cls_nsp := nsp;
			IF EXISTS (
				SELECT FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod
				WHERE a.amname = 'n2' AND o.opcname = typ || '_' || cls.name || '_ops'
				  AND o.opcnamespace = nsp::regnamespace
				  AND o.opcintype <> to_regtype(format('%s.%I', types, typ))) THEN
				cls_nsp := types::text;
			END IF;
			CONTINUE WHEN EXISTS (
				SELECT FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod
				WHERE a.amname = 'n2' AND o.opcname = typ || '_' || cls.name || '_ops'
				  AND o.opcnamespace = cls_nsp::regnamespace);
			-- pgvector before 0.7 has no <+>
			CONTINUE WHEN to_regoperator(format('%s.%s(%s.%I, %s.%I)',
				types, cls.op, types, typ, types, typ)) IS NULL;
			EXECUTE format(
				'CREATE OPERATOR CLASS %s.%I %s FOR TYPE %s.%I USING n2 AS
					OPERATOR 1 %s.%s (%s.%I, %s.%I) FOR ORDER BY pg_catalog.float_ops,
					FUNCTION 1 %s.%I(internal)',
				cls_nsp, typ || '_' || cls.name || '_ops',
				CASE WHEN cls.dflt THEN 'DEFAULT' ELSE '' END,
				types, typ, types, cls.op, types, typ, types, typ,
				nsp, 'n2_' || cls.support || '_support');
		END LOOP;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION n2_create_opclasses(regnamespace) FROM PUBLIC;
COMMENT ON FUNCTION n2_create_opclasses(regnamespace) IS
	'internal: creates n2''s operator classes on the vector types of a schema';

SELECT n2_create_opclasses(coalesce(
	(SELECT extnamespace FROM pg_catalog.pg_extension WHERE extname = 'vector'),
	(SELECT extnamespace FROM pg_catalog.pg_extension WHERE extname = 'n2')));

-- pgvector installed after n2: n2's own types, when nothing uses them, make
-- way for pgvector's before its script runs, and n2's classes follow on
-- pgvector's types after it, and after an update of pgvector, which may
-- bring new types or operators (src/pgvector.c).
CREATE FUNCTION n2_pgvector_event() RETURNS event_trigger
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE EVENT TRIGGER n2_pgvector_before ON ddl_command_start
	WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION n2_pgvector_event();
CREATE EVENT TRIGGER n2_pgvector_after ON ddl_command_end
	WHEN TAG IN ('CREATE EXTENSION', 'ALTER EXTENSION') EXECUTE FUNCTION n2_pgvector_event();

-- real[] columns: the dimension is taken from the first vector indexed.
CREATE OPERATOR CLASS float4_l2_ops
	FOR TYPE real[] USING n2 AS
	OPERATOR 1 <-> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 n2_l2_support(internal);

CREATE OPERATOR CLASS float4_angular_ops
	FOR TYPE real[] USING n2 AS
	OPERATOR 1 <=> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 n2_angular_support(internal);

CREATE OPERATOR CLASS float4_dot_ops
	FOR TYPE real[] USING n2 AS
	OPERATOR 1 <#> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 n2_dot_support(internal);

CREATE FUNCTION n2_index_info(index regclass,
	OUT elements bigint, OUT heap_tids bigint, OUT deleted bigint,
	OUT levels int, OUT entry_level int,
	OUT level0_degree_min int, OUT level0_degree_avg float8,
	OUT level0_degree_max int,
	OUT pages bigint, OUT bytes bigint, OUT dims int, OUT metric text,
	OUT m int, OUT max_m0 int, OUT ef_construction int, OUT mult float8,
	OUT neighbor_selecting text, OUT graph_merging text,
	OUT format_version int, OUT element_bytes float8, OUT storage text,
	OUT keep_pruned text, OUT link_bytes int, OUT max_pages bigint)
	RETURNS record
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT PARALLEL SAFE;

CREATE FUNCTION n2_verify(index regclass,
	OUT blkno bigint, OUT offnum int, OUT problem text)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
COMMENT ON FUNCTION n2_verify(regclass) IS
	'checks the structure of an n2 index; returns one row per problem found';

-- What the planner puts in place of ORDER BY distances in the rows of an n2
-- index scan: the distance the index computed, when it is the row's (see
-- plan.c); internal arguments keep it out of reach of SQL calls.
CREATE FUNCTION n2_index_distance(internal, internal, tid, regclass, regproc)
	RETURNS float8 AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION n2_index_graph(index regclass,
	OUT element tid, OUT level int, OUT is_entry bool,
	OUT heap_tids tid[], OUT neighbors tid[])
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
COMMENT ON FUNCTION n2_index_graph(regclass) IS
	'the graph of an n2 index: one row per live element and level it is on';
-- It names the heap TIDs of every row: not for everyone, like pageinspect.
REVOKE ALL ON FUNCTION n2_index_graph(regclass) FROM PUBLIC;
