--
-- Bad input through an n2 index: queries the distance operators accept but
-- no graph can search (NaN, infinity), queries they reject, and the
-- inspection functions on relations that are not n2 indexes.
--

-- try() runs a statement and reports its SQLSTATE and message.
CREATE FUNCTION try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
	detail text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL;
	RETURN state || ': ' || msg || coalesce(' / ' || nullif(detail, ''), '');
END $$;

-- 9000 distinct rows, some with a zero first element, and a zero vector:
-- more than one pass of the exact scan at the smallest work_mem (below).
CREATE TABLE bi (id int PRIMARY KEY, v real[]);
INSERT INTO bi
	SELECT i, ARRAY[CASE WHEN i % 50 = 0 THEN 0 ELSE sin(i) END,
					cos(i), (i % 7) - 3]::real[]
	FROM generate_series(1, 9000) i;
INSERT INTO bi VALUES (0, '{0,0,0}');
CREATE INDEX bi_l2 ON bi USING n2 (v float4_l2_ops);
CREATE INDEX bi_angular ON bi USING n2 (v float4_angular_ops);
CREATE INDEX bi_dot ON bi USING n2 (v float4_dot_ops);
ANALYZE bi;

-- The rows of ORDER BY expr, numbered in the order they come.
CREATE FUNCTION ordered_rows(expr text) RETURNS TABLE (pos int, id int, d float8)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	pos := 0;
	FOR r IN EXECUTE format('SELECT id, %s AS d FROM bi ORDER BY %s', expr, expr)
	LOOP
		pos := pos + 1;
		id := r.id;
		d := r.d;
		RETURN NEXT;
	END LOOP;
END $$;

-- Whether the plan of ORDER BY expr is an n2 index scan.
CREATE FUNCTION uses_index(expr text) RETURNS bool
LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE format('EXPLAIN (costs off) SELECT id, %s AS d FROM bi ORDER BY %s',
							   expr, expr)
	LOOP
		IF line LIKE '%Index Scan using bi_%' THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
END $$;

-- ORDER BY expr through the index and through a sort: every row, each with
-- the same distance, the index's in float8 order (NaN last); and the
-- distances the rows have, with how many rows have each.
CREATE FUNCTION compare_plans(expr text)
	RETURNS TABLE (plans_ok bool, index_rows bigint, sort_rows bigint,
				   same_distances bool, index_in_order bool, distances text)
LANGUAGE plpgsql AS $$
DECLARE
	index_plan bool;
	sort_plan bool;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('enable_indexscan', 'on', true);
	index_plan := uses_index(expr);
	CREATE TEMP TABLE via_index AS SELECT * FROM ordered_rows(expr);
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'off', true);
	sort_plan := NOT uses_index(expr);
	CREATE TEMP TABLE via_sort AS SELECT * FROM ordered_rows(expr);
	PERFORM set_config('enable_indexscan', 'on', true);
	RETURN QUERY SELECT
		index_plan AND sort_plan,
		(SELECT count(*) FROM via_index),
		(SELECT count(*) FROM via_sort),
		NOT EXISTS (SELECT i.id, i.d FROM via_index i
					EXCEPT SELECT s.id, s.d FROM via_sort s) AND
		NOT EXISTS (SELECT s.id, s.d FROM via_sort s
					EXCEPT SELECT i.id, i.d FROM via_index i),
		(SELECT bool_and(x.d >= x.prev) FROM
			(SELECT i.d, lag(i.d) OVER (ORDER BY i.pos) AS prev FROM via_index i) x
			WHERE x.prev IS NOT NULL),
		(SELECT string_agg(format('%s x %s', c.d, c.n), ', ' ORDER BY c.d) FROM
			(SELECT i.d, count(*) AS n FROM via_index i GROUP BY i.d) c);
	DROP TABLE via_index, via_sort;
END $$;

--
-- NaN and infinity in a real[] query.  The operators accept them, as
-- arithmetic on real does: every distance is then -Infinity, Infinity or
-- NaN (cosine: 1 to the zero vector).  The index scan returns the rows in
-- that order, like the sort; it cannot walk its graph for them.
--
SET enable_seqscan = off;
EXPLAIN (costs off) SELECT id FROM bi ORDER BY v <-> '{NaN,0,0}' LIMIT 3;
EXPLAIN (costs off) SELECT id FROM bi ORDER BY v <=> '{Infinity,0,0}' LIMIT 3;
EXPLAIN (costs off) SELECT id FROM bi ORDER BY v <#> '{Infinity,0,0}' LIMIT 3;
RESET enable_seqscan;

