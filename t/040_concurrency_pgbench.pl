# Concurrency: pgbench (4 clients, 20 s) mixing INSERT, UPDATE, DELETE and k-NN
# SELECT on a table with an n2 index while another session VACUUMs it in a
# bounded loop.  Afterwards the index must be structurally clean, every live
# row reachable (by a 1-NN query at its own vector, and by an index-ordered
# scan of the whole table), and VACUUM must leave exactly the live rows' heap
# TIDs in the index, each once.  (An UPDATE always changes the vector, so no
# update is HOT and every live row's own ctid is what the index holds.)
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $ds   = dataset('bigann10k-128-euclidean');
my $node = n2_node('pgbench', conf => "autovacuum = off\nmax_connections = 20");
my $t0   = time;

# pool: all 10,000 vectors, the source of inserted and updated values;
# items: the first 3,000, with the n2 index.
load_vectors($node, 'pool',  $ds->{base});
load_vectors($node, 'items', $ds->{base}, limit => 3000);
$node->safe_psql('postgres', q{
	CREATE SEQUENCE item_ids START 100000;
	ALTER TABLE items ALTER id SET DEFAULT nextval('item_ids');
	CREATE INDEX items_idx ON items USING n2 (embedding vector_l2_ops) WITH (m = 8, ef_construction = 64);});
is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('items_idx')"), '0', 'n2_verify clean after build');

like($node->safe_psql('postgres', q{SET enable_seqscan = off;
	EXPLAIN (COSTS OFF) SELECT id FROM items
	ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = 7) LIMIT 10}),
	qr/Index Scan using items_idx/, 'the pgbench k-NN query is an n2 index scan');

my %scripts = (
	'n2_insert@4' => q{
\set r random(0, 9999)
INSERT INTO items (embedding) SELECT embedding FROM pool WHERE id = :r;
},
	'n2_update@2' => q{
\set r random(0, 2999)
\set s random(0, 9999)
UPDATE items SET embedding = p.embedding FROM pool p
WHERE items.id = :r AND p.id = :s AND items.embedding <> p.embedding;
},
	'n2_delete@3' => q{
\set r random(0, 2999)
\set s random(100000, 100000 + 2000)
DELETE FROM items WHERE id = :r OR id = :s;
},
	'n2_select@4' => q{
\set r random(0, 9999)
SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = :r) LIMIT 10;
},
	'n2_select_beam@2' => q{
\set r random(0, 9999)
SET n2.upper_ef_search = 8;
SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = :r) LIMIT 10;
},
	'n2_txn@1' => q{
\set r random(0, 9999)
BEGIN;
INSERT INTO items (embedding) SELECT embedding FROM pool WHERE id = :r;
DELETE FROM items WHERE id = (SELECT max(id) FROM items WHERE id >= 100000);
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = :r) LIMIT 20) s;
ROLLBACK;
},);

# VACUUM in a bounded loop in the background (60 rounds, a short pause each:
# it spans the pgbench run; the test does not depend on how they overlap).
my $vac_sql = "SET client_min_messages = warning;\n"
  . ("VACUUM items;\nSELECT pg_sleep(0.2);\n" x 60);
my ($vac_out, $vac_err) = ('', '');
my $vac = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', '-' ],
	'<', \$vac_sql, '>', \$vac_out, '2>', \$vac_err);

$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --time=20',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'pgbench with INSERT/UPDATE/DELETE/k-NN on an n2 index, VACUUM running alongside',
	\%scripts);

ok($vac->finish, 'the background VACUUM loop ran without error') or diag $vac_err;
note sprintf('pgbench phase done at %ds', time - $t0);

# --- the index after the storm
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
note "live rows: $rows";
is($node->safe_psql('postgres',
		"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('items_idx')"),
	'', 'n2_verify clean after the concurrent run');

# For a row a k-NN query at its own vector missed: where the index holds its
# heap TID (element, and how many TIDs that element holds), and every element
# holding a row with the same vector (more than one: the vector has
# duplicate elements, which a search need not find all of).
sub explain_misses
{
	my ($ids) = @_;
	for my $id (grep { /^\d+$/ } split /,/, $ids)
	{
		diag "row $id: " . $node->safe_psql('postgres', qq{
			SELECT i.ctid || ' in ' || coalesce(string_agg(g.element::text || ' (' || cardinality(g.heap_tids)
				|| ' TIDs)', ', '), 'no element') FROM items i
			LEFT JOIN n2_index_graph('items_idx') g ON g.level = 0 AND i.ctid = ANY (g.heap_tids)
			WHERE i.id = $id GROUP BY i.ctid});
		diag "  elements holding rows with its vector: " . $node->safe_psql('postgres', qq{
			SELECT string_agg(DISTINCT g.element::text, ', ') FROM items i
			JOIN n2_index_graph('items_idx') g ON g.level = 0 AND i.ctid = ANY (g.heap_tids)
			WHERE i.embedding = (SELECT embedding FROM items WHERE id = $id)});
	}
}

