# n2 beside pgvector (built and installed by scripts/test.sh from the anchor
# tarball).  In one database with both extensions, n2 indexes pgvector's own
# vector and halfvec columns in place:
#
#   - CREATE EXTENSION in either order; pgvector after n2 makes n2's unused
#     types give way (not for a user PostgreSQL then refuses), and is refused
#     while n2's own type is in use in the same schema (another schema works);
#   - k-NN on vector (L2, cosine) and halfvec (L2) columns through n2 indexes
#     reaches recall@10 >= 0.95 at the default ef_search against exact
#     answers, with EXPLAIN showing the n2 index;
#   - the pgvector hnsw index on the same column can be dropped without
#     touching the n2 index; inserts, filtered scans, VACUUM and n2_verify
#     work on pgvector's types;
#   - pg_dump/pg_restore round-trips the database (n2 is restored first).
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $K  = 10;
my $ds = dataset('bigann10k-128-euclidean');
my $queries  = read_fvecs($ds->{query}, 50);
my $gt_ids   = read_ivecs($ds->{groundtruth_disjoint}, 50);
my $gt_dists = read_fvecs($ds->{groundtruth_disjoint_distances}, 50);

my $node = n2_node('pgvector', extension => 0,
	conf => "maintenance_work_mem = '256MB'\n");
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_available_extensions WHERE name IN ('vector', 'n2')"),
	2, 'pgvector and n2 are both installed (scripts/pgvector.sh)');
is($node->safe_psql('postgres', "LOAD 'n2'; SHOW n2.ef_search"), '40',
	'default n2.ef_search is 40');

# n2's members that are types: none when pgvector's are there.
sub n2_types
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT coalesce(string_agg(t.typname, ',' ORDER BY t.typname), '')
		FROM pg_depend d JOIN pg_type t ON t.oid = d.objid
		WHERE d.classid = 'pg_type'::regclass AND d.deptype = 'e'
		  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'n2')});
}

# n2's classes on vector types (not those of real[] or of filter columns)
sub n2_opclasses
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(o.opcname || ':' || o.opcintype::regtype, ',' ORDER BY o.opcname)
		FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod
		WHERE a.amname = 'n2'
		  AND (SELECT typname FROM pg_type WHERE oid = o.opcintype) IN ('vector', 'halfvec')});
}

my $all_classes = join(',', map { my $t = $_; map { "${t}_$_:$t" } qw(angular_ops cosine_ops dot_ops ip_ops l1_ops l2_ops) } qw(halfvec vector));

# ---- vector first, then n2
$node->safe_psql('postgres', 'CREATE DATABASE vecfirst');
$node->safe_psql('vecfirst', 'CREATE EXTENSION vector; CREATE EXTENSION n2;');
is(n2_types('vecfirst'), '', 'vector then n2: n2 creates no type of its own');
is(n2_opclasses('vecfirst'), $all_classes,
	"n2's operator classes on pgvector's vector and halfvec");

# ---- n2 first, then vector: n2's unused types make way
$node->safe_psql('postgres', 'CREATE DATABASE n2first');
$node->safe_psql('n2first', 'CREATE EXTENSION n2');
like(n2_types('n2first'), qr/^(_?\w+,)*vector(,\w+)*$/, 'n2 alone owns its vector type');

# A user who may not install pgvector (it is not trusted) gets PostgreSQL's
# refusal, and n2 keeps its types without saying otherwise.
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN; GRANT CREATE ON DATABASE n2first TO plain');
my ($ret, $out, $err) = $node->psql('n2first', 'SET ROLE plain; CREATE EXTENSION vector');
like($err, qr/permission denied to create extension "vector"/, 'a plain user cannot install pgvector');
unlike($err, qr/make way/, 'and n2 does not announce making way for it');
like(n2_types('n2first'), qr/^(_?\w+,)*vector(,\w+)*$/, 'n2 still owns its vector type');

