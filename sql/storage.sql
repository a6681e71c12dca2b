--
-- storage = float4 | float16 | sq8: how an index codes its vectors.  Compact
-- codes are lossy: scans order by lower bounds and the executor rechecks on
-- the heap rows, so results are in exact distance order and equal an exact
-- scan's.
--
CREATE TABLE st (id int PRIMARY KEY, v vector(8), a real[]);
INSERT INTO st
	SELECT i, x::vector, x
	FROM (SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5), cos(i * 0.3),
						  sin(i * 0.7) * 3, cos(i * 1.1) - 1, sin(i * 0.13), i % 5]::real[] AS x
		  FROM generate_series(1, 600) i) s;

-- Values: the default, each name, and errors.
CREATE INDEX st_default ON st USING n2 (v);
SELECT storage FROM n2_index_info('st_default');
DROP INDEX st_default;
CREATE INDEX st_bad ON st USING n2 (v) WITH (storage = 'int8');
CREATE INDEX st_bad ON st USING n2 (v) WITH (storage = '');
CREATE INDEX st_bad ON st USING n2 (v) WITH (storage = 1);

-- Exact order: the top rows of an index scan are an exact scan's, in order,
-- with the operator's distances, for each storage and metric.
CREATE FUNCTION st_check(storage text, opclass text, op text, col text DEFAULT 'v')
RETURNS TABLE (storage_shown text, element_bytes_ok bool, uses_index bool,
			   same_as_exact bool, problems bigint)
LANGUAGE plpgsql AS $$
DECLARE
	q text := '(SELECT ' || col || ' FROM st WHERE id = 77)';
	got int[];
	want int[];
	plan text;
BEGIN
	EXECUTE format('CREATE INDEX st_idx ON st USING n2 (%s %s) WITH (storage = %L)',
				   col, opclass, storage);
	SET LOCAL enable_seqscan = off;
	SET LOCAL n2.ef_search = 100;
	uses_index := false;
	FOR plan IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM st ORDER BY %s %s %s LIMIT 15',
							   col, op, q)
	LOOP
		uses_index := uses_index OR plan LIKE '%Index Scan using st_idx%';
	END LOOP;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM st ORDER BY %s %s %s LIMIT 15) s',
				   col, op, q) INTO got;
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_seqscan = on;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM st ORDER BY %s %s %s, id LIMIT 15) s',
				   col, op, q) INTO want;
	same_as_exact := got = want;
	SELECT i.storage, i.element_bytes > 0 INTO storage_shown, element_bytes_ok
	FROM n2_index_info('st_idx') i;
	SELECT count(*) INTO problems FROM n2_verify('st_idx');
	DROP INDEX st_idx;
	RETURN NEXT;
END
$$;

SELECT s, o.op, c.*
FROM unnest(ARRAY['float4', 'float16', 'sq8']) s,
	 (VALUES ('vector_l2_ops', '<->'), ('vector_angular_ops', '<=>'),
			 ('vector_dot_ops', '<#>')) o(opclass, op),
	 LATERAL st_check(s, o.opclass, o.op) c
ORDER BY 1, 2;
SELECT s, o.op, c.*
FROM unnest(ARRAY['float16', 'sq8']) s,
	 (VALUES ('float4_l2_ops', '<->'), ('float4_angular_ops', '<=>'),
			 ('float4_dot_ops', '<#>')) o(opclass, op),
	 LATERAL st_check(s, o.opclass, o.op, 'a') c
ORDER BY 1, 2;

-- Smaller elements: 8 dimensions take 32, 8 + 16 or 8 + 8 bytes.
CREATE INDEX st_f4 ON st USING n2 (v) WITH (storage = float4);
CREATE INDEX st_f16 ON st USING n2 (v) WITH (storage = float16);
CREATE INDEX st_sq8 ON st USING n2 (v) WITH (storage = sq8);
-- (element_bytes is an average: rounded, as float division leaves noise)
SELECT f4.link_bytes AS f4_links, f16.link_bytes AS f16_links,
	   sq8.link_bytes AS sq8_links,
	   round((f16.element_bytes - f4.element_bytes)::numeric, 6) AS float16_minus_float4,
	   round((sq8.element_bytes - f4.element_bytes)::numeric, 6) AS sq8_minus_float4
