--
-- Every way the vector type rejects its input.  try() runs a statement and
-- reports SQLSTATE, message and detail, so the error codes are checked too.
--
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

\pset format unaligned
\pset tuples_only on

-- A few as psql shows them
SELECT '[1,,2]'::vector;
SELECT '[1,2]'::vector(3);
SELECT '[1,2,3]'::vector <-> '[1,2]';

-- Malformed text: 22P02
SELECT try($$SELECT '[1,,2]'::vector$$);
SELECT try($$SELECT '[1 2]'::vector$$);
SELECT try($$SELECT '1,2'::vector$$);
SELECT try($$SELECT ''::vector$$);
SELECT try($$SELECT '[1,2]x'::vector$$);
SELECT try($$SELECT '[1,2] ]'::vector$$);
SELECT try($$SELECT '[1,2'::vector$$);
SELECT try($$SELECT '[1,2,'::vector$$);
SELECT try($$SELECT '['::vector$$);
SELECT try($$SELECT '[,1]'::vector$$);
SELECT try($$SELECT '[1,]'::vector$$);
SELECT try($$SELECT '[a]'::vector$$);
SELECT try($$SELECT '[1;2]'::vector$$);
SELECT try($$SELECT '[[1,2]]'::vector$$);
SELECT try($$SELECT '{1,2}'::vector$$);
SELECT try($$SELECT '[é,1]'::vector$$);
SELECT try($$SELECT '[1,é]'::vector$$);

-- Out of range for real: 22003 (too small for a float is zero, as in pgvector)
SELECT try($$SELECT '[1e99]'::vector$$);
SELECT try($$SELECT '[1,-1e39]'::vector$$);
SELECT try($$SELECT '[1e-50]'::vector$$);
SELECT try($$SELECT ('[' || repeat('9', 60) || ']')::vector$$);

-- NaN and infinity: 22023, naming the element
SELECT try($$SELECT '[NaN]'::vector$$);
SELECT try($$SELECT '[1,2,nan]'::vector$$);
SELECT try($$SELECT '[Infinity,1]'::vector$$);
SELECT try($$SELECT '[1,-inf]'::vector$$);

-- Dimensions: 22023 for none, 54000 for too many, 22000 for a typmod mismatch
SELECT try($$SELECT '[]'::vector$$);
SELECT try($$SELECT '[ ]'::vector$$);
SELECT try($$SELECT ('[' || repeat('1,', 16000) || '1]')::vector$$);
SELECT try($$SELECT '[1,2]'::vector(3)$$);
SELECT try($$SELECT '[1,2,3]'::vector::vector(2)$$);
SELECT try($$CREATE TEMP TABLE t3 (v vector(3)); INSERT INTO t3 VALUES ('[1,2]')$$);
SELECT try($$CREATE TEMP TABLE t3 (v vector(3)); INSERT INTO t3 VALUES ('{1,2}'::real[])$$);

-- Type modifiers: 22023
SELECT try($$SELECT '[1]'::vector(0)$$);
SELECT try($$SELECT '[1]'::vector(-1)$$);
SELECT try($$SELECT '[1]'::vector(16001)$$);
SELECT try($$SELECT '[1]'::vector(1, 2)$$);
SELECT try($$CREATE TEMP TABLE t0 (v vector(0))$$);

-- Casts from arrays
SELECT try($$SELECT '{1,NULL}'::real[]::vector$$);
SELECT try($$SELECT '{NULL}'::integer[]::vector$$);
SELECT try($$SELECT '{{1,2},{3,4}}'::real[]::vector$$);
SELECT try($$SELECT '{}'::real[]::vector$$);
SELECT try($$SELECT '{1,2}'::real[]::vector(3)$$);
SELECT try($$SELECT array_fill(1, ARRAY[16001])::vector$$);
SELECT try($$SELECT '{1,NaN}'::real[]::vector$$);
SELECT try($$SELECT '{-Infinity}'::double precision[]::vector$$);
SELECT try($$SELECT '{NaN}'::numeric[]::vector$$);
SELECT try($$SELECT '{1e39}'::double precision[]::vector$$);
SELECT try($$SELECT '{1e-50}'::double precision[]::vector$$);
SELECT try($$SELECT '{1e39}'::numeric[]::vector$$);