($ret, $out, $err) = $node->psql('n2first', 'CREATE EXTENSION vector');
is($ret, 0, 'n2 then vector: CREATE EXTENSION vector works') or diag $err;
like($err, qr/n2's own vector types in schema "public" make way for pgvector's/, 'with a notice');
is(n2_types('n2first'), '', 'n2 keeps no type of its own');
is(n2_opclasses('n2first'), $all_classes, "n2's classes follow on pgvector's types");
is($node->safe_psql('n2first', q{
	SELECT count(*) FROM pg_opfamily f JOIN pg_depend d ON d.objid = f.oid
	WHERE d.classid = 'pg_opfamily'::regclass AND d.deptype = 'e'
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'n2')
	  AND f.opfmethod <> (SELECT oid FROM pg_am WHERE amname = 'n2')}), 0,
	"no btree or hash family of n2's old types is left for pgvector's classes to join");
$node->safe_psql('n2first', q{
	CREATE TABLE t (id int, v vector(3));
	INSERT INTO t SELECT i, ARRAY[i % 7, i % 11, i % 13] FROM generate_series(1, 500) i;
	CREATE INDEX t_n2 ON t USING n2 (v);});
is($node->safe_psql('n2first', q{SET enable_seqscan = off;
	SELECT id FROM t ORDER BY v <-> '[3,5,7]' LIMIT 1}), '423', 'and indexes them');

# ---- after ALTER EXTENSION vector (an update may add operators) n2 adds the
# classes it lacks, as members
$node->safe_psql('n2first', q{
	ALTER EXTENSION n2 DROP OPERATOR CLASS halfvec_l1_ops USING n2;
	DROP OPERATOR CLASS halfvec_l1_ops USING n2;
	ALTER EXTENSION vector UPDATE;});
is(n2_opclasses('n2first'), $all_classes, 'ALTER EXTENSION vector: n2 adds the class it lacked');
is($node->safe_psql('n2first', q{
	SELECT count(*) FROM pg_depend d JOIN pg_opclass o ON o.oid = d.objid
	WHERE d.classid = 'pg_opclass'::regclass AND d.deptype = 'e' AND o.opcname = 'halfvec_l1_ops'
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'n2')}), 1,
	'as a member of n2');

# ---- n2's own type in use: refused in its schema, fine in another
$node->safe_psql('postgres', 'CREATE DATABASE inuse');
$node->safe_psql('inuse', 'CREATE EXTENSION n2; CREATE TABLE mine (v vector(2));');
($ret, $out, $err) = $node->psql('inuse', 'CREATE EXTENSION vector');
isnt($ret, 0, "pgvector is refused where n2's own type is in use");
like($err, qr/pgvector cannot be installed in schema "public": n2's own vector type is there and in use/,
	'with the reason');
like($err, qr/column v of table public.mine depends on it/, 'naming the user');
is(n2_types('inuse') =~ /vector/ ? 1 : 0, 1, 'n2 keeps its type');
$node->safe_psql('inuse', 'CREATE SCHEMA pgv; CREATE EXTENSION vector SCHEMA pgv;');
is($node->safe_psql('inuse', q{SELECT count(*) FROM pg_type WHERE typname = 'vector'}), 2,
	'in another schema both types live on');
is($node->safe_psql('inuse', q{
	SELECT string_agg(o.opcnamespace::regnamespace || '.' || o.opcname, ',' ORDER BY o.opcname)
	FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod
	WHERE a.amname = 'n2' AND o.opcintype = 'pgv.vector'::regtype}),
	'pgv.vector_angular_ops,pgv.vector_cosine_ops,pgv.vector_dot_ops,pgv.vector_ip_ops,pgv.vector_l1_ops,pgv.vector_l2_ops',
	"pgvector's types get n2's classes beside them");
$node->safe_psql('inuse', q{
	CREATE TABLE theirs (id int, v pgv.vector(2));
	INSERT INTO theirs SELECT i, ARRAY[i, 1]::real[]::pgv.vector FROM generate_series(1, 100) i;
	CREATE INDEX ON theirs USING n2 (v);
	CREATE INDEX ON mine USING n2 (v);});
