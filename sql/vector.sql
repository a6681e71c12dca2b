--
-- The vector type: I/O, casts, operators, comparison, aggregates.
--

-- Text input: whitespace around brackets and elements; any float4 syntax.
SELECT '[1,2,3]'::vector;
SELECT ' [ 1 , 2.5 ,-3e-2 ] '::vector;
SELECT E'\n[1,\t2]\n'::vector;
SELECT '[+1.5, .5, 5., 0x10]'::vector;

-- Output is the shortest text that reads back as the same float4.
SELECT '[0.1,0.2,0.3]'::vector;
SELECT '[1.23456789,-0,100000000,1e-7]'::vector;
SELECT '[3.4028235e38,-3.4028235e38,1.17549435e-38,1e-45,1.5e-40]'::vector;
CREATE TABLE roundtrip (v vector);
INSERT INTO roundtrip
	SELECT ('[' || string_agg((sin(i * j) * 10 ^ (i % 7 - 3))::real::text, ',') || ']')::vector
	FROM generate_series(1, 20) i, generate_series(1, 8) j GROUP BY i;
SELECT count(*) AS rows, count(*) FILTER (WHERE v::text::vector = v) AS exact_round_trips
	FROM roundtrip;
-- ... and the same text as type real prints for each element
SELECT count(*) AS rows,
	count(*) FILTER (WHERE v::text = '[' || array_to_string(v::real[], ',') || ']') AS same_as_real
	FROM roundtrip;

-- Typmods
SELECT '[1,2,3]'::vector(3);
CREATE TABLE typmod_test (v vector(3), w vector);
SELECT attname, format_type(atttypid, atttypmod)
	FROM pg_attribute WHERE attrelid = 'typmod_test'::regclass AND attnum > 0
	ORDER BY attnum;
INSERT INTO typmod_test VALUES ('[1,2,3]', '[1]');
SELECT * FROM typmod_test;
SELECT w::vector(1), v::vector(3) FROM typmod_test;
DROP TABLE typmod_test;

-- The largest vector, stored out of line
CREATE TABLE big (v vector(16000));
INSERT INTO big SELECT array_fill(0.5::real, ARRAY[16000])::vector;
SELECT vector_dims(v), vector_norm(v) = sqrt(16000 * 0.25) AS norm_ok,
	v = array_fill(0.5::real, ARRAY[16000])::vector AS same,
	pg_column_size(v) < 64004 AS compressed
	FROM big;
SELECT vector_dims(('[' || repeat('1,', 15999) || '1]')::vector);
DROP TABLE big;

-- Binary output: int16 dim, int16 zero, float4 elements, big-endian
SELECT vector_send('[1,2]');
SELECT vector_send('[-0,0.5,-2.5]');

-- Binary round trip through COPY (FORMAT binary), and vector_recv on
-- hand-written files.  The file lives in the data directory.
CREATE FUNCTION test_file() RETURNS text
LANGUAGE sql AS $$ SELECT current_setting('data_directory') || '/n2_vector_test.bin' $$;
CREATE FUNCTION copy_binary_in(tab regclass, payload bytea) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	lo oid;
BEGIN
	-- COPY binary header, one tuple with one field, trailer
	lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea
		|| '\x0000000000000000'::bytea
		|| '\x0001'::bytea || int4send(length(payload)) || payload
		|| '\xffff'::bytea);
	PERFORM lo_export(lo, test_file());
	PERFORM lo_unlink(lo);
	EXECUTE format('COPY %s FROM %L (FORMAT binary)', tab, test_file());
END $$;

CREATE TABLE bin_src (v vector);
INSERT INTO bin_src VALUES ('[1,2,3]'), ('[-0.1,1e+30]'), ('[1.5e-40]'), (NULL);
DO $$ BEGIN EXECUTE format('COPY bin_src TO %L (FORMAT binary)', test_file()); END $$;
SELECT substr(pg_read_binary_file(test_file()), 20, 22) AS first_tuple;
CREATE TABLE bin_dst (v vector);
DO $$ BEGIN EXECUTE format('COPY bin_dst FROM %L (FORMAT binary)', test_file()); END $$;
SELECT * FROM bin_dst;
SELECT count(*) FROM bin_src s JOIN bin_dst d ON s.v = d.v;
TRUNCATE bin_dst;
SELECT copy_binary_in('bin_dst', '\x000300003f800000c000000040400000'::bytea);
SELECT copy_binary_in('bin_dst', '\x00010000bf800000'::bytea);
SELECT * FROM bin_dst;
CREATE TABLE bin_typmod (v vector(2));
SELECT copy_binary_in('bin_typmod', '\x0002000000000000447a0000'::bytea);
SELECT * FROM bin_typmod;
DROP TABLE bin_src, bin_dst, bin_typmod;

