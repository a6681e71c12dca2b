--
-- n2_shard_indexes, n2_index_info_shards, n2_verify_shards without Citus:
-- they check their argument and say that Citus is missing (the citus suite,
-- test/citus, runs them on a cluster).
--
\set VERBOSITY terse
CREATE TABLE dist_t (id int PRIMARY KEY, v vector(2));
CREATE INDEX dist_t_idx ON dist_t USING n2 (v);
SELECT * FROM n2_shard_indexes('dist_t_idx');
SELECT * FROM n2_index_info_shards('dist_t_idx');
SELECT * FROM n2_verify_shards('dist_t_idx');
-- not an n2 index
SELECT * FROM n2_verify_shards('dist_t_pkey');
SELECT * FROM n2_index_info_shards('dist_t');
DROP TABLE dist_t;
