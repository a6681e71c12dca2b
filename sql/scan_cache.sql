--
-- n2.scan_cache_size: a scan copies each index page it visits into memory of
-- its backend and reads the copy for the rest of the scan; the next scan
-- keeps the copy only while the page is unchanged.  Results are the same as
-- without copies, also right after this session changes the index, and a
-- warm scan reads far fewer index buffers.
--
CREATE TABLE sc (id int PRIMARY KEY, v vector(8));
INSERT INTO sc
	SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5), cos(i * 0.3), sin(i * 0.7) * 3,
					cos(i * 1.1) - 1, sin(i * 0.13), (i % 5)::float8]::real[]::vector
	FROM generate_series(1, 3000) i;
CREATE INDEX sc_v ON sc USING n2 (v) WITH (m = 4, ef_construction = 32);
SHOW n2.scan_cache_size;
SET n2.scan_cache_size = -1;
SET n2.scan_cache_size = '64MB';
SHOW n2.scan_cache_size;
RESET n2.scan_cache_size;

SET enable_seqscan = off;
SET n2.iterative_scan = off;

-- Index buffers a query reads (shared hits and reads).
CREATE FUNCTION sc_buffers(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, FORMAT JSON) ' || q
		INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Shared Hit Blocks')::bigint +
		(plan -> 0 -> 'Plan' ->> 'Shared Read Blocks')::bigint;
END $$;

-- The first row of each of 40 queries at a row's own vector: that row.
CREATE FUNCTION sc_self(lo int, hi int) RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM sc a
	WHERE a.id BETWEEN lo AND hi
	  AND (SELECT b.id FROM sc b ORDER BY b.v <-> a.v LIMIT 1) IS DISTINCT FROM a.id
$$;

-- A warm scan reads its pages from the copies: far fewer buffers.
SELECT sc_self(1, 40) AS missed_warming;
SET n2.scan_cache_size = 0;
SELECT sc_buffers('SELECT id FROM sc ORDER BY v <-> (SELECT v FROM sc WHERE id = 7) LIMIT 10') AS off
\gset
RESET n2.scan_cache_size;
SELECT sc_buffers('SELECT id FROM sc ORDER BY v <-> (SELECT v FROM sc WHERE id = 7) LIMIT 10') IS NOT NULL AS copied;
SELECT sc_buffers('SELECT id FROM sc ORDER BY v <-> (SELECT v FROM sc WHERE id = 7) LIMIT 10') AS warm
\gset
SELECT :warm * 3 < :off AS warm_reads_fewer;

-- Rows this session inserts are found by the next scan, though the pages
-- their links went to were copied before: a changed page is copied again.
INSERT INTO sc
	SELECT 10000 + i, ARRAY[sin(i) + 0.001, cos(i), sin(i * 0.5), cos(i * 0.3),
							sin(i * 0.7) * 3, cos(i * 1.1) - 1, sin(i * 0.13),
							(i % 5)::float8 + 0.5]::real[]::vector
	FROM generate_series(1, 40) i;
SELECT sc_self(10001, 10040) AS missed_inserted;

-- Moved rows are found where they went, and VACUUM's repair leaves every row
-- found.
UPDATE sc SET v = ARRAY[0.5, 0.5, 0.5, 0.5, id % 7, 0.5, 0.5, id % 3]::real[]::vector
	WHERE id BETWEEN 1 AND 20;
SELECT sc_self(1, 40) AS missed_moved;
DELETE FROM sc WHERE id BETWEEN 41 AND 1500;
VACUUM sc;
SELECT sc_self(1501, 1540) AS missed_after_vacuum;
SELECT count(*) AS problems FROM n2_verify('sc_v');

-- The same answers without copies.
CREATE TABLE sc_on AS
	SELECT a.id, (SELECT array_agg(id) FROM (SELECT b.id FROM sc b
		ORDER BY b.v <-> a.v LIMIT 5) s) AS top
	FROM sc a WHERE a.id % 50 = 0;
