\echo Use "ALTER EXTENSION n2 UPDATE TO '0.2.0'" to load this file. \quit

-- n2 0.1.0 to 0.2.0.
--
-- 0.2.0 adds the functions that run n2_verify and n2_index_info on every
-- shard of a Citus table (src/sql/30_distributed.sql), pgvector's further
-- functions and the halfvec type, and new n2_index_info columns.  The
-- on-disk format moves to version 2: indexes built by 0.1.0 are refused
-- until REINDEX.  A change to src/sql/*.sql in 0.2.0 must be repeated here,
-- so that an updated database ends up with what a fresh install creates
-- (t/140_extension_update.pl compares the two).

-- n2_index_info says how the index stores its vectors and whether its lists
-- keep pruned candidates (the storage and keep_pruned options), and how
-- many bytes a link takes (link_bytes) and so how many pages the index may
-- have (max_pages).
DROP FUNCTION n2_index_info(regclass);
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

-- Citus.  An n2 index on a distributed or reference table is one index per
-- shard placement, named <index>_<shardid> on its node, which n2_verify and
-- n2_index_info only see there.  These functions run them on every placement
-- and say where each row comes from: one command per node, through Citus's
-- master_run_on_worker, the nodes in parallel and each node's shard indexes
-- one after the other (one connection per node, however many shards).  They
-- are plain SQL over Citus's catalogs: n2 works without Citus, and these then
-- say so.  The calls go through the extension's schema, found at run time
-- because the extension is relocatable.

CREATE FUNCTION n2_shard_indexes(index regclass,
	OUT nodename text, OUT nodeport int, OUT shardid bigint,
	OUT shard_index text)
	RETURNS SETOF record
	LANGUAGE plpgsql STABLE
	AS $$
DECLARE
	tbl oid;
	kind char;
	nsp text;
BEGIN
	SELECT i.indrelid, c.relkind INTO tbl, kind
	FROM pg_catalog.pg_index i
	JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
	JOIN pg_catalog.pg_am a ON a.oid = c.relam
	WHERE i.indexrelid = index AND a.amname = 'n2';
	IF tbl IS NULL THEN
		RAISE EXCEPTION '"%" is not an n2 index', index
			USING ERRCODE = 'wrong_object_type';
	END IF;
	-- a partitioned index has no shards: its partitions' indexes have
	IF kind = 'I' THEN
		SELECT e.extnamespace::regnamespace::text INTO nsp
		FROM pg_catalog.pg_extension e WHERE e.extname = 'n2';
		RETURN QUERY EXECUTE format(
			'SELECT s.* FROM pg_catalog.pg_partition_tree($1) t,
					LATERAL %s.n2_shard_indexes(t.relid) s
			 WHERE t.isleaf ORDER BY s.shardid, s.nodename, s.nodeport', nsp)
			USING index;
		RETURN;
	END IF;
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RAISE EXCEPTION 'Citus is not installed in this database'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Use n2_verify or n2_index_info on a local index.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = tbl) THEN
		RAISE EXCEPTION 'table "%" of index "%" is not a Citus table', tbl::regclass, index
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Use n2_verify or n2_index_info on a local index.';
	END IF;
	-- the shard index's name the way Citus derives it, long names included
	RETURN QUERY EXECUTE
		'SELECT p.nodename::text, p.nodeport::int, s.shardid,
				pg_catalog.shard_name($1, s.shardid, false)
		 FROM pg_catalog.pg_dist_shard s
		 JOIN pg_catalog.pg_dist_shard_placement p ON p.shardid = s.shardid
		 WHERE s.logicalrelid = $2
		 ORDER BY s.shardid, p.nodename, p.nodeport'
		USING index, tbl;
END
$$;
COMMENT ON FUNCTION n2_shard_indexes(regclass) IS
	'the shard indexes of an n2 index on a Citus table (of its partitions'' indexes for a partitioned one): one row per placement';

-- n2_shard_indexes grouped by node, and per node a command running $2 (a
-- format() pattern: %1$s the extension's schema, %2$L the shard index names,
-- %3$L their shard ids) on all of that node's shard indexes; the result of
-- each node is checked, and returned as (nodename, nodeport, json text).
CREATE FUNCTION n2_run_on_shard_indexes(index regclass, command text,
	OUT nodename text, OUT nodeport int, OUT result text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	AS $$
DECLARE
	nsp text;
	names text[];
	ports int[];
	commands text[];
	res record;
BEGIN
	SELECT e.extnamespace::regnamespace::text INTO nsp
	FROM pg_catalog.pg_extension e WHERE e.extname = 'n2';
	EXECUTE format(
		'SELECT array_agg(nodename ORDER BY nodename, nodeport),
				array_agg(nodeport ORDER BY nodename, nodeport),
				array_agg(format($1, %L, idx, shards) ORDER BY nodename, nodeport)
		 FROM (SELECT nodename, nodeport, array_agg(shard_index ORDER BY shardid) AS idx,
					  array_agg(shardid ORDER BY shardid) AS shards
			   FROM %s.n2_shard_indexes($2) GROUP BY nodename, nodeport) s',
		nsp, nsp) INTO names, ports, commands USING command, index;
	IF names IS NULL THEN
		RETURN;
	END IF;
	FOR res IN
		EXECUTE 'SELECT r.node_name::text AS node_name, r.node_port::int AS node_port, r.success, r.result
				 FROM pg_catalog.master_run_on_worker($1, $2, $3, true) AS r'
		USING names, ports, commands
	LOOP
		IF NOT res.success THEN
			RAISE EXCEPTION 'could not inspect the shard indexes of "%" on %:%',
				index, res.node_name, res.node_port
				USING ERRCODE = 'connection_failure', DETAIL = res.result;
		END IF;
		nodename := res.node_name;
		nodeport := res.node_port;
		result := res.result;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION n2_run_on_shard_indexes(regclass, text) IS
	'internal: runs a command on the shard indexes of each node (for n2_verify_shards and n2_index_info_shards)';

CREATE FUNCTION n2_verify_shards(index regclass,
	OUT nodename text, OUT nodeport int, OUT shardid bigint,
	OUT shard_index text, OUT blkno bigint, OUT offnum int, OUT problem text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	AS $$
DECLARE
	nsp text;
BEGIN
	SELECT e.extnamespace::regnamespace::text INTO nsp
	FROM pg_catalog.pg_extension e WHERE e.extname = 'n2';
	RETURN QUERY EXECUTE format(
		'SELECT r.nodename, r.nodeport, v.shardid, v.shard_index, v.blkno, v.offnum, v.problem
		 FROM %s.n2_run_on_shard_indexes($1, $2) r,
			  json_to_recordset(r.result::json)
				  AS v(shardid bigint, shard_index text, blkno bigint, offnum int, problem text)
		 ORDER BY v.shardid, r.nodename, r.nodeport, v.blkno, v.offnum', nsp)
		USING index,
			  'SELECT coalesce(json_agg(json_build_object(''shardid'', x.shardid, ''shard_index'', x.name,
					  ''blkno'', v.blkno, ''offnum'', v.offnum, ''problem'', v.problem)), ''[]'')::text
			   FROM unnest(%2$L::text[], %3$L::bigint[]) AS x(name, shardid),
					LATERAL %1$s.n2_verify(x.name::regclass) v';
END
$$;
COMMENT ON FUNCTION n2_verify_shards(regclass) IS
	'n2_verify on every shard index of an n2 index on a Citus table; one row per problem';

CREATE FUNCTION n2_index_info_shards(index regclass,
	OUT nodename text, OUT nodeport int, OUT shardid bigint, OUT shard_index text,
	OUT elements bigint, OUT heap_tids bigint, OUT deleted bigint,
	OUT levels int, OUT entry_level int,
	OUT level0_degree_min int, OUT level0_degree_avg float8,
	OUT level0_degree_max int,
	OUT pages bigint, OUT bytes bigint, OUT dims int, OUT metric text,
	OUT m int, OUT max_m0 int, OUT ef_construction int, OUT mult float8,
	OUT neighbor_selecting text, OUT graph_merging text,
	OUT format_version int, OUT element_bytes float8, OUT storage text,
	OUT keep_pruned text, OUT link_bytes int, OUT max_pages bigint)
	RETURNS SETOF record
	LANGUAGE plpgsql
	AS $$
DECLARE
	nsp text;
BEGIN
	SELECT e.extnamespace::regnamespace::text INTO nsp
	FROM pg_catalog.pg_extension e WHERE e.extname = 'n2';
	RETURN QUERY EXECUTE format(
		'SELECT r.nodename, r.nodeport, i.shardid, i.shard_index,
				i.elements, i.heap_tids, i.deleted, i.levels, i.entry_level,
				i.level0_degree_min, i.level0_degree_avg, i.level0_degree_max,
				i.pages, i.bytes, i.dims, i.metric, i.m, i.max_m0, i.ef_construction,
				i.mult, i.neighbor_selecting, i.graph_merging, i.format_version,
				i.element_bytes, i.storage, i.keep_pruned, i.link_bytes, i.max_pages
		 FROM %s.n2_run_on_shard_indexes($1, $2) r,
			  json_to_recordset(r.result::json) AS i(
				  shardid bigint, shard_index text,
				  elements bigint, heap_tids bigint, deleted bigint,
				  levels int, entry_level int,
				  level0_degree_min int, level0_degree_avg float8,
				  level0_degree_max int,
				  pages bigint, bytes bigint, dims int, metric text,
				  m int, max_m0 int, ef_construction int, mult float8,
				  neighbor_selecting text, graph_merging text,
				  format_version int, element_bytes float8, storage text, keep_pruned text,
				  link_bytes int, max_pages bigint)
		 ORDER BY i.shardid, r.nodename, r.nodeport', nsp)
		USING index,
			  'SELECT json_agg(jsonb_build_object(''shardid'', x.shardid, ''shard_index'', x.name)
							   || to_jsonb(i))::text
			   FROM unnest(%2$L::text[], %3$L::bigint[]) AS x(name, shardid),
					LATERAL %1$s.n2_index_info(x.name::regclass) i';
END
$$;
COMMENT ON FUNCTION n2_index_info_shards(regclass) IS
	'n2_index_info of every shard index of an n2 index on a Citus table; one row per placement';

-- pgvector's further functions on vector, and the halfvec type
-- (src/sql/10_vector.sql).  0.1.0 owns the vector type, so these are created
-- on it as a fresh install without pgvector creates them.

COMMENT ON TYPE vector IS 'single-precision vector (n2)';

-- pgvector's further functions on vector

CREATE FUNCTION l1_distance(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <+> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = l1_distance,
	COMMUTATOR = '<+>'
);

CREATE FUNCTION subvector(vector, integer, integer) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_concat(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR || (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_concat
);

CREATE FUNCTION binary_quantize(vector) RETURNS bit
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- the support functions of pgvector's own index classes, for code that calls
-- them by name

CREATE FUNCTION vector_l2_squared_distance(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_spherical_distance(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The halfvec type: half-precision elements, pgvector's formats and names.

CREATE TYPE halfvec;

CREATE FUNCTION halfvec_in(cstring, oid, integer) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_out(halfvec) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_recv(internal, oid, integer) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_send(halfvec) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE halfvec (
	INPUT = halfvec_in,
	OUTPUT = halfvec_out,
	TYPMOD_IN = halfvec_typmod_in,
	TYPMOD_OUT = vector_typmod_out,
	RECEIVE = halfvec_recv,
	SEND = halfvec_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = extended
);

COMMENT ON TYPE halfvec IS 'half-precision vector (n2)';

CREATE FUNCTION halfvec(halfvec, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_to_vector(halfvec, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_to_halfvec(vector, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_halfvec(integer[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_halfvec(real[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_halfvec(double precision[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION array_to_halfvec(numeric[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_to_float4(halfvec, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (halfvec AS halfvec)
	WITH FUNCTION halfvec(halfvec, integer, boolean) AS IMPLICIT;

CREATE CAST (halfvec AS vector)
	WITH FUNCTION halfvec_to_vector(halfvec, integer, boolean) AS ASSIGNMENT;

CREATE CAST (vector AS halfvec)
	WITH FUNCTION vector_to_halfvec(vector, integer, boolean) AS IMPLICIT;

CREATE CAST (halfvec AS real[])
	WITH FUNCTION halfvec_to_float4(halfvec, integer, boolean) AS ASSIGNMENT;

CREATE CAST (integer[] AS halfvec)
	WITH FUNCTION array_to_halfvec(integer[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (real[] AS halfvec)
	WITH FUNCTION array_to_halfvec(real[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (double precision[] AS halfvec)
	WITH FUNCTION array_to_halfvec(double precision[], integer, boolean) AS ASSIGNMENT;

CREATE CAST (numeric[] AS halfvec)
	WITH FUNCTION array_to_halfvec(numeric[], integer, boolean) AS ASSIGNMENT;

CREATE FUNCTION l2_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION inner_product(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_negative_inner_product(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION cosine_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l1_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_l2_squared_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_spherical_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <-> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = l2_distance,
	COMMUTATOR = '<->'
);

CREATE OPERATOR <#> (
	LEFTARG = halfvec, RIGHTARG = halfvec,
	PROCEDURE = halfvec_negative_inner_product, COMMUTATOR = '<#>'
);

CREATE OPERATOR <=> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = cosine_distance,
	COMMUTATOR = '<=>'
);

CREATE OPERATOR <+> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = l1_distance,
	COMMUTATOR = '<+>'
);

CREATE FUNCTION vector_dims(halfvec) RETURNS integer
	AS 'MODULE_PATHNAME', 'halfvec_vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l2_norm(halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l2_normalize(halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME', 'halfvec_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION binary_quantize(halfvec) RETURNS bit
	AS 'MODULE_PATHNAME', 'halfvec_binary_quantize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION subvector(halfvec, integer, integer) RETURNS halfvec
	AS 'MODULE_PATHNAME', 'halfvec_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_add(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_sub(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_mul(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_concat(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR + (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_add,
	COMMUTATOR = +
);

CREATE OPERATOR - (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_sub
);

CREATE OPERATOR * (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_mul,
	COMMUTATOR = *
);

CREATE OPERATOR || (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_concat
);

CREATE FUNCTION halfvec_lt(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_le(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_eq(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_ne(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_ge(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_gt(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_cmp(halfvec, halfvec) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR < (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_lt,
	COMMUTATOR = >, NEGATOR = >=,
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);

CREATE OPERATOR <= (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_le,
	COMMUTATOR = >=, NEGATOR = >,
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);

CREATE OPERATOR = (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_eq,
	COMMUTATOR = =, NEGATOR = <>,
	RESTRICT = eqsel, JOIN = eqjoinsel
);

CREATE OPERATOR <> (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_ne,
	COMMUTATOR = <>, NEGATOR = =,
	RESTRICT = neqsel, JOIN = neqjoinsel
);

CREATE OPERATOR >= (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_ge,
	COMMUTATOR = <=, NEGATOR = <,
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR > (
	LEFTARG = halfvec, RIGHTARG = halfvec, PROCEDURE = halfvec_gt,
	COMMUTATOR = <, NEGATOR = <=,
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS halfvec_ops
	DEFAULT FOR TYPE halfvec USING btree AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >,
	FUNCTION 1 halfvec_cmp(halfvec, halfvec);

CREATE FUNCTION halfvec_accum(double precision[], halfvec) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'vector_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_avg(double precision[]) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION halfvec_sum(double precision[]) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE avg(halfvec) (
	SFUNC = halfvec_accum,
	STYPE = double precision[],
	FINALFUNC = halfvec_avg,
	COMBINEFUNC = halfvec_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE sum(halfvec) (
	SFUNC = halfvec_accum,
	STYPE = double precision[],
	FINALFUNC = halfvec_sum,
	COMBINEFUNC = halfvec_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

-- Distances between bit strings, for binary_quantize() codes.

CREATE FUNCTION hamming_distance(bit, bit) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION jaccard_distance(bit, bit) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <~> (
	LEFTARG = bit, RIGHTARG = bit, PROCEDURE = hamming_distance,
	COMMUTATOR = '<~>'
);

CREATE OPERATOR <%> (
	LEFTARG = bit, RIGHTARG = bit, PROCEDURE = jaccard_distance,
	COMMUTATOR = '<%>'
);

-- n2 beside pgvector (src/sql/20_index.sql): the L1 metric, the operator
-- classes created by n2_create_opclasses (0.1.0 has those of L2, cosine and
-- inner product; this adds the rest), and the event triggers that let
-- pgvector be installed after n2.  0.1.0 cannot share a schema with pgvector,
-- so its own types are the ones to index, and pgvector's too when it is
-- installed in another schema.

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

SELECT n2_create_opclasses(
	(SELECT extnamespace FROM pg_catalog.pg_extension WHERE extname = 'n2'));
-- pgvector beside 0.1.0 (in another schema): its types get the classes a
-- CREATE EXTENSION n2 after it gives them.
SELECT n2_create_opclasses(extnamespace)
	FROM pg_catalog.pg_extension WHERE extname = 'vector';

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
-- Filter columns (src/sql/25_filter.sql): the operator classes of the
-- columns after the vector in a multi-column n2 index.


CREATE OPERATOR FAMILY integer_ops USING n2;

CREATE OPERATOR CLASS int2_ops
	DEFAULT FOR TYPE int2 USING n2 FAMILY integer_ops AS
	OPERATOR 1 < (int2, int2), OPERATOR 2 <= (int2, int2),
	OPERATOR 3 = (int2, int2), OPERATOR 4 >= (int2, int2),
	OPERATOR 5 > (int2, int2), OPERATOR 6 <> (int2, int2);

CREATE OPERATOR CLASS int4_ops
	DEFAULT FOR TYPE int4 USING n2 FAMILY integer_ops AS
	OPERATOR 1 < (int4, int4), OPERATOR 2 <= (int4, int4),
	OPERATOR 3 = (int4, int4), OPERATOR 4 >= (int4, int4),
	OPERATOR 5 > (int4, int4), OPERATOR 6 <> (int4, int4);

CREATE OPERATOR CLASS int8_ops
	DEFAULT FOR TYPE int8 USING n2 FAMILY integer_ops AS
	OPERATOR 1 < (int8, int8), OPERATOR 2 <= (int8, int8),
	OPERATOR 3 = (int8, int8), OPERATOR 4 >= (int8, int8),
	OPERATOR 5 > (int8, int8), OPERATOR 6 <> (int8, int8);

-- Comparisons across integer widths (smallint_column = 5 compares with int4).
ALTER OPERATOR FAMILY integer_ops USING n2 ADD
	OPERATOR 1 < (int2, int4), OPERATOR 2 <= (int2, int4),
	OPERATOR 3 = (int2, int4), OPERATOR 4 >= (int2, int4),
	OPERATOR 5 > (int2, int4), OPERATOR 6 <> (int2, int4),
	OPERATOR 1 < (int2, int8), OPERATOR 2 <= (int2, int8),
	OPERATOR 3 = (int2, int8), OPERATOR 4 >= (int2, int8),
	OPERATOR 5 > (int2, int8), OPERATOR 6 <> (int2, int8),
	OPERATOR 1 < (int4, int2), OPERATOR 2 <= (int4, int2),
	OPERATOR 3 = (int4, int2), OPERATOR 4 >= (int4, int2),
	OPERATOR 5 > (int4, int2), OPERATOR 6 <> (int4, int2),
	OPERATOR 1 < (int4, int8), OPERATOR 2 <= (int4, int8),
	OPERATOR 3 = (int4, int8), OPERATOR 4 >= (int4, int8),
	OPERATOR 5 > (int4, int8), OPERATOR 6 <> (int4, int8),
	OPERATOR 1 < (int8, int2), OPERATOR 2 <= (int8, int2),
	OPERATOR 3 = (int8, int2), OPERATOR 4 >= (int8, int2),
	OPERATOR 5 > (int8, int2), OPERATOR 6 <> (int8, int2),
	OPERATOR 1 < (int8, int4), OPERATOR 2 <= (int8, int4),
	OPERATOR 3 = (int8, int4), OPERATOR 4 >= (int8, int4),
	OPERATOR 5 > (int8, int4), OPERATOR 6 <> (int8, int4);

CREATE OPERATOR CLASS bool_ops
	DEFAULT FOR TYPE bool USING n2 AS
	OPERATOR 3 = (bool, bool), OPERATOR 6 <> (bool, bool);

CREATE OPERATOR CLASS text_ops
	DEFAULT FOR TYPE text USING n2 AS
	OPERATOR 3 = (text, text), OPERATOR 6 <> (text, text);

CREATE OPERATOR CLASS uuid_ops
	DEFAULT FOR TYPE uuid USING n2 AS
	OPERATOR 3 = (uuid, uuid), OPERATOR 6 <> (uuid, uuid);

-- Label sets.
CREATE OPERATOR CLASS int2_array_ops
	DEFAULT FOR TYPE int2[] USING n2 AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);

CREATE OPERATOR CLASS int4_array_ops
	DEFAULT FOR TYPE int4[] USING n2 AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);

CREATE OPERATOR CLASS int8_array_ops
	DEFAULT FOR TYPE int8[] USING n2 AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);

CREATE OPERATOR CLASS text_array_ops
	DEFAULT FOR TYPE text[] USING n2 AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);
