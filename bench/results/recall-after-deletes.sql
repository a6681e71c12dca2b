-- Recall@10 before and after deleting every second row and VACUUM, against a fresh
-- build of the rows left (bench/README.md, "Recall after deletes").  Run in a
-- database loaded by `n2bench load base_disjoint.fvecs query.fvecs 100` (for pgvector:
-- N2BENCH_AM=hnsw, with USING hnsw (v vector_l2_ops), hnsw.ef_search and
-- max_parallel_maintenance_workers = 0 instead).
CREATE FUNCTION recall(ef int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	r numeric;
BEGIN
	PERFORM set_config('n2.ef_search', ef::text, true);
	PERFORM set_config('enable_seqscan', 'off', true);
	SELECT avg(hits) / 10 INTO r FROM (
		SELECT q.i, (SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) a
					 WHERE a.id IN (SELECT id FROM items_exact e ORDER BY e.v <-> q.v LIMIT 10)) AS hits
		FROM queries q) s;
	RETURN r;
END $$;
CREATE INDEX ii ON items USING n2 (v) WITH (m = 16, ef_construction = 64, n_threads = 1);
CREATE TABLE items_exact AS SELECT * FROM items;
SELECT 'fresh' AS state, recall(10) AS r10, recall(20) AS r20, recall(40) AS r40;
DELETE FROM items WHERE id % 2 = 0;
DROP TABLE items_exact;
CREATE TABLE items_exact AS SELECT * FROM items;
VACUUM items;
SELECT 'after deleting half and VACUUM' AS state, recall(10) AS r10, recall(20) AS r20, recall(40) AS r40;
CREATE INDEX ii2 ON items USING n2 (v) WITH (m = 16, ef_construction = 64, n_threads = 1);
DROP INDEX ii;
SELECT 'fresh build of the rows left' AS state, recall(10) AS r10, recall(20) AS r20, recall(40) AS r40;