FROM n2_index_info('st_f4') f4, n2_index_info('st_f16') f16, n2_index_info('st_sq8') sq8;
DROP INDEX st_f4, st_f16;

-- Inserts after the build are coded with the trained ranges, values
-- outside them clamped; rows still come out in exact order.
INSERT INTO st SELECT 1000 + i, ARRAY[i * 10, -i * 10, 0, 0, 0, 0, 0, 0]::real[]::vector
	FROM generate_series(1, 20) i;
INSERT INTO st SELECT 2000 + id, v FROM st WHERE id <= 20;
SET enable_seqscan = off;
SELECT id, d FROM (
	SELECT id, round((v <-> '[100,-100,0,0,0,0,0,0]')::numeric, 4) AS d
	FROM st ORDER BY v <-> '[100,-100,0,0,0,0,0,0]' LIMIT 5) s
ORDER BY d, id;
SELECT id FROM (SELECT id FROM st ORDER BY v <-> (SELECT v FROM st WHERE id = 3) LIMIT 2) s
ORDER BY id;
SELECT elements, heap_tids FROM n2_index_info('st_sq8');
SELECT count(*) AS problems FROM n2_verify('st_sq8');
DELETE FROM st WHERE id % 4 = 0;
VACUUM st;
SELECT count(*) AS problems FROM n2_verify('st_sq8');
SET n2.iterative_scan = relaxed_order;
SELECT count(*) = (SELECT count(*) FROM st) AS all_rows
FROM (SELECT id FROM st ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 1000) s;
RESET n2.iterative_scan;
RESET enable_seqscan;

-- float16 clamps at 65504: a query near a vector far beyond that is far from
-- its code, so far that the distance to the code overflows float; the row
-- still comes first.
CREATE TABLE far (id int, v vector(2));
INSERT INTO far VALUES (1, '[3e38,0]'), (2, '[0,0]'), (3, '[1,1]');
CREATE INDEX far_f16 ON far USING n2 (v) WITH (storage = float16);
SET enable_seqscan = off;
SELECT (array_agg(id))[1] AS first, count(*) FROM
	(SELECT id FROM far ORDER BY v <-> '[3e38,1]' LIMIT 3) s;
RESET enable_seqscan;
DROP TABLE far;

-- Changing the option says a REINDEX is needed; REINDEX applies it.
ALTER INDEX st_sq8 SET (storage = float16);
SELECT storage FROM n2_index_info('st_sq8');
REINDEX INDEX st_sq8;
SELECT storage FROM n2_index_info('st_sq8');
ALTER INDEX st_sq8 SET (storage = 'bits');

-- An sq8 index built empty is trained by its first insert.
CREATE TABLE st_empty (id int, v vector(3));
CREATE INDEX st_empty_idx ON st_empty USING n2 (v) WITH (storage = sq8);
INSERT INTO st_empty SELECT i, ARRAY[i, -i, i * 0.5]::vector FROM generate_series(1, 50) i;
SET enable_seqscan = off;
SELECT id FROM st_empty ORDER BY v <-> '[10,-10,5]' LIMIT 3;
RESET enable_seqscan;
SELECT count(*) AS problems FROM n2_verify('st_empty_idx');

-- Wide vectors: float16 keeps 3,000 dimensions in one tuple, 5,000 continue
-- in a vector chunk; sq8 keeps 5,000 in one.
CREATE TABLE stw (id int, v vector(5000));
INSERT INTO stw SELECT i, array_fill((i % 7)::real, ARRAY[5000])::vector FROM generate_series(1, 30) i;
UPDATE stw SET v = (SELECT array_agg(sin(id * k)::real) FROM generate_series(1, 5000) k)::vector;
CREATE INDEX stw_f16 ON stw USING n2 (v) WITH (storage = float16);
CREATE INDEX stw_sq8 ON stw USING n2 (v) WITH (storage = sq8);
SELECT storage, pages FROM n2_index_info('stw_f16') UNION ALL SELECT storage, pages FROM n2_index_info('stw_sq8');
SET enable_seqscan = off;
DROP INDEX stw_sq8;
SELECT array_agg(id) FROM (SELECT id FROM stw ORDER BY v <-> (SELECT v FROM stw WHERE id = 5) LIMIT 5) s;
DROP INDEX stw_f16;
CREATE INDEX stw_sq8 ON stw USING n2 (v) WITH (storage = sq8);
SELECT array_agg(id) FROM (SELECT id FROM stw ORDER BY v <-> (SELECT v FROM stw WHERE id = 5) LIMIT 5) s;
RESET enable_seqscan;
SELECT array_agg(id) FROM (SELECT id FROM stw ORDER BY v <-> (SELECT v FROM stw WHERE id = 5) LIMIT 5) s;
SELECT count(*) AS problems FROM n2_verify('stw_sq8');

