--
-- How many threads an n2 build starts: the n_threads option, else
-- n2.build_threads, capped by n2.max_build_threads, which only a superuser
-- (or a role granted SET on it) can raise.  Each build reports its count at
-- DEBUG1.
--
CREATE TABLE bt (v vector(3));
INSERT INTO bt
	SELECT ARRAY[sin(i), cos(i), sin(i * 0.5)]::vector
	FROM generate_series(1, 200) i;
CREATE ROLE regress_n2_builder;
GRANT CREATE ON SCHEMA public TO regress_n2_builder;
ALTER TABLE bt OWNER TO regress_n2_builder;

-- 0: one thread per CPU, for both.
SHOW n2.max_build_threads;
SHOW n2.build_threads;
SET n2.max_build_threads = 3;

SET ROLE regress_n2_builder;
-- Any role may ask for fewer, none may raise the cap.
SET n2.max_build_threads = 100;
RESET n2.max_build_threads;
SHOW n2.max_build_threads;
SET client_min_messages = debug1;
CREATE INDEX bt_a ON bt USING n2 (v) WITH (n_threads = 8);
SET n2.build_threads = 256;
CREATE INDEX bt_b ON bt USING n2 (v);
SET n2.build_threads = 2;
CREATE INDEX bt_c ON bt USING n2 (v);
CREATE INDEX bt_d ON bt USING n2 (v) WITH (n_threads = 1);
REINDEX INDEX bt_a;
RESET client_min_messages;
RESET ROLE;

-- A superuser may raise it.
SET n2.max_build_threads = 8;
SET client_min_messages = debug1;
REINDEX INDEX bt_a;
RESET client_min_messages;

-- So may a role granted SET on it.
GRANT SET ON PARAMETER n2.max_build_threads TO regress_n2_builder;
SET ROLE regress_n2_builder;
SET n2.max_build_threads = 4;
SET client_min_messages = debug1;
REINDEX INDEX bt_a;
RESET client_min_messages;
RESET ROLE;
REVOKE SET ON PARAMETER n2.max_build_threads FROM regress_n2_builder;

-- Nor by setting it before the library is loaded: a new session has not
-- loaded it yet, and when the build does, the value is refused.
\c -
SET ROLE regress_n2_builder;
SET n2.max_build_threads = 100;
REINDEX INDEX bt_d;
SHOW n2.max_build_threads;
RESET ROLE;

-- Never more threads than vectors.
SET n2.max_build_threads = 8;
CREATE TABLE bt_small (v vector(3));
INSERT INTO bt_small VALUES ('[1,2,3]'), ('[4,5,6]');
SET client_min_messages = debug1;
CREATE INDEX ON bt_small USING n2 (v) WITH (n_threads = 8);
RESET client_min_messages;

-- The indexes built are sound whatever their thread count.
SELECT c.relname, i.elements, (SELECT count(*) FROM n2_verify(c.oid)) AS problems
	FROM pg_class c, n2_index_info(c.oid) i
	WHERE c.relname LIKE 'bt\_%' AND c.relkind = 'i' ORDER BY c.relname;

RESET n2.max_build_threads;
DROP TABLE bt, bt_small;
REVOKE CREATE ON SCHEMA public FROM regress_n2_builder;
DROP ROLE regress_n2_builder;