-- Casts
SELECT '{1,2,3}'::real[]::vector;
SELECT '{1,2,3}'::integer[]::vector(3);
SELECT '{0.1,2.5}'::double precision[]::vector;
SELECT '{0.1,2.5,-7}'::numeric[]::vector;
SELECT ARRAY[1.5, 2]::vector;
SELECT '[0:2]={4,5,6}'::real[]::vector;
SELECT '[1,2.5]'::vector::real[];
SELECT array_length('[1,2,3]'::vector::real[], 1);
CREATE TABLE cast_test (v vector(2));
INSERT INTO cast_test VALUES ('{1,2}'::real[]), (ARRAY[3, 4]), (ARRAY[5.5, 6.5]);
SELECT * FROM cast_test;
DROP TABLE cast_test;

-- Distances
SELECT '[1,2,3]'::vector <-> '[4,5,6]' AS l2,
	'[1,2,3]'::vector <#> '[4,5,6]' AS neg_ip,
	inner_product('[1,2,3]'::vector, '[4,5,6]') AS ip;
SELECT l2_distance('[0,0]'::vector, '[3,4]') AS five,
	l2_distance('[1,1]'::vector, '[1,1]') AS zero;
SELECT '[1,0]'::vector <=> '[0,1]' AS orthogonal,
	'[1,0]'::vector <=> '[-1,0]' AS opposite,
	'[1,1]'::vector <=> '[2,2]' AS same_direction,
	cosine_distance('[3,4]'::vector, '[4,3]') AS float4_of_0_04;
-- The cosine is undefined for a zero vector: the distance is defined as 1.
SELECT '[0,0]'::vector <=> '[1,2]' AS zero_left,
	'[1,2]'::vector <=> '[0,0]' AS zero_right,
	'[0,0]'::vector <=> '[0,0]' AS both_zero;
-- Operators commute
SELECT ('[1,2]'::vector <-> '[5,7]') = ('[5,7]'::vector <-> '[1,2]') AS l2,
	('[1,2]'::vector <=> '[5,7]') = ('[5,7]'::vector <=> '[1,2]') AS cosine,
	('[1,2]'::vector <#> '[5,7]') = ('[5,7]'::vector <#> '[1,2]') AS ip;
SELECT oprname, oprcode::regprocedure, oprcom::regoperator
	FROM pg_operator
	WHERE oprname IN ('<->', '<=>', '<#>') AND oprleft = 'vector'::regtype
	ORDER BY oprname;

-- Distances on real[]
SELECT '{1,2,3}'::real[] <-> '{4,5,6}'::real[] AS l2,
	'{1,2,3}'::real[] <#> '{4,5,6}'::real[] AS neg_ip,
	float4_inner_product('{1,2,3}'::real[], '{4,5,6}'::real[]) AS ip,
	float4_l2_distance('{0,0}'::real[], '{3,4}'::real[]) AS five;
SELECT '{1,0}'::real[] <=> '{0,1}'::real[] AS orthogonal,
	float4_cosine_distance('{0,0}'::real[], '{1,2}'::real[]) AS zero_vector;
SELECT '[0:2]={1,2,3}'::real[] <-> '{4,5,6}'::real[] AS lower_bounds_ignored;

-- Properties and arithmetic
SELECT vector_dims('[1,2,3]'::vector), vector_norm('[3,4]'), vector_norm('[0,0]');
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector), l2_normalize('[-2]'::vector);
SELECT '[1,2,3]'::vector + '[4,5,6]' AS add,
	'[1,2,3]'::vector - '[4,5,6]' AS sub,
	'[1,2,3]'::vector * '[4,5,6]' AS mul;

-- Comparison: element by element, then the shorter vector first
SELECT '[1,2]'::vector < '[1,3]' AS lt, '[1,2]'::vector <= '[1,2]' AS le,
	'[1,2]'::vector = '[1,2]' AS eq, '[1,2]'::vector <> '[1,2]' AS ne,
	'[1,3]'::vector >= '[1,2]' AS ge, '[1,3]'::vector > '[1,2]' AS gt;
SELECT vector_cmp('[1,2]', '[1,2,0]') AS prefix_first,
	vector_cmp('[2]', '[1,5]') AS elements_first,
	vector_cmp('[1,2]', '[1,2]') AS equal,
	vector_cmp('[0]', '[-0]') AS zeros_equal;
CREATE TABLE cmp_test (id int, v vector);
INSERT INTO cmp_test VALUES (1, '[1,2]'), (2, '[1,2,0]'), (3, '[2]'), (4, '[1,5]'),
	(5, '[-1,9,9]'), (6, '[1,2]'), (7, '[1]'), (8, NULL), (9, '[0]'), (10, '[-0]');
