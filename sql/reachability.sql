-- Reachability with the smallest lists (m = 2, max_m0 = 2): nearly every
-- insert makes a neighbour drop a link, often the only one into its target.
-- Every live row must stay reachable on level 0 (n2_verify) and the graph
-- walk alone must return every row.
CREATE TABLE r (id int, v vector(8));
CREATE FUNCTION rvec(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT (SELECT array_agg(sin(i * (j + 1) * 0.37 + j) * (1 + (i % 7) * 0.1) ORDER BY j)
			FROM generate_series(0, 7) j)::vector(8) $$;
INSERT INTO r SELECT i, rvec(i) FROM generate_series(1, 500) i;
CREATE INDEX r_idx ON r USING n2 (v) WITH (m = 2, max_m0 = 2, ef_construction = 16, n_threads = 1);
SELECT count(*) AS problems FROM n2_verify('r_idx');
INSERT INTO r SELECT i, rvec(i) FROM generate_series(501, 3000) i;
SELECT count(*) AS problems FROM n2_verify('r_idx');
DELETE FROM r WHERE id % 3 = 0;
VACUUM r;
SELECT count(*) AS problems FROM n2_verify('r_idx');
INSERT INTO r SELECT i, rvec(i) FROM generate_series(3001, 4000) i;
SELECT count(*) AS problems FROM n2_verify('r_idx');
SET enable_seqscan = off;
SET n2.iterative_scan = relaxed_order;
SET n2.scan_fallback = off;
SET n2.max_scan_tuples = 1000000;
SELECT count(*) = (SELECT count(*) FROM r) AS walk_returns_all
FROM (SELECT id FROM r ORDER BY v <-> rvec(7) LIMIT 100000) s;
RESET ALL;
DROP TABLE r;
-- VACUUM's reachability marks in a temporary file: with a cache of two
-- pages (test-only n2.mark_cache_limit) every access to the four maps
-- (base, live, seen, pending) evicts a page.  A mass deletion at m = 2
-- leaves many live elements that only deleted ones reach; all must be
-- linked.  Both of VACUUM's walks (before and after its repair) spill.
CREATE TABLE s (id int, v vector(8));
INSERT INTO s SELECT i, rvec(i) FROM generate_series(1, 3000) i;
CREATE INDEX s_idx ON s USING n2 (v) WITH (m = 2, max_m0 = 2, ef_construction = 4, n_threads = 1);
DELETE FROM s WHERE id % 3 <> 0;
SET n2.mark_cache_limit = 2;
SET client_min_messages = debug1;
\set VERBOSITY terse
VACUUM s;
\set VERBOSITY default
RESET client_min_messages;
RESET n2.mark_cache_limit;
SELECT count(*) AS problems FROM n2_verify('s_idx');
SET enable_seqscan = off;
SET n2.iterative_scan = relaxed_order;
SET n2.scan_fallback = off;
SET n2.max_scan_tuples = 1000000;
SELECT count(*) = (SELECT count(*) FROM s) AS walk_returns_all
FROM (SELECT id FROM s ORDER BY v <-> rvec(7) LIMIT 100000) q;
RESET ALL;
DROP TABLE s;
DROP FUNCTION rvec(int);
-- Inserts into a graph built with the smallest lists and a beam of 2: the
-- neighbours an insert picks are often far from ideal, so lists churn and
-- most new nodes need a link of their own (n2_connect).  Random 8-d reals
-- (seeded: the same rows every run; no two equal).  No element may be left
-- unreachable, and an index scan at each row's own vector, with the graph
-- walk alone (no sequential finish), must return that row at distance 0.
CREATE FUNCTION rv(d int) RETURNS vector LANGUAGE sql VOLATILE AS
  $$SELECT array_agg(random()::real)::vector FROM generate_series(1, d)$$;
SELECT setseed(0.07);
CREATE TABLE h3 (id bigserial PRIMARY KEY, v vector(8));
INSERT INTO h3 (v) SELECT rv(8) FROM generate_series(1, 200);
CREATE INDEX h3_idx ON h3 USING n2 (v) WITH (m = 2, max_m0 = 2, ef_construction = 2, n_threads = 1);
INSERT INTO h3 (v) SELECT rv(8) FROM generate_series(1, 4000);
SELECT problem, count(*) FROM n2_verify('h3_idx') GROUP BY 1;
SELECT count(DISTINCT v) = count(*) AS all_distinct FROM h3;
-- The filter (id + 0: no other index can serve it) rejects every other row,
-- so the scan walks on until it finds the row or runs out of graph;
-- relaxed_order, as strict_order skips a node found after a farther one.
SET enable_seqscan = off;
SET n2.ef_search = 400;
SET n2.iterative_scan = relaxed_order;
SET n2.scan_fallback = off;
SET n2.max_scan_tuples = 100000000;
CREATE VIEW h3_not_self_found AS
SELECT a.id
FROM h3 a LEFT JOIN LATERAL
	(SELECT b.id, l2_distance(b.v, a.v) AS d FROM h3 b WHERE b.id + 0 = a.id
	 ORDER BY b.v <-> a.v LIMIT 1) s ON true
WHERE s.id IS NULL OR s.d <> 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM h3_not_self_found;
SELECT count(*) AS not_self_found FROM h3_not_self_found;
RESET ALL;
DROP VIEW h3_not_self_found;
DROP TABLE h3;
DROP FUNCTION rv(int);

-- Copies that are not the nearest candidates: zero vectors under cosine are
-- copies of each other at distance 1, so a re-selection puts them first,
-- out of the candidates' order; choices written over the candidates they
-- came from made lists name a node twice (this seed: once).  Inserted
-- copies of non-zero vectors join their node: under cosine an element's
-- distance to its own vector is float rounding away from 0, not 0 (436
-- nodes of their own here before).
CREATE TABLE zc (id serial PRIMARY KEY, v vector(4));
SELECT setseed(0.6);
INSERT INTO zc (v) SELECT CASE WHEN g % 100 = 0 THEN '[0,0,0,0]' ELSE
	(SELECT array_agg(floor(random() * 5)::real + 1) FROM generate_series(1, 4) WHERE g > 0)::vector END
	FROM generate_series(1, 2000) g;
CREATE INDEX zc_idx ON zc USING n2 (v vector_cosine_ops)
	WITH (m = 4, max_m0 = 8, ef_construction = 32, n_threads = 1);
INSERT INTO zc (v) SELECT CASE WHEN g % 20 = 0 THEN '[0,0,0,0]' ELSE
	(SELECT array_agg(floor(random() * 5)::real + 1) FROM generate_series(1, 4) WHERE g > 0)::vector END
	FROM generate_series(1, 300) g;
SELECT * FROM n2_verify('zc_idx');
CREATE TEMP TABLE zc_nodes AS SELECT elements FROM n2_index_info('zc_idx');
INSERT INTO zc (v) SELECT v FROM zc WHERE v <> '[0,0,0,0]';
SELECT (SELECT elements FROM n2_index_info('zc_idx')) - elements AS new_nodes
	FROM zc_nodes;
SELECT * FROM n2_verify('zc_idx');
DROP TABLE zc, zc_nodes;
