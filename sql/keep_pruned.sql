--
-- keep_pruned: heuristic neighbour lists filled with the closest candidates
-- the heuristic pruned, up to half their cap (half) or to their cap (on);
-- off by default.  Stored in the graph's shape, shown by n2_index_info,
-- used by inserts after the build too.
--
CREATE TABLE kp (id int PRIMARY KEY, v vector(3));
INSERT INTO kp
	SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector
	FROM generate_series(1, 500) i;

-- Values: off, half, on, and the booleans it took before "half"; with naive
-- selection (full lists anyway) it is moot.
CREATE INDEX kp_off ON kp USING n2 (v) WITH (n_threads = 1, keep_pruned = off);
CREATE INDEX kp_half ON kp USING n2 (v) WITH (n_threads = 1, keep_pruned = half);
CREATE INDEX kp_default ON kp USING n2 (v) WITH (n_threads = 1);
CREATE INDEX kp_on ON kp USING n2 (v) WITH (n_threads = 1, keep_pruned = on);
CREATE INDEX kp_true ON kp USING n2 (v) WITH (n_threads = 1, keep_pruned = true);
CREATE INDEX kp_false ON kp USING n2 (v) WITH (n_threads = 1, keep_pruned = 'false');
CREATE INDEX kp_naive ON kp USING n2 (v)
	WITH (n_threads = 1, neighbor_selecting = 'naive', keep_pruned = on);
SELECT c.relname, i.neighbor_selecting, i.keep_pruned,
	i.level0_degree_min = i.max_m0 AS all_full,
	i.level0_degree_avg >= i.max_m0 / 2 AS half_full
FROM pg_class c JOIN pg_am a ON a.oid = c.relam, LATERAL n2_index_info(c.oid) i
WHERE a.amname = 'n2' AND c.relname LIKE 'kp\_%' ORDER BY c.relname;

-- Bad values.
CREATE INDEX ON kp USING n2 (v) WITH (keep_pruned = 'maybe');
CREATE INDEX ON kp USING n2 (v) WITH (keep_pruned = 2);
ALTER INDEX kp_off SET (keep_pruned = 'sometimes');

-- ALTER says the graph keeps its shape until REINDEX, which applies it.
ALTER INDEX kp_off SET (keep_pruned = on);
SELECT keep_pruned FROM n2_index_info('kp_off');
REINDEX INDEX kp_off;
SELECT keep_pruned, level0_degree_min = max_m0 AS all_full FROM n2_index_info('kp_off');
ALTER INDEX kp_off RESET (keep_pruned);
-- a naive index takes no notice of it
ALTER INDEX kp_naive SET (keep_pruned = off);
DROP INDEX kp_off, kp_default, kp_true, kp_false, kp_naive;

-- Inserts into graphs of full and half-full lists: they stay within their
-- caps and sound, and every row is found by a search for its own vector.
INSERT INTO kp
	SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector
	FROM generate_series(501, 800) i;
SELECT elements, level0_degree_max = max_m0 AS capped,
	level0_degree_avg >= max_m0 / 2 AS half_full, keep_pruned
FROM n2_index_info('kp_on');
SELECT count(*) AS problems FROM n2_verify('kp_on');
SELECT elements, level0_degree_max <= max_m0 AS capped,
	level0_degree_avg >= max_m0 / 2 AS half_full, keep_pruned
FROM n2_index_info('kp_half');
SELECT count(*) AS problems FROM n2_verify('kp_half');
SET enable_seqscan = off;
SELECT count(*) AS not_found
FROM kp k
WHERE k.id % 10 = 0 AND k.id <> (SELECT id FROM kp ORDER BY v <-> k.v LIMIT 1);
DROP INDEX kp_on;
SELECT count(*) AS not_found
FROM kp k
WHERE k.id % 10 = 0 AND k.id <> (SELECT id FROM kp ORDER BY v <-> k.v LIMIT 1);
RESET enable_seqscan;

DROP TABLE kp;
