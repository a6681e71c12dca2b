# Operations on n2 indexes: REINDEX, REINDEX CONCURRENTLY, CREATE INDEX
# CONCURRENTLY while inserts run, pg_dump / pg_restore keeping reloptions and
# answers, partitioned tables (Merge Append of per-partition n2 scans, exact
# answers), unlogged tables, the plan a session makes while n2 loads, and
# the N2_SIMD cap that n2.simd shows.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $ds   = dataset('bigann10k-128-euclidean');
my $node = n2_node('ops', conf => 'autovacuum = off');
my $t0   = time;
load_vectors($node, 'items', $ds->{base}, limit => 4000);
load_vectors($node, 'pool',  $ds->{base});
my $queries = read_fvecs($ds->{query}, 20);
my $idx     = 'SET enable_seqscan = off; SET n2.ef_search = 100;';
my ($exact) = knn_ids($node, knn_sql('items', 50), $queries, setup => 'SET enable_indexscan = off;');

sub clean
{
	my ($node, $index, $what) = @_;
	is($node->safe_psql('postgres',
			"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('$index')"),
		'', "$what: n2_verify clean");
}

sub recall_ok
{
	my ($node, $table, $what, $exact_ids) = @_;
	my ($ids, $d) = knn_ids($node, knn_sql($table, 10), $queries, setup => $idx);
	my ($e_ids, $e_d) = knn_ids($node, knn_sql($table, 50), $queries, setup => 'SET enable_indexscan = off;');
	my $r = recall_at_k($ids, $e_ids, $e_d, $d, 10);
	cmp_ok($r, '>=', 0.95, "$what: recall\@10 $r >= 0.95");
	return $ids;
}

# --- CREATE INDEX CONCURRENTLY while another session inserts
{
	my $sql = join '', map { "INSERT INTO items SELECT id, embedding FROM pool WHERE id = $_;\n" } 4000 .. 5999;
	my ($h) = start_script($node, 'inserts', $sql);
	$node->safe_psql('postgres',
		"CREATE INDEX CONCURRENTLY items_idx ON items USING n2 (embedding vector_l2_ops) WITH (m = 12, ef_construction = 80)");
	ok($h->finish, 'inserts during CREATE INDEX CONCURRENTLY succeeded');
	is($node->safe_psql('postgres', "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_idx'::regclass"),
		't', 'CREATE INDEX CONCURRENTLY: index valid');
	clean($node, 'items_idx', 'CREATE INDEX CONCURRENTLY');
	is($node->safe_psql('postgres', "SELECT heap_tids FROM n2_index_info('items_idx')"),
		'6000', 'CREATE INDEX CONCURRENTLY: the index has every row, including those inserted meanwhile');
	# A search at each row's own vector (k = the rows sharing it) is approximate:
	# at most one row in 1,000 may be missed.  A row it misses must still be
	# reachable: a relaxed_order walk with no fallback, whose id filter rejects
	# every other row, widens until it returns the row or has visited all it can.
	my $missed = $node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET n2.ef_search = 200;
		WITH d AS (SELECT id, embedding, count(*) OVER (PARTITION BY embedding) AS n FROM items)
		SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM d
		WHERE d.id NOT IN (SELECT j.id FROM items j ORDER BY j.embedding <-> d.embedding LIMIT d.n)});
	my @missed = split /,/, $missed;
	note 'CREATE INDEX CONCURRENTLY: rows a search at their own vector missed: ' . ($missed || 'none');
	cmp_ok(scalar @missed, '<=', 6, 'CREATE INDEX CONCURRENTLY: a search at each row\'s own vector finds all but at most 6 of 6,000');
	is($node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET enable_bitmapscan = off; SET n2.iterative_scan = relaxed_order;
		SET n2.scan_fallback = off; SET n2.max_scan_tuples = 100000000; SET work_mem = '64MB';
		SELECT count(*) FROM items a LEFT JOIN LATERAL
			(SELECT b.id FROM items b WHERE b.id + 0 = a.id ORDER BY b.embedding <-> a.embedding LIMIT 1) s ON true
		WHERE a.id IN (} . join(',', @missed, -1) . q{) AND s.id IS NULL}),
		'0', 'CREATE INDEX CONCURRENTLY: the walk reaches every row the search missed');
	recall_ok($node, 'items', 'CREATE INDEX CONCURRENTLY');
}