-- Past maintenance_work_mem the build trains sq8 on the rows it holds and
-- inserts the rest, coded with those ranges.
CREATE TABLE stb (id int, v vector(64));
INSERT INTO stb SELECT i, (SELECT array_agg(sin(i * k * 0.01)::real) FROM generate_series(1, 64) k)::vector
	FROM generate_series(1, 4000) i;
SET maintenance_work_mem = '1MB';
-- (the count in the NOTICE depends on the build's memory accounting only)
CREATE INDEX stb_sq8 ON stb USING n2 (v) WITH (storage = sq8, n_threads = 1);
RESET maintenance_work_mem;
SELECT storage, elements, heap_tids FROM n2_index_info('stb_sq8');
SELECT count(*) AS problems FROM n2_verify('stb_sq8');
SET enable_seqscan = off;
SELECT array_agg(id) FROM (SELECT id FROM stb ORDER BY v <-> (SELECT v FROM stb WHERE id = 3999) LIMIT 8) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(id) FROM (SELECT id FROM stb ORDER BY v <-> (SELECT v FROM stb WHERE id = 3999) LIMIT 8) s;
RESET enable_indexscan;

-- A halfvec column's values are float16 already: by default (storage =
-- auto) its index stores them so; float4 when asked.  An ALTER to auto on a
-- float4 index over vectors changes nothing (auto means float4 there).
CREATE TABLE sth (id int, h halfvec(3), v vector(3));
INSERT INTO sth SELECT i, ARRAY[i, i * 0.5, 1]::real[]::halfvec(3), ARRAY[i, 1, 2]::real[]::vector(3)
	FROM generate_series(1, 50) i;
CREATE INDEX sth_auto ON sth USING n2 (h halfvec_l2_ops);
CREATE INDEX sth_f4 ON sth USING n2 (h halfvec_l2_ops) WITH (storage = float4);
CREATE INDEX sth_v ON sth USING n2 (v) WITH (storage = float4);
SELECT storage FROM n2_index_info('sth_auto');
SELECT storage FROM n2_index_info('sth_f4');
ALTER INDEX sth_v SET (storage = auto);
SET enable_seqscan = off;
SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM sth ORDER BY h <-> '[7,3.5,1]' LIMIT 3) s;
RESET enable_seqscan;
SELECT count(*) AS problems FROM n2_verify('sth_auto');

-- A lossy scan's rows are rechecked on the heap and their distance is
-- projected again; the second evaluation reuses the first for the same stored
-- bytes, query and operator (distmemo.c).  Vectors stored compressed (mostly
-- zeros) and out of line (2,100 dimensions), several queries in one
-- statement, two operators per row, and more rows than the memo has slots
-- (its slots are reused): every projected distance equals the exact scan's.
CREATE FUNCTION st_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q;
END $$;
CREATE TABLE stm (id int, z vector(800), w vector(2100));
INSERT INTO stm SELECT i,
	(SELECT array_agg(CASE WHEN k <= 100 THEN sin(i * 0.29 + k * 0.7)::real ELSE 0 END)
	 FROM generate_series(1, 800) k)::vector,
	(SELECT array_agg(sin(i * 0.37 + k * 0.011)::real) FROM generate_series(1, 2100) k)::vector
	FROM generate_series(1, 300) i;
SELECT pg_column_compression(z) IS NOT NULL AS z_compressed,
		pg_column_size(w) < 2100 * 4 AS w_compressed FROM stm WHERE id = 1;
