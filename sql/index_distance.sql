--
-- The distances an n2 index scan hands to its rows (plan.c): the planner
-- replaces the scan's ORDER BY expression with n2_index_distance(), which
-- returns what the index computed for the row the scan just returned and
-- computes the operator otherwise.  Every value must equal the operator's.
--
CREATE TABLE dd (id int PRIMARY KEY, v vector(8), a real[], note int);
INSERT INTO dd
	SELECT i, x::vector, x, 0 FROM (
		SELECT i, (SELECT array_agg(sin(i * (j + 1) * 0.37 + j) * (1 + (i % 7) * 0.1)
								   ORDER BY j)
				   FROM generate_series(0, 7) j)::real[] AS x
		FROM generate_series(1, 300) i) s;
CREATE TABLE dq (qid int PRIMARY KEY, v vector(8));
INSERT INTO dq
	SELECT k, (SELECT array_agg(cos(k * 1.3 + j * 0.7) ORDER BY j)
			   FROM generate_series(0, 7) j)::vector
	FROM generate_series(1, 3) k;
ANALYZE dd, dq;
CREATE INDEX dd_l2 ON dd USING n2 (v vector_l2_ops) WITH (n_threads = 1);
CREATE INDEX dd_ip ON dd USING n2 (v vector_ip_ops) WITH (n_threads = 1);
CREATE INDEX dd_cos ON dd USING n2 (v vector_cosine_ops) WITH (n_threads = 1);
CREATE INDEX dd_a ON dd USING n2 (a float4_l2_ops) WITH (n_threads = 1);
SET n2.ef_search = 400;

-- The scan's rows carry the index's distance, in the output and the filter.
SET enable_seqscan = off;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, v <-> '[1,0,0,0,0,0,0,0]' AS d FROM dd
WHERE v <-> '[1,0,0,0,0,0,0,0]' < 2 ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 3;

-- Index scans and exact scans give the same rows with the same distances,
-- to the last bit, in every metric and for real[].
CREATE FUNCTION dd_answers(how text) RETURNS TABLE (op text, qid int, id int, d float8)
LANGUAGE plpgsql AS $$
BEGIN
	IF how = 'exact' THEN
		SET LOCAL enable_indexscan = off;
		SET LOCAL enable_seqscan = on;
	END IF;
	RETURN QUERY
	SELECT '<->', q.qid, x.id, x.d FROM dq q CROSS JOIN LATERAL
		(SELECT dd.id, dd.v <-> q.v AS d FROM dd ORDER BY dd.v <-> q.v LIMIT 10) x
	UNION ALL
	SELECT '<#>', q.qid, x.id, x.d FROM dq q CROSS JOIN LATERAL
		(SELECT dd.id, dd.v <#> q.v AS d FROM dd ORDER BY dd.v <#> q.v LIMIT 10) x
	UNION ALL
	SELECT '<=>', q.qid, x.id, x.d FROM dq q CROSS JOIN LATERAL
		(SELECT dd.id, dd.v <=> q.v AS d FROM dd ORDER BY dd.v <=> q.v LIMIT 10) x
	UNION ALL
	SELECT 'real[] <->', q.qid, x.id, x.d FROM dq q CROSS JOIN LATERAL
		(SELECT dd.id, dd.a <-> q.v::real[] AS d FROM dd ORDER BY dd.a <-> q.v::real[] LIMIT 10) x;
END $$;
CREATE TEMP TABLE idx AS SELECT * FROM dd_answers('index');
CREATE TEMP TABLE ex AS SELECT * FROM dd_answers('exact');
SELECT op, count(*) AS rows,
	   count(*) FILTER (WHERE ex.id IS NOT DISTINCT FROM idx.id AND ex.d = idx.d) AS equal
FROM idx FULL JOIN ex USING (op, qid, id) GROUP BY op ORDER BY op;

-- Rows whose heap TID is not the index's (HOT updates move a row without
-- an index insert) get their distance computed: still the right value.
UPDATE dd SET note = note + 1 WHERE id % 3 = 0;
SELECT count(*) AS rows, count(*) FILTER (WHERE x.d = v <-> '[1,0,0,0,0,0,0,0]') AS equal,
	   count(*) FILTER (WHERE x.note = 1) AS updated
FROM (SELECT id, note, v, v <-> '[1,0,0,0,0,0,0,0]' AS d FROM dd
	  ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 30) x;

