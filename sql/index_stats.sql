--
-- Statistics: every n2 index scan counts in pg_stat_user_indexes.idx_scan,
-- and the tuples it returns in idx_tup_read.
--
CREATE TABLE st (id int, v vector(3));
INSERT INTO st SELECT i, ARRAY[i, i % 7, i % 5]::real[]::vector FROM generate_series(1, 100) i;
CREATE INDEX st_idx ON st USING n2 (v);
SET enable_seqscan = off;
SELECT id FROM st ORDER BY v <-> '[1,1,1]' LIMIT 1;
SELECT id FROM st ORDER BY v <-> '[50,1,0]' LIMIT 3;
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'st_idx';
DROP TABLE st;
