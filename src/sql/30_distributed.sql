-- Citus.  An n2 index on a distributed or reference table is one index per
-- shard placement, named <index>_<shardid> on its node, which n2_verify and
-- n2_index_info only see there.  These functions run them on every placement
-- (through Citus's master_run_on_worker, in parallel) and say where each row
-- comes from.  They are plain SQL over Citus's catalogs: n2 works without
-- Citus, and these then report that the table is not a Citus table.  The
-- calls go through the extension's schema, found at run time because the
-- extension is relocatable.

CREATE FUNCTION n2_shard_indexes(index regclass,
	OUT nodename text, OUT nodeport int, OUT shardid bigint,
	OUT shard_index text)
	RETURNS SETOF record
	LANGUAGE plpgsql STABLE
	AS $$
DECLARE
	tbl oid;
BEGIN
	SELECT i.indrelid INTO tbl
	FROM pg_catalog.pg_index i
	JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
	JOIN pg_catalog.pg_am a ON a.oid = c.relam
	WHERE i.indexrelid = index AND a.amname = 'n2';
	IF tbl IS NULL THEN
		RAISE EXCEPTION '"%" is not an n2 index', index
			USING ERRCODE = 'wrong_object_type';
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
	'the shard indexes of an n2 index on a Citus table: one row per placement';

CREATE FUNCTION n2_verify_shards(index regclass,
	OUT nodename text, OUT nodeport int, OUT shardid bigint,
	OUT shard_index text, OUT blkno bigint, OUT offnum int, OUT problem text)
	RETURNS SETOF record
	LANGUAGE plpgsql
	AS $$
DECLARE
	nsp text;
	pl record;
	res record;
BEGIN
	SELECT e.extnamespace::regnamespace::text INTO nsp
	FROM pg_catalog.pg_extension e WHERE e.extname = 'n2';
	EXECUTE format(
		'SELECT array_agg(nodename ORDER BY ord) AS names, array_agg(nodeport ORDER BY ord) AS ports,
				array_agg(shardid ORDER BY ord) AS shards, array_agg(shard_index ORDER BY ord) AS idx
		 FROM %s.n2_shard_indexes($1) WITH ORDINALITY AS t(nodename, nodeport, shardid, shard_index, ord)',
		nsp) INTO pl USING index;
	IF pl.names IS NULL THEN
		RETURN;
	END IF;
	FOR res IN
		EXECUTE 'SELECT r.ord, r.success, r.result
				 FROM pg_catalog.master_run_on_worker($1, $2, $3, true) WITH ORDINALITY
					  AS r(node_name, node_port, success, result, ord)'
		USING pl.names, pl.ports,
			  ARRAY(SELECT format('SELECT coalesce(json_agg(v), ''[]'')::text FROM %s.n2_verify(%L::regclass) v',
								  nsp, x)
					FROM unnest(pl.idx) AS x)
	LOOP
		IF NOT res.success THEN
			RAISE EXCEPTION 'could not verify shard index % on %:%', pl.idx[res.ord],
				pl.names[res.ord], pl.ports[res.ord]
				USING ERRCODE = 'connection_failure', DETAIL = res.result;
		END IF;
		RETURN QUERY
			SELECT pl.names[res.ord], pl.ports[res.ord], pl.shards[res.ord], pl.idx[res.ord],
				   v.blkno, v.offnum, v.problem
			FROM json_to_recordset(res.result::json) AS v(blkno bigint, offnum int, problem text);
	END LOOP;
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
	OUT format_version int, OUT element_bytes float8)
	RETURNS SETOF record
	LANGUAGE plpgsql
	AS $$
DECLARE
	nsp text;
	pl record;
	res record;
BEGIN
	SELECT e.extnamespace::regnamespace::text INTO nsp
	FROM pg_catalog.pg_extension e WHERE e.extname = 'n2';
	EXECUTE format(
		'SELECT array_agg(nodename ORDER BY ord) AS names, array_agg(nodeport ORDER BY ord) AS ports,
				array_agg(shardid ORDER BY ord) AS shards, array_agg(shard_index ORDER BY ord) AS idx
		 FROM %s.n2_shard_indexes($1) WITH ORDINALITY AS t(nodename, nodeport, shardid, shard_index, ord)',
		nsp) INTO pl USING index;
	IF pl.names IS NULL THEN
		RETURN;
	END IF;
	FOR res IN
		EXECUTE 'SELECT r.ord, r.success, r.result
				 FROM pg_catalog.master_run_on_worker($1, $2, $3, true) WITH ORDINALITY
					  AS r(node_name, node_port, success, result, ord)'
		USING pl.names, pl.ports,
			  ARRAY(SELECT format('SELECT row_to_json(i)::text FROM %s.n2_index_info(%L::regclass) i',
								  nsp, x)
					FROM unnest(pl.idx) AS x)
	LOOP
		IF NOT res.success THEN
			RAISE EXCEPTION 'could not inspect shard index % on %:%', pl.idx[res.ord],
				pl.names[res.ord], pl.ports[res.ord]
				USING ERRCODE = 'connection_failure', DETAIL = res.result;
		END IF;
		RETURN QUERY
			SELECT pl.names[res.ord], pl.ports[res.ord], pl.shards[res.ord], pl.idx[res.ord], i.*
			FROM json_to_record(res.result::json) AS i(
				elements bigint, heap_tids bigint, deleted bigint,
				levels int, entry_level int,
				level0_degree_min int, level0_degree_avg float8,
				level0_degree_max int,
				pages bigint, bytes bigint, dims int, metric text,
				m int, max_m0 int, ef_construction int, mult float8,
				neighbor_selecting text, graph_merging text,
				format_version int, element_bytes float8);
	END LOOP;
END
$$;
COMMENT ON FUNCTION n2_index_info_shards(regclass) IS
	'n2_index_info of every shard index of an n2 index on a Citus table; one row per placement';
