--
-- pgvector's SQL surface in standalone n2: halfvec, and on vector l1_distance
-- and <+>, subvector, ||, binary_quantize and float4 underflow to zero.
-- attempt() reports SQLSTATE and message, so error codes are checked too.
--
CREATE FUNCTION attempt(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
	result text;
BEGIN
	EXECUTE stmt INTO result;
	RETURN coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN state || ': ' || msg;
END $$;

-- vector: underflow to zero, overflow an error
SELECT '[1e-46,1]'::vector, '[-1e-46]'::vector, '{1e-50,2}'::float8[]::vector;
SELECT attempt($$SELECT '[1e39]'::vector::text$$);
SELECT attempt($$SELECT '{1e39}'::float8[]::vector::text$$);

-- vector: L1, subvector, concatenation, binary quantization
SELECT l1_distance('[1,2,3]'::vector, '[3,0,-1]'), '[1,2,3]'::vector <+> '[3,0,-1]';
SELECT attempt($$SELECT l1_distance('[1,2]'::vector, '[1,2,3]')::text$$);
SELECT subvector('[1,2,3,4,5]'::vector, 1, 3), subvector('[1,2,3,4,5]'::vector, 3, 2),
	subvector('[1,2,3,4,5]'::vector, 4, 10), subvector('[1,2,3,4,5]'::vector, 0, 2),
	subvector('[1,2,3,4,5]'::vector, -1, 3);
SELECT attempt($$SELECT subvector('[1,2,3]'::vector, 4, 1)::text$$);
SELECT attempt($$SELECT subvector('[1,2,3]'::vector, 1, 0)::text$$);
SELECT attempt($$SELECT subvector('[1,2,3]'::vector, -5, 2)::text$$);
SELECT attempt($$SELECT subvector('[1,2,3]'::vector, 2147483647, 2147483647)::text$$);
SELECT '[1,2,3]'::vector || '[4,5]', pg_typeof('[1,2,3]'::vector || '[4,5]');
SELECT attempt($$SELECT vector_dims(array_fill(1, ARRAY[9000])::vector || array_fill(1, ARRAY[9000])::vector)::text$$);
SELECT binary_quantize('[1,-2,0,3,0.5,-0.1,7,8,9]'::vector);

-- bit distances, to re-rank by binary_quantize() codes
SELECT hamming_distance(B'1010', B'0110'), B'1010' <~> B'0110', B'111000111' <~> B'000000000',
	jaccard_distance(B'1010', B'0110'), B'1100' <%> B'1100', B'0000' <%> B'0000',
	binary_quantize('[1,-1,2]'::vector) <~> binary_quantize('[1,1,-2]'::vector);
SELECT attempt($$SELECT (B'101' <~> B'10')::text$$);
SELECT attempt($$SELECT jaccard_distance(B'101', B'1')::text$$);

-- halfvec: text input and output, typmod
SELECT '[1,2.5,-3]'::halfvec, '[0.1]'::halfvec, '[65504]'::halfvec, '[1e-8]'::halfvec,
	' [ 1 , 2 ] '::halfvec, '[1,2]'::halfvec(2);
SELECT attempt($$SELECT '[65520]'::halfvec::text$$);
SELECT attempt($$SELECT '[1e39]'::halfvec::text$$);
SELECT attempt($$SELECT '[NaN]'::halfvec::text$$);
SELECT attempt($$SELECT '[Infinity]'::halfvec::text$$);
SELECT attempt($$SELECT '[1,,2]'::halfvec::text$$);
SELECT attempt($$SELECT '[]'::halfvec::text$$);
SELECT attempt($$SELECT '[1,2]'::halfvec(3)::text$$);
SELECT attempt($$SELECT '[1]'::halfvec(0)::text$$);
SELECT attempt($$SELECT '[1]'::halfvec(16001)::text$$);
SELECT attempt($$SELECT '[1]'::halfvec(2,3)::text$$);
SELECT format_type('halfvec'::regtype, 5), vector_dims(array_fill(1, ARRAY[16000])::halfvec);

-- halfvec: binary format (pgvector's: int16 dim, int16 0, halves)
CREATE TABLE hv_copy (v halfvec(3));
CREATE TABLE hv_back (v halfvec(3));
INSERT INTO hv_copy VALUES ('[1,-2,0.5]'), ('[65504,-65504,0.00006103515625]');
SELECT v, halfvec_send(v) FROM hv_copy;
DO $$
DECLARE
	f text := '/tmp/n2_halfvec_' || pg_backend_pid() || '.bin';
BEGIN
	EXECUTE format('COPY hv_copy TO %L WITH (FORMAT binary)', f);
	EXECUTE format('COPY hv_back FROM %L WITH (FORMAT binary)', f);
	EXECUTE format('COPY (SELECT 1) TO %L', f);
END $$;
SELECT a.v, a.v = b.v AS same FROM hv_copy a JOIN hv_back b ON a.v::text = b.v::text;
DROP TABLE hv_copy, hv_back;

-- halfvec: casts
SELECT '[1.5,2]'::halfvec::vector, '[1.1,2]'::vector::halfvec, '[1,2]'::halfvec::real[],
	ARRAY[1,2]::halfvec, ARRAY[1.5,2]::real[]::halfvec, ARRAY[1.5,2]::float8[]::halfvec,
	ARRAY[1.5,2]::numeric[]::halfvec;
SELECT attempt($$SELECT '[70000]'::vector::halfvec::text$$);
SELECT attempt($$SELECT ARRAY[1,NULL]::halfvec::text$$);
SELECT attempt($$SELECT ARRAY[[1,2],[3,4]]::halfvec::text$$);
SELECT attempt($$SELECT '[1,2,3]'::halfvec::vector(2)::text$$);
SELECT attempt($$SELECT '[1,2,3]'::vector::halfvec(2)::text$$);

-- halfvec: distances and operators
SELECT l2_distance('[0,0]'::halfvec, '[3,4]'), '[0,0]'::halfvec <-> '[3,4]',
	inner_product('[1,2]'::halfvec, '[3,4]'), '[1,2]'::halfvec <#> '[3,4]',
	cosine_distance('[1,0]'::halfvec, '[0,1]'), '[1,1]'::halfvec <=> '[2,2]',
	l1_distance('[1,2]'::halfvec, '[3,5]'), '[1,2]'::halfvec <+> '[3,5]';
SELECT cosine_distance('[0,0]'::halfvec, '[1,1]');
SELECT attempt($$SELECT ('[1,2]'::halfvec <-> '[1,2,3]')::text$$);
SELECT attempt($$SELECT inner_product('[1,2]'::halfvec, '[1]')::text$$);

-- halfvec: properties and arithmetic
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec), l2_normalize('[3,4]'::halfvec),
	l2_normalize('[0,0]'::halfvec), binary_quantize('[1,-1,0,2]'::halfvec),
	subvector('[1,2,3,4]'::halfvec, 2, 2), '[1,2]'::halfvec || '[3]';
SELECT '[1,2]'::halfvec + '[3,4]', '[1,2]'::halfvec - '[3,5]', '[1,2]'::halfvec * '[3,4]',
	'[0.0001]'::halfvec * '[0.0001]';
SELECT attempt($$SELECT ('[65504]'::halfvec + '[65504]')::text$$);
SELECT attempt($$SELECT ('[300]'::halfvec * '[300]')::text$$);
SELECT attempt($$SELECT ('[1]'::halfvec + '[1,2]')::text$$);
SELECT attempt($$SELECT subvector('[1,2]'::halfvec, 3, 1)::text$$);

-- halfvec: comparison, btree, aggregates
SELECT '[1,2]'::halfvec < '[1,3]', '[1,2]'::halfvec = '[1,2]', '[1,2]'::halfvec <> '[1,2,0]',
	'[1,2]'::halfvec >= '[1]', '[-0]'::halfvec = '[0]', halfvec_cmp('[2]', '[1]');
CREATE TABLE hv (id int, v halfvec(2));
INSERT INTO hv VALUES (1, '[3,1]'), (2, '[1,2]'), (3, '[1,1]'), (4, NULL);
CREATE INDEX hv_btree ON hv (v);
SET enable_seqscan = off;
SELECT id FROM hv WHERE v = '[1,2]';
RESET enable_seqscan;
SELECT array_agg(id ORDER BY v) FROM hv;
SELECT avg(v), sum(v) FROM hv;
SELECT avg(v), sum(v) FROM hv WHERE false;
SELECT attempt($$SELECT sum(v)::text FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(v)$$);
SELECT attempt($$SELECT avg(v)::text FROM (VALUES ('[1]'::halfvec), ('[1,2]')) t(v)$$);

-- halfvec and L1 indexes, standalone
CREATE TABLE hvi (id int, v halfvec(3), w vector(3));
INSERT INTO hvi SELECT i, ARRAY[i % 7, i % 11, i % 13], ARRAY[i % 7, i % 11, i % 13]
	FROM generate_series(1, 1000) i;
CREATE INDEX hvi_l2 ON hvi USING n2 (v) WITH (n_threads = 1);
CREATE INDEX hvi_cos ON hvi USING n2 (v halfvec_cosine_ops) WITH (n_threads = 1);
CREATE INDEX hvi_ip ON hvi USING n2 (v halfvec_ip_ops) WITH (n_threads = 1);
CREATE INDEX hvi_l1h ON hvi USING n2 (v halfvec_l1_ops) WITH (n_threads = 1);
CREATE INDEX hvi_l1 ON hvi USING n2 (w vector_l1_ops) WITH (n_threads = 1);
SELECT indexrelid::regclass, (SELECT metric FROM n2_index_info(indexrelid)) FROM pg_index
	WHERE indrelid = 'hvi'::regclass ORDER BY 1;
-- Each index, forced, gives the exact distances (ties make ids ambiguous).
CREATE FUNCTION knn_dists(op text, col text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE format('SELECT string_agg(d::text, '','') FROM (SELECT %I %s ''[3,5,7]'' AS d
		FROM hvi ORDER BY %I %s ''[3,5,7]'' LIMIT 15) s', col, op, col, op) INTO r;
	RETURN r;
END $$;
CREATE TEMP TABLE cases (op text, col text, idx text);
INSERT INTO cases VALUES ('<->', 'v', 'hvi_l2'), ('<=>', 'v', 'hvi_cos'), ('<#>', 'v', 'hvi_ip'),
	('<+>', 'v', 'hvi_l1h'), ('<+>', 'w', 'hvi_l1');
SET n2.ef_search = 100;
SET enable_seqscan = off;
CREATE TEMP TABLE indexed AS SELECT op, col, knn_dists(op, col) AS d FROM cases;
SET enable_indexscan = off;
RESET enable_seqscan;
SELECT c.op, c.col, i.d = knn_dists(c.op, c.col) AS exact
FROM cases c JOIN indexed i USING (op, col) ORDER BY c.idx;
RESET enable_indexscan;
RESET n2.ef_search;
-- The plans use them.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hvi ORDER BY v <+> '[1,2,3]' LIMIT 1;
EXPLAIN (COSTS OFF) SELECT id FROM hvi ORDER BY w <+> '[1,2,3]' LIMIT 1;
EXPLAIN (COSTS OFF) SELECT id FROM hvi ORDER BY v <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;
SELECT count(*) FROM n2_verify('hvi_l1');
SELECT count(*) FROM n2_verify('hvi_l1h');
DROP TABLE hvi, hv;
DROP FUNCTION knn_dists(text, text);
DROP FUNCTION attempt(text);

-- n2's classes on the vector types: created once, idempotent, internal.
SELECT count(*) FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod WHERE a.amname = 'n2';
SELECT n2_create_opclasses(current_schema()::regnamespace);
SELECT n2_create_opclasses(NULL);
SELECT count(*) FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod WHERE a.amname = 'n2';
SELECT has_function_privilege('public', 'n2_create_opclasses(regnamespace)', 'execute');
SELECT n2_pgvector_event();
SELECT evtname, evtevent, evttags FROM pg_event_trigger WHERE evtname LIKE 'n2%' ORDER BY 1;
