--
-- ALTER INDEX ... SET / RESET on a built n2 index.  The graph keeps the
-- shape it was built with (the metapage's parameters, which later inserts
-- use too) until REINDEX rebuilds it from the options; changing a shape
-- option says so in a NOTICE.  n_threads only matters to builds.
--
CREATE TABLE ai (id int PRIMARY KEY, v vector(3));
INSERT INTO ai
	SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector
	FROM generate_series(1, 300) i;
CREATE INDEX ai_idx ON ai USING n2 (v) WITH (n_threads = 1);

CREATE VIEW ai_shape AS
	SELECT m, max_m0, ef_construction, round(mult::numeric, 6) AS mult,
		neighbor_selecting, graph_merging
	FROM n2_index_info('ai_idx'::text::regclass);
CREATE VIEW ai_options AS
	SELECT reloptions FROM pg_class WHERE relname = 'ai_idx';
SELECT * FROM ai_shape;

-- Each shape option: accepted with a NOTICE, stored, not yet in force.
ALTER INDEX ai_idx SET (m = 16);
ALTER INDEX ai_idx SET (max_m0 = 40);
ALTER INDEX ai_idx SET (ef_construction = 50);
ALTER INDEX ai_idx SET (mult = 0.5);
ALTER INDEX ai_idx SET (neighbor_selecting = 'naive');
ALTER INDEX ai_idx SET (graph_merging = 'merge_level0');
SELECT * FROM ai_options;
SELECT * FROM ai_shape;

-- Inserts go on with the graph's own shape; the index stays sound.
INSERT INTO ai
	SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector
	FROM generate_series(301, 400) i;
SELECT elements, level0_degree_max <= max_m0 AS degrees_ok FROM n2_index_info('ai_idx');
SELECT count(*) AS problems FROM n2_verify('ai_idx');

-- REINDEX builds with the new options.
REINDEX INDEX ai_idx;
SELECT * FROM ai_shape;
SELECT elements FROM n2_index_info('ai_idx');

-- Setting an option back to what the graph has, or setting n_threads,
-- needs no word; neither do RESET of an unset option or a rename.
ALTER INDEX ai_idx SET (m = 16, n_threads = 2);
ALTER INDEX ai_idx SET (n_threads = 1);
ALTER INDEX ai_idx RESET (n_threads);
ALTER INDEX ai_idx RENAME TO ai_idx2;
ALTER INDEX ai_idx2 RENAME TO ai_idx;

-- Several at once, and RESET: one NOTICE naming them all.
ALTER INDEX ai_idx SET (m = 8, ef_construction = 64);
ALTER INDEX ai_idx RESET (m, max_m0, ef_construction, mult,
						  neighbor_selecting, graph_merging);
SELECT * FROM ai_options;

-- REINDEX CONCURRENTLY applies them too, and says nothing more.
REINDEX INDEX CONCURRENTLY ai_idx;
SELECT * FROM ai_shape;

-- Changed, then changed back to the graph's within a transaction.
BEGIN;
ALTER INDEX ai_idx SET (m = 20);
ALTER INDEX ai_idx SET (m = 12);
COMMIT;
SELECT * FROM ai_options;

-- Invalid values are still refused, before anything changes.
ALTER INDEX ai_idx SET (m = 1);
ALTER INDEX ai_idx SET (max_m0 = 4);
ALTER INDEX ai_idx SET (graph_merging = 'always');
SELECT * FROM ai_options;

-- An index whose build failed (CREATE INDEX CONCURRENTLY leaves it, invalid):
-- no NOTICE, and REINDEX builds it with the options.
CREATE TABLE ai_bad (v real[]);
INSERT INTO ai_bad VALUES ('{1,2}'), ('{1,2,3}');
CREATE INDEX CONCURRENTLY ai_bad_idx ON ai_bad USING n2 (v float4_l2_ops);
ALTER INDEX ai_bad_idx SET (m = 4);
DELETE FROM ai_bad WHERE cardinality(v) = 3;
REINDEX INDEX ai_bad_idx;
SELECT m, elements FROM n2_index_info('ai_bad_idx');

DROP VIEW ai_shape, ai_options;
DROP TABLE ai, ai_bad;
