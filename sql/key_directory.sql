--
-- The key directory of an index with filter columns (src/keys.c): a filter
-- few elements pass reads just those; a walk that finds few of them near the
-- query switches to that; past n2.max_scan_tuples of them it walks only
-- those.  The DEBUG1 lines say which; every answer is checked against the
-- same query with index scans off.  Inserts add entries, VACUUM removes them
-- (n2_verify checks both ways).
--
SET client_min_messages = warning;

-- Ten clusters along the first axis, one per cat: v = [cat * 10 + noise, ...].
CREATE TABLE kd (id int PRIMARY KEY, cat int, tag text, v vector(3));
INSERT INTO kd SELECT i, i % 10, 't' || (i % 7),
	ARRAY[(i % 10) * 10 + sin(i), cos(i), sin(i * 0.37)]::real[]::vector
	FROM generate_series(1, 2000) i;
CREATE INDEX kd_n2 ON kd USING n2 (v vector_l2_ops, cat, tag)
	WITH (m = 4, ef_construction = 40, n_threads = 1);
SELECT * FROM n2_verify('kd_n2');

CREATE FUNCTION kd_ids(filter text, q text, k int, tab text = 'kd') RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %I WHERE %s ORDER BY v <-> %L LIMIT %s) s',
				   tab, filter, q, k) INTO r;
	RETURN r;
END $$;
CREATE FUNCTION kd_same(filter text, q text, k int, tab text = 'kd') RETURNS bool
LANGUAGE plpgsql AS $$
DECLARE
	a int[];
	b int[];
BEGIN
	SET LOCAL enable_seqscan = on;
	SET LOCAL enable_indexscan = off;
	b := kd_ids(filter, q, k, tab);
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_indexscan = on;
	a := kd_ids(filter, q, k, tab);
	RETURN a IS NOT DISTINCT FROM b;
END $$;

SET enable_seqscan = off;
SET client_min_messages = debug1;

-- 29 rows pass: the directory lists them and all are read.
SELECT kd_same('cat = 3 AND tag = ''t2''', '[31,0,0]', 10);

-- 200 pass, near the query: the walk goes on.
SET n2.ef_search = 10;
SELECT kd_same('cat = 3', '[31,0,0]', 10);

-- 200 pass, none near the query (cluster 7): the walk's first visits find
-- none, and the listed ones are read instead.
SELECT kd_same('cat = 3', '[71,0,0]', 10);

-- The same with more listed than n2.max_scan_tuples: a walk over them only.
SET n2.max_scan_tuples = 100;
SELECT kd_same('cat = 3', '[71,0,0]', 10);
SELECT kd_same('cat = 3', '[71,0,0]', 150);
RESET n2.max_scan_tuples;
RESET client_min_messages;

-- Vectors at random and a filter unrelated to them: matching rows are as
-- common near the query as anywhere, so the walk goes on after its first
-- visits, but the graph (m = 4, 16 dimensions) makes it wander.  Once it has
-- visited as many nodes as match it reads those instead.
CREATE TABLE ku (id int PRIMARY KEY, cat int, v vector(16));
INSERT INTO ku SELECT i, i % 10,
	ARRAY(SELECT (abs(sin(i * 12.9898 + j * 78.233)) * 43758.5453)::numeric % 1
		  FROM generate_series(1, 16) j)::real[]::vector
	FROM generate_series(1, 3000) i;
CREATE INDEX ku_n2 ON ku USING n2 (v vector_l2_ops, cat)
	WITH (m = 4, ef_construction = 40, n_threads = 1);
SET n2.ef_search = 20;
SET client_min_messages = debug1;
SELECT kd_same('cat = 3', (SELECT v::text FROM ku WHERE id = 7), 10, 'ku');
SELECT kd_same('cat = 5', (SELECT v::text FROM ku WHERE id = 100), 10, 'ku');
RESET client_min_messages;
DROP TABLE ku;
RESET n2.ef_search;

-- Inserts add entries; a filter only they pass finds them.
INSERT INTO kd SELECT i, 42, 'new', ARRAY[(i - 2000) * 0.01, cos(i), 0]::real[]::vector
	FROM generate_series(2001, 2030) i;
SELECT * FROM n2_verify('kd_n2');
SELECT kd_same('cat = 42', '[0,0,0]', 50), cardinality(kd_ids('cat = 42', '[0,0,0]', 50));

-- VACUUM removes the entries of the elements it deletes; inserts reuse them.
DELETE FROM kd WHERE id % 3 = 0 OR cat = 42;
VACUUM kd;
SELECT * FROM n2_verify('kd_n2');
SELECT kd_same('cat = 3 AND tag = ''t2''', '[31,0,0]', 10);
SELECT cardinality(kd_ids('cat = 42', '[0,0,0]', 50));
INSERT INTO kd SELECT i, 43, 'again', ARRAY[(i - 3000) * 0.01, sin(i), 1]::real[]::vector
	FROM generate_series(3001, 3300) i;
SELECT * FROM n2_verify('kd_n2');
SELECT kd_same('cat = 43', '[0,0,1]', 400), cardinality(kd_ids('cat = 43', '[0,0,1]', 400));
SELECT kd_same('cat = 43 AND id % 10 = 0', '[0,0,1]', 10);

