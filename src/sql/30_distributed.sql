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
