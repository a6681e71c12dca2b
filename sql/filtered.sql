--
-- Filtered k-NN queries: the GUCs of iterative scans and their
-- bounds, filtered queries that return their LIMIT in ascending distance, a
-- filter matching 5 rows, plans for selective filters, the exact finish of a
-- scan whose graph walk a bound stopped (n2.scan_fallback), and the DEBUG1
-- messages of a bound.
--

-- The GUCs exist once the library is loaded (an index scan, or LOAD, or
-- shared_preload_libraries); before that, SET n2.* makes a placeholder.
LOAD 'n2';
-- Defaults.
SHOW n2.iterative_scan;
SHOW n2.max_scan_tuples;
SHOW n2.scan_mem_multiplier;
SHOW n2.scan_fallback;
SHOW n2.ef_search;
SELECT name, setting, unit, vartype, min_val, max_val, enumvals, context
	FROM pg_settings
	WHERE name IN ('n2.iterative_scan', 'n2.max_scan_tuples', 'n2.scan_mem_multiplier',
				   'n2.scan_fallback')
	ORDER BY name;

-- Every value of n2.iterative_scan, and the bounds of the other two.
SET n2.iterative_scan = off;
SHOW n2.iterative_scan;
SET n2.iterative_scan = relaxed_order;
SHOW n2.iterative_scan;
SET n2.iterative_scan = strict_order;
SHOW n2.iterative_scan;
SET n2.iterative_scan = 'on';
SET n2.iterative_scan = 'strict';
SET n2.iterative_scan = '';
SET n2.max_scan_tuples = 1;
SHOW n2.max_scan_tuples;
SET n2.max_scan_tuples = 2147483647;
SHOW n2.max_scan_tuples;
SET n2.max_scan_tuples = 0;
SET n2.max_scan_tuples = -1;
SET n2.max_scan_tuples = 2147483648;
SET n2.max_scan_tuples = 'many';
SET n2.scan_mem_multiplier = 1;
SHOW n2.scan_mem_multiplier;
SET n2.scan_mem_multiplier = 1000;
SHOW n2.scan_mem_multiplier;
SET n2.scan_mem_multiplier = 2.5;
SHOW n2.scan_mem_multiplier;
SET n2.scan_mem_multiplier = 0.99;
SET n2.scan_mem_multiplier = 0;
SET n2.scan_mem_multiplier = 1000.5;
SET n2.scan_mem_multiplier = 'NaN';
SET n2.scan_fallback = off;
SHOW n2.scan_fallback;
SET n2.scan_fallback = sequential;
SHOW n2.scan_fallback;
SET n2.scan_fallback = 'stop';
SET n2.scan_fallback = on;
-- The failed SETs left the last good values.
SHOW n2.max_scan_tuples;
SHOW n2.scan_mem_multiplier;
SHOW n2.scan_fallback;
RESET ALL;
SHOW n2.iterative_scan;
SHOW n2.max_scan_tuples;
SHOW n2.scan_mem_multiplier;
SHOW n2.scan_fallback;
-- Per transaction.
BEGIN;
SET LOCAL n2.iterative_scan = off;
SHOW n2.iterative_scan;
COMMIT;
SHOW n2.iterative_scan;

--
-- 5,000 deterministic 8-d points with a 10% label, a 1% bucket and a
-- column that is 1 on exactly 5 rows.
--
CREATE TABLE f_pts (id int PRIMARY KEY, label int NOT NULL, bucket int NOT NULL,
				   rare int NOT NULL, v vector(8));
INSERT INTO f_pts
	SELECT i, i % 10, i % 100, (i % 1000 = 7)::int,
		   (SELECT array_agg(sin(i * (j + 1) * 0.37 + j) * (1 + (i % 7) * 0.1) ORDER BY j)
			FROM generate_series(0, 7) j)::vector
	FROM generate_series(1, 5000) i;
-- One build thread: the same graph on every machine.
CREATE INDEX f_pts_n2 ON f_pts USING n2 (v) WITH (n_threads = 1);
ANALYZE f_pts;
CREATE TABLE f_q (qid int PRIMARY KEY, v vector(8));
INSERT INTO f_q
	SELECT k, (SELECT array_agg(cos(k * 1.3 + j * 0.7) ORDER BY j)
			   FROM generate_series(0, 7) j)::vector
	FROM generate_series(1, 5) k;

