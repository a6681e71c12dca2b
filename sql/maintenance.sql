--
-- n2 index maintenance: REINDEX [CONCURRENTLY], CREATE INDEX CONCURRENTLY,
-- partitioned and unlogged tables.  Exactness: ef_search above row counts.
--
CREATE TABLE m (id int PRIMARY KEY, v vector(8));
INSERT INTO m
	SELECT i, (SELECT array_agg(sin(i * (j + 1) * 0.37 + j) * (1 + (i % 7) * 0.1)
							   ORDER BY j)
			   FROM generate_series(0, 7) j)::vector
	FROM generate_series(1, 300) i;
CREATE INDEX m_idx ON m USING n2 (v vector_l2_ops) WITH (m = 6, ef_construction = 40, n_threads = 1);
SET n2.ef_search = 400;
SET enable_seqscan = off;
CREATE FUNCTION m_knn(k int) RETURNS int[] LANGUAGE sql AS
$$ SELECT array_agg(id) FROM (SELECT id FROM m ORDER BY v <-> '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]' LIMIT k) s $$;
CREATE FUNCTION m_exact(k int) RETURNS int[] LANGUAGE sql SET enable_indexscan = off AS
$$ SELECT array_agg(id) FROM (SELECT id FROM m ORDER BY v <-> '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]' LIMIT k) s $$;
SELECT m_knn(10) = m_exact(10) AS exact, m_knn(10);

-- REINDEX keeps options and answers; the old dead rows are gone.
DELETE FROM m WHERE id % 5 = 0;
REINDEX INDEX m_idx;
SELECT reloptions FROM pg_class WHERE relname = 'm_idx';
SELECT elements, heap_tids FROM n2_index_info('m_idx');
SELECT count(*) AS problems FROM n2_verify('m_idx');
SELECT m_knn(10) = m_exact(10) AS exact;
REINDEX INDEX CONCURRENTLY m_idx;
SELECT reloptions FROM pg_class WHERE relname = 'm_idx';
SELECT indisvalid FROM pg_index WHERE indexrelid = 'm_idx'::regclass;
SELECT count(*) AS problems FROM n2_verify('m_idx');
SELECT m_knn(10) = m_exact(10) AS exact;
REINDEX TABLE CONCURRENTLY m;
SELECT count(*) AS problems FROM n2_verify('m_idx');

-- CREATE INDEX CONCURRENTLY
DROP INDEX m_idx;
CREATE INDEX CONCURRENTLY m_idx2 ON m USING n2 (v vector_l2_ops) WITH (n_threads = 1);
SELECT indisvalid FROM pg_index WHERE indexrelid = 'm_idx2'::regclass;
SELECT m_knn(10) = m_exact(10) AS exact;
SELECT pg_get_indexdef('m_idx2'::regclass);

-- Partitioned table: index on the parent, a Merge Append of n2 scans.
CREATE TABLE mp (id int, v vector(8)) PARTITION BY RANGE (id);
CREATE TABLE mp1 PARTITION OF mp FOR VALUES FROM (1) TO (150);
CREATE TABLE mp2 PARTITION OF mp FOR VALUES FROM (150) TO (1000);
INSERT INTO mp SELECT * FROM m;
CREATE INDEX mp_idx ON mp USING n2 (v vector_l2_ops) WITH (n_threads = 1);
EXPLAIN (COSTS OFF)
	SELECT id FROM mp ORDER BY v <-> '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]' LIMIT 5;
SELECT (SELECT array_agg(id) FROM (SELECT id FROM mp ORDER BY v <-> '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]' LIMIT 5) s)
	= (m_exact(5)) AS exact;
-- a partition attached later gets its own index
CREATE TABLE mp3 PARTITION OF mp FOR VALUES FROM (1000) TO (2000);
SELECT indexrelid::regclass, indrelid::regclass FROM pg_index
	WHERE indrelid IN ('mp1'::regclass, 'mp2'::regclass, 'mp3'::regclass) ORDER BY 2;
-- the parent's index holds no graph: the functions say so, and work on the
-- partitions' indexes
SELECT * FROM n2_index_info('mp_idx');
SELECT * FROM n2_verify('mp_idx');
SELECT relid, (SELECT count(*) FROM n2_verify(relid)) AS problems
	FROM pg_partition_tree('mp_idx') WHERE isleaf ORDER BY 1;

-- Unlogged table: unlogged index with an init fork.
CREATE UNLOGGED TABLE mu AS SELECT * FROM m;
CREATE INDEX mu_idx ON mu USING n2 (v vector_l2_ops) WITH (n_threads = 1);
SELECT relpersistence FROM pg_class WHERE relname = 'mu_idx';
SELECT pg_relation_filepath('mu_idx') IS NOT NULL AS has_file;
DELETE FROM mu WHERE id % 2 = 0;
VACUUM mu;
SELECT count(*) AS problems FROM n2_verify('mu_idx');
SELECT (SELECT array_agg(id) FROM (SELECT id FROM mu ORDER BY v <-> '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]' LIMIT 5) s)
	= (SELECT array_agg(id) FROM (SELECT id FROM mu ORDER BY l2_distance(v, '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]') LIMIT 5) s) AS exact;

RESET enable_seqscan;
RESET n2.ef_search;
DROP TABLE m, mp, mu;
DROP FUNCTION m_knn(int), m_exact(int);

-- VACUUM flags, then deletes, each page's doomed elements in one WAL record
-- (per tuple, the deletions shifted the page's data again and again): far
-- fewer n2 records than elements when every row goes.
CREATE EXTENSION pg_walinspect;
CREATE TABLE mw (id int, v vector(8));
INSERT INTO mw SELECT i, (SELECT array_agg(sin(i * (j + 1) * 0.37 + j) ORDER BY j)
						  FROM generate_series(0, 7) j)::vector
	FROM generate_series(1, 2000) i;
CREATE INDEX mw_idx ON mw USING n2 (v) WITH (m = 4, n_threads = 1);
SELECT elements AS mw_elements, pages AS mw_pages FROM n2_index_info('mw_idx') \gset
DELETE FROM mw;
CHECKPOINT;
SELECT pg_current_wal_flush_lsn() AS mw_before \gset
VACUUM mw;
SELECT txid_current() > 0 AS flushed;	-- a commit flushes VACUUM's WAL
SELECT count(*) < :mw_elements / 4 AS few_records, count(*) <= 4 * :mw_pages AS per_page
	FROM pg_get_wal_records_info(:'mw_before', pg_current_wal_flush_lsn())
	WHERE resource_manager = 'Generic';
SELECT elements, heap_tids, deleted FROM n2_index_info('mw_idx');
SELECT count(*) AS problems FROM n2_verify('mw_idx');
INSERT INTO mw SELECT i, (SELECT array_agg(cos(i * (j + 1) * 0.21) ORDER BY j)
						  FROM generate_series(0, 7) j)::vector
	FROM generate_series(1, 500) i;
SELECT count(*) AS found FROM (SELECT id FROM mw ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 1000) s;
SELECT pages = :mw_pages AS space_reused FROM n2_index_info('mw_idx');
DROP TABLE mw;
DROP EXTENSION pg_walinspect;
