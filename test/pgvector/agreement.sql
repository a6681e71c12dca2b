-- Statements on pgvector's documented vector and halfvec behaviour, one per
-- line, each a SELECT of one value.  t/151_pgvector_agreement.pl runs every
-- line against pgvector and against standalone n2 and compares the results
-- (an error compares by its SQLSTATE).
SELECT '[1,2,3]'::vector
SELECT '[-1,2.5,3e2]'::vector
SELECT ' [ 1 , 2 ] '::vector
SELECT '[1.23456789]'::vector
SELECT '[0.1,0.2,0.3]'::vector
SELECT '[1e-46,1]'::vector
SELECT '[-1e-46]'::vector
SELECT '[1e39]'::vector
SELECT '[-1e39]'::vector
SELECT '[NaN]'::vector
SELECT '[Infinity]'::vector
SELECT '[-Infinity]'::vector
SELECT '[]'::vector
SELECT '[1,,2]'::vector
SELECT '1,2'::vector
SELECT '[1,2'::vector
SELECT '[1,2]x'::vector
SELECT '[a]'::vector
SELECT '[1,2]'::vector(2)
SELECT '[1,2]'::vector(3)
SELECT '[1]'::vector(0)
SELECT '[1]'::vector(16001)
SELECT vector_dims(array_fill(1, ARRAY[16000])::vector)
SELECT vector_dims(array_fill(1, ARRAY[16001])::vector)
SELECT format_type('vector'::regtype, 3)
SELECT '[1,2,3]'::vector::text::vector
SELECT '[1,2]'::vector::vector(2)
SELECT ARRAY[1,2,3]::vector
SELECT ARRAY[1.5,2.5]::real[]::vector
SELECT ARRAY[1.5,2.5]::float8[]::vector
SELECT ARRAY[1.5,2.5]::numeric[]::vector
SELECT '{1e-50}'::float8[]::vector
SELECT '{1e39}'::float8[]::vector
SELECT ARRAY[1,NULL]::vector
SELECT ARRAY[[1,2],[3,4]]::vector
SELECT '{}'::real[]::vector
SELECT ARRAY[1,2]::int[]::vector(3)
SELECT '{NaN}'::real[]::vector
SELECT '[1,2]'::vector::real[]
SELECT '[1,2,3]'::vector + '[4,5,6]'
SELECT '[1,2,3]'::vector - '[4,5,6]'
SELECT '[1,2,3]'::vector * '[4,5,6]'
SELECT '[1,2]'::vector + '[1]'
SELECT '[3e38]'::vector + '[3e38]'
SELECT '[-3e38]'::vector - '[3e38]'
SELECT '[1e30]'::vector * '[1e30]'
SELECT '[1e-30]'::vector * '[1e-30]'
SELECT '[1,2,3]'::vector || '[4,5]'
SELECT vector_dims('[1,2]'::vector || '[3]')
SELECT array_fill(1, ARRAY[9000])::vector || array_fill(1, ARRAY[9000])::vector
SELECT '[1,2,3]'::vector < '[1,2,4]'
SELECT '[1,2,3]'::vector <= '[1,2,3]'
SELECT '[1,2,3]'::vector = '[1,2,3]'
SELECT '[1,2,3]'::vector <> '[1,2,3]'
SELECT '[1,2]'::vector < '[1,2,3]'
SELECT '[2]'::vector > '[1,2,3]'
SELECT '[-0]'::vector = '[0]'
SELECT vector_cmp('[1,2]'::vector, '[1,3]')
SELECT l2_distance('[0,0]'::vector, '[3,4]')
SELECT '[0,0]'::vector <-> '[3,4]'
SELECT '[1,2,3]'::vector <-> '[1,2,3]'
SELECT inner_product('[1,2]'::vector, '[3,4]')
SELECT '[1,2]'::vector <#> '[3,4]'
SELECT cosine_distance('[1,2]'::vector, '[2,4]')
SELECT '[1,1]'::vector <=> '[-1,-1]'
SELECT '[1,0]'::vector <=> '[0,1]'
SELECT cosine_distance('[0,0]'::vector, '[1,1]')
SELECT l1_distance('[1,2]'::vector, '[3,5]')
SELECT '[1,2]'::vector <+> '[3,5]'
SELECT l2_distance('[1,2]'::vector, '[1]')
SELECT inner_product('[1,2]'::vector, '[1]')
SELECT cosine_distance('[1,2]'::vector, '[1]')
SELECT l1_distance('[1,2]'::vector, '[1]')
SELECT l2_distance('[1e20]'::vector, '[-1e20]')
SELECT vector_l2_squared_distance('[0,0]'::vector, '[3,4]')
SELECT vector_l2_squared_distance('[1e20]'::vector, '[-1e20]')
SELECT vector_l2_squared_distance('[1,2]'::vector, '[1]')
SELECT vector_spherical_distance('[1,0]'::vector, '[0,1]')
SELECT vector_spherical_distance('[1,0]'::vector, '[-1,0]')
SELECT vector_spherical_distance('[2,0]'::vector, '[3,0]')
SELECT vector_spherical_distance('[1,2]'::vector, '[1]')
SELECT vector_dims('[1,2,3]'::vector)
SELECT vector_norm('[3,4]'::vector)
SELECT vector_norm('[1e20,1e20]'::vector)
SELECT vector_norm('[0,0]'::vector)
SELECT l2_normalize('[3,4]'::vector)
SELECT l2_normalize('[0,0]'::vector)
SELECT l2_normalize('[-2]'::vector)
SELECT vector_dims(l2_normalize('[1,2,3]'::vector))
SELECT binary_quantize('[1,-2,0,3]'::vector)
SELECT binary_quantize('[1,2,3,4,5,6,7,8,9]'::vector)
SELECT subvector('[1,2,3,4,5]'::vector, 1, 3)
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3)
SELECT subvector('[1,2,3,4,5]'::vector, 0, 2)
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3)
SELECT subvector('[1,2,3]'::vector, 3, 5)
SELECT subvector('[1,2,3]'::vector, 4, 1)
SELECT subvector('[1,2,3]'::vector, 1, 0)
SELECT subvector('[1,2,3]'::vector, -5, 2)
SELECT subvector('[1,2,3]'::vector, 2147483647, 2147483647)
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[3,4]')) t(v)
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[3,4]')) t(v)
SELECT avg(v) FROM (VALUES ('[1,2]'::vector)) t(v) WHERE false
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[3]')) t(v)
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)
SELECT avg(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)
SELECT encode(vector_send('[1,2]'), 'hex')
SELECT '[1,2,3]'::halfvec
SELECT '[1.1,2.2]'::halfvec
SELECT '[0.1]'::halfvec
SELECT '[65504]'::halfvec
SELECT '[65519]'::halfvec
SELECT '[65520]'::halfvec
SELECT '[-65520]'::halfvec
SELECT '[1e-8]'::halfvec
SELECT '[6e-8]'::halfvec
SELECT '[NaN]'::halfvec
SELECT '[Infinity]'::halfvec
SELECT '[]'::halfvec
SELECT '[1,,2]'::halfvec
SELECT '[1,2]'::halfvec(2)
SELECT '[1,2]'::halfvec(3)
SELECT '[1]'::halfvec(16001)
SELECT vector_dims(array_fill(1, ARRAY[16000])::halfvec)
SELECT format_type('halfvec'::regtype, 3)
SELECT '[1,2]'::halfvec::vector
SELECT '[1.1,2.2]'::vector::halfvec
SELECT '[70000]'::vector::halfvec
SELECT '[1,2,3]'::halfvec::vector(2)
SELECT ARRAY[1,2]::halfvec
SELECT ARRAY[1.5,2.5]::real[]::halfvec
SELECT ARRAY[1.5,2.5]::float8[]::halfvec
SELECT ARRAY[1.5,2.5]::numeric[]::halfvec
SELECT ARRAY[1,NULL]::halfvec
SELECT '{1e-50}'::float8[]::halfvec
SELECT '[1,2]'::halfvec::real[]
SELECT l2_distance('[0,0]'::halfvec, '[3,4]')
SELECT '[0,0]'::halfvec <-> '[3,4]'
SELECT inner_product('[1,2]'::halfvec, '[3,4]')
SELECT '[1,2]'::halfvec <#> '[3,4]'
SELECT cosine_distance('[1,2]'::halfvec, '[2,4]')
SELECT '[1,1]'::halfvec <=> '[-1,-1]'
SELECT cosine_distance('[0,0]'::halfvec, '[1,1]')
SELECT l1_distance('[1,2]'::halfvec, '[3,5]')
SELECT '[1,2]'::halfvec <+> '[3,5]'
SELECT l2_distance('[1,2]'::halfvec, '[1]')
SELECT inner_product('[1,2]'::halfvec, '[1]')
SELECT halfvec_l2_squared_distance('[0,0]'::halfvec, '[3,4]')
SELECT halfvec_l2_squared_distance('[1,2]'::halfvec, '[1]')
SELECT halfvec_spherical_distance('[1,0]'::halfvec, '[0,1]')
SELECT halfvec_spherical_distance('[-2,0]'::halfvec, '[3,0]')
SELECT vector_dims('[1,2,3]'::halfvec)
SELECT l2_norm('[3,4]'::halfvec)
SELECT l2_normalize('[3,4]'::halfvec)
SELECT l2_normalize('[0,0]'::halfvec)
SELECT binary_quantize('[1,-2,0,3]'::halfvec)
SELECT subvector('[1,2,3,4]'::halfvec, 2, 2)
SELECT subvector('[1,2,3]'::halfvec, 4, 1)
SELECT '[1,2]'::halfvec || '[3]'
SELECT '[1,2]'::halfvec + '[3,4]'
SELECT '[1,2]'::halfvec - '[3,5]'
SELECT '[1,2]'::halfvec * '[3,4]'
SELECT '[65504]'::halfvec + '[65504]'
SELECT '[300]'::halfvec * '[300]'
SELECT '[1]'::halfvec + '[1,2]'
SELECT '[1,2]'::halfvec < '[1,3]'
SELECT '[1,2]'::halfvec = '[1,2]'
SELECT '[1,2]'::halfvec <> '[1,2,0]'
SELECT halfvec_cmp('[1,2]'::halfvec, '[1,3]')
SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[3,4]')) t(v)
SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[2,2]'), ('[2,1]')) t(v)
SELECT sum(v) FROM (VALUES ('[1,2]'::halfvec), ('[3,4]')) t(v)
SELECT sum(v) FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(v)
SELECT encode(halfvec_send('[1,-2,0.5]'), 'hex')
SELECT '[1,2]'::vector(2)::halfvec(2)
SELECT '[1.5,2.5]'::vector::halfvec::text
SELECT hamming_distance(B'1010', B'0110')
SELECT B'111000111' <~> B'000000000'
SELECT jaccard_distance(B'1010', B'0110')
SELECT B'1100' <%> B'1100'
SELECT B'0000' <%> B'0000'
SELECT B'101' <~> B'10'
SELECT jaccard_distance(B'101', B'1')
SELECT binary_quantize('[1,-1,2]'::vector) <~> binary_quantize('[1,1,-2]'::vector)
SELECT binary_quantize('[1,-1,2]'::halfvec) <%> binary_quantize('[1,1,2]'::halfvec)