-- Exact filtered answers (sequential scan and sort) for each query and filter.
CREATE TEMP TABLE exact AS
	SELECT f.name, q.qid,
		   ARRAY(SELECT id FROM f_pts p
				 WHERE CASE f.name WHEN 'label' THEN p.label = q.qid
								   WHEN 'bucket' THEN p.bucket = q.qid END
				 ORDER BY p.v <-> q.v LIMIT 10) AS ids
	FROM f_q q, (VALUES ('label'), ('bucket')) f(name);
SELECT name, count(*), bool_and(cardinality(ids) = 10) AS ten_each FROM exact GROUP BY name ORDER BY name;

-- The index path: with the filter above the n2 scan.
SET enable_seqscan = off;
EXPLAIN (costs off)
	SELECT id FROM f_pts WHERE label = 3 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
EXPLAIN (costs off)
	SELECT id FROM f_pts WHERE bucket = 3 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;

-- strict_order (the default), default ef_search: LIMIT rows, each passing
-- the filter, in ascending distance, nearly all of the exact answer.
CREATE TEMP TABLE got AS
	SELECT f.name, q.qid, s.n, s.id, s.d
	FROM f_q q, (VALUES ('label'), ('bucket')) f(name),
	LATERAL (SELECT row_number() OVER () AS n, id, d FROM (
			 SELECT id, v <-> q.v AS d FROM f_pts p
			 WHERE CASE f.name WHEN 'label' THEN p.label = q.qid
							   WHEN 'bucket' THEN p.bucket = q.qid END
			 ORDER BY p.v <-> q.v LIMIT 10) r) s;
SELECT g.name, g.qid, count(*) AS rows,
	   bool_and(CASE g.name WHEN 'label' THEN p.label = g.qid ELSE p.bucket = g.qid END) AS filtered,
	   count(*) FILTER (WHERE g.id = ANY (e.ids)) >= 9 AS recall_ge_90
	FROM got g JOIN f_pts p USING (id) JOIN exact e USING (name, qid)
	GROUP BY g.name, g.qid ORDER BY g.name, g.qid;
SELECT name, bool_and(d >= coalesce(prev, d)) AS ascending FROM (
	SELECT name, d, lag(d) OVER (PARTITION BY name, qid ORDER BY n) AS prev FROM got) s
	GROUP BY name ORDER BY name;
DROP TABLE got;

-- relaxed_order also widens until the LIMIT is filled.
SET n2.iterative_scan = relaxed_order;
SELECT q.qid, (SELECT count(*) FROM (SELECT id FROM f_pts WHERE bucket = q.qid
										ORDER BY v <-> q.v LIMIT 10) s) AS rows
	FROM f_q q ORDER BY q.qid;
-- off: one search ef_search wide; a 1% filter lets few of its rows through.
SET n2.iterative_scan = off;
SET n2.ef_search = 10;
SELECT q.qid, (SELECT count(*) FROM (SELECT id FROM f_pts WHERE bucket = q.qid
										ORDER BY v <-> q.v LIMIT 10) s) < 10 AS starved
	FROM f_q q ORDER BY q.qid;
SELECT count(*) <= 10 AS at_most_ef_search FROM (
	SELECT id FROM f_pts ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 100) s;
RESET n2.iterative_scan;
RESET n2.ef_search;

-- A tiny n2.max_scan_tuples stops the graph walk almost at once; the
-- sequential finish still returns the exact filtered answer, in order.
SET n2.max_scan_tuples = 1;
SELECT q.qid,
	   (SELECT array_agg(id) FROM (SELECT id FROM f_pts WHERE bucket = q.qid
								   ORDER BY v <-> q.v LIMIT 10) s) =
	   (SELECT array_agg(id) FROM (SELECT id FROM f_pts WHERE bucket = q.qid
								   ORDER BY v <-> q.v, id LIMIT 10) e) AS exact
	FROM f_q q ORDER BY q.qid;
SET n2.iterative_scan = relaxed_order;
SELECT q.qid, (SELECT count(*) FROM (SELECT id FROM f_pts WHERE bucket = q.qid
									 ORDER BY v <-> q.v LIMIT 10) s) AS n
	FROM f_q q ORDER BY q.qid;