SET n2.scan_cache_size = 0;
SELECT count(*) AS differ FROM sc_on o
WHERE o.top IS DISTINCT FROM (SELECT array_agg(id) FROM (SELECT b.id FROM sc b
	ORDER BY b.v <-> (SELECT v FROM sc WHERE id = o.id) LIMIT 5) s);
RESET n2.scan_cache_size;

-- Room for two more copies than the larger of two indexes has pages, not
-- for both, the two scanned one inside the other (an ordered scan of sa
-- yields rows one at a time, and scans of sa and sb run for each): each
-- scan's copies make way for the others', and the answers stay those without
-- copies.  A copy takes a page and a few bytes more: 8232 bytes here.
CREATE TABLE sa AS SELECT id, v FROM sc WHERE id BETWEEN 1501 AND 2100;
CREATE TABLE sb AS SELECT id, v FROM sc WHERE id BETWEEN 2101 AND 2700;
CREATE INDEX sa_v ON sa USING n2 (v) WITH (m = 4, ef_construction = 32, n_threads = 1);
CREATE INDEX sb_v ON sb USING n2 (v) WITH (m = 4, ef_construction = 32, n_threads = 1);
SELECT greatest(pg_relation_size('sa_v'), pg_relation_size('sb_v')) / 8192 + 2 AS room,
	   (pg_relation_size('sa_v') + pg_relation_size('sb_v')) / 8192 AS both_pages
\gset
SELECT :both_pages > :room AS both_exceed_room;
SELECT ((:room * 8232 + 1023) / 1024) || 'kB' AS room_kb
\gset
CREATE FUNCTION sc_pairs() RETURNS TABLE (id int, near_a int[], near_b int[])
LANGUAGE sql AS $$
	SELECT a.id,
		   (SELECT array_agg(x.id) FROM (SELECT id FROM sa ORDER BY v <-> a.v LIMIT 3) x),
		   (SELECT array_agg(y.id) FROM (SELECT id FROM sb ORDER BY v <-> a.v LIMIT 3) y)
	FROM (SELECT id, v FROM sa ORDER BY v <-> (SELECT v FROM sc WHERE id = 1800)
		  LIMIT 30) a
$$;
SET n2.scan_cache_size = 0;
CREATE TABLE sc_pairs_off AS SELECT * FROM sc_pairs();
SET n2.scan_cache_size = :'room_kb';
SELECT count(*) AS pairs, count(*) FILTER (WHERE (o.near_a, o.near_b) IS DISTINCT FROM (p.near_a, p.near_b)) AS differ
FROM sc_pairs() p JOIN sc_pairs_off o USING (id);
SELECT count(*) FILTER (WHERE (o.near_a, o.near_b) IS DISTINCT FROM (p.near_a, p.near_b)) AS differ_again
FROM sc_pairs() p JOIN sc_pairs_off o USING (id);
RESET n2.scan_cache_size;

-- An unlogged index needs no WAL, so its pages keep no LSN to check a copy
-- against: it is read from its buffers.
CREATE UNLOGGED TABLE scu AS SELECT * FROM sc;
CREATE INDEX scu_v ON scu USING n2 (v) WITH (m = 4, ef_construction = 32);
SELECT count(*) FROM scu;
SELECT sc_buffers('SELECT id FROM scu ORDER BY v <-> (SELECT v FROM scu WHERE id = 1600) LIMIT 10') AS u1
\gset
SELECT sc_buffers('SELECT id FROM scu ORDER BY v <-> (SELECT v FROM scu WHERE id = 1600) LIMIT 10') AS u2
\gset
SELECT :u2 = :u1 AS unlogged_reads_buffers;

DROP TABLE sc, sc_on, scu, sa, sb, sc_pairs_off;
DROP FUNCTION sc_buffers(text), sc_self(int, int), sc_pairs();