is($node->safe_psql('inuse', q{SET enable_seqscan = off;
	SELECT id FROM theirs ORDER BY v OPERATOR(pgv.<->) '[7,1]' LIMIT 1}), 7,
	"an n2 index on pgvector's type beside n2's own");

# ---- 0.1.0 (which owns its types) in another schema than pgvector, updated:
# pgvector's types get n2's classes, as a fresh install after pgvector gives
$node->safe_psql('postgres', 'CREATE DATABASE old_beside');
$node->safe_psql('old_beside', q{CREATE EXTENSION vector; CREATE SCHEMA n2s;
	CREATE EXTENSION n2 VERSION '0.1.0' SCHEMA n2s; ALTER EXTENSION n2 UPDATE;});
is($node->safe_psql('old_beside', q{
	SELECT string_agg(o.opcname, ',' ORDER BY o.opcname)
	FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod
	JOIN pg_depend d ON d.classid = 'pg_opclass'::regclass AND d.objid = o.oid AND d.deptype = 'e'
	WHERE a.amname = 'n2' AND o.opcintype = 'public.vector'::regtype
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'n2')}),
	'vector_angular_ops,vector_cosine_ops,vector_dot_ops,vector_ip_ops,vector_l1_ops,vector_l2_ops',
	"0.1.0 updated beside pgvector: n2's classes on pgvector's vector, as members");
$node->safe_psql('old_beside', q{
	CREATE TABLE t (id int, v public.vector(2));
	INSERT INTO t SELECT i, ARRAY[i, 1]::real[]::public.vector FROM generate_series(1, 100) i;
	CREATE INDEX ON t USING n2 (v);});
is($node->safe_psql('old_beside', q{SET enable_seqscan = off;
	SELECT id FROM t ORDER BY v OPERATOR(public.<->) '[7,1]' LIMIT 1}), 7,
	'and an n2 index on it answers');
# and a dump of that layout restores, a non-default class included
$node->safe_psql('old_beside', 'CREATE INDEX t_cos ON t USING n2 (v vector_cosine_ops)');
my $old_dump = $node->basedir . '/old_beside.dump';
ok(IPC::Run::run([ 'pg_dump', '-Fc', '-f', $old_dump, '-d', $node->connstr('old_beside') ],
		'>', \$out, '2>', \$err), 'pg_dump of the updated layout') or diag $err;
$node->safe_psql('postgres', 'CREATE DATABASE old_restored');
ok(IPC::Run::run([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('old_restored'),
			$old_dump ], '>', \$out, '2>', \$err), 'pg_restore of the updated layout')
  or diag $err;
is($node->safe_psql('old_restored', q{SELECT string_agg(c.relname, ',' ORDER BY c.relname)
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'n2'}),
	't_cos,t_v_idx', 'restored: both n2 indexes');

# ---- the workload: pgvector's columns, an hnsw index, then n2's
my $db = 'vecfirst';
load_vectors($node, 'items', $ds->{base_disjoint}, dbname => $db);
$node->safe_psql($db, q{
	ALTER TABLE items ADD COLUMN h halfvec(128);
	UPDATE items SET h = embedding::halfvec;
	VACUUM ANALYZE items;
	CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops);
	CREATE INDEX items_n2 ON items USING n2 (embedding vector_l2_ops) WITH (m = 12);
	CREATE INDEX items_cos ON items USING n2 (embedding vector_cosine_ops);
	CREATE INDEX items_h ON items USING n2 (h halfvec_l2_ops);});
$node->safe_psql($db, 'DROP INDEX items_hnsw');
is($node->safe_psql($db, q{SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY 1)
	FROM pg_index WHERE indrelid = 'items'::regclass AND indisvalid}),
	'items_pkey,items_n2,items_cos,items_h', 'dropping the hnsw index leaves the n2 indexes');
