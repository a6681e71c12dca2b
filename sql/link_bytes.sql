--
-- link_bytes = auto | 3 | 4 | 6: how many bytes a graph link takes.  4-byte
-- links name blocks below 2^23 (64 GiB at 8 kB pages), 3-byte links below
-- 2^(24 - offset bits), the offset bits chosen per index; an index with
-- either refuses to grow past that (n2.link4_max_blocks and
-- n2.link3_max_blocks, test only, lower the limits).
--
CREATE TABLE lb (id int PRIMARY KEY, v vector(16));
CREATE FUNCTION lb_vec(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(sin(i * (d + 1) * 0.37) + cos(i * 0.11 * d))::real[]::vector
	FROM generate_series(0, 15) d $$;
INSERT INTO lb SELECT i, lb_vec(i) FROM generate_series(1, 1500) i;
-- Inserts rows first .. last into tbl one at a time until one fails with
-- 54000 (the link limit), and says so.
CREATE PROCEDURE lb_fill(tbl regclass, first int, last int) LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN first..last LOOP
		EXECUTE format('INSERT INTO %s VALUES ($1, lb_vec($1))', tbl) USING i;
	END LOOP;
	RAISE NOTICE 'no insert failed';
EXCEPTION WHEN program_limit_exceeded THEN
	RAISE NOTICE 'insert: %', regexp_replace(SQLERRM, '\d+ blocks', 'N blocks');
END $$;
-- Inserts 400 rows into lb in one statement; says what error and hint it got.
CREATE PROCEDURE lb_insert_many() LANGUAGE plpgsql AS $$
DECLARE
	hint text;
BEGIN
	INSERT INTO lb SELECT i, lb_vec(i) FROM generate_series(10001, 10400) i;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, hint;
END $$;

-- Values: the default (auto picks 3 for a small index whose vectors always
-- fit in their elements), each value, errors.
CREATE INDEX lb_auto ON lb USING n2 (v) WITH (m = 8);
SELECT link_bytes FROM n2_index_info('lb_auto');
CREATE INDEX lb_3 ON lb USING n2 (v) WITH (m = 8, link_bytes = '3');
CREATE INDEX lb_4 ON lb USING n2 (v) WITH (m = 8, link_bytes = 4);
CREATE INDEX lb_6 ON lb USING n2 (v) WITH (m = 8, link_bytes = '6');
SELECT c.relname, c.reloptions, i.link_bytes, i.max_m0, i.max_pages
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam, n2_index_info(c.oid) i
	WHERE a.amname = 'n2' AND c.relname LIKE 'lb\_%' ORDER BY c.relname;
CREATE INDEX lb_bad ON lb USING n2 (v) WITH (link_bytes = 5);
CREATE INDEX lb_bad ON lb USING n2 (v) WITH (link_bytes = 'eight');
CREATE INDEX lb_bad ON lb USING n2 (v) WITH (link_bytes = '');
CREATE INDEX lb_bad ON lb USING n2 (v) WITH (link_bytes = 2);

-- A level-0 element with 4-byte links is 2 * max_m0 bytes smaller, with
-- 3-byte links max_m0 bytes smaller again.
CREATE INDEX lb_flat3 ON lb USING n2 (v) WITH (m = 8, mult = 0, link_bytes = 3);
CREATE INDEX lb_flat4 ON lb USING n2 (v) WITH (m = 8, mult = 0, link_bytes = 4);
CREATE INDEX lb_flat6 ON lb USING n2 (v) WITH (m = 8, mult = 0, link_bytes = 6);
SELECT (SELECT element_bytes FROM n2_index_info('lb_flat6')) -
	   (SELECT element_bytes FROM n2_index_info('lb_flat4')) AS saved,
	   (SELECT pages FROM n2_index_info('lb_flat4')) <
	   (SELECT pages FROM n2_index_info('lb_flat6')) AS fewer_pages;
SELECT (SELECT element_bytes FROM n2_index_info('lb_flat4')) -
	   (SELECT element_bytes FROM n2_index_info('lb_flat3')) AS saved3,
	   (SELECT pages FROM n2_index_info('lb_flat3')) <
	   (SELECT pages FROM n2_index_info('lb_flat4')) AS fewer_pages3;
DROP INDEX lb_flat3, lb_flat4, lb_flat6;

-- Both widths name the same graph: with an ef_search covering the whole
-- set, each index returns the exact nearest rows, and verifies clean.
SET n2.ef_search = 1000;
SET enable_indexscan = off;
CREATE TEMP TABLE lb_exact AS
	SELECT id FROM lb ORDER BY v <-> (SELECT v FROM lb WHERE id = 42) LIMIT 10;
RESET enable_indexscan;
SET enable_seqscan = off;
DROP INDEX lb_auto, lb_6;
BEGIN;
DROP INDEX lb_3;
EXPLAIN (COSTS OFF)
	SELECT id FROM lb ORDER BY v <-> (SELECT v FROM lb WHERE id = 42) LIMIT 10;
SELECT (SELECT array_agg(id) FROM (
			SELECT id FROM lb ORDER BY v <-> (SELECT v FROM lb WHERE id = 42)
			LIMIT 10) s) =
	   (SELECT array_agg(id) FROM lb_exact) AS exact4;
ROLLBACK;
BEGIN;
DROP INDEX lb_4;
EXPLAIN (COSTS OFF)
	SELECT id FROM lb ORDER BY v <-> (SELECT v FROM lb WHERE id = 42) LIMIT 10;
SELECT (SELECT array_agg(id) FROM (
			SELECT id FROM lb ORDER BY v <-> (SELECT v FROM lb WHERE id = 42)
			LIMIT 10) s) =
	   (SELECT array_agg(id) FROM lb_exact) AS exact3;
ROLLBACK;
SELECT count(*) AS problems FROM n2_verify('lb_4');
SELECT count(*) AS problems FROM n2_verify('lb_3');

-- Inserts, deletes and VACUUM keep 4- and 3-byte indexes sound.
INSERT INTO lb SELECT i, lb_vec(i) FROM generate_series(1501, 2500) i;
DELETE FROM lb WHERE id % 4 = 0;
VACUUM lb;
SELECT count(*) AS problems FROM n2_verify('lb_4');
SELECT deleted, elements FROM n2_index_info('lb_4');
SELECT count(*) AS problems FROM n2_verify('lb_3');
SELECT deleted, elements FROM n2_index_info('lb_3');

-- The limits.  A build that must use 4- or 3-byte links past theirs fails;
-- auto takes 4 when the index would fill more than an eighth of the 3-byte
-- limit, and 6 when it would also fill half of the 4-byte one.
SET n2.link4_max_blocks = 20;
SET n2.link3_max_blocks = 20;
DO $$
BEGIN
	CREATE INDEX lb_over ON lb USING n2 (v) WITH (m = 8, link_bytes = 4);
EXCEPTION WHEN program_limit_exceeded THEN
	RAISE NOTICE 'build: %', SQLERRM;
END $$;
DO $$
DECLARE
	hint text;
BEGIN
	CREATE INDEX lb_over ON lb USING n2 (v) WITH (m = 8, link_bytes = 3);
EXCEPTION WHEN program_limit_exceeded THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RAISE NOTICE 'build: %', SQLERRM;
	RAISE NOTICE 'hint: %', hint;
END $$;
CREATE INDEX lb_over ON lb USING n2 (v) WITH (m = 8);
SELECT link_bytes, pages > 10 AS over_half FROM n2_index_info('lb_over');
DROP INDEX lb_over;
RESET n2.link4_max_blocks;
SET n2.link3_max_blocks = 200;
CREATE INDEX lb_over ON lb USING n2 (v) WITH (m = 8);
SELECT link_bytes, pages > 25 AS over_eighth FROM n2_index_info('lb_over');
DROP INDEX lb_over;
RESET n2.link3_max_blocks;

-- Once the build has read the whole table, the rows it saw, not the
-- planner's estimate, size the index: here the estimate is still the 1,500
-- rows analyzed, the build sees 500, and the index fits an eighth of the
-- 3-byte limit only at its true size (taken from the same 500 rows in
-- another table: a build updates its table's row count).
CREATE TABLE lbs_rows AS SELECT * FROM lb WHERE id <= 1500 AND id % 3 = 0;
CREATE INDEX lbs_3 ON lbs_rows USING n2 (v) WITH (m = 8, link_bytes = 3);
SELECT pages AS lbs_pages FROM n2_index_info('lbs_3') \gset
CREATE TABLE lbs AS SELECT * FROM lb WHERE id <= 1500;
ANALYZE lbs;
DELETE FROM lbs WHERE id % 3 <> 0;
SELECT set_config('n2.link3_max_blocks', (:lbs_pages * 8 + 8)::text, false) IS NOT NULL AS set;
CREATE INDEX lbs_auto ON lbs USING n2 (v) WITH (m = 8);
SELECT link_bytes, pages = :lbs_pages AS same_pages FROM n2_index_info('lbs_auto');
RESET n2.link3_max_blocks;
DROP TABLE lbs, lbs_rows;

-- Inserts into a 3-byte index fill its pages up to the limit, then fail
-- with 54000 and the REINDEX hint naming 4-byte links; nothing is
-- half-written.
SELECT pages AS limit3_pages FROM n2_index_info('lb_3') \gset
SELECT set_config('n2.link3_max_blocks', :'limit3_pages', false) IS NOT NULL AS set;
CALL lb_fill('lb', 3000, 100000);
CALL lb_insert_many();
SELECT pages = :limit3_pages AS at_limit, max_pages = :limit3_pages AS max_is_limit
	FROM n2_index_info('lb_3');
SELECT count(*) AS problems FROM n2_verify('lb_3');
BEGIN;
DROP INDEX lb_4;
SELECT count(*) AS found FROM (
	SELECT id FROM lb ORDER BY v <-> lb_vec(7) LIMIT 1000) s;
ROLLBACK;
SELECT count(*) AS problems FROM n2_verify('lb_4');
-- the hint's remedy
ALTER INDEX lb_3 SET (link_bytes = 4);
REINDEX INDEX lb_3;
SELECT link_bytes FROM n2_index_info('lb_3');
SELECT count(*) AS problems FROM n2_verify('lb_3');
DROP INDEX lb_3;
RESET n2.link3_max_blocks;

-- Inserts into a 4-byte index fill its pages up to the limit, then fail
-- with 54000 and the REINDEX hint; nothing is half-written.
SELECT pages AS limit_pages FROM n2_index_info('lb_4') \gset
SELECT set_config('n2.link4_max_blocks', :'limit_pages', false) IS NOT NULL AS set;
CALL lb_fill('lb', 3000, 100000);
CALL lb_insert_many();
SELECT pages = :limit_pages AS at_limit, max_pages = :limit_pages AS max_is_limit
	FROM n2_index_info('lb_4');
SELECT count(*) AS problems FROM n2_verify('lb_4');
SELECT count(*) AS found FROM (
	SELECT id FROM lb ORDER BY v <-> lb_vec(7) LIMIT 1000) s;

-- Free space past the limit never takes an element: with the limit lowered
-- to two pages, VACUUM's free space on the later pages is skipped and an
-- insert that finds no room below the limit fails as a growing one would.
CREATE TABLE lbf (id int, v vector(16));
INSERT INTO lbf SELECT i, lb_vec(i) FROM generate_series(1, 1500) i;
CREATE INDEX lbf_i ON lbf USING n2 (v vector_l2_ops)
	WITH (m = 4, n_threads = 1, link_bytes = 4);
DELETE FROM lbf WHERE id > 20;
VACUUM lbf;
SET n2.link4_max_blocks = 2;
CALL lb_fill('lbf', 1501, 3000);
SELECT count(*) AS problems FROM n2_verify('lbf_i');
RESET n2.link4_max_blocks;
DROP TABLE lbf;

-- The hint's remedy: 6-byte links, which have no such limit.
ALTER INDEX lb_4 SET (link_bytes = 6);
REINDEX INDEX lb_4;
SELECT link_bytes FROM n2_index_info('lb_4');
INSERT INTO lb SELECT i, lb_vec(i) FROM generate_series(10001, 10400) i;
SELECT pages > :limit_pages AS grew FROM n2_index_info('lb_4');
SELECT count(*) AS problems FROM n2_verify('lb_4');
-- and VACUUM repairs a 6-byte graph as it does a 4-byte one
DELETE FROM lb WHERE id % 3 = 0;
VACUUM lb;
SELECT count(*) AS problems FROM n2_verify('lb_4');
SELECT count(*) AS found FROM (
	SELECT id FROM lb ORDER BY v <-> lb_vec(7) LIMIT 1000) s;
RESET n2.link4_max_blocks;

DROP TABLE lb;

-- Which indexes can have 3-byte links: every vector must always fit in its
-- element (elements of any level, with the largest keys), since the
-- chunks of a wider vector can be tiny; and the dimensions must be known.
CREATE TABLE lbw (id int, c int, v vector(1900));
INSERT INTO lbw SELECT i, i % 3, array_fill(i::real, ARRAY[1900])::vector
	FROM generate_series(1, 20) i;
CREATE INDEX lbw_auto ON lbw USING n2 (v) WITH (m = 8);
SELECT link_bytes FROM n2_index_info('lbw_auto');
CREATE INDEX lbw_3 ON lbw USING n2 (v) WITH (m = 8, link_bytes = 3);
-- at float16 the same vectors fit, even with filter keys
CREATE INDEX lbw_half ON lbw USING n2 (v, c) WITH (m = 8, storage = float16);
SELECT link_bytes FROM n2_index_info('lbw_half');
SELECT count(*) AS problems FROM n2_verify('lbw_half');
DROP TABLE lbw;
-- (unlogged: the init forks get a metapage with the same widths, but 4 for
-- the real[] index, whose init fork cannot know its dimensions)
CREATE UNLOGGED TABLE lbe (id int, a real[], v vector(16));
-- a real[] column's dimensions are known only from its rows
CREATE INDEX lbe_a3 ON lbe USING n2 (a float4_l2_ops) WITH (link_bytes = 3);
-- an empty index says nothing of its size: auto takes 4; 3 when asked
CREATE INDEX lbe_auto ON lbe USING n2 (v);
CREATE INDEX lbe_3 ON lbe USING n2 (v) WITH (link_bytes = 3);
SELECT link_bytes FROM n2_index_info('lbe_auto');
SELECT link_bytes FROM n2_index_info('lbe_3');
INSERT INTO lbe SELECT i, array_fill(i::real, ARRAY[16]),
	array_fill(i::real, ARRAY[16])::vector FROM generate_series(1, 300) i;
SELECT count(*) AS problems FROM n2_verify('lbe_3');
CREATE INDEX lbe_a3 ON lbe USING n2 (a float4_l2_ops) WITH (link_bytes = 3);
SELECT link_bytes FROM n2_index_info('lbe_a3');
DROP TABLE lbe;
-- Growing past half of what its links name, an index warns: once here,
-- at the first block past half (then at every 32nd of the limit).
CREATE TABLE lbw (id int, v vector(16));
INSERT INTO lbw SELECT i, lb_vec(i) FROM generate_series(1, 300) i;
CREATE INDEX lbw_3 ON lbw USING n2 (v) WITH (m = 8, link_bytes = 3);
SELECT set_config('n2.link3_max_blocks',
	(pg_relation_size('lbw_3') / 8192 * 2 + 64)::text, false) IS NOT NULL AS set;
DO $$
DECLARE
	half bigint := current_setting('n2.link3_max_blocks')::bigint / 2;
BEGIN
	FOR i IN 301 .. 100000 LOOP
		INSERT INTO lbw VALUES (i, lb_vec(i));
		EXIT WHEN pg_relation_size('lbw_3') / 8192 > half;
	END LOOP;
END $$;
RESET n2.link3_max_blocks;
SELECT count(*) AS problems FROM n2_verify('lbw_3');
DROP TABLE lbw;

DROP PROCEDURE lb_fill, lb_insert_many;
DROP FUNCTION lb_vec(int);
