--
-- n2 on vectors wider than a page: vector(3072) (12 kB a vector, more than
-- one 8 kB page) and vector(16000) (the type's limit, 64 kB, about eight
-- pages), plus a wide real[] column.  Build, insert after the build, exact
-- k-NN order against a sequential scan, DELETE + VACUUM, n2_verify, and the
-- error above 16,000 dimensions.
--

-- Deterministic points on a smooth curve: rows near each other on the curve
-- are near each other in space, so the first 50 neighbours of a query are
-- well separated (no near-ties that float4 rounding could reorder).
CREATE FUNCTION wvec(x float8, n int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(sin(x * (0.002 * (j % 37 + 1)) + j * 0.7) * (1 + (j % 5) * 0.1)
					 ORDER BY j)::vector
	FROM generate_series(0, n - 1) j
$$;

-- ===== vector(3072) =====
CREATE TABLE w3 (id int PRIMARY KEY, v vector(3072));
INSERT INTO w3 SELECT i, wvec(i, 3072) FROM generate_series(1, 200) i;
CREATE TABLE q3 (qid int PRIMARY KEY, v vector(3072));
INSERT INTO q3 SELECT k, wvec(k * 53.7 + 0.31, 3072) FROM generate_series(1, 5) k;

-- One build thread: the same graph on every machine.
CREATE INDEX w3_l2 ON w3 USING n2 (v vector_l2_ops) WITH (n_threads = 1);
-- insert after the build: these go through the insert path (chunks first)
INSERT INTO w3 SELECT i, wvec(i, 3072) FROM generate_series(201, 300) i;
CREATE INDEX w3_angular ON w3 USING n2 (v vector_angular_ops) WITH (n_threads = 1);
CREATE INDEX w3_dot ON w3 USING n2 (v vector_dot_ops) WITH (m = 8, n_threads = 1);
ANALYZE w3, q3;

-- The first 50 exact neighbours of each query are well separated in every
-- metric, so their exact order is well defined.
SELECT op, min(gap) > 1e-5 AS top50_no_near_ties FROM (
	SELECT op, (lead(d) OVER w - d) / greatest(abs(d), 1e-9) AS gap,
		   row_number() OVER w AS rn FROM (
		SELECT '<->' AS op, q.qid, p.v <-> q.v AS d FROM w3 p, q3 q
		UNION ALL
		SELECT '<=>', q.qid, p.v <=> q.v FROM w3 p, q3 q
		UNION ALL
		SELECT '<#>', q.qid, p.v <#> q.v FROM w3 p, q3 q) s
	WINDOW w AS (PARTITION BY op, qid ORDER BY d)) g
WHERE rn <= 50
GROUP BY op ORDER BY op;

-- Every 3072-d element needs more than a page: at least one page per element
-- (element tuple + vector chunk chain), and the dimensions are recorded.
SELECT i.indexrelid::regclass AS index, x.elements, x.heap_tids, x.dims, x.metric,
	   x.pages >= x.elements AS pages_ge_elements,
	   x.bytes = x.pages * current_setting('block_size')::int AS bytes_match
FROM pg_index i, n2_index_info(i.indexrelid) x
WHERE i.indrelid = 'w3'::regclass AND i.indexrelid <> 'w3_pkey'::regclass
ORDER BY 1;
SELECT 'w3_l2' AS index, count(*) AS problems FROM n2_verify('w3_l2')
UNION ALL SELECT 'w3_angular', count(*) FROM n2_verify('w3_angular')
UNION ALL SELECT 'w3_dot', count(*) FROM n2_verify('w3_dot');

-- k-NN by index (ef_search above the row count) and exactly, all 300 rows.
CREATE TABLE answers (op text, how text, qid int, ids int[]);
CREATE FUNCTION collect(tag text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO answers SELECT '<->', tag, qid,
		ARRAY(SELECT id FROM w3 ORDER BY w3.v <-> q3.v LIMIT 300) FROM q3;
	INSERT INTO answers SELECT '<=>', tag, qid,
		ARRAY(SELECT id FROM w3 ORDER BY w3.v <=> q3.v LIMIT 300) FROM q3;
	INSERT INTO answers SELECT '<#>', tag, qid,
		ARRAY(SELECT id FROM w3 ORDER BY w3.v <#> q3.v LIMIT 300) FROM q3;
END $$;
CREATE VIEW compare AS
	SELECT i.op, i.qid, i.ids[1:50] = e.ids[1:50] AS top50_same_order,
		   cardinality(i.ids) AS index_rows,
		   (SELECT count(DISTINCT x) FROM unnest(i.ids) x) AS distinct_rows,
		   ARRAY(SELECT unnest(i.ids) ORDER BY 1) = ARRAY(SELECT unnest(e.ids) ORDER BY 1)
			   AS same_rows
	FROM answers i JOIN answers e ON e.op = i.op AND e.qid = i.qid
	WHERE i.how = 'index' AND e.how = 'exact';

SET n2.ef_search = 400;
SET enable_seqscan = off;
EXPLAIN (costs off) SELECT id FROM w3 ORDER BY v <-> (SELECT v FROM q3 WHERE qid = 1) LIMIT 10;
EXPLAIN (costs off) SELECT id FROM w3 ORDER BY v <=> (SELECT v FROM q3 WHERE qid = 1) LIMIT 10;
EXPLAIN (costs off) SELECT id FROM w3 ORDER BY v <#> (SELECT v FROM q3 WHERE qid = 1) LIMIT 10;
SELECT collect('index');
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT collect('exact');
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT * FROM compare ORDER BY op, qid;
SELECT op, qid, ids[1:5] AS nearest5 FROM answers
	WHERE how = 'index' AND qid = 1 ORDER BY op;
-- a row's own vector finds it first
SET enable_seqscan = off;
SELECT count(*) AS rows_not_first_for_own_vector FROM w3 a
WHERE (SELECT b.id FROM w3 b ORDER BY b.v <-> a.v LIMIT 1) <> a.id;
RESET enable_seqscan;

-- DELETE + VACUUM: the chunk chains go with their elements; the index stays
-- clean and exact, and new wide rows reuse the space.
DELETE FROM w3 WHERE id % 3 = 0;
VACUUM w3;
SELECT 'w3_l2' AS index, count(*) AS problems FROM n2_verify('w3_l2')
UNION ALL SELECT 'w3_angular', count(*) FROM n2_verify('w3_angular')
UNION ALL SELECT 'w3_dot', count(*) FROM n2_verify('w3_dot');
SELECT elements, deleted, heap_tids FROM n2_index_info('w3_l2');
TRUNCATE answers;
SET enable_seqscan = off;
SELECT collect('index');
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT collect('exact');
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT * FROM compare ORDER BY op, qid;
-- re-insert the deleted rows (into freed space), check again
SELECT pages AS pages_before_reinsert FROM n2_index_info('w3_l2') \gset
INSERT INTO w3 SELECT i, wvec(i, 3072) FROM generate_series(3, 300, 3) i;
SELECT 'w3_l2' AS index, count(*) AS problems FROM n2_verify('w3_l2')
UNION ALL SELECT 'w3_angular', count(*) FROM n2_verify('w3_angular')
UNION ALL SELECT 'w3_dot', count(*) FROM n2_verify('w3_dot');
-- 100 elements (about 200 pages) were freed: the 100 new ones fit there
SELECT heap_tids, pages <= :pages_before_reinsert + 10 AS space_reused
FROM n2_index_info('w3_l2');
TRUNCATE answers;
SET enable_seqscan = off;
SELECT collect('index');
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT collect('exact');
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT * FROM compare ORDER BY op, qid;
RESET n2.ef_search;

-- ===== vector(16000): the type's limit =====
CREATE TABLE w16 (id int PRIMARY KEY, v vector(16000));
ALTER TABLE w16 ALTER COLUMN v SET STORAGE EXTERNAL;	-- no compression: faster
INSERT INTO w16 SELECT i, wvec(i, 16000) FROM generate_series(1, 30) i;
CREATE INDEX w16_l2 ON w16 USING n2 (v vector_l2_ops) WITH (n_threads = 1);
INSERT INTO w16 SELECT i, wvec(i, 16000) FROM generate_series(31, 40) i;
ANALYZE w16;
-- each element spans several pages (64 kB of floats)
SELECT elements, heap_tids, dims, pages >= 8 * elements AS pages_ge_8_per_element
FROM n2_index_info('w16_l2');
SELECT count(*) AS problems FROM n2_verify('w16_l2');
CREATE TEMP TABLE q16 AS
	SELECT k AS qid, wvec(k * 11.3 + 0.37, 16000) AS v FROM generate_series(1, 3) k;
-- well separated distances, so index order = exact order for all 40 rows
SELECT min(gap) > 1e-4 AS no_near_ties FROM (
	SELECT (lead(d) OVER (PARTITION BY qid ORDER BY d) - d) / d AS gap
	FROM (SELECT q.qid, w.v <-> q.v AS d FROM w16 w, q16 q) s) g;
SET n2.ef_search = 100;
SET enable_seqscan = off;
EXPLAIN (costs off) SELECT id FROM w16 ORDER BY v <-> (SELECT v FROM q16 WHERE qid = 1) LIMIT 10;
CREATE TEMP TABLE a16 AS
	SELECT qid, ARRAY(SELECT id FROM w16 ORDER BY w16.v <-> q16.v LIMIT 40) AS ids FROM q16;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT a.qid, a.ids = ARRAY(SELECT id FROM w16 ORDER BY w16.v <-> q.v LIMIT 40) AS same_order,
	   cardinality(a.ids) AS index_rows, a.ids[1:5] AS nearest5
FROM a16 a JOIN q16 q USING (qid) ORDER BY 1;
RESET enable_indexscan;
RESET enable_bitmapscan;
-- The sequential finish reads wide vectors through their chunk chains too:
-- with the graph walk cut short after its first round, the same 40 rows.
SET n2.ef_search = 1;
SET n2.max_scan_tuples = 1;
SET enable_seqscan = off;
SELECT a.qid, a.ids = ARRAY(SELECT id FROM w16 ORDER BY w16.v <-> q.v LIMIT 40) AS same_after_sweep
FROM a16 a JOIN q16 q USING (qid) ORDER BY 1;
RESET enable_seqscan;
RESET n2.max_scan_tuples;
SET n2.ef_search = 100;
-- DELETE + VACUUM at 16000, then new rows in the space freed
DELETE FROM w16 WHERE id % 4 = 1;
VACUUM w16;
SELECT count(*) AS problems FROM n2_verify('w16_l2');
SELECT elements, deleted, heap_tids FROM n2_index_info('w16_l2');
SELECT pages AS w16_pages_before_insert FROM n2_index_info('w16_l2') \gset
INSERT INTO w16 SELECT i, wvec(i - 40 + 0.5, 16000) FROM generate_series(41, 45) i;
SELECT count(*) AS problems FROM n2_verify('w16_l2');
-- 10 elements (about 80 pages) were freed: 5 new ones fit in that space
SELECT heap_tids, pages <= :w16_pages_before_insert + 2 AS space_reused
FROM n2_index_info('w16_l2');
SET enable_seqscan = off;
CREATE TEMP TABLE b16 AS
	SELECT qid, ARRAY(SELECT id FROM w16 ORDER BY w16.v <-> q16.v LIMIT 100) AS ids FROM q16;
SELECT count(*) AS rows_not_first_for_own_vector FROM w16 a
WHERE (SELECT b.id FROM w16 b ORDER BY b.v <-> a.v LIMIT 1) <> a.id;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT b.qid, b.ids = ARRAY(SELECT id FROM w16 ORDER BY w16.v <-> q.v LIMIT 100) AS same_order,
	   cardinality(b.ids) AS index_rows
FROM b16 b JOIN q16 q USING (qid) ORDER BY 1;
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET n2.ef_search;

-- ===== wide real[] column (float4_l2_ops) =====
CREATE TABLE wa (id int PRIMARY KEY, a real[]);
INSERT INTO wa SELECT id, v::real[] FROM w3 WHERE id <= 150;
CREATE INDEX wa_l2 ON wa USING n2 (a float4_l2_ops) WITH (n_threads = 1);
INSERT INTO wa SELECT id, v::real[] FROM w3 WHERE id > 150;
SELECT elements, dims, pages >= elements AS pages_ge_elements FROM n2_index_info('wa_l2');
SELECT count(*) AS problems FROM n2_verify('wa_l2');
SET n2.ef_search = 400;
SET enable_seqscan = off;
EXPLAIN (costs off) SELECT id FROM wa ORDER BY a <-> (SELECT v::real[] FROM q3 WHERE qid = 1) LIMIT 10;
CREATE TEMP TABLE aa AS
	SELECT qid, ARRAY(SELECT id FROM wa ORDER BY wa.a <-> q3.v::real[] LIMIT 50) AS ids FROM q3;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT a.qid, a.ids = ARRAY(SELECT id FROM wa ORDER BY wa.a <-> q.v::real[] LIMIT 50) AS top50_same_order
FROM aa a JOIN q3 q USING (qid) ORDER BY 1;
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET n2.ef_search;
-- a real[] of another width is refused
INSERT INTO wa VALUES (1000, array_fill(0.5::real, ARRAY[3000]));

-- ===== above the limit: 16,001 dimensions =====
CREATE TABLE w16001 (v vector(16001));
SELECT array_fill(1::real, ARRAY[16001])::vector;
CREATE TABLE wb (id int, a real[]);
CREATE INDEX wb_l2 ON wb USING n2 (a float4_l2_ops);
INSERT INTO wb VALUES (1, array_fill(1::real, ARRAY[16001]));
-- a 16,000-element array is fine
INSERT INTO wb VALUES (2, array_fill(1::real, ARRAY[16000]));
SELECT elements, dims FROM n2_index_info('wb_l2');
-- and an index built over a 16,001-element array fails too
DROP INDEX wb_l2;
TRUNCATE wb;
INSERT INTO wb VALUES (1, array_fill(1::real, ARRAY[16001]));
CREATE INDEX wb_l2 ON wb USING n2 (a float4_l2_ops);

DROP TABLE w3, q3, w16, wa, wb, answers CASCADE;
DROP FUNCTION wvec(float8, int), collect(text);
