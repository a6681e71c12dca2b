--
-- The n2 index access method: DDL, operator classes, reloptions,
-- n2_index_info and the plans that use (or do not use) an index.
--

-- Deterministic data: no random(), so every run builds the same index.
CREATE TABLE items (id int PRIMARY KEY, v vector(3));
INSERT INTO items
	SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector
	FROM generate_series(1, 100) i;
CREATE TABLE items_arr (id int PRIMARY KEY, v real[]);
INSERT INTO items_arr SELECT id, v::real[] FROM items;

-- One index per operator class (all eight).
CREATE INDEX items_l2 ON items USING n2 (v vector_l2_ops);
CREATE INDEX items_angular ON items USING n2 (v vector_angular_ops);
CREATE INDEX items_dot ON items USING n2 (v vector_dot_ops);
CREATE INDEX items_cosine ON items USING n2 (v vector_cosine_ops);
CREATE INDEX items_ip ON items USING n2 (v vector_ip_ops);
CREATE INDEX items_arr_l2 ON items_arr USING n2 (v float4_l2_ops);
CREATE INDEX items_arr_angular ON items_arr USING n2 (v float4_angular_ops);
CREATE INDEX items_arr_dot ON items_arr USING n2 (v float4_dot_ops);
-- vector_l2_ops is the default for vector; real[] has no default.
CREATE INDEX items_default ON items USING n2 (v);
CREATE INDEX ON items_arr USING n2 (v);

SELECT c.relname, o.opcname, i.metric, i.elements, i.heap_tids, i.dims
	FROM pg_index x
	JOIN pg_class c ON c.oid = x.indexrelid
	JOIN pg_opclass o ON o.oid = x.indclass[0]
	CROSS JOIN LATERAL n2_index_info(c.oid) i
	WHERE c.relam = (SELECT oid FROM pg_am WHERE amname = 'n2')
	ORDER BY c.relname;

-- The operator classes all pass validation.
SELECT opcname, amvalidate(oid) FROM pg_opclass
	WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'n2')
	ORDER BY opcname;

-- One vector column, first (filter columns: filter_columns.sql); not unique.
CREATE INDEX ON items USING n2 (v, v);
CREATE UNIQUE INDEX ON items USING n2 (v);
-- The vector comes first.
CREATE INDEX ON items USING n2 (id);

DROP INDEX items_angular, items_dot, items_cosine, items_ip, items_default,
	items_arr_l2, items_arr_angular, items_arr_dot;

--
-- Reloptions: every option, its bounds, and the cross-checks.
--
CREATE INDEX ON items USING n2 (v) WITH (m = 1);
CREATE INDEX ON items USING n2 (v) WITH (m = 101);
CREATE INDEX ON items USING n2 (v) WITH (m = 'abc');
CREATE INDEX ON items USING n2 (v) WITH (max_m0 = -2);
CREATE INDEX ON items USING n2 (v) WITH (max_m0 = 401);
CREATE INDEX ON items USING n2 (v) WITH (max_m0 = 11);
CREATE INDEX ON items USING n2 (v) WITH (m = 20, max_m0 = 19);
CREATE INDEX ON items USING n2 (v) WITH (ef_construction = 0);
CREATE INDEX ON items USING n2 (v) WITH (ef_construction = 1001);
CREATE INDEX ON items USING n2 (v) WITH (n_threads = -2);
CREATE INDEX ON items USING n2 (v) WITH (n_threads = 257);
CREATE INDEX ON items USING n2 (v) WITH (mult = -2);
CREATE INDEX ON items USING n2 (v) WITH (mult = -0.5);
CREATE INDEX ON items USING n2 (v) WITH (mult = 10.5);
CREATE INDEX ON items USING n2 (v) WITH (mult = 'x');
CREATE INDEX ON items USING n2 (v) WITH (neighbor_selecting = 'greedy');
CREATE INDEX ON items USING n2 (v) WITH (graph_merging = 'merge');
CREATE INDEX ON items USING n2 (v) WITH (foo = 1);
CREATE INDEX ON items USING n2 (v) WITH (ef_search = 10);
-- Nothing was created by the failures above.
SELECT count(*) FROM pg_indexes WHERE tablename = 'items';

-- Bounds and special values that are accepted.
CREATE INDEX items_opts1 ON items USING n2 (v)
	WITH (m = 2, max_m0 = 2, ef_construction = 1, n_threads = 1, mult = 0,
		  neighbor_selecting = 'naive', graph_merging = 'merge_level0');
CREATE INDEX items_opts2 ON items USING n2 (v)
	WITH (m = 100, max_m0 = 400, ef_construction = 1000, n_threads = 256,
		  mult = 0.5, neighbor_selecting = 'heuristic', graph_merging = 'skip');
