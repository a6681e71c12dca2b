--
-- n2 index scans: answers, edge cases, maintenance, GUCs.
--

-- 300 deterministic 8-d points (no random(); no near-ties for the queries
-- below) and five query vectors.
CREATE TABLE pts (id int PRIMARY KEY, v vector(8));
INSERT INTO pts
	SELECT i, (SELECT array_agg(sin(i * (j + 1) * 0.37 + j) * (1 + (i % 7) * 0.1)
							   ORDER BY j)
			   FROM generate_series(0, 7) j)::vector
	FROM generate_series(1, 300) i;
CREATE TABLE qs (qid int PRIMARY KEY, v vector(8));
INSERT INTO qs
	SELECT k, (SELECT array_agg(cos(k * 1.3 + j * 0.7) ORDER BY j)
			   FROM generate_series(0, 7) j)::vector
	FROM generate_series(1, 5) k;
ANALYZE pts, qs;

-- The data has no near-ties: consecutive exact distances differ by more
-- than float4 rounding, so exact order is well defined for every metric.
SELECT op, min(gap) > 1e-7 AS no_near_ties FROM (
	SELECT op, (lead(d) OVER w - d) / greatest(abs(d), 1e-9) AS gap FROM (
		SELECT '<->' AS op, q.qid, p.v <-> q.v AS d FROM pts p, qs q
		UNION ALL
		SELECT '<=>', q.qid, p.v <=> q.v FROM pts p, qs q
		UNION ALL
		SELECT '<#>', q.qid, p.v <#> q.v FROM pts p, qs q) s
	WINDOW w AS (PARTITION BY op, qid ORDER BY d)) g
GROUP BY op ORDER BY op;

-- One build thread: the same graph on every machine.
CREATE INDEX pts_l2 ON pts USING n2 (v vector_l2_ops) WITH (n_threads = 1);
CREATE INDEX pts_angular ON pts USING n2 (v vector_angular_ops) WITH (n_threads = 1);
CREATE INDEX pts_dot ON pts USING n2 (v vector_dot_ops) WITH (n_threads = 1);

-- k-NN of each query in each metric: by index (ef_search above the row
-- count) and exactly (sequential scan and sort).
SET n2.ef_search = 400;
CREATE TEMP TABLE answers (op text, how text, qid int, ids int[]);
SET enable_seqscan = off;
EXPLAIN (costs off)
	SELECT q.qid, ARRAY(SELECT id FROM pts ORDER BY pts.v <-> q.v LIMIT 50) FROM qs q;
INSERT INTO answers SELECT '<->', 'index', qid,
	ARRAY(SELECT id FROM pts ORDER BY pts.v <-> qs.v LIMIT 300) FROM qs;
INSERT INTO answers SELECT '<=>', 'index', qid,
	ARRAY(SELECT id FROM pts ORDER BY pts.v <=> qs.v LIMIT 300) FROM qs;
INSERT INTO answers SELECT '<#>', 'index', qid,
	ARRAY(SELECT id FROM pts ORDER BY pts.v <#> qs.v LIMIT 300) FROM qs;
RESET enable_seqscan;
SET enable_indexscan = off;
EXPLAIN (costs off)
	SELECT q.qid, ARRAY(SELECT id FROM pts ORDER BY pts.v <-> q.v LIMIT 50) FROM qs q;
INSERT INTO answers SELECT '<->', 'exact', qid,
	ARRAY(SELECT id FROM pts ORDER BY pts.v <-> qs.v LIMIT 300) FROM qs;
INSERT INTO answers SELECT '<=>', 'exact', qid,
	ARRAY(SELECT id FROM pts ORDER BY pts.v <=> qs.v LIMIT 300) FROM qs;
INSERT INTO answers SELECT '<#>', 'exact', qid,
	ARRAY(SELECT id FROM pts ORDER BY pts.v <#> qs.v LIMIT 300) FROM qs;
RESET enable_indexscan;
-- Same 50 nearest in the same order, and every row returned exactly once.
SELECT i.op, i.qid, i.ids[1:50] = e.ids[1:50] AS top50_same_order,
		cardinality(i.ids) AS index_rows,
		(SELECT count(DISTINCT x) FROM unnest(i.ids) x) AS distinct_rows,
		ARRAY(SELECT unnest(i.ids) ORDER BY 1) = ARRAY(SELECT unnest(e.ids) ORDER BY 1)
			AS same_rows
	FROM answers i JOIN answers e ON e.op = i.op AND e.qid = i.qid
	WHERE i.how = 'index' AND e.how = 'exact'
	ORDER BY i.op, i.qid;
-- A few answers in full, to see them.
SELECT op, qid, ids[1:5] AS nearest5 FROM answers
	WHERE how = 'index' AND qid = 1 ORDER BY op;
RESET n2.ef_search;

-- A beam on the upper levels (n2.upper_ef_search) seeds level 0 with many
-- nodes: the answers stay exact, and a walk that widens from a small
-- ef_search still returns every row once.
SELECT levels > 1 AS has_upper_levels FROM n2_index_info('pts_l2');
SHOW n2.upper_ef_search;
SET n2.upper_ef_search = 16;
SET n2.ef_search = 400;
SET enable_seqscan = off;
SELECT count(*) AS queries,
		bool_and(e1.ids = ARRAY(SELECT id FROM pts ORDER BY pts.v <-> q.v LIMIT 300)) AS l2_exact,
		bool_and(e2.ids = ARRAY(SELECT id FROM pts ORDER BY pts.v <=> q.v LIMIT 300)) AS angular_exact,
		bool_and(e3.ids = ARRAY(SELECT id FROM pts ORDER BY pts.v <#> q.v LIMIT 300)) AS dot_exact
	FROM qs q
	JOIN answers e1 ON e1.qid = q.qid AND e1.op = '<->' AND e1.how = 'exact'
	JOIN answers e2 ON e2.qid = q.qid AND e2.op = '<=>' AND e2.how = 'exact'
	JOIN answers e3 ON e3.qid = q.qid AND e3.op = '<#>' AND e3.how = 'exact';
SET n2.ef_search = 4;
SET n2.iterative_scan = relaxed_order;
SELECT q.qid, cardinality(a) AS rows,
		(SELECT count(DISTINCT x) FROM unnest(a) x) AS distinct_rows
	FROM qs q, LATERAL (SELECT ARRAY(SELECT id FROM pts
									 ORDER BY pts.v <-> q.v LIMIT 300) a) s
	ORDER BY q.qid;
RESET n2.iterative_scan;
RESET n2.upper_ef_search;
-- Automatic (0, the default) takes the beam for an index of 100,000 rows
-- or more, by its reltuples.
UPDATE pg_class SET reltuples = 1e6 WHERE oid = 'pts_l2'::regclass;
SET n2.ef_search = 400;
SELECT bool_and(e.ids = ARRAY(SELECT id FROM pts ORDER BY pts.v <-> q.v LIMIT 300)) AS l2_exact
	FROM qs q JOIN answers e ON e.qid = q.qid AND e.op = '<->' AND e.how = 'exact';
ANALYZE pts;
RESET enable_seqscan;
RESET n2.ef_search;

-- The returned order is by distance: no row is farther than the next one.
SET enable_seqscan = off;
SELECT count(*) AS rows, bool_and(d <= coalesce(next_d, d)) AS ascending FROM (
	SELECT d, lead(d) OVER (ORDER BY n) AS next_d FROM (
		SELECT v <-> '[1,0,0,0,0,0,0,0]' AS d, row_number() OVER () AS n
		FROM (SELECT v FROM pts ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 100) s
	) t
) u;
RESET enable_seqscan;

--
-- NULL vectors are not indexed and never returned by the index.
--
CREATE TABLE withnulls (id int, v vector(3));
INSERT INTO withnulls
	SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY[i, i * i % 7, 1]::vector END
	FROM generate_series(1, 30) i;
CREATE INDEX withnulls_v ON withnulls USING n2 (v);
INSERT INTO withnulls VALUES (31, NULL), (32, '[32,2,1]');
SELECT elements, heap_tids FROM n2_index_info('withnulls_v');
SET enable_seqscan = off;
SELECT count(*) AS returned, count(*) FILTER (WHERE id % 3 = 0 OR id = 31) AS nulls
	FROM (SELECT id FROM withnulls ORDER BY v <-> '[0,0,0]' LIMIT 100) s;
SELECT id FROM (SELECT id FROM withnulls ORDER BY v <-> '[0,0,0]' LIMIT 5) s
	ORDER BY id;
-- The table still has every row.
SELECT count(*), count(v) FROM withnulls;
RESET enable_seqscan;

--
-- ORDER BY v <-> NULL.  A NULL constant sorts nothing, so the planner drops
-- the ordering and no index is used: every row comes back.
--
SET enable_seqscan = off;
EXPLAIN (costs off) SELECT id FROM withnulls ORDER BY v <-> NULL LIMIT 5;
SELECT count(*) FROM (SELECT id FROM withnulls ORDER BY v <-> NULL) s;
-- A query vector that turns out NULL at run time reaches the index: any
-- order is right, the index returns its (non-NULL) rows and no error.
EXPLAIN (costs off) SELECT id FROM withnulls
	ORDER BY v <-> (SELECT v FROM withnulls WHERE id = 3) LIMIT 100;
SELECT count(*) FROM (SELECT id FROM withnulls
	ORDER BY v <-> (SELECT v FROM withnulls WHERE id = 3) LIMIT 100) s;
SELECT count(*) FROM (SELECT id FROM withnulls
	ORDER BY v <-> (SELECT v FROM withnulls WHERE id = 3) LIMIT 5) s;
RESET enable_seqscan;

--
-- Zero vectors: cosine distance to or from a zero vector is 1 (defined, no
-- NaN), the index holds them, and a zero query vector works.
--
CREATE TABLE zeros (id int, v vector(3));
INSERT INTO zeros VALUES
	(1, '[0,0,0]'), (2, '[1,0,0]'), (3, '[0,1,0]'), (4, '[0,0,0]'), (5, '[-1,0,0]');
CREATE INDEX zeros_angular ON zeros USING n2 (v vector_angular_ops);
CREATE INDEX zeros_cosine ON zeros USING n2 (v vector_cosine_ops);
CREATE INDEX zeros_dot ON zeros USING n2 (v vector_dot_ops);
CREATE INDEX zeros_l2 ON zeros USING n2 (v vector_l2_ops);
SELECT '[0,0,0]'::vector <=> '[1,0,0]' AS zero_to_x, '[0,0,0]'::vector <=> '[0,0,0]' AS zero_to_zero;
SELECT elements, heap_tids FROM n2_index_info('zeros_angular');
SET enable_seqscan = off;
EXPLAIN (costs off) SELECT id FROM zeros ORDER BY v <=> '[1,0,0]' LIMIT 10;
-- [1,0,0] first, [-1,0,0] last, the rest at distance 1 in between.
SELECT id, v <=> '[1,0,0]' AS d
	FROM (SELECT id, v FROM zeros ORDER BY v <=> '[1,0,0]' LIMIT 10) s
	ORDER BY d, id;
SELECT count(*) AS rows, min(n) FILTER (WHERE id = 2) AS pos_of_2,
		max(n) FILTER (WHERE id = 5) AS pos_of_5
	FROM (SELECT id, row_number() OVER () AS n
		  FROM (SELECT id FROM zeros ORDER BY v <=> '[1,0,0]' LIMIT 10) s) t;
-- A zero query vector: every distance is 1, every row comes back.
SELECT id, v <=> '[0,0,0]' AS d
	FROM (SELECT id, v FROM zeros ORDER BY v <=> '[0,0,0]' LIMIT 10) s ORDER BY id;
SELECT id, v <#> '[0,0,0]' AS d
	FROM (SELECT id, v FROM zeros ORDER BY v <#> '[0,0,0]' LIMIT 10) s ORDER BY id;
SELECT id FROM (SELECT id FROM zeros ORDER BY v <-> '[0,0,0]' LIMIT 2) s ORDER BY id;
RESET enable_seqscan;

--
-- Duplicate vectors: many rows share one graph node; all are returned.
--
CREATE TABLE dups (id int, v vector(2));
INSERT INTO dups SELECT i, '[1,1]' FROM generate_series(1, 200) i;
INSERT INTO dups SELECT i, ARRAY[i, 0]::vector FROM generate_series(201, 220) i;
CREATE INDEX dups_v ON dups USING n2 (v);
SELECT elements, heap_tids FROM n2_index_info('dups_v');
SET enable_seqscan = off;
SELECT count(*), count(DISTINCT id), min(id), max(id)
	FROM (SELECT id FROM dups ORDER BY v <-> '[1,1]' LIMIT 200) s;
-- More copies inserted later join the same node.
INSERT INTO dups SELECT i, '[1,1]' FROM generate_series(221, 250) i;
SELECT elements, heap_tids FROM n2_index_info('dups_v');
SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE id BETWEEN 201 AND 220)
	FROM (SELECT id FROM dups ORDER BY v <-> '[1,1]' LIMIT 230) s;
SELECT count(*), count(DISTINCT id)
	FROM (SELECT id FROM dups ORDER BY v <-> '[1,1]' LIMIT 1000) s;
-- The next nearest after the 230 copies.
SELECT id FROM dups ORDER BY v <-> '[1,1]' OFFSET 230 LIMIT 3;
RESET enable_seqscan;

--
-- An index built on an empty table, then filled by INSERT.
--
CREATE TABLE grow (id int PRIMARY KEY, v vector(8));
CREATE INDEX grow_v ON grow USING n2 (v);
SELECT elements, heap_tids, levels, entry_level, pages, dims FROM n2_index_info('grow_v');
SET enable_seqscan = off;
SELECT id FROM grow ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 5;
INSERT INTO grow VALUES (1, '[1,0,0,0,0,0,0,0]');
SELECT id FROM grow ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 5;
INSERT INTO grow SELECT id + 1, v FROM pts;
SELECT elements, heap_tids FROM n2_index_info('grow_v');
SET n2.ef_search = 400;
-- Same answers as the exact ones above (grow's ids are pts' ids + 1).
SELECT a.op, a.qid,
		ARRAY(SELECT id - 1 FROM grow WHERE id > 1
			  ORDER BY grow.v <-> q.v LIMIT 50) = a.ids[1:50]
			AS same_as_exact
	FROM answers a JOIN qs q USING (qid)
	WHERE a.op = '<->' AND a.how = 'exact' ORDER BY a.qid;
RESET n2.ef_search;
RESET enable_seqscan;

--
-- TRUNCATE empties the index; it works again after new inserts.
--
TRUNCATE grow;
SELECT elements, heap_tids FROM n2_index_info('grow_v');
SET enable_seqscan = off;
SELECT id FROM grow ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 5;
INSERT INTO grow SELECT id, v FROM pts WHERE id <= 50;
SELECT elements, heap_tids FROM n2_index_info('grow_v');
SELECT id FROM grow ORDER BY v <-> (SELECT v FROM pts WHERE id = 7) LIMIT 3;
RESET enable_seqscan;

--
-- REINDEX rebuilds to the same contents.
--
DELETE FROM grow WHERE id > 40;
REINDEX INDEX grow_v;
SELECT elements, heap_tids, deleted FROM n2_index_info('grow_v');
SET enable_seqscan = off;
SELECT id FROM grow ORDER BY v <-> (SELECT v FROM pts WHERE id = 7) LIMIT 3;
RESET enable_seqscan;
REINDEX TABLE grow;
SELECT elements, heap_tids FROM n2_index_info('grow_v');

--
-- Unlogged tables (and their init fork).
--
CREATE UNLOGGED TABLE unlogged_pts (id int, v vector(8));
INSERT INTO unlogged_pts SELECT id, v FROM pts;
CREATE INDEX unlogged_pts_v ON unlogged_pts USING n2 (v);
SELECT c.relpersistence, i.elements FROM pg_class c, n2_index_info(c.oid) i
	WHERE c.relname = 'unlogged_pts_v';
SET enable_seqscan = off;
SET n2.ef_search = 400;
SELECT ARRAY(SELECT id FROM unlogged_pts ORDER BY v <-> q.v LIMIT 50) = a.ids[1:50]
		AS same_as_exact
	FROM answers a JOIN qs q USING (qid)
	WHERE a.op = '<->' AND a.how = 'exact' AND a.qid = 1;
RESET n2.ef_search;
RESET enable_seqscan;
TRUNCATE unlogged_pts;
INSERT INTO unlogged_pts VALUES (1, '[1,2,3,4,5,6,7,8]');
SET enable_seqscan = off;
SELECT id FROM unlogged_pts ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 5;
RESET enable_seqscan;

--
-- real[] columns: the dimension is fixed by the first vector indexed.
--
CREATE TABLE arr (id int, v real[]);
CREATE INDEX arr_l2 ON arr USING n2 (v float4_l2_ops);
CREATE INDEX arr_angular ON arr USING n2 (v float4_angular_ops);
CREATE INDEX arr_dot ON arr USING n2 (v float4_dot_ops);
SELECT dims, elements FROM n2_index_info('arr_l2');
SET enable_seqscan = off;
SELECT id FROM arr ORDER BY v <-> '{1,2,3}' LIMIT 3;
INSERT INTO arr VALUES (1, '{1,2,3}');
SELECT dims, elements FROM n2_index_info('arr_l2');
INSERT INTO arr VALUES (2, '{1,2}');
INSERT INTO arr VALUES (3, '{1,2,3,4}');
INSERT INTO arr VALUES (4, '{{1,2},{3,4}}');
INSERT INTO arr VALUES (5, '{1,NULL,3}');
INSERT INTO arr VALUES (6, '{}');
INSERT INTO arr VALUES (7, '{1,2,NaN}');
INSERT INTO arr VALUES (8, '{1,2,Infinity}');
INSERT INTO arr VALUES (9, NULL);
INSERT INTO arr SELECT i, ARRAY[i, -i, i % 5]::real[] FROM generate_series(10, 60) i;
SELECT dims, elements, heap_tids FROM n2_index_info('arr_l2');
EXPLAIN (costs off) SELECT id FROM arr ORDER BY v <-> '{1,2,3}' LIMIT 3;
SELECT id, v <-> '{1,2,3}' AS d FROM arr ORDER BY v <-> '{1,2,3}' LIMIT 3;
SELECT id FROM arr ORDER BY v <=> '{10,-10,0}' LIMIT 3;
SELECT id FROM arr ORDER BY v <#> '{1,-1,0}' LIMIT 3;
-- Query vectors of the wrong shape.
SELECT id FROM arr ORDER BY v <-> '{1,2}' LIMIT 3;
SELECT id FROM arr ORDER BY v <-> '{1,NULL,3}' LIMIT 3;
RESET enable_seqscan;
-- The same queries without the index.
SELECT id, v <-> '{1,2,3}' AS d FROM arr ORDER BY v <-> '{1,2,3}' LIMIT 3;
SELECT id FROM arr ORDER BY v <-> '{1,2}' LIMIT 3;
-- An index built on a non-empty real[] table takes the dimension from it.
CREATE INDEX arr_l2_2 ON arr USING n2 (v float4_l2_ops);
SELECT dims, elements FROM n2_index_info('arr_l2_2');
-- Rows of different lengths cannot be indexed together.
CREATE TABLE arr_mixed (id int, v real[]);
INSERT INTO arr_mixed VALUES (1, '{1,2,3}'), (2, '{1,2}');
CREATE INDEX ON arr_mixed USING n2 (v float4_l2_ops);

--
-- Dimension mismatch on insert and in the query (vector columns).
--
-- vector(3): the column's type modifier rejects it first.
INSERT INTO withnulls VALUES (100, '[1,2]');
-- vector without a type modifier: the index rejects it.
CREATE TABLE anydim (id int, v vector);
INSERT INTO anydim VALUES (1, '[1,2,3]'), (2, '[1,2]');
CREATE INDEX ON anydim USING n2 (v);
DELETE FROM anydim WHERE id = 2;
CREATE INDEX anydim_v ON anydim USING n2 (v);
INSERT INTO anydim VALUES (3, '[1,2]');
INSERT INTO anydim VALUES (4, '[1,2,3,4]');
INSERT INTO anydim VALUES (5, '[4,5,6]');
SELECT id FROM anydim ORDER BY id;
SET enable_seqscan = off;
SELECT id FROM anydim ORDER BY v <-> '[1,2]' LIMIT 3;
SELECT id FROM anydim ORDER BY v <-> '[1,2,3,4]' LIMIT 3;
SELECT id FROM anydim ORDER BY v <-> '[1,2,3]' LIMIT 3;
SELECT id FROM withnulls ORDER BY v <-> '[1,2]' LIMIT 3;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT id FROM withnulls ORDER BY v <-> '[1,2]' LIMIT 3;
RESET enable_indexscan;
-- NaN and infinity cannot be indexed or searched for.
INSERT INTO anydim VALUES (6, '[1,NaN,3]');
INSERT INTO anydim VALUES (7, '[1,Infinity,3]');

--
-- n2.iterative_scan and a filtered query.
--
SET enable_seqscan = off;
SET n2.ef_search = 10;
SHOW n2.iterative_scan;
-- strict_order (the default) and relaxed_order widen the search until the
-- filter has let LIMIT rows through.
SELECT count(*) FROM (SELECT id FROM pts WHERE id % 10 = 0
	ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
EXPLAIN (costs off) SELECT id FROM pts WHERE id % 10 = 0
	ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
-- (strict_order may skip a node found only after a farther one was returned.)
SELECT count(*) > 250 AS most_rows, count(DISTINCT id) = count(*) AS no_repeats
	FROM (SELECT id FROM pts ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 300) s;
SET n2.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM pts WHERE id % 10 = 0
	ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM pts
	ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 300) s;
SET n2.iterative_scan = strict_order;
-- strict_order never returns rows out of distance order.
SELECT bool_and(d <= coalesce(next_d, d)) AS ascending FROM (
	SELECT d, lead(d) OVER (ORDER BY n) AS next_d FROM (
		SELECT v <-> '[1,0,0,0,0,0,0,0]' AS d, row_number() OVER () AS n
		FROM (SELECT v FROM pts ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 300) s
	) t
) u;
-- With the filtered answers equal to exact ones at a wide ef_search.
SET n2.ef_search = 400;
SELECT ARRAY(SELECT id FROM pts WHERE id % 10 = 0
			 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) AS index_ids;
SET enable_indexscan = off;
RESET enable_seqscan;
SELECT ARRAY(SELECT id FROM pts WHERE id % 10 = 0
			 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) AS exact_ids;
RESET enable_indexscan;
SET enable_seqscan = off;
-- off: one search of width ef_search, no more.
SET n2.ef_search = 10;
SET n2.iterative_scan = off;
SELECT count(*) <= 10 AS at_most_ef_search FROM (SELECT id FROM pts
	ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 300) s;
SELECT count(*) < 10 AS filter_starves FROM (SELECT id FROM pts WHERE id % 10 = 0
	ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
-- n2.max_scan_tuples bounds how far an iterative scan walks the graph; with
-- n2.scan_fallback = off the scan ends there, otherwise a sequential pass
-- returns the rest in order.
SET n2.iterative_scan = strict_order;
SET n2.max_scan_tuples = 1;
SET n2.scan_fallback = off;
SELECT count(*) < 300 AS limited FROM (SELECT id FROM pts
	ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 300) s;
RESET n2.scan_fallback;
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM pts
							ORDER BY v <-> '[1,0,0,0,0,0,0,0]', id LIMIT 300) e) AS exact
	FROM (SELECT id FROM pts ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 300) s;
RESET n2.max_scan_tuples;
SET n2.scan_mem_multiplier = 2;
SELECT count(*) FROM (SELECT id FROM pts WHERE id % 10 = 0
	ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
RESET n2.scan_mem_multiplier;
RESET n2.iterative_scan;
RESET n2.ef_search;
RESET enable_seqscan;
-- Planner: the index answers ORDER BY ... LIMIT k; asked for a large share of
-- the rows, or all of them, it would walk most of the graph, return an
-- approximate answer and take longer than a sort, so the planner sorts.
-- (Costed as the pass alone, LIMIT 2500 of 5,000 took the index.)
CREATE TABLE plan5k (id int, v vector(32));
INSERT INTO plan5k
	SELECT i, (SELECT array_agg((hashint4(i * 32 + j) % 1000) / 1000.0 ORDER BY j)
			   FROM generate_series(1, 32) j)::vector
	FROM generate_series(1, 5000) i;
CREATE INDEX plan5k_idx ON plan5k USING n2 (v) WITH (n_threads = 1);
ANALYZE plan5k;
SET max_parallel_workers_per_gather = 0;
SET work_mem = '64kB';
EXPLAIN (COSTS OFF) SELECT id FROM plan5k ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM plan5k ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 2500;
EXPLAIN (COSTS OFF) SELECT id FROM plan5k ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]';
-- The same through an index with a filter column, with no condition on it:
-- its scan cannot read a list of matching elements, so it is costed like
-- the plain index's (the list's cost made LIMIT 2500 take it).
DROP INDEX plan5k_idx;
ALTER TABLE plan5k ADD COLUMN a int;
UPDATE plan5k SET a = id % 100;
CREATE INDEX plan5k_va ON plan5k USING n2 (v, a) WITH (n_threads = 1);
ANALYZE plan5k;
EXPLAIN (COSTS OFF) SELECT id FROM plan5k ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM plan5k ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 2500;
EXPLAIN (COSTS OFF) SELECT id FROM plan5k WHERE a = 7 ORDER BY v <-> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 10;
RESET work_mem;
RESET max_parallel_workers_per_gather;
DROP TABLE plan5k;

-- GUC validation.
SET n2.iterative_scan = 'sometimes';
SET n2.ef_search = 0;
SET n2.ef_search = 1001;
SET n2.upper_ef_search = -1;
SET n2.upper_ef_search = 1001;
SET n2.max_scan_tuples = 0;
SET n2.scan_mem_multiplier = 0.5;
SET n2.build_threads = -1;
SET n2.build_threads = 257;
SET n2.no_such_setting = 1;
-- n2.simd names the kernels this server chose (the CPU decides which); it is
-- read only.
SELECT current_setting('n2.simd') ~ '^(scalar|avx2|avx512)(, codes (scalar|avx2))?$' AS known_kernels;
SET n2.simd = 'scalar';
SELECT context, boot_val = setting AS boot_is_setting FROM pg_settings WHERE name = 'n2.simd';

DROP TABLE pts, qs, withnulls, zeros, dups, grow, unlogged_pts, arr, arr_mixed, anydim;