for my $idx (qw(items_n2 items_cos items_h))
{
	is($node->safe_psql($db, "SELECT count(*) FROM n2_verify('$idx')"), 0, "n2_verify($idx) is clean");
}
is($node->safe_psql($db, "SELECT m FROM n2_index_info('items_n2')"), 12, 'reloptions apply');

sub knn
{
	my ($col, $op, $type, $k) = @_;
	return "SELECT id, $col $op (:q)::$type FROM items ORDER BY $col $op (:q)::$type LIMIT $k";
}

sub check_recall
{
	my ($col, $op, $type, $index, $gi, $gd) = @_;
	my $plan = explain_knn($node, knn($col, $op, $type, $K), $queries->[0], dbname => $db);
	like($plan, qr/Index Scan using $index on items/, "$col $op: EXPLAIN shows $index") or diag $plan;
	if (!defined $gi)
	{
		($gi, $gd) = knn_ids($node, knn($col, $op, $type, 20), $queries, dbname => $db,
			setup => 'SET enable_indexscan = off; SET enable_bitmapscan = off;');
	}
	my ($ids, $dists) = knn_ids($node, knn($col, $op, $type, $K), $queries, dbname => $db);
	is(scalar(grep { @$_ == $K } @$ids), scalar @$queries, "$col $op: every query returns $K rows");
	my $r = recall_at_k($ids, $gi, $gd, $dists, $K);
	cmp_ok($r, '>=', 0.95, "$col $op ($type): recall\@10 at the default ef_search = $r");
}

check_recall('embedding', '<->', 'vector', 'items_n2', $gt_ids, $gt_dists);
check_recall('embedding', '<=>', 'vector', 'items_cos');
check_recall('h', '<->', 'halfvec', 'items_h');

# The distances the rows carry are pgvector's own function's, to the bit.
is($node->safe_psql($db, qq{SET enable_seqscan = off;
	SELECT bool_and(d = l2_distance(embedding, q)) FROM (
		SELECT embedding, embedding <-> q AS d, q FROM items,
			(SELECT embedding AS q FROM items WHERE id = 7) s
		ORDER BY embedding <-> q LIMIT 10) r}), 't',
	'ORDER BY distances equal l2_distance()');

# Inserts, a filtered scan, deletes and VACUUM on pgvector's types.
$node->safe_psql($db, q{
	INSERT INTO items (id, embedding, h)
		SELECT 100000 + id, embedding, h FROM items WHERE id < 200;
	DELETE FROM items WHERE id % 10 = 3;
	VACUUM items;});
for my $idx (qw(items_n2 items_cos items_h))
{
	is($node->safe_psql($db, "SELECT count(*) FROM n2_verify('$idx')"), 0,
		"n2_verify($idx) is clean after inserts, deletes and VACUUM");
}
my $q0 = vec_literal($queries->[0]);
is($node->safe_psql($db, qq{SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM items WHERE id % 10 = 4
		ORDER BY h <-> '$q0'::halfvec LIMIT 10) s WHERE id % 10 = 4}), 10,
	'a filtered scan on the halfvec index returns 10 matching rows');
is($node->safe_psql($db, qq{SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY h <-> '$q0'::halfvec LIMIT 10) s
	WHERE id % 10 = 3}), 0, 'deleted rows are gone from the halfvec index');
is($node->safe_psql($db, q{SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM items
		ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 100005) LIMIT 2) s
	WHERE id IN (5, 100005)}), 2, 'inserted duplicates are found');

# Errors through n2 on pgvector's types.
($ret, $out, $err) = $node->psql($db, q{SET enable_seqscan = off;
	SELECT id FROM items ORDER BY embedding <-> '[1,2,3]' LIMIT 1},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  22000: expected 128 dimensions, not 3/, 'a query of the wrong dimension: 22000');
($ret, $out, $err) = $node->psql($db, q{
	CREATE TABLE sparse (s sparsevec(3));
	CREATE INDEX ON sparse USING n2 (s);}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  42704: data type sparsevec has no default operator class for access method "n2"/,
	'sparsevec has no n2 class');