# --- REINDEX and REINDEX CONCURRENTLY keep options and answers
my $opts = "{m=12,ef_construction=80}";
for my $cmd ('REINDEX INDEX items_idx', 'REINDEX INDEX CONCURRENTLY items_idx', 'REINDEX TABLE items')
{
	$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 17 = 0');
	$node->safe_psql('postgres', $cmd);
	is($node->safe_psql('postgres', "SELECT reloptions FROM pg_class WHERE relname = 'items_idx'"),
		$opts, "$cmd: reloptions kept");
	is($node->safe_psql('postgres', "SELECT heap_tids = (SELECT count(*) FROM items) FROM n2_index_info('items_idx')"),
		't', "$cmd: only live rows indexed");
	clean($node, 'items_idx', $cmd);
	recall_ok($node, 'items', $cmd);
}

# --- partitioned table: an index on the parent, per-partition n2 scans
$node->safe_psql('postgres', q{
	CREATE TABLE parts (id int, embedding vector(128)) PARTITION BY RANGE (id);
	CREATE TABLE parts_a PARTITION OF parts FOR VALUES FROM (0) TO (3000);
	CREATE TABLE parts_b PARTITION OF parts FOR VALUES FROM (3000) TO (6000);
	CREATE TABLE parts_c PARTITION OF parts FOR VALUES FROM (6000) TO (MAXVALUE);
	INSERT INTO parts SELECT id, embedding FROM pool WHERE id < 8000;
	CREATE INDEX parts_idx ON parts USING n2 (embedding vector_l2_ops);
	INSERT INTO parts SELECT id, embedding FROM pool WHERE id >= 8000;
	ANALYZE parts;});
{
	my $plan = explain_knn($node, knn_sql('parts', 5), $queries->[0], setup => $idx);
	like($plan, qr/Merge Append/, 'partitioned: Merge Append');
	my $n = () = $plan =~ /Index Scan using parts_\w+_embedding_idx on parts_/g;
	is($n, 3, 'partitioned: one n2 index scan per partition') or diag $plan;
	my ($ids, $d) = knn_ids($node, knn_sql('parts', 5), $queries, setup => 'SET enable_seqscan = off; SET n2.ef_search = 400;');
	my ($e_ids, $e_d) = knn_ids($node, knn_sql('parts', 50), $queries, setup => 'SET enable_indexscan = off;');
	is(recall_at_k($ids, $e_ids, $e_d, $d, 5), 1, 'partitioned: the 5-NN over the parent equal the exact answer');
	for my $p (qw(parts_a parts_b parts_c))
	{
		clean($node, "${p}_embedding_idx", "partition $p");
	}
}

# --- unlogged table
load_vectors($node, 'ulog', $ds->{base}, limit => 2000, unlogged => 1);
$node->safe_psql('postgres', 'CREATE INDEX ulog_idx ON ulog USING n2 (embedding vector_l2_ops)');
is($node->safe_psql('postgres', "SELECT relpersistence FROM pg_class WHERE relname = 'ulog_idx'"),
	'u', 'unlogged table: the index is unlogged');
$node->safe_psql('postgres', 'INSERT INTO ulog SELECT id, embedding FROM pool WHERE id >= 2000 AND id < 3000; DELETE FROM ulog WHERE id % 5 = 0; VACUUM ulog');
clean($node, 'ulog_idx', 'unlogged index after insert/delete/VACUUM');
recall_ok($node, 'ulog', 'unlogged index');
$node->restart;    # clean shutdown keeps unlogged data
is($node->safe_psql('postgres', 'SELECT count(*) FROM ulog'), '2400', 'unlogged table kept over a clean restart');
recall_ok($node, 'ulog', 'unlogged index after a clean restart');