-- Compact codes: a pass orders by lower bounds and the executor rechecks;
-- a LIMIT past what one pass keeps takes more passes.
CREATE TABLE kq (id int PRIMARY KEY, cat int, v vector(3));
INSERT INTO kq SELECT i, i % 10,
	ARRAY[(i % 10) * 10 + sin(i), cos(i), sin(i * 0.37)]::real[]::vector
	FROM generate_series(1, 2000) i;
CREATE INDEX kq_n2 ON kq USING n2 (v vector_l2_ops, cat)
	WITH (m = 4, ef_construction = 40, n_threads = 1, storage = 'sq8');
SET client_min_messages = debug1;
SELECT kd_same('cat = 3 AND id % 7 = 2', '[31,0,0]', 10, 'kq');
SELECT kd_same('cat = 3', '[31,0,0]', 150, 'kq');
RESET client_min_messages;
SELECT * FROM n2_verify('kq_n2');
DROP TABLE kq;

-- Room VACUUM frees in the directory is used again: a table whose rows are
-- all updated over and over keeps its index size (the directory grew by
-- 10 pages a round here).
CREATE TABLE kr (id int, v vector(4), k int);
INSERT INTO kr SELECT i, ARRAY[i, 1, 1, 1]::vector, i % 10 FROM generate_series(1, 3000) i;
CREATE INDEX kr_n2 ON kr USING n2 (v, k) WITH (m = 4);
UPDATE kr SET v = ARRAY[id + 100000, 1, 1, 1]::vector;
VACUUM kr;
SELECT pg_relation_size('kr_n2') AS size_after_one \gset
UPDATE kr SET v = ARRAY[id + 200000, 1, 1, 1]::vector;
VACUUM kr;
UPDATE kr SET v = ARRAY[id + 300000, 1, 1, 1]::vector;
VACUUM kr;
UPDATE kr SET v = ARRAY[id + 400000, 1, 1, 1]::vector;
VACUUM kr;
SELECT (pg_relation_size('kr_n2') - :size_after_one) / 8192 <= 2 AS size_kept;
SELECT * FROM n2_verify('kr_n2');
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM kr WHERE k = 3 ORDER BY v <-> '[0,1,1,1]') s;
SELECT count(*) FROM kr r WHERE NOT EXISTS (SELECT FROM (SELECT id FROM kr
	WHERE k = r.k ORDER BY v <-> r.v LIMIT 1) s WHERE s.id = r.id);
RESET enable_seqscan;
DROP TABLE kr;

-- A filter no node near the query passes, with more matching elements than
-- the scan's memory lists (work_mem 64kB): the walk's first round stops at
-- n2.max_scan_tuples (it expanded every node in its way, whatever the bound)
-- and the sequential pass finishes exactly.
CREATE TABLE kf (id int, cat int, v vector(16));
INSERT INTO kf SELECT i, (i % 7 < 2)::int, ARRAY(SELECT ((i % 7 < 2)::int * 50 +
	(abs(sin(i * 12.9898 + x * 78.233)) * 43758.5453)::numeric % 1)::real
	FROM generate_series(1, 16) x)::vector FROM generate_series(1, 30000) i;
CREATE INDEX kf_n2 ON kf USING n2 (v, cat) WITH (m = 8, ef_construction = 40, n_threads = 1);
SET enable_seqscan = off;
SET n2.max_scan_tuples = 1000;
SET work_mem = '64kB';
SET client_min_messages = debug1;
SELECT array_agg(id) FROM (SELECT id FROM kf WHERE cat = 1
	ORDER BY v <-> array_fill(0.5, ARRAY[16])::vector LIMIT 5) s;
RESET client_min_messages;
RESET work_mem;
RESET n2.max_scan_tuples;
SET enable_indexscan = off;
SELECT array_agg(id) FROM (SELECT id FROM kf WHERE cat = 1
	ORDER BY v <-> array_fill(0.5, ARRAY[16])::vector LIMIT 5) s;
RESET enable_indexscan;
RESET enable_seqscan;
DROP TABLE kf;

-- The list pass sums squared L2 by blocks of 128 dimensions, in another
-- order than the operator: the distance a query projects is the operator's,
-- to the last bit (18 of 50 differed on 512-d vectors).
CREATE TABLE kw (id int, cat int, v vector(512));
INSERT INTO kw SELECT i, i % 10, ARRAY(SELECT (abs(sin(i * 12.9898 + j * 78.233)) * 43758.5453)::numeric % 1
	FROM generate_series(1, 512) j)::real[]::vector FROM generate_series(1, 2000) i;
CREATE INDEX kw_n2 ON kw USING n2 (v, cat) WITH (n_threads = 1);
SET enable_seqscan = off;
SET jit = off;
SELECT v::text AS q FROM kw WHERE id = 5 \gset
SET client_min_messages = debug1;
SELECT count(*) FILTER (WHERE d <> l2_distance(v, :'q')) AS differing, count(*)
FROM (SELECT v, v <-> :'q' AS d FROM kw WHERE cat = 3 ORDER BY v <-> :'q' LIMIT 50) t;
RESET client_min_messages;
RESET jit;
RESET enable_seqscan;
DROP TABLE kw;

-- An index without filter columns has no directory.
CREATE INDEX kd_plain ON kd USING n2 (v) WITH (m = 4);
SELECT * FROM n2_verify('kd_plain');
DROP TABLE kd;
DROP FUNCTION kd_ids, kd_same;
