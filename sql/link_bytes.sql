--
-- link_bytes = auto | 4 | 6: how many bytes a graph link takes.  4-byte
-- links name blocks below 2^23 (64 GiB at 8 kB pages); an index with them
-- refuses to grow past that (n2.link4_max_blocks, test only, lowers it).
--
CREATE TABLE lb (id int PRIMARY KEY, v vector(16));
CREATE FUNCTION lb_vec(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(sin(i * (d + 1) * 0.37) + cos(i * 0.11 * d))::real[]::vector
	FROM generate_series(0, 15) d $$;
INSERT INTO lb SELECT i, lb_vec(i) FROM generate_series(1, 1500) i;

-- Values: the default (auto picks 4 for a small index), each value, errors.
CREATE INDEX lb_auto ON lb USING n2 (v) WITH (m = 8);
SELECT link_bytes FROM n2_index_info('lb_auto');
CREATE INDEX lb_4 ON lb USING n2 (v) WITH (m = 8, link_bytes = 4);
CREATE INDEX lb_6 ON lb USING n2 (v) WITH (m = 8, link_bytes = '6');
SELECT c.relname, c.reloptions, i.link_bytes, i.max_m0
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam, n2_index_info(c.oid) i
	WHERE a.amname = 'n2' AND c.relname LIKE 'lb\_%' ORDER BY c.relname;
CREATE INDEX lb_bad ON lb USING n2 (v) WITH (link_bytes = 5);
CREATE INDEX lb_bad ON lb USING n2 (v) WITH (link_bytes = 'eight');
CREATE INDEX lb_bad ON lb USING n2 (v) WITH (link_bytes = '');

-- A level-0 element with 4-byte links is 2 * max_m0 bytes smaller.
CREATE INDEX lb_flat4 ON lb USING n2 (v) WITH (m = 8, mult = 0, link_bytes = 4);
CREATE INDEX lb_flat6 ON lb USING n2 (v) WITH (m = 8, mult = 0, link_bytes = 6);
SELECT (SELECT element_bytes FROM n2_index_info('lb_flat6')) -
	   (SELECT element_bytes FROM n2_index_info('lb_flat4')) AS saved,
	   (SELECT pages FROM n2_index_info('lb_flat4')) <
	   (SELECT pages FROM n2_index_info('lb_flat6')) AS fewer_pages;
DROP INDEX lb_flat4, lb_flat6;

-- Both widths name the same graph: with an ef_search covering the whole
-- set, each index returns the exact nearest rows, and verifies clean.
SET n2.ef_search = 1000;
SET enable_indexscan = off;
CREATE TEMP TABLE lb_exact AS
	SELECT id FROM lb ORDER BY v <-> (SELECT v FROM lb WHERE id = 42) LIMIT 10;
RESET enable_indexscan;
SET enable_seqscan = off;
DROP INDEX lb_auto, lb_6;
EXPLAIN (COSTS OFF)
	SELECT id FROM lb ORDER BY v <-> (SELECT v FROM lb WHERE id = 42) LIMIT 10;
SELECT (SELECT array_agg(id) FROM (
			SELECT id FROM lb ORDER BY v <-> (SELECT v FROM lb WHERE id = 42)
			LIMIT 10) s) =
	   (SELECT array_agg(id) FROM lb_exact) AS exact4;
SELECT count(*) AS problems FROM n2_verify('lb_4');

-- Inserts, deletes and VACUUM keep a 4-byte index sound.
INSERT INTO lb SELECT i, lb_vec(i) FROM generate_series(1501, 2500) i;
DELETE FROM lb WHERE id % 4 = 0;
VACUUM lb;
SELECT count(*) AS problems FROM n2_verify('lb_4');
SELECT deleted, elements FROM n2_index_info('lb_4');

-- The limit.  A build that must use 4-byte links past it fails; auto takes
-- 6 when the index would fill half of it.
SET n2.link4_max_blocks = 20;
DO $$
BEGIN
	CREATE INDEX lb_over ON lb USING n2 (v) WITH (m = 8, link_bytes = 4);
EXCEPTION WHEN program_limit_exceeded THEN
	RAISE NOTICE 'build: %', SQLERRM;
END $$;
CREATE INDEX lb_over ON lb USING n2 (v) WITH (m = 8);
SELECT link_bytes, pages > 10 AS over_half FROM n2_index_info('lb_over');
DROP INDEX lb_over;

-- Inserts into a 4-byte index fill its pages up to the limit, then fail
-- with 54000 and the REINDEX hint; nothing is half-written.
SELECT pages AS limit_pages FROM n2_index_info('lb_4') \gset
SELECT set_config('n2.link4_max_blocks', :'limit_pages', false) IS NOT NULL AS set;
DO $$
BEGIN
	FOR i IN 3000..100000 LOOP
		INSERT INTO lb VALUES (i, lb_vec(i));
	END LOOP;
	RAISE NOTICE 'no insert failed';
EXCEPTION WHEN program_limit_exceeded THEN
	RAISE NOTICE 'insert: %', regexp_replace(SQLERRM, '\d+ blocks', 'N blocks');
END $$;
DO $$
DECLARE
	hint text;
BEGIN
	INSERT INTO lb SELECT i, lb_vec(i) FROM generate_series(10001, 10400) i;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, hint;
END $$;
SELECT pages = :limit_pages AS at_limit FROM n2_index_info('lb_4');
SELECT count(*) AS problems FROM n2_verify('lb_4');
SELECT count(*) AS found FROM (
	SELECT id FROM lb ORDER BY v <-> lb_vec(7) LIMIT 1000) s;

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
DROP FUNCTION lb_vec(int);