-- The smallest work_mem: the exact scan takes three passes over the index.
SET work_mem = '64kB';
SELECT * FROM compare_plans($$v <-> '{NaN,0,0}'$$);
SELECT * FROM compare_plans($$v <-> '{Infinity,0,-Infinity}'$$);
SELECT * FROM compare_plans($$v <=> '{Infinity,0,0}'$$);
SELECT * FROM compare_plans($$v <=> '{0,NaN,0}'$$);
SELECT * FROM compare_plans($$v <#> '{Infinity,0,0}'$$);
SELECT * FROM compare_plans($$v <#> '{0,0,-Infinity}'$$);
SELECT * FROM compare_plans($$v <#> '{NaN,1,1}'$$);
-- The commuted form.
SELECT * FROM compare_plans($$'{-Infinity,0,0}' <#> v$$);
RESET work_mem;

-- LIMIT through the index: the nearest first, as the sort has them.
SET enable_seqscan = off;
SELECT v <#> '{Infinity,0,0}' AS d FROM bi ORDER BY v <#> '{Infinity,0,0}' LIMIT 2;
SELECT v <#> '{0,0,-Infinity}' AS d, v[3] < 0 AS negative
	FROM bi ORDER BY v <#> '{0,0,-Infinity}' LIMIT 2;
-- Each iterative scan mode returns them all.
SET n2.iterative_scan = off;
SELECT count(*) FROM (SELECT id FROM bi ORDER BY v <-> '{NaN,0,0}') s;
SET n2.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM bi ORDER BY v <-> '{NaN,0,0}') s;
RESET n2.iterative_scan;
-- A finite query still walks the graph and finds the row itself first.
SELECT id FROM bi ORDER BY v <-> (SELECT v FROM bi WHERE id = 42) LIMIT 1;
RESET enable_seqscan;

--
-- Queries the operators reject fail through the index too, with the same
-- SQLSTATE, whatever the plan.
--
SET enable_seqscan = off;
-- 16001 elements: one more than any n2 index holds.
SELECT try($$SELECT id FROM bi ORDER BY v <-> array_fill(1::real, ARRAY[16001]) LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <=> array_fill(1::real, ARRAY[16001]) LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <#> array_fill('NaN'::real, ARRAY[16001]) LIMIT 1$$);
-- The wrong dimension.
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{1,2}' LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{1,2,3,4}' LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <#> '{NaN,2,3,4}' LIMIT 1$$);
-- Empty, two-dimensional, a NULL element.
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{}' LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{{1,2,3}}' LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{1,NULL,3}' LIMIT 1$$);
RESET enable_seqscan;
-- The same through a sort.
SET enable_indexscan = off;
SELECT try($$SELECT id FROM bi ORDER BY v <-> array_fill(1::real, ARRAY[16001]) LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{1,2,3,4}' LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{}' LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{{1,2,3}}' LIMIT 1$$);
SELECT try($$SELECT id FROM bi ORDER BY v <-> '{1,NULL,3}' LIMIT 1$$);
RESET enable_indexscan;

-- Rows the index cannot hold are refused, and leave it sound.
SELECT try($$INSERT INTO bi VALUES (-1, array_fill(1::real, ARRAY[16001]))$$);
SELECT try($$INSERT INTO bi VALUES (-1, '{1,2}')$$);
SELECT try($$INSERT INTO bi VALUES (-1, '{NaN,2,3}')$$);
SELECT try($$INSERT INTO bi VALUES (-1, '{1,-Infinity,3}')$$);
SELECT try($$INSERT INTO bi VALUES (-1, '{}')$$);
CREATE TABLE bi_wide (v real[]);
INSERT INTO bi_wide VALUES (array_fill(1::real, ARRAY[16001]));
SELECT try($$CREATE INDEX ON bi_wide USING n2 (v float4_l2_ops)$$);
DROP TABLE bi_wide;
SELECT count(*) AS problems FROM n2_verify('bi_l2');

-- vector columns: a query of the wrong dimension.
CREATE TABLE bv (id int, v vector(3));
INSERT INTO bv SELECT i, ARRAY[sin(i), cos(i), i % 5]::vector FROM generate_series(1, 100) i;
CREATE INDEX bv_l2 ON bv USING n2 (v);
SET enable_seqscan = off;
SELECT try($$SELECT id FROM bv ORDER BY v <-> '[1,2]' LIMIT 1$$);
SELECT try($$SELECT id FROM bv ORDER BY v <-> '[1,2,3,4]'::vector LIMIT 1$$);
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT try($$SELECT id FROM bv ORDER BY v <-> '[1,2,3,4]'::vector LIMIT 1$$);
RESET enable_indexscan;

--
-- The inspection functions take only n2 indexes.  They are STRICT: NULL
-- gives NULL (no row), not an error.
--
CREATE INDEX bv_btree ON bv (id);
CREATE VIEW bv_view AS SELECT * FROM bv;
SELECT try($$SELECT * FROM n2_verify('bv_btree')$$);
SELECT try($$SELECT * FROM n2_verify('bv')$$);
SELECT try($$SELECT * FROM n2_verify('bv_view')$$);
SELECT try($$SELECT * FROM n2_verify(0)$$);
SELECT try($$SELECT * FROM n2_index_info('bv_btree')$$);
SELECT try($$SELECT * FROM n2_index_info('bv')$$);
SELECT try($$SELECT * FROM n2_index_info(0)$$);
SELECT try($$SELECT * FROM n2_index_graph('bv_btree')$$);
SELECT try($$SELECT * FROM n2_index_graph('bv')$$);
SELECT try($$SELECT * FROM n2_index_graph(0)$$);
SELECT count(*) FROM n2_verify(NULL);
SELECT n2_index_info(NULL) IS NULL AS is_null;
SELECT count(*) FROM n2_index_graph(NULL);
-- and an n2 index passes.
SELECT count(*) AS problems FROM n2_verify('bv_l2');

DROP VIEW bv_view;
DROP TABLE bi, bv;
DROP FUNCTION try(text), ordered_rows(text), uses_index(text),
	compare_plans(text);
