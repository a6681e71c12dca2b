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
DROP FUNCTION rvec(int);