($ret, $out, $err) = $node->psql($db, q{
	CREATE INDEX ON items USING n2 (h vector_l2_ops);}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  42804: operator class "vector_l2_ops" does not accept data type halfvec/,
	'a vector class on a halfvec column is refused');
# A vector query on the halfvec column is cast to halfvec and uses its index.
like(explain_knn($node, "SELECT id FROM items ORDER BY h <-> :q LIMIT 5", $queries->[0], dbname => $db),
	qr/Index Scan using items_h on items/, 'a vector query on a halfvec column uses the halfvec index');

# L1 and inner product classes on a small table, built by one thread (the
# same graph every run: the exact top 20 of an inner product is found by it at
# this ef, not by every graph two threads may build).
$node->safe_psql($db, q{
	CREATE TABLE small (id int, v vector(3), h halfvec(3));
	INSERT INTO small SELECT i, ARRAY[i % 7, i % 11, i % 13], ARRAY[i % 7, i % 11, i % 13]
		FROM generate_series(1, 2000) i;
	CREATE INDEX small_l1 ON small USING n2 (v vector_l1_ops) WITH (n_threads = 1);
	CREATE INDEX small_hip ON small USING n2 (h halfvec_ip_ops) WITH (n_threads = 1);});
for my $c (['v', '<+>', 'vector', 'small_l1'], ['h', '<#>', 'halfvec', 'small_hip'])
{
	my ($col, $op, $type, $idx) = @$c;
	my $sql = "SELECT string_agg(d::text, ',') FROM (SELECT $col $op '[3,5,7]'::$type AS d FROM small ORDER BY $col $op '[3,5,7]'::$type LIMIT 20) s";
	my $exact = $node->safe_psql($db, "SET enable_indexscan = off; $sql");
	like($node->safe_psql($db, "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $sql"),
		qr/Index Scan using $idx/, "$type $op uses $idx");
	is($node->safe_psql($db, "SET enable_seqscan = off; SET n2.ef_search = 200; $sql"), $exact,
		"$type $op: the index gives the exact distances");
}

# ---- pg_dump / pg_restore
my $dump = $node->basedir . '/vecfirst.dump';
my ($stdout, $stderr);
ok(IPC::Run::run([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr($db) ],
		'>', \$stdout, '2>', \$stderr), 'pg_dump') or diag $stderr;
$node->safe_psql('postgres', 'CREATE DATABASE restored');
ok(IPC::Run::run([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ],
		'>', \$stdout, '2>', \$stderr), 'pg_restore') or diag $stderr;
is(n2_types('restored'), '', 'restored: n2 owns no type');
is($node->safe_psql('restored', q{SELECT string_agg(c.relname, ',' ORDER BY c.relname)
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'n2'}),
	'items_cos,items_h,items_n2,small_hip,small_l1', 'restored: the n2 indexes');
for my $c (['embedding', '<->', 'vector', 'items_n2'], ['h', '<->', 'halfvec', 'items_h'])
{
	my ($col, $op, $type, $idx) = @$c;
	my $sql = knn($col, $op, $type, $K);
	like(explain_knn($node, $sql, $queries->[1], dbname => 'restored'),
		qr/Index Scan using $idx on items/, "restored: $col uses $idx");
	my ($gi, $gd) = knn_ids($node, knn($col, $op, $type, 20), $queries, dbname => $db,
		setup => 'SET enable_indexscan = off; SET enable_bitmapscan = off;');
	my ($ids, $dists) = knn_ids($node, $sql, $queries, dbname => 'restored');
	my $r = recall_at_k($ids, $gi, $gd, $dists, $K);
	cmp_ok($r, '>=', 0.95, "restored: $col $op recall\@10 = $r");
	is($node->safe_psql('restored', "SELECT count(*) FROM n2_verify('$idx')"), 0,
		"restored: n2_verify($idx) is clean");
}

$node->stop;
done_testing();