CREATE INDEX stm_z ON stm USING n2 (z) WITH (storage = sq8);
CREATE INDEX stm_w ON stm USING n2 (w vector_cosine_ops) WITH (storage = float16);
SET enable_seqscan = off;
SET n2.ef_search = 300;
SELECT count(*) FILTER (WHERE p ~ 'Index Scan using stm_z') AS z_scans,
		count(*) FILTER (WHERE p ~ 'Index Scan using stm_w') AS w_scans
	FROM st_plan('SELECT n.id FROM stm q CROSS JOIN LATERAL (
		SELECT s.id, s.z <-> q.z AS d FROM stm s ORDER BY s.z <-> q.z LIMIT 8) n
		WHERE q.id IN (3, 4, 150)
		UNION ALL SELECT n.id FROM stm q CROSS JOIN LATERAL (
		SELECT s.id, s.w <=> q.w AS d FROM stm s ORDER BY s.w <=> q.w LIMIT 8) n
		WHERE q.id IN (3, 4, 150)') p;
CREATE TEMP TABLE stm_got AS
	SELECT 'z' AS col, q.id AS qid, n.id, n.d, n.d2
	FROM stm q CROSS JOIN LATERAL (
		SELECT s.id, s.z <-> q.z AS d, s.z <#> q.z AS d2 FROM stm s
		ORDER BY s.z <-> q.z LIMIT 40) n
	WHERE q.id IN (3, 4, 150)
	UNION ALL
	SELECT 'w', q.id, n.id, n.d, n.d2
	FROM stm q CROSS JOIN LATERAL (
		SELECT s.id, s.w <=> q.w AS d, s.w <-> q.w AS d2 FROM stm s
		ORDER BY s.w <=> q.w LIMIT 40) n
	WHERE q.id IN (3, 4, 150);