CREATE INDEX items_opts3 ON items USING n2 (v)
	WITH (m = 20, max_m0 = -1, n_threads = 0, mult = -1);
CREATE INDEX items_opts4 ON items USING n2 (v) WITH (n_threads = -1);
CREATE INDEX items_opts5 ON items USING n2 (v) WITH (m = 2, mult = 10);
SELECT c.relname, i.elements, i.m, i.max_m0, i.ef_construction,
		round(i.mult::numeric, 6) AS mult, i.neighbor_selecting, i.graph_merging
	FROM pg_class c, n2_index_info(c.oid) i
	WHERE c.relname LIKE 'items_opts%' ORDER BY c.relname;
-- mult = 0 puts every node on level 0.
SELECT levels, entry_level FROM n2_index_info('items_opts1');
-- element_bytes: a level-0 element is its vector and max_m0 links
-- (link_bytes each: 3 for a small index unless asked for 4 or 6) plus a
-- 28-byte header and its 4-byte line pointer.
CREATE INDEX items_flat ON items USING n2 (v) WITH (m = 16, max_m0 = 32, mult = 0);
SELECT dims, max_m0, link_bytes, element_bytes,
		element_bytes - (4 * dims + link_bytes * max_m0) AS overhead
	FROM n2_index_info('items_flat');
DROP INDEX items_flat;
CREATE INDEX items_flat ON items USING n2 (v)
	WITH (m = 16, max_m0 = 32, mult = 0, link_bytes = 6);
SELECT dims, max_m0, link_bytes, element_bytes,
		element_bytes - (4 * dims + link_bytes * max_m0) AS overhead
	FROM n2_index_info('items_flat');
DROP INDEX items_flat;
-- Reloptions are stored with the index and shown by pg_class.
SELECT relname, reloptions FROM pg_class
	WHERE relname LIKE 'items_opts%' ORDER BY relname;
-- ALTER INDEX SET validates too.
ALTER INDEX items_opts4 SET (m = 0);
ALTER INDEX items_opts4 SET (neighbor_selecting = 'x');
ALTER INDEX items_opts4 SET (m = 16, max_m0 = 8);
DROP INDEX items_opts1, items_opts2, items_opts3, items_opts4, items_opts5;

--
-- n2_index_info of a known build: one thread, so the graph is reproducible.
--
CREATE INDEX items_known ON items USING n2 (v) WITH (n_threads = 1);
\x on
SELECT elements, heap_tids, deleted, levels, entry_level,
		level0_degree_min BETWEEN 1 AND max_m0 AS min_degree_ok,
		level0_degree_avg BETWEEN level0_degree_min AND level0_degree_max AS avg_degree_ok,
		level0_degree_max BETWEEN 1 AND max_m0 AS max_degree_ok,
		pages, bytes = pages * current_setting('block_size')::bigint AS bytes_ok,
		dims, metric, m, max_m0, ef_construction, round(mult::numeric, 12) AS mult,
		round((1 / ln(12))::numeric, 12) AS one_over_ln_m,
		neighbor_selecting, graph_merging, format_version
	FROM n2_index_info('items_known');
\x off
-- pages agrees with the relation size.
SELECT pages = pg_relation_size('items_known') / current_setting('block_size')::int
	AS pages_match FROM n2_index_info('items_known');
-- Two single-thread builds of the same data give the same graph.
CREATE INDEX items_known2 ON items USING n2 (v) WITH (n_threads = 1);
SELECT (SELECT row(i.*)::text FROM n2_index_info('items_known') i) =
	   (SELECT row(i.*)::text FROM n2_index_info('items_known2') i) AS same_info;
DROP INDEX items_known2;
-- Not an n2 index.
SELECT * FROM n2_index_info('items_pkey');
SELECT * FROM n2_index_info('items');
SELECT * FROM n2_index_info(NULL);

--
-- Plans.  The tables are tiny, so sequential scans are disabled to show
-- when the index CAN be used; without an ORDER BY distance it never is.
--
CREATE INDEX items_dot ON items USING n2 (v vector_dot_ops);
CREATE INDEX items_angular ON items USING n2 (v vector_angular_ops);
CREATE INDEX items_arr_l2 ON items_arr USING n2 (v float4_l2_ops);
CREATE INDEX items_arr_angular ON items_arr USING n2 (v float4_angular_ops);
CREATE INDEX items_arr_dot ON items_arr USING n2 (v float4_dot_ops);
DROP INDEX items_known;
ANALYZE items, items_arr;
SET enable_seqscan = off;

