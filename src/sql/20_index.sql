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

CREATE OPERATOR CLASS vector_l2_ops
	DEFAULT FOR TYPE vector USING n2 AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 n2_l2_support(internal);

CREATE OPERATOR CLASS vector_angular_ops
	FOR TYPE vector USING n2 AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 n2_angular_support(internal);

CREATE OPERATOR CLASS vector_dot_ops
	FOR TYPE vector USING n2 AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 n2_dot_support(internal);

-- pgvector's names, so its index DDL works with USING n2.
CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING n2 AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 n2_angular_support(internal);

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING n2 AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 n2_dot_support(internal);

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
	OUT format_version int, OUT element_bytes float8, OUT storage text)
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