SET enable_seqscan = on;
SET enable_indexscan = off;
SELECT g.col, count(*) AS rows,
		bool_and(g.d = CASE g.col WHEN 'z' THEN s.z <-> q.z ELSE s.w <=> q.w END
				 AND g.d2 = CASE g.col WHEN 'z' THEN s.z <#> q.z ELSE s.w <-> q.w END) AS exact_distances,
		bool_and(g.d <= (SELECT max(CASE g.col WHEN 'z' THEN t.z <-> q.z ELSE t.w <=> q.w END)
						 FROM (SELECT * FROM stm t ORDER BY CASE g.col WHEN 'z' THEN t.z <-> q.z
										ELSE t.w <=> q.w END LIMIT 40) t)) AS among_nearest
	FROM stm_got g JOIN stm s ON s.id = g.id JOIN stm q ON q.id = g.qid
	GROUP BY g.col ORDER BY g.col;
RESET enable_indexscan;
RESET enable_seqscan;
RESET n2.ef_search;
DROP TABLE stm, stm_got;
DROP FUNCTION st_plan;

-- L1 on compact codes (which no kernel reads: the scan decodes them) walks
-- to the exact nearest rows (their distances compared: L1 ties are common),
-- rechecking a few table rows, not most of the 5,000 (the executor reads the
-- rows it rechecks: a walk that does not follow L1 needs most of them).
CREATE TABLE stl (id int PRIMARY KEY, v vector(3));
INSERT INTO stl SELECT i, ARRAY[i, (i * 7) % 5, (i * 3) % 11]::real[]::vector
	FROM generate_series(1, 5000) i;
CREATE TABLE stl_q (qid int, q vector(3));
INSERT INTO stl_q VALUES (1, '[50,2,3]'), (2, '[0.5,0.5,0.5]'), (3, '[4999.7,4,10]');
CREATE FUNCTION stl_answers() RETURNS TABLE (qid int, d float8[]) LANGUAGE sql AS $$
	SELECT q.qid, array_agg(x.d ORDER BY x.d) FROM stl_q q CROSS JOIN LATERAL
		(SELECT v <+> q.q AS d FROM stl ORDER BY v <+> q.q LIMIT 6) x GROUP BY q.qid $$;
SET enable_seqscan = on;
CREATE TEMP TABLE stl_exact AS SELECT * FROM stl_answers();
SET enable_seqscan = off;
CREATE INDEX stl_idx ON stl USING n2 (v vector_l1_ops) WITH (storage = float16, n_threads = 1);
-- (block counts not yet sent to the statistics: none are sent in a transaction)
BEGIN;
SELECT pg_stat_get_xact_blocks_fetched('stl'::regclass) AS blocks0 \gset
SELECT a.qid, a.d = e.d AS exact, a.d FROM stl_answers() a JOIN stl_exact e USING (qid) ORDER BY a.qid;
SELECT pg_stat_get_xact_blocks_fetched('stl'::regclass) - :blocks0 < 100 AS few_table_blocks;
COMMIT;
DROP INDEX stl_idx;
CREATE INDEX stl_idx ON stl USING n2 (v vector_l1_ops) WITH (storage = sq8, n_threads = 1);
BEGIN;
SELECT pg_stat_get_xact_blocks_fetched('stl'::regclass) AS blocks0 \gset
SELECT a.qid, a.d = e.d AS exact FROM stl_answers() a JOIN stl_exact e USING (qid) ORDER BY a.qid;
SELECT pg_stat_get_xact_blocks_fetched('stl'::regclass) - :blocks0 < 100 AS few_table_blocks;
COMMIT;
RESET enable_seqscan;
DROP TABLE stl, stl_q, stl_exact;
DROP FUNCTION stl_answers;

DROP TABLE st, st_empty, stw, stb, sth;
DROP FUNCTION st_check;

-- Rows whose distance intervals (the code's distance widened by its error)
-- overlap no other row's come back without the executor's recheck: a query
-- that does not select the distance then reads no vector from the table.
-- stc's vectors are out of line (4 kB): reading one reads its TOAST table.
CREATE TABLE stc (id int PRIMARY KEY, v vector(1000));
ALTER TABLE stc ALTER COLUMN v SET STORAGE EXTERNAL;
-- row k at distance k from the query q = 0.5 everywhere, other rows farther
INSERT INTO stc
	SELECT k, array_fill(0.5::real, ARRAY[1000])::real[]::vector +
			  (array_fill(0::real, ARRAY[k - 1]) || k::real ||
			   array_fill(0::real, ARRAY[1000 - k]))::vector
	FROM generate_series(1, 60) k;
CREATE INDEX stc_idx ON stc USING n2 (v) WITH (storage = float16, n_threads = 1);
ANALYZE stc;
SET enable_seqscan = off;
-- (block counts not yet sent to the statistics: none are sent in a transaction)
BEGIN;
SELECT pg_stat_get_xact_blocks_fetched(reltoastrelid) AS toast0
	FROM pg_class WHERE relname = 'stc' \gset
SELECT array_agg(id) AS ids FROM (SELECT id FROM stc
	ORDER BY v <-> array_fill(0.5::real, ARRAY[1000])::vector LIMIT 5) s;
SELECT pg_stat_get_xact_blocks_fetched(reltoastrelid) - :toast0 AS toast_blocks_read
	FROM pg_class WHERE relname = 'stc';
-- selecting the distance reads the vectors
SELECT array_agg(id) AS ids, array_agg(d) AS distances FROM (SELECT id, v <-> array_fill(0.5::real, ARRAY[1000])::vector AS d FROM stc
	ORDER BY v <-> array_fill(0.5::real, ARRAY[1000])::vector LIMIT 5) s;
SELECT pg_stat_get_xact_blocks_fetched(reltoastrelid) - :toast0 > 0 AS toast_blocks_read
	FROM pg_class WHERE relname = 'stc';
COMMIT;

-- Rows closer together than the codes resolve keep the recheck, and come
-- out in exact order: 1 + k/65536 is 1 in float16, so every code is the
-- same and only the rows' own vectors order them (inserted shuffled).
CREATE TABLE stt (id int PRIMARY KEY, v vector(3));
INSERT INTO stt SELECT k, ARRAY[1 + k / 65536.0, 0, 0]::real[]::vector
	FROM generate_series(1, 40) k ORDER BY (k * 17) % 41;
CREATE INDEX stt_idx ON stt USING n2 (v) WITH (storage = float16, n_threads = 1);
SELECT array_agg(id) AS ids FROM (SELECT id FROM stt ORDER BY v <-> '[0,0,0]' LIMIT 8) s;
SELECT array_agg(id) AS ids FROM (SELECT id FROM stt ORDER BY v <#> '[1,0,0]' LIMIT 8) s;
RESET enable_seqscan;
DROP TABLE stc, stt;

-- A LIMIT ef_search query on codes needs the node after its last row (that
-- row's recheck, or the look-ahead that spares it), so the walk is one node
-- wider than ef_search instead of widening by a whole ef_search for it: it
-- reads fewer index pages at ef_search 10 than at 11.  Counted as buffer
-- reads, so without page copies (n2.scan_cache_size), which read each page
-- once a scan.
CREATE TABLE ste (id int PRIMARY KEY, v vector(16));
INSERT INTO ste SELECT i, (SELECT array_agg(hashint4(i * 16 + d) & 255)::real[]
	FROM generate_series(1, 16) d)::vector FROM generate_series(1, 3000) i;
CREATE TABLE ste_q AS SELECT id AS qid, v + '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' AS q
	FROM ste WHERE id % 60 = 0;
CREATE FUNCTION ste_hits(ef int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE format('SET LOCAL n2.ef_search = %s', ef);
	SET LOCAL n2.scan_cache_size = 0;
	EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, FORMAT JSON)
		SELECT x.id FROM ste_q CROSS JOIN LATERAL
			(SELECT id FROM ste ORDER BY v <-> ste_q.q LIMIT 10) x' INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Shared Hit Blocks')::bigint;
END $$;
SET enable_seqscan = off;
CREATE INDEX ste_idx ON ste USING n2 (v) WITH (storage = float16, m = 8, n_threads = 1);
SELECT ste_hits(10) < ste_hits(11) AS f16_no_widening;
DROP INDEX ste_idx;
CREATE INDEX ste_idx ON ste USING n2 (v) WITH (storage = sq8, m = 8, n_threads = 1);
SELECT ste_hits(10) < ste_hits(11) AS sq8_no_widening;
DROP INDEX ste_idx;

-- sq8 codes a dimension of integers at most 255 apart exactly, one code per
-- integer, as float16 codes small integers.  Over 0..127, which 256 even
-- steps of the range would code with errors, its walk is then float16's: no
-- row is uncertain, so the walk does not widen to order them, and it reads
-- no more pages than float16 (whose pages hold half as many elements).
TRUNCATE ste;
INSERT INTO ste SELECT i, (SELECT array_agg(hashint4(i * 16 + d) & 127)::real[]
	FROM generate_series(1, 16) d)::vector FROM generate_series(1, 3000) i;
DROP TABLE ste_q;
CREATE TABLE ste_q AS SELECT id AS qid, v + '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' AS q
	FROM ste WHERE id % 60 = 0;
CREATE INDEX ste_idx ON ste USING n2 (v) WITH (storage = float16, m = 8, n_threads = 1);
CREATE TABLE ste_f16 AS SELECT ste_hits(10) AS hits;
DROP INDEX ste_idx;
CREATE INDEX ste_idx ON ste USING n2 (v) WITH (storage = sq8, m = 8, n_threads = 1);
SELECT ste_hits(10) <= hits AS sq8_integers_exact FROM ste_f16;
RESET enable_seqscan;
DROP TABLE ste, ste_q, ste_f16;
DROP FUNCTION ste_hits;

-- When every dimension holds integers at most 255 apart (or one value),
-- 8-bit codes are the vectors exactly, and an L2 build compares codes, which
-- give the same distances from a quarter of the bytes (DEBUG1 says so):
-- sq8's trained codes, or for float4 and float16 codes trained for the build
-- alone.  Not for another metric, or data the codes would round.
CREATE TABLE stx (id int, v vector(4));
INSERT INTO stx SELECT i, ARRAY[i % 7, i % 200 - 100, 3, (i * 7) % 256]::vector
	FROM generate_series(1, 300) i;
SET client_min_messages = debug1;
CREATE INDEX stx_l2 ON stx USING n2 (v) WITH (storage = sq8, n_threads = 1);
CREATE INDEX stx_cos ON stx USING n2 (v vector_cosine_ops) WITH (storage = sq8, n_threads = 1);
CREATE INDEX stx_f16 ON stx USING n2 (v) WITH (storage = float16, n_threads = 1);
CREATE INDEX stx_f4 ON stx USING n2 (v) WITH (n_threads = 1);
UPDATE stx SET v = '[0.5,0,3,0]' WHERE id = 1;
REINDEX INDEX stx_l2;
REINDEX INDEX stx_f4;
UPDATE stx SET v = '[0,0,3,300]' WHERE id = 1;
REINDEX INDEX stx_l2;
REINDEX INDEX stx_f16;
UPDATE stx SET v = '[1,-99,3,7]' WHERE id = 1;
REINDEX INDEX stx_f16;
RESET client_min_messages;
REINDEX INDEX stx_l2;
DROP INDEX stx_cos, stx_f4;
-- Every row finds itself first through the float16 and the sq8 index, each
-- holds all of them, and is sound.
SET enable_seqscan = off;
BEGIN;
DROP INDEX stx_l2;
EXPLAIN (COSTS OFF) SELECT id FROM stx ORDER BY v <-> '[1,-99,3,7]' LIMIT 1;
SELECT count(*) FILTER (WHERE (SELECT s.id FROM stx s ORDER BY s.v <-> t.v LIMIT 1) <> t.id)
	AS not_first
FROM stx t;
ROLLBACK;
SELECT elements FROM n2_index_info('stx_f16');
SELECT count(*) AS problems FROM n2_verify('stx_f16');
DROP INDEX stx_f16;
EXPLAIN (COSTS OFF) SELECT id FROM stx ORDER BY v <-> '[1,-99,3,7]' LIMIT 1;
SELECT count(*) FILTER (WHERE (SELECT s.id FROM stx s ORDER BY s.v <-> t.v LIMIT 1) <> t.id)
	AS not_first
FROM stx t;
RESET enable_seqscan;
SELECT elements FROM n2_index_info('stx_l2');
SELECT count(*) AS problems FROM n2_verify('stx_l2');
DROP TABLE stx;

-- The codes take one byte per dimension and row of maintenance_work_mem
-- beside the build.  110 rows of 2,000 dimensions fit in 1MB without them,
-- not with them: that build compares vectors; with 2MB, codes.
CREATE TABLE stb (id int, v vector(2000));
INSERT INTO stb SELECT i, (SELECT array_agg((hashint4(i * 2000 + d) & 255)::real)
	FROM generate_series(1, 2000) d)::vector FROM generate_series(1, 110) i;
SET client_min_messages = debug1;
SET maintenance_work_mem = '1MB';
CREATE INDEX stb_idx ON stb USING n2 (v) WITH (storage = sq8, n_threads = 1);
SET maintenance_work_mem = '2MB';
REINDEX INDEX stb_idx;
RESET maintenance_work_mem;
RESET client_min_messages;
SELECT count(*) AS problems FROM n2_verify('stb_idx');
DROP TABLE stb;
-- A float4 build on codes makes the very graph a build on the vectors makes:
-- values below 16 keep every float sum of 2,000 squares exact, so the two
-- builds see the same distances, and one thread makes each deterministic.
CREATE TABLE stc (id int, v vector(2000));
INSERT INTO stc SELECT i, (SELECT array_agg((hashint4(i * 2000 + d) & 15)::real)
	FROM generate_series(1, 2000) d)::vector FROM generate_series(1, 110) i;
SET client_min_messages = debug1;
SET maintenance_work_mem = '1MB';
CREATE INDEX stc_vectors ON stc USING n2 (v) WITH (n_threads = 1);
SET maintenance_work_mem = '2MB';
CREATE INDEX stc_codes ON stc USING n2 (v) WITH (n_threads = 1);
RESET maintenance_work_mem;
RESET client_min_messages;
SELECT count(*) AS links FROM n2_index_graph('stc_codes'), unnest(neighbors);
SELECT count(*) AS differ FROM (
	(SELECT element, level, is_entry, heap_tids, neighbors FROM n2_index_graph('stc_vectors')
	 EXCEPT ALL
	 SELECT element, level, is_entry, heap_tids, neighbors FROM n2_index_graph('stc_codes'))
	UNION ALL
	(SELECT element, level, is_entry, heap_tids, neighbors FROM n2_index_graph('stc_codes')
	 EXCEPT ALL
	 SELECT element, level, is_entry, heap_tids, neighbors FROM n2_index_graph('stc_vectors'))) d;
DROP TABLE stc;