RESET n2.iterative_scan;
-- With n2.scan_fallback = off the bound ends the scan: fewer rows than the LIMIT.
SET n2.scan_fallback = off;
SELECT q.qid, (SELECT count(*) FROM (SELECT id FROM f_pts WHERE bucket = q.qid
										ORDER BY v <-> q.v LIMIT 10) s) < 10 AS stopped_short
	FROM f_q q ORDER BY q.qid;
RESET n2.scan_fallback;
RESET n2.max_scan_tuples;

--
-- A filter matching 5 rows returns those 5 and ends.
--
RESET enable_seqscan;
-- The planner knows it is 5 rows: sequential scan and sort.
EXPLAIN (costs off)
	SELECT id FROM f_pts WHERE rare = 1 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
SELECT id FROM f_pts WHERE rare = 1 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
-- The n2 index forced (no btree on rare): the same 5 rows in the same order.
SET enable_seqscan = off;
EXPLAIN (costs off)
	SELECT id FROM f_pts WHERE rare = 1 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
SELECT id FROM f_pts WHERE rare = 1 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
SET n2.iterative_scan = relaxed_order;
SELECT id FROM f_pts WHERE rare = 1 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
RESET n2.iterative_scan;
-- Even when the graph walk stops after one tuple, the sequential finish
-- returns the same 5 rows in the same order.
SET n2.max_scan_tuples = 1;
SELECT id FROM f_pts WHERE rare = 1 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
RESET n2.max_scan_tuples;
-- A filter nothing matches ends with no rows.
SELECT count(*) FROM (SELECT id FROM f_pts WHERE label = 10
					  ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10) s;
RESET enable_seqscan;

--
-- The planner prefers a btree, or a sequential scan and sort, for very
-- selective filters.
--
EXPLAIN (costs off)
	SELECT id FROM f_pts WHERE id = 5 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
SELECT id FROM f_pts WHERE id = 5 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
EXPLAIN (costs off)
	SELECT id FROM f_pts WHERE id < 50 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;
EXPLAIN (costs off)
	SELECT id FROM f_pts WHERE label = 3 AND bucket = 13 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 10;

--
-- When a bound stops the graph walk the scan says so at DEBUG1.  30 points whose level-0
-- graph is complete (naive selection, max_m0 above the row count): the first
-- expansion visits all 30, so the count in the message does not depend on
-- the graph's shape.
--
CREATE TABLE f_tiny (id int PRIMARY KEY, v vector(2));
INSERT INTO f_tiny SELECT i, ARRAY[cos(i * 0.7) * i, sin(i * 0.7) * i]::vector
	FROM generate_series(1, 30) i;
CREATE INDEX f_tiny_n2 ON f_tiny USING n2 (v)
	WITH (n_threads = 1, neighbor_selecting = 'naive', m = 32, max_m0 = 64);
SELECT elements, level0_degree_min, level0_degree_max FROM n2_index_info('f_tiny_n2');
SET enable_seqscan = off;
SET n2.ef_search = 1;
SET n2.max_scan_tuples = 1;
SET client_min_messages = debug1;
-- LIMIT 10 but only 3 rows pass: the scan is asked past its bound and
-- finishes with a sequential pass, which finds all 3.
SELECT id FROM f_tiny WHERE id % 10 = 0 ORDER BY v <-> '[3,3]' LIMIT 10;
-- n2.scan_fallback = off: the scan stops there, with fewer rows.
SET n2.scan_fallback = off;
SELECT id FROM f_tiny WHERE id % 10 = 0 ORDER BY v <-> '[3,3]' LIMIT 10;
RESET n2.scan_fallback;
-- A LIMIT met before the bound: no message.
SELECT id FROM f_tiny ORDER BY v <-> '[3,3]' LIMIT 1;
-- Without a bound in the way the scan runs out of graph: no message.
SET n2.max_scan_tuples = 1000;
SELECT id FROM f_tiny WHERE id % 10 = 0 ORDER BY v <-> '[3,3]' LIMIT 10;
-- Below debug1 the message is not sent.
SET n2.max_scan_tuples = 1;
RESET client_min_messages;
SELECT id FROM f_tiny WHERE id % 10 = 0 ORDER BY v <-> '[3,3]' LIMIT 10;
RESET ALL;

DROP TABLE f_pts, f_q, f_tiny;