# --- a session's first n2 plan, made while the library loads
# Without shared_preload_libraries n2 loads while the planner opens the
# first n2 index, after planner() looked for n2's hook.  The plan of a
# PL/pgSQL statement made then is kept for the session: the first call must
# still run it rewritten (the scan's distance column dropped, so no row
# vector is read) and the second must run it planned again.  auto_explain
# shows the plans each call ran.
{
	$node->safe_psql('postgres', q{
		CREATE TABLE tq AS SELECT id, embedding AS v FROM pool WHERE id < 5;
		CREATE FUNCTION first_plan() RETURNS bigint LANGUAGE plpgsql AS $$
		DECLARE
			n bigint;
		BEGIN
			SELECT count(*) INTO n FROM tq CROSS JOIN LATERAL
				(SELECT items.id FROM items ORDER BY items.embedding <-> tq.v LIMIT 3) x;
			RETURN n;
		END $$;
	});
	my ($out, $err) = ('', '');
	$node->psql('postgres', q{
		LOAD 'auto_explain';
		SET auto_explain.log_min_duration = 0;
		SET auto_explain.log_nested_statements = on;
		SET auto_explain.log_verbose = on;
		SET client_min_messages = log;
		SET enable_seqscan = off;
		SET jit = off;
		SELECT first_plan();
		SELECT first_plan();
	}, stdout => \$out, stderr => \$err);
	is($out, "15\n15", 'first_plan(): both calls answer');
	my @scans = ($err =~ /Index Scan using items_idx on public\.items[^\n]*\n\s+Output: ([^\n]*)/g);
	is(scalar(@scans), 2, 'auto_explain shows both calls\' n2 scans') or diag($err);
	is_deeply(\@scans, [ ('NULL::integer, NULL::double precision') x 2 ],
		'both calls ran the rewritten plan, the first made while n2 loaded') or diag($err);
	$node->safe_psql('postgres', 'DROP FUNCTION first_plan(); DROP TABLE tq');
}

# --- pg_dump / pg_restore round trip
{
	my $dump = $node->basedir . '/n2.dump';
	$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ], 'pg_dump -Fc');
	$node->safe_psql('postgres', 'CREATE DATABASE restored');
	$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
	my $def = "SELECT indexdef FROM pg_indexes WHERE indexname = 'items_idx'";
	is($node->safe_psql('restored', $def), $node->safe_psql('postgres', $def), 'restored indexdef equals the original');
	like($node->safe_psql('restored', $def), qr/USING n2 \(embedding(?: vector_l2_ops)?\) WITH \(m='?12'?, ef_construction='?80'?\)/,
		'restored indexdef has n2 (default opclass vector_l2_ops) and the reloptions');
	is($node->safe_psql('restored', "SELECT reloptions FROM pg_class WHERE relname = 'items_idx'"),
		$opts, 'restored reloptions');
	is($node->safe_psql('restored',
			"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('items_idx')"),
		'', 'restored index: n2_verify clean');
	my ($orig) = knn_ids($node, knn_sql('items', 10), $queries, setup => 'SET enable_seqscan = off; SET n2.ef_search = 400;');
	my ($rest) = knn_ids($node, knn_sql('items', 10), $queries, dbname => 'restored',
		setup => 'SET enable_seqscan = off; SET n2.ef_search = 400;');
	like(explain_knn($node, knn_sql('items', 10), $queries->[0], dbname => 'restored', setup => $idx),
		qr/Index Scan using items_idx/, 'restored: k-NN uses the n2 index');
	is_deeply($rest, $orig, 'restored: k-NN answers equal the original (ef_search 400)');
	is($node->safe_psql('restored', 'SELECT count(*) FROM parts'), '10000', 'restored: partitioned table');
	is($node->safe_psql('restored', "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING n2%'"),
		$node->safe_psql('postgres', "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING n2%'"),
		'restored: every n2 index');
}

# N2_SIMD in the server's environment caps the kernels n2 chooses, and
# n2.simd says which it chose; the index answers as well with either.
{
	my $best = $node->safe_psql('postgres', "LOAD 'n2'; SHOW n2.simd");
	local $ENV{N2_SIMD} = 'scalar';
	$node->restart;
	is($node->safe_psql('postgres', "LOAD 'n2'; SHOW n2.simd"), 'scalar', 'N2_SIMD=scalar: n2.simd is scalar');
	recall_ok($node, 'items', 'scalar kernels');
	delete $ENV{N2_SIMD};
	$node->restart;
	is($node->safe_psql('postgres', "LOAD 'n2'; SHOW n2.simd"), $best, "without N2_SIMD: n2.simd is $best again");
}

note sprintf('total %ds', time - $t0);
$node->stop;
done_testing();