SELECT id, v FROM cmp_test WHERE id < 9 ORDER BY v, id;
SELECT id, v FROM cmp_test WHERE id < 9 ORDER BY v DESC, id;
-- DISTINCT and GROUP BY, sorted and hashed; -0 and 0 fall in one group
SET enable_hashagg = off;
SELECT v, count(*) FROM cmp_test WHERE id < 9 GROUP BY v ORDER BY v;
SELECT count(DISTINCT v) FROM cmp_test;
SET enable_hashagg = on;
SET enable_sort = off;
SELECT v, count(*) FROM cmp_test WHERE id < 9 GROUP BY v ORDER BY v;
SELECT count(*) FROM (SELECT DISTINCT v FROM cmp_test) d;
RESET enable_sort;
RESET enable_hashagg;
SELECT vector_hash('[0]') = vector_hash('[-0]') AS hash_zeros,
	vector_hash_extended('[1,-0,3]', 0) = vector_hash_extended('[1,0,3]', 0) AS hash_ext_zeros,
	vector_hash_extended('[1,2]', 0) & 4294967295 = vector_hash('[1,2]')::bigint & 4294967295
		AS ext_seed_0_matches,
	vector_hash_extended('[1,2]', 1) <> vector_hash_extended('[1,2]', 0) AS seed_matters;
-- Indexes: a btree (also UNIQUE) and a hash index
CREATE INDEX cmp_test_btree ON cmp_test (v);
CREATE INDEX cmp_test_hash ON cmp_test USING hash (v);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM cmp_test WHERE v < '[1,2]' ORDER BY v;
SELECT id FROM cmp_test WHERE v < '[1,2]' ORDER BY v;
DROP INDEX cmp_test_btree;
EXPLAIN (COSTS OFF) SELECT id FROM cmp_test WHERE v = '[1,2]';
SELECT id FROM cmp_test WHERE v = '[1,2]' ORDER BY id;
SELECT id FROM cmp_test WHERE v = '[0]' ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;
CREATE TABLE uniq_test (v vector UNIQUE);
INSERT INTO uniq_test VALUES ('[1,2]'), ('[1,2,0]'), ('[2,1]');
INSERT INTO uniq_test VALUES ('[1,2]');
INSERT INTO uniq_test VALUES ('[1,2]') ON CONFLICT (v) DO NOTHING;
SELECT * FROM uniq_test ORDER BY v;
-- Joins by hashing and by merging
SET enable_nestloop = off;
SET enable_mergejoin = off;
SELECT count(*) FROM cmp_test a JOIN cmp_test b ON a.v = b.v;
SET enable_mergejoin = on;
SET enable_hashjoin = off;
SELECT count(*) FROM cmp_test a JOIN cmp_test b ON a.v = b.v;
RESET enable_nestloop;
RESET enable_mergejoin;
RESET enable_hashjoin;
DROP TABLE cmp_test, uniq_test;

-- Aggregates
SELECT avg(v), sum(v) FROM (VALUES ('[1,2]'::vector), ('[3,5]'), (NULL)) t(v);
SELECT avg(v) FROM (VALUES ('[1]'::vector), ('[2]'), ('[2]')) t(v);
SELECT avg(v), sum(v) FROM (VALUES (NULL::vector)) t(v);
SELECT avg(v), sum(v) FROM roundtrip WHERE false;
SELECT g, avg(v), sum(v) FROM (VALUES (1, '[1,1]'::vector), (1, '[3,3]'), (2, '[-1,0]')) t(g, v)
	GROUP BY g ORDER BY g;
-- Sums are kept in double, so small addends are not lost
SELECT sum(v) FROM (VALUES ('[100000000]'::vector), ('[1]'), ('[1]'), ('[-100000000]')) t(v);
-- Window
SELECT i, avg(v) OVER (ORDER BY i) FROM (VALUES (1, '[2,4]'::vector), (2, '[4,8]'), (3, '[0,0]')) t(i, v);
-- Parallel: partial aggregates are combined
CREATE TABLE agg_test (v vector(3));
INSERT INTO agg_test SELECT ARRAY[i, i % 10, -i]::vector FROM generate_series(1, 10000) i;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM agg_test;
SELECT avg(v), sum(v) FROM agg_test;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT avg(v), sum(v) FROM agg_test;
SELECT vector_combine('{0}', '{2,4,6}'), vector_combine('{1,1,2}', '{2,4,6}'),
	vector_accum('{0}', '[1,2]'), vector_accum('{1,1,2}', '[1,2]');
DROP TABLE agg_test, roundtrip;
DROP FUNCTION copy_binary_in(regclass, bytea);
DROP FUNCTION test_file();

-- Two untyped literals name no type: vector or halfvec, as in pgvector
-- (the real[] functions have their own names, so they add no ambiguity).
SELECT l2_distance('[1,2]', '[4,6]');
SELECT l2_distance('[1,2]'::vector, '[4,6]') AS five, inner_product('[1,2]'::vector, '[3,4]') AS eleven,
	cosine_distance('[1,0]'::vector, '[0,1]') AS one;
