\echo Use "ALTER EXTENSION n2 UPDATE TO '0.2.0'" to load this file. \quit

-- n2 0.1.0 to 0.2.0.
--
-- 0.2.0 has the SQL objects of 0.1.0 unchanged: this update only records the
-- new version.  Indexes keep their on-disk format (version 1) and need no
-- REINDEX.  A change to src/sql/*.sql in 0.2.0 must be repeated here, so
-- that an updated database ends up with what a fresh install creates
-- (t/140_extension_update.pl compares the two).