-- Mismatched dimensions: 22000
SELECT try($$SELECT '[1,2,3]'::vector <-> '[1,2]'$$);
SELECT try($$SELECT '[1,2,3]'::vector <=> '[1,2]'$$);
SELECT try($$SELECT '[1,2,3]'::vector <#> '[1,2]'$$);
SELECT try($$SELECT inner_product('[1]'::vector, '[1,2]')$$);
SELECT try($$SELECT '[1,2,3]'::vector + '[1,2]'$$);
SELECT try($$SELECT '[1,2,3]'::vector - '[1,2]'$$);
SELECT try($$SELECT '[1,2,3]'::vector * '[1,2]'$$);
SELECT try($$SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$$);
SELECT try($$SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1]')) t(v)$$);
SELECT try($$SELECT vector_combine('{1,1,2}', '{1,1}')$$);

-- Aggregate states that the aggregates never make: 22000
SELECT try($$SELECT vector_accum('{}', '[1]')$$);
SELECT try($$SELECT vector_accum('{2}', '[1]')$$);
SELECT try($$SELECT vector_accum('{0,1}', '[1]')$$);
SELECT try($$SELECT vector_accum('{1,NULL}', '[1]')$$);
SELECT try($$SELECT vector_avg('{{1,2}}')$$);
SELECT try($$SELECT vector_avg(array_fill(1::float8, ARRAY[16002]))$$);

-- Arithmetic leaving the range of real: 22003
SELECT try($$SELECT '[3e38]'::vector + '[3e38]'$$);
SELECT try($$SELECT '[-3e38]'::vector - '[3e38]'$$);
SELECT try($$SELECT '[1,1e20]'::vector * '[1,1e20]'$$);
SELECT try($$SELECT '[1e-30]'::vector * '[1e-30]'$$);
SELECT try($$SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)$$);

-- Distances on real[]
SELECT try($$SELECT '{{1,2}}'::real[] <-> '{1,2}'::real[]$$);
SELECT try($$SELECT '{1,2}'::real[] <=> '{1,NULL}'::real[]$$);
SELECT try($$SELECT '{1,2,3}'::real[] <#> '{1,2}'::real[]$$);
SELECT try($$SELECT float4_l2_distance('{}'::real[], '{}'::real[])$$);
SELECT try($$SELECT float4_cosine_distance('{1}'::real[], '{}'::real[])$$);

-- Binary input through COPY: 22P03 for malformed messages
CREATE FUNCTION test_file() RETURNS text
LANGUAGE sql AS $$ SELECT current_setting('data_directory') || '/n2_vector_errors.bin' $$;
CREATE FUNCTION copy_binary_in(tab regclass, payload bytea) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	lo oid;
BEGIN
	lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea
		|| '\x0000000000000000'::bytea
		|| '\x0001'::bytea || int4send(length(payload)) || payload
		|| '\xffff'::bytea);
	PERFORM lo_export(lo, test_file());
	PERFORM lo_unlink(lo);
	EXECUTE format('COPY %s FROM %L (FORMAT binary)', tab, test_file());
END $$;
CREATE TABLE bin (v vector);
CREATE TABLE bin3 (v vector(3));
SELECT try($$SELECT copy_binary_in('bin', '\x0001'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin', '\x000200003f800000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin', '\x000100003f8000003f800000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin', '\x000100013f800000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin', '\x00000000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin', '\xffff00003f800000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin', '\x3e810000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin', '\x000200003f8000007fc00000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin', '\x00010000ff800000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('bin3', '\x000100003f800000'::bytea)$$);
SELECT count(*) FROM bin;
SELECT try($$SELECT copy_binary_in('bin', '\x000100003f800000'::bytea)$$);
SELECT * FROM bin;

-- halfvec's binary input checks its header the same way (2-byte elements)
CREATE TABLE binh (v halfvec);
CREATE TABLE binh3 (v halfvec(3));
SELECT try($$SELECT copy_binary_in('binh', '\x0001'::bytea)$$);
SELECT try($$SELECT copy_binary_in('binh', '\x000200003c00'::bytea)$$);
SELECT try($$SELECT copy_binary_in('binh', '\x000100003c003c00'::bytea)$$);
SELECT try($$SELECT copy_binary_in('binh', '\x000100013c00'::bytea)$$);
SELECT try($$SELECT copy_binary_in('binh', '\x00000000'::bytea)$$);
SELECT try($$SELECT copy_binary_in('binh3', '\x000100003c00'::bytea)$$);
SELECT try($$SELECT copy_binary_in('binh', '\x000200003c00c000'::bytea)$$);
SELECT * FROM binh;
DROP TABLE binh, binh3;
DROP TABLE bin, bin3;
DROP FUNCTION copy_binary_in(regclass, bytea);
DROP FUNCTION test_file();
DROP FUNCTION try(text);
