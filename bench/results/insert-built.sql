-- Graphs built by inserts: bigann10k base_disjoint (9,900 x 128) inserted row by
-- row into an empty index (one backend, so the graph is the same on every run),
-- recall@10 against the exact top 10 for the first 100 queries, and how many rows
-- a LIMIT 1 query at their own vector does not return first.  psql -v m=4 (or 16);
-- tables base(id int, v vector(128)), q(id int, v vector(128)) and
-- gt(id int, ids int[]) (the exact top 10 ids of each query) must exist.  For
-- pgvector: USING hnsw (v vector_l2_ops) and hnsw.ef_search.
DROP TABLE IF EXISTS t;
CREATE TABLE t (id int, v vector(128));
CREATE INDEX t_idx ON t USING n2 (v) WITH (m = :m, ef_construction = 64);
INSERT INTO t SELECT * FROM base;
SET enable_seqscan = off;
SET n2.ef_search = 10;
SELECT 'recall@10 at ef 10', round(avg(cardinality(array(SELECT unnest(gt.ids) INTERSECT
	SELECT unnest(array(SELECT t.id FROM t ORDER BY t.v <-> q.v LIMIT 10)))) / 10.0), 4)
FROM q JOIN gt USING (id);
SET n2.ef_search = 20;
SELECT 'recall@10 at ef 20', round(avg(cardinality(array(SELECT unnest(gt.ids) INTERSECT
	SELECT unnest(array(SELECT t.id FROM t ORDER BY t.v <-> q.v LIMIT 10)))) / 10.0), 4)
FROM q JOIN gt USING (id);
SET n2.ef_search = 40;
SELECT 'recall@10 at ef 40', round(avg(cardinality(array(SELECT unnest(gt.ids) INTERSECT
	SELECT unnest(array(SELECT t.id FROM t ORDER BY t.v <-> q.v LIMIT 10)))) / 10.0), 4)
FROM q JOIN gt USING (id);
SET n2.ef_search = 16;
SELECT 'not found by their own vector at ef 16',
	count(*) FILTER (WHERE b.id <> (SELECT t.id FROM t ORDER BY t.v <-> b.v LIMIT 1))
FROM base b;