-- Two scans of one index with different queries in one statement.
SELECT a.id AS a_id, a.d = (SELECT v <-> '[1,0,0,0,0,0,0,0]' FROM dd WHERE id = a.id) AS a_equal,
	   b.id AS b_id, b.d = (SELECT v <-> '[0,1,0,0,0,0,0,0]' FROM dd WHERE id = b.id) AS b_equal
FROM (SELECT id, v <-> '[1,0,0,0,0,0,0,0]' AS d FROM dd ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 3) a,
	 LATERAL (SELECT id, v <-> '[0,1,0,0,0,0,0,0]' AS d FROM dd
			  ORDER BY v <-> '[0,1,0,0,0,0,0,0]' LIMIT 2) b
ORDER BY a.d, b.d;

-- A distance no plan node above the scan uses is not computed: the output
-- column becomes NULL (LIMIT, a nested loop and an aggregate look through).
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM dd ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 3;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*) FROM dq q CROSS JOIN LATERAL
	(SELECT id FROM dd ORDER BY dd.v <-> q.v LIMIT 3) x;
-- Used above, or under a node the hook does not look through: computed.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT q.qid, x.id, x.d FROM dq q CROSS JOIN LATERAL
	(SELECT id, dd.v <-> q.v AS d FROM dd ORDER BY dd.v <-> q.v LIMIT 3) x;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM (SELECT id, v <-> '[1,0,0,0,0,0,0,0]' AS d FROM dd
				ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 3) s ORDER BY d DESC;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM dd ORDER BY v <-> '[1,0,0,0,0,0,0,0]' FETCH FIRST 3 ROWS WITH TIES;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM dd ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 3 FOR UPDATE;
-- and the answers are the same
SELECT (SELECT array_agg(id) FROM (SELECT id FROM dd ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 5) s) =
	   (SELECT array_agg(id) FROM (SELECT id, v <-> '[1,0,0,0,0,0,0,0]' AS d FROM dd
								   ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 5) s) AS same_ids,
	   (SELECT array_agg(id ORDER BY d DESC) FROM (SELECT id, v <-> '[1,0,0,0,0,0,0,0]' AS d FROM dd
								   ORDER BY v <-> '[1,0,0,0,0,0,0,0]' LIMIT 5) s) AS by_d_desc;

-- The function takes internal arguments: SQL cannot call it.
SELECT n2_index_distance(NULL, NULL, '(0,1)', 'dd_l2', 'l2_distance');

-- A new session loads the library while it plans its first n2 scan, after
-- the planner hook is called: that statement still runs rewritten, and so
-- does a generic plan made then, when it is used again.
\c -
SET enable_seqscan = off;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*) FROM dq q CROSS JOIN LATERAL
	(SELECT id FROM dd ORDER BY dd.v <-> q.v LIMIT 3) x;
\c -
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE late AS SELECT count(*) FROM dq q CROSS JOIN LATERAL
	(SELECT id FROM dd ORDER BY dd.v <-> q.v LIMIT 3) x;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE late;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE late;
EXECUTE late;
DEALLOCATE late;

-- An angular index compares normalised vectors, the operator the vectors as
-- they are: float rounding makes the two differ in the last bits, so rows
-- whose distances differ by less may come out swapped (README, Limits).  Rows
-- on one line through 0 are all at cosine distance 0, which the two round
-- differently (0 or about 5e-8): every row comes back, and none before a row
-- nearer by more than the rounding.
RESET ALL;
CREATE TABLE co (id int, v vector(3), a real[]);
INSERT INTO co
	SELECT i, ARRAY[i, i * 10, i * 3.3]::real[]::vector, ARRAY[i, i * 10, i * 3.3]::real[]
	FROM generate_series(1, 300) i;
CREATE INDEX co_v ON co USING n2 (v vector_cosine_ops) WITH (n_threads = 1);
CREATE INDEX co_a ON co USING n2 (a float4_angular_ops) WITH (n_threads = 1);
SET enable_seqscan = off;
SELECT count(*) AS rows, coalesce(max(prev - d), 0) < 1e-6 AS within_rounding
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev
	  FROM (SELECT row_number() OVER () AS n, d
			FROM (SELECT v <=> '[1,10,3.3]' AS d FROM co ORDER BY v <=> '[1,10,3.3]') s) t) u;
SELECT count(*) AS rows, coalesce(max(prev - d), 0) < 1e-6 AS within_rounding
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev
	  FROM (SELECT row_number() OVER () AS n, d
			FROM (SELECT a <=> '{1,10,3.3}' AS d FROM co ORDER BY a <=> '{1,10,3.3}') s) t) u;
DROP TABLE co;

RESET ALL;
DROP TABLE dd, dq;
DROP FUNCTION dd_answers(text);