# Every live row is found by a k-NN query at its own vector (k = the number
# of rows sharing that vector: they are one index element with several TIDs).
# At the default ef_search a greedy search may, rarely, miss a poorly placed
# node (approximate search: allow 0.1%); at ef_search 1000 none may be missed.
my $self_knn = q{
	WITH d AS (SELECT id, embedding, count(*) OVER (PARTITION BY embedding) AS n FROM items)
	SELECT count(*) || ':' || coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM d
	WHERE d.id NOT IN (SELECT j.id FROM items j ORDER BY j.embedding <-> d.embedding LIMIT d.n)};
my ($miss40) = split /:/, $node->safe_psql('postgres', "SET enable_seqscan = off; SET n2.ef_search = 40; $self_knn");
note "rows not found by a k-NN query at their own vector with ef_search 40: $miss40 of $rows";
cmp_ok($miss40, '<=', $rows / 1000, 'ef_search 40: at most 0.1% of rows missed by a k-NN query at their own vector');
my $miss1000 = $node->safe_psql('postgres', "SET enable_seqscan = off; SET n2.ef_search = 1000; $self_knn");
is($miss1000, '0:', "ef_search 1000: each of the $rows live rows is found by a k-NN query at its own vector");
explain_misses($miss1000 =~ /:(.+)/ ? $1 : '');

# An index-ordered scan of the whole table returns every row (relaxed_order:
# strict_order skips nodes found after a farther one was returned).
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET n2.iterative_scan = relaxed_order; SET n2.max_scan_tuples = 10000000;
	SELECT count(*) FROM (SELECT id FROM items
		ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = 1) LIMIT 100000) x}),
	$rows, 'an index-ordered full scan returns count(*) rows');

# After a final VACUUM the index holds exactly one heap TID per live row.  A
# VACUUM that cannot get the cleanup lock on a heap page (a checkpointer or
# bgwriter pin) leaves that page's dead tuples, and their index entries, for
# the next round (PostgreSQL's "missed dead tuples"): a few rounds at most.
# INDEX_CLEANUP on: a VACUUM that finds few dead line pointers may otherwise
# skip the index (PostgreSQL's bypass of index vacuuming) and leave them.
my $tids;
for my $round (1 .. 5)
{
	$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP on) items');
	$tids = $node->safe_psql('postgres', "SELECT heap_tids FROM n2_index_info('items_idx')");
	last if $tids eq $rows;
	note "VACUUM round $round left $tids index TIDs for $rows live rows";
}
is($tids, $rows, 'after VACUUM: heap TIDs in the index = live rows');

# The count could hide a lost TID behind one held twice: compare the TIDs
# themselves.  Those the live elements hold (through their chains) are the
# live rows' ctids, each once.
is($node->safe_psql('postgres', q{
	WITH i AS (SELECT unnest(heap_tids) AS tid FROM n2_index_graph('items_idx') WHERE level = 0)
	SELECT (SELECT count(*) FROM i FULL JOIN items t ON t.ctid = i.tid WHERE i.tid IS NULL OR t.ctid IS NULL)
		|| ' ' || (SELECT count(*) FROM (SELECT tid FROM i GROUP BY tid HAVING count(*) > 1) d)}),
	'0 0', 'after VACUUM: the live elements hold exactly the live rows\' heap TIDs, each once');
is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('items_idx')"), '0',
	'n2_verify clean after the final VACUUM');

# --- the smallest lists (m = 2, max_m0 = 2): nearly every insert makes a
# neighbour drop a link, often the only one into its target, so this is where
# concurrent inserts, deletes and VACUUM could leave a live row unreachable.
$node->safe_psql('postgres', q{
	CREATE TABLE tiny (id bigint DEFAULT nextval('item_ids'), embedding vector(128));
	INSERT INTO tiny SELECT id, embedding FROM pool WHERE id < 1000;
	CREATE INDEX tiny_idx ON tiny USING n2 (embedding vector_l2_ops) WITH (m = 2, max_m0 = 2, ef_construction = 32);});
is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('tiny_idx')"), '0', 'm = 2: n2_verify clean after build');
my ($tvac_out, $tvac_err) = ('', '');
my $tvac_sql = "SET client_min_messages = warning;\n" . ("VACUUM tiny;\nSELECT pg_sleep(0.3);\n" x 30);
my $tvac = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', '-' ],
	'<', \$tvac_sql, '>', \$tvac_out, '2>', \$tvac_err);
$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --time=10',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'm = 2: pgbench inserting and deleting, VACUUM running alongside',
	{
		'tiny_insert@6' => q{
\set r random(0, 9999)
INSERT INTO tiny (embedding) SELECT embedding FROM pool WHERE id = :r;
},
		'tiny_delete@1' => q{
\set r random(0, 999)
DELETE FROM tiny WHERE id = :r;
},
	});
ok($tvac->finish, 'm = 2: the background VACUUM loop ran without error') or diag $tvac_err;
my $trows = $node->safe_psql('postgres', 'SELECT count(*) FROM tiny');
is($node->safe_psql('postgres',
		"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('tiny_idx')"),
	'', "m = 2: n2_verify clean after concurrent inserts ($trows rows)");
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET n2.iterative_scan = relaxed_order; SET n2.max_scan_tuples = 10000000;
	SET n2.scan_fallback = off;
	SELECT count(*) FROM (SELECT id FROM tiny
		ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = 1) LIMIT 100000) x}),
	$trows, 'm = 2: the graph walk alone returns every row');

note sprintf('total %ds', time - $t0);
$node->stop;
done_testing();