-- ORDER BY distance to a constant LIMIT k: each metric uses its index.
EXPLAIN (costs off) SELECT id FROM items ORDER BY v <-> '[1,0,0]' LIMIT 5;
EXPLAIN (costs off) SELECT id FROM items ORDER BY v <=> '[1,0,0]' LIMIT 5;
EXPLAIN (costs off) SELECT id FROM items ORDER BY v <#> '[1,0,0]' LIMIT 5;
EXPLAIN (costs off) SELECT id FROM items_arr ORDER BY v <-> '{1,0,0}' LIMIT 5;
EXPLAIN (costs off) SELECT id FROM items_arr ORDER BY v <=> '{1,0,0}' LIMIT 5;
EXPLAIN (costs off) SELECT id FROM items_arr ORDER BY v <#> '{1,0,0}' LIMIT 5;
-- The commuted form works as well.
EXPLAIN (costs off) SELECT id FROM items ORDER BY '[1,0,0]' <-> v LIMIT 5;
-- A filter is applied to the rows the index returns.
EXPLAIN (costs off) SELECT id FROM items WHERE id % 10 = 0
	ORDER BY v <-> '[1,0,0]' LIMIT 5;

-- Without ORDER BY distance the index is not used for any metric.
EXPLAIN (costs off) SELECT id FROM items;
EXPLAIN (costs off) SELECT id FROM items WHERE v = '[1,0,0]';
EXPLAIN (costs off) SELECT id FROM items WHERE v <-> '[1,0,0]' < 0.5;
EXPLAIN (costs off) SELECT id FROM items WHERE v <=> '[1,0,0]' < 0.5;
EXPLAIN (costs off) SELECT id FROM items WHERE v <#> '[1,0,0]' < 0.5;
EXPLAIN (costs off) SELECT id FROM items_arr WHERE v = '{1,0,0}';
EXPLAIN (costs off) SELECT count(*) FROM items_arr;
-- Descending distance is not an index order.
EXPLAIN (costs off) SELECT id FROM items ORDER BY v <-> '[1,0,0]' DESC LIMIT 5;
-- A distance the index was not built for (no L2 index on items now).
DROP INDEX items_l2;
EXPLAIN (costs off) SELECT id FROM items ORDER BY v <-> '[1,0,0]' LIMIT 5;
CREATE INDEX items_l2 ON items USING n2 (v vector_l2_ops);

-- pgvector's operator class names order by the same operators.
DROP INDEX items_angular, items_dot;
CREATE INDEX items_cosine ON items USING n2 (v vector_cosine_ops);
CREATE INDEX items_ip ON items USING n2 (v vector_ip_ops);
EXPLAIN (costs off) SELECT id FROM items ORDER BY v <=> '[1,0,0]' LIMIT 5;
EXPLAIN (costs off) SELECT id FROM items ORDER BY v <#> '[1,0,0]' LIMIT 5;

-- Search by id (N2's SearchById): the query vector comes from a row.
EXPLAIN (costs off) SELECT id FROM items
	ORDER BY v <-> (SELECT v FROM items WHERE id = 1) LIMIT 5;
SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 1) LIMIT 1;

-- Batch search: one k-NN search per row of a queries table, via LATERAL.
CREATE TABLE queries (qid int PRIMARY KEY, v vector(3));
INSERT INTO queries
	SELECT i, ARRAY[cos(i), sin(i), 0]::vector FROM generate_series(1, 3) i;
ANALYZE queries;
EXPLAIN (costs off)
SELECT q.qid, n.id FROM queries q
	CROSS JOIN LATERAL (
		SELECT id FROM items ORDER BY items.v <-> q.v LIMIT 3
	) n;
EXPLAIN (costs off)
SELECT q.qid, n.id FROM queries q
	CROSS JOIN LATERAL (
		SELECT id FROM items ORDER BY items.v <=> q.v LIMIT 3
	) n;
-- The batch answers equal exact search (sequential scan and sort).
SET n2.ef_search = 100;
CREATE TEMP TABLE batch_index AS
SELECT q.qid, array_agg(n.id ORDER BY n.rank) AS ids FROM queries q
	CROSS JOIN LATERAL (
		SELECT id, row_number() OVER () AS rank FROM (
			SELECT id FROM items ORDER BY items.v <-> q.v LIMIT 3) s
	) n GROUP BY q.qid;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TEMP TABLE batch_exact AS
SELECT q.qid, array_agg(n.id ORDER BY n.rank) AS ids FROM queries q
	CROSS JOIN LATERAL (
		SELECT id, row_number() OVER () AS rank FROM (
			SELECT id FROM items ORDER BY items.v <-> q.v LIMIT 3) s
	) n GROUP BY q.qid;
RESET enable_indexscan;
RESET n2.ef_search;
SELECT qid, i.ids AS index_ids, e.ids AS exact_ids, i.ids = e.ids AS same
	FROM batch_index i JOIN batch_exact e USING (qid) ORDER BY qid;

DROP TABLE items, items_arr, queries;
