--
-- n2_index_graph: the graph an index holds, one row per live element and level.
--
CREATE TABLE g (id int, v vector(4));
INSERT INTO g SELECT i, ARRAY[sin(i), cos(i * 0.7), sin(i * 1.3), cos(i * 0.1)]::vector(4)
	FROM generate_series(1, 400) i;
-- two rows with one vector share an element
INSERT INTO g VALUES (401, (SELECT v FROM g WHERE id = 7));
CREATE INDEX g_idx ON g USING n2 (v) WITH (m = 4, max_m0 = 8, n_threads = 1);
CREATE TEMP TABLE rows AS SELECT * FROM n2_index_graph('g_idx');

-- One level-0 row per element, one more per upper level it is on.
SELECT count(*) FILTER (WHERE level = 0) = (SELECT elements FROM n2_index_info('g_idx'))
	AS one_level0_row_per_element,
	count(DISTINCT element) = count(*) FILTER (WHERE level = 0) AS elements_distinct,
	max(level) = (SELECT entry_level FROM n2_index_info('g_idx')) AS top_is_entry_level
FROM rows;
-- Every level from 0 up to an element's top has a row.
SELECT bool_and(n = top + 1) AS no_level_missing
FROM (SELECT element, count(*) AS n, max(level) AS top FROM rows GROUP BY element) s;
-- The entry point: one element, on the top level.
SELECT count(DISTINCT element) AS entry_elements,
	bool_and(level <= (SELECT entry_level FROM n2_index_info('g_idx'))) AS levels_ok,
	max(level) = (SELECT entry_level FROM n2_index_info('g_idx')) AS on_top
FROM rows WHERE is_entry;
-- Lists respect m and max_m0; every link names an element on that level.
SELECT max(cardinality(neighbors)) FILTER (WHERE level = 0) <= 8 AS level0_cap,
	coalesce(max(cardinality(neighbors)) FILTER (WHERE level > 0), 0) <= 4 AS upper_cap,
	min(cardinality(neighbors)) FILTER (WHERE level = 0) >= 1 AS level0_linked
FROM rows;
SELECT count(*) AS dangling_links
FROM rows r, unnest(r.neighbors) n
WHERE NOT EXISTS (SELECT 1 FROM rows t WHERE t.element = n AND t.level = r.level);
SELECT count(*) AS self_links FROM rows r WHERE r.element = ANY (r.neighbors);
-- The heap TIDs are the table's rows, each once; the shared vector has two.
SELECT (SELECT count(*) FROM rows r, unnest(r.heap_tids) h WHERE r.level = 0) = 401 AS all_rows,
	(SELECT count(DISTINCT h) FROM rows r, unnest(r.heap_tids) h) = 401 AS each_once,
	(SELECT bool_and(EXISTS (SELECT 1 FROM g WHERE g.ctid = h))
	 FROM rows r, unnest(r.heap_tids) h) AS tids_are_rows;
SELECT array_agg(g.id ORDER BY g.id) AS shared
FROM rows r, unnest(r.heap_tids) h JOIN g ON g.ctid = h
WHERE r.level = 0 AND cardinality(r.heap_tids) > 1;

-- A deleted element leaves the graph with VACUUM, and no list names it.
DELETE FROM g WHERE id <= 100;
VACUUM g;
CREATE TEMP TABLE rows2 AS SELECT * FROM n2_index_graph('g_idx');
SELECT count(*) FILTER (WHERE level = 0) = 301 AS live_elements,
	(SELECT count(*) FROM rows2 r, unnest(r.heap_tids) h WHERE r.level = 0) = 301 AS live_rows
FROM rows2;
SELECT count(*) AS links_to_deleted
FROM rows2 r, unnest(r.neighbors) n
WHERE NOT EXISTS (SELECT 1 FROM rows2 t WHERE t.element = n);

-- CREATE INDEX puts linked nodes on one page (core/order.c).  20 tight
-- clusters of 60 rows, the rows of a cluster 20 ids apart: in row order a
-- page held a few rows of each cluster and most links crossed pages.
CREATE TABLE pg_order (id int, v vector(8));
INSERT INTO pg_order
SELECT i, array_fill((i % 20) * 100.0, ARRAY[8])::real[]::vector +
	array[i % 7, i % 11, i % 13, 0, 0, 0, 0, 0]::real[]::vector
FROM generate_series(0, 1199) i;
CREATE INDEX pg_order_idx ON pg_order USING n2 (v) WITH (m = 4, n_threads = 1);
SELECT count(DISTINCT (element::text::point)[0]) > 1 AS several_pages,
	avg(((SELECT count(*) FROM unnest(neighbors) n
		  WHERE (n::text::point)[0] = (element::text::point)[0]))::numeric /
		cardinality(neighbors)) > 0.8 AS links_mostly_on_own_page
FROM n2_index_graph('pg_order_idx') WHERE level = 0;
DROP TABLE pg_order;

-- An empty index has no rows; other relations are refused.
CREATE TABLE g_empty (v vector(4));
CREATE INDEX g_empty_idx ON g_empty USING n2 (v);
SELECT count(*) FROM n2_index_graph('g_empty_idx');
SELECT * FROM n2_index_graph('g');
CREATE INDEX g_btree ON g (id);
SELECT * FROM n2_index_graph('g_btree');

-- Not for everyone: it names the heap rows of the whole table.
CREATE ROLE n2_graph_reader;
SET ROLE n2_graph_reader;
SELECT count(*) FROM n2_index_graph('g_idx');
RESET ROLE;
DROP ROLE n2_graph_reader;
DROP TABLE g, g_empty;
