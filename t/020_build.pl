# CREATE INDEX ... USING n2: threaded builds, reproducibility, progress reporting,
# cancellation.
#
#   - a 2-thread and a 1-thread build of bigann10k (disjoint) both reach recall@10 >= 0.95;
#   - two 1-thread builds of the same table are byte-identical page by page (page LSN
#     and checksum masked; pageinspect's get_raw_page);
#   - a slow build (fashion-mnist, 30,000 x 784, n_threads = 1) shows its progress in
#     pg_stat_progress_create_index to a second session: phase 'building graph' with
#     tuples_done moving;
#   - a build cancelled by pg_cancel_backend or by statement_timeout fails with the
#     cancel error, leaves no index behind, and the same session then builds fine;
#   - a build terminated by pg_terminate_backend while its threads run exits
#     without crashing (the server does not restart), three times;
#   - CREATE INDEX CONCURRENTLY of that table (a grouped build), held after its scan
#     while rows are inserted, updated and deleted: valid, n2_verify clean, exactly the
#     live rows after VACUUM, every live row found by its own vector;
#   - options whose element tuples cannot fit a page (m = 100, mult = 10) fail with an
#     ERROR, never crash the server.
# No assertion depends on speed: waits poll with a generous deadline.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use N2Test;

my $K  = 10;
my $ds = dataset('bigann10k-128-euclidean');
my $queries  = read_fvecs($ds->{query});
my $gt_ids   = read_ivecs($ds->{groundtruth_disjoint});
my $gt_dists = read_fvecs($ds->{groundtruth_disjoint_distances});

# restart_after_crash: a crash in the last part must not take the node down for good
my $node = n2_node('build', conf => 'restart_after_crash = on');
my $t0   = time;
load_vectors($node, 'items', $ds->{base_disjoint});
$node->safe_psql('postgres', 'CREATE EXTENSION pageinspect');

sub timed
{
	my ($sql) = @_;
	my $t = time;
	$node->safe_psql('postgres', $sql);
	note sprintf('%.1fs: %s', time - $t, $sql);
}

sub recall_of
{
	my ($index) = @_;
	my $plan = explain_knn($node, knn_sql('items', $K), $queries->[0]);
	like($plan, qr/Index Scan using \Q$index\E on items/, "query uses $index")
	  or diag $plan;
	my ($ids, $dists) = knn_ids($node, knn_sql('items', $K), $queries);
	return scalar recall_at_k($ids, $gt_ids, $gt_dists, $dists, $K);
}

# md5 of every page of an index, page LSN and checksum (first 10 bytes) masked:
# they depend on WAL position, not on what the build computed.
sub pages_md5
{
	my ($index) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT pg_relation_size('$index') || ':' ||
			md5(string_agg(md5(substr(get_raw_page('$index', b::int), 11)), ',' ORDER BY b))
		FROM generate_series(0, pg_relation_size('$index') / current_setting('block_size')::int - 1) b});
}

# --- 2 threads and 1 thread: both good
timed('CREATE INDEX items_t2 ON items USING n2 (embedding) WITH (n_threads = 2)');
my $r2 = recall_of('items_t2');
cmp_ok($r2, '>=', 0.95, "2-thread build: recall\@10 = $r2");
is($node->safe_psql('postgres', "SELECT elements FROM n2_index_info('items_t2')"),
	'9900', '2-thread build holds every vector');
$node->safe_psql('postgres', 'DROP INDEX items_t2');

timed('CREATE INDEX items_t1 ON items USING n2 (embedding) WITH (n_threads = 1)');
my $r1 = recall_of('items_t1');
cmp_ok($r1, '>=', 0.95, "1-thread build: recall\@10 = $r1");

# --- reproducibility: a second 1-thread build gives the same pages
timed('CREATE INDEX items_t1b ON items USING n2 (embedding) WITH (n_threads = 1)');
$node->safe_psql('postgres', 'CHECKPOINT');
my ($m1, $m1b) = (pages_md5('items_t1'), pages_md5('items_t1b'));
like($m1, qr/^\d+:[0-9a-f]{32}$/, "page digest of items_t1: $m1");
is($m1b, $m1, 'two 1-thread builds have identical pages');
is($node->safe_psql('postgres', "SELECT row(i.*)::text FROM n2_index_info('items_t1b') i"),
	$node->safe_psql('postgres', "SELECT row(i.*)::text FROM n2_index_info('items_t1') i"),
	'and identical n2_index_info');
# The digest really looks at the contents: a different build differs.
timed('CREATE INDEX items_m8 ON items USING n2 (embedding) WITH (n_threads = 1, m = 8)');
isnt(pages_md5('items_m8'), $m1, 'a build with other options has other pages');
$node->safe_psql('postgres', 'DROP INDEX items_t1, items_t1b, items_m8');

# --- a maintenance_work_mem too small for the graph: NOTICE, the rows that do
# not fit inserted one by one, same recall, and a sound index
{
	my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
		SET maintenance_work_mem = '1MB';
		CREATE INDEX items_small ON items USING n2 (embedding) WITH (n_threads = 2);
	});
	is($ret, 0, 'build under a 1MB maintenance_work_mem succeeds') or diag $stderr;
	like($stderr, qr/NOTICE:  n2 graph no longer fits into maintenance_work_mem after \d+ tuples/,
		'and says so in a NOTICE');
	my $rs = recall_of('items_small');
	cmp_ok($rs, '>=', 0.95, "over-budget build: recall\@10 = $rs");
	cmp_ok(abs($rs - $r1), '<=', 0.01, 'over-budget build recall within 1 point of the in-memory build');
	is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('items_small')"),
		'0', 'over-budget build passes n2_verify');
	is($node->safe_psql('postgres', "SELECT elements FROM n2_index_info('items_small')"),
		'9900', 'over-budget build holds every vector');
	$node->safe_psql('postgres', 'DROP INDEX items_small');
}

# --- a slow build: fashion-mnist 30,000 x 784, one thread
my $fm = dataset('fashion-mnist-784-euclidean');
my $t = time;
my $nslow = load_vectors($node, 'slow', $fm->{base}, limit => 30_000);
note sprintf('%.1fs: loaded %d x 784', time - $t, $nslow);
# enough memory for an in-memory build: these tests are about progress and
# cancellation, and must not see the over-budget NOTICE
$node->safe_psql('postgres', "ALTER SYSTEM SET maintenance_work_mem = '256MB'");
$node->reload;
my $slow_sql = 'CREATE INDEX slow_idx ON slow USING n2 (embedding) WITH (n_threads = 1)';

my $deadline_s = $PostgreSQL::Test::Utils::timeout_default;

sub index_exists
{
	my ($name) = @_;
	return $node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = '$name'");
}

# Starts $sql in background session $bg (returns at once) and returns its pid.
sub start_in_background
{
	my ($bg, $sql) = @_;
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, "\\echo started\n$sql;\n");
	return $pid;
}

# Polls the progress view for backend $pid until $until->(\%row) is true or the
# build has ended (no row any more after one was seen). Returns the rows seen.
sub watch_progress
{
	my ($pid, $until) = @_;
	my @rows;
	my $seen  = 0;
	my $start = time;
	while (time - $start < $deadline_s)
	{
		my $r = $node->safe_psql('postgres', qq{
			SELECT command, phase, tuples_total, tuples_done
			FROM pg_stat_progress_create_index WHERE pid = $pid});
		if ($r eq '')
		{
			last if $seen;
			# not started yet, or already over (then pg_stat_activity says idle)
			my $state = $node->safe_psql('postgres',
				"SELECT state || ':' || query FROM pg_stat_activity WHERE pid = $pid");
			last if $state =~ /^idle:.*CREATE INDEX/s;
			usleep(20_000);
			next;
		}
		$seen = 1;
		my %row;
		@row{qw(command phase tuples_total tuples_done)} = split /\|/, $r;
		push @rows, \%row;
		last if $until && $until->(\%row);
		usleep(20_000);
	}
	return \@rows;
}

# 1. Complete build, watched from a second session.
{
	my $bg  = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = start_in_background($bg, $slow_sql);
	my $t   = time;
	my $rows = watch_progress($pid);
	my ($out, $err) = $bg->query('SELECT 1');
	note sprintf('%.1fs: %s', time - $t, $slow_sql);
	is($err, 0, 'slow build succeeded') or diag $bg->{stderr};
	$bg->quit;

	my %phases = map { $_->{phase} => 1 } @$rows;
	note 'progress rows seen: ' . scalar(@$rows) . '; phases: ' . join(', ', sort keys %phases);
	ok(scalar(@$rows) > 0, 'progress rows seen from another session');
	ok((grep { $_->{command} eq 'CREATE INDEX' } @$rows) == @$rows, 'command is CREATE INDEX');
	# PostgreSQL shows an access method's phase as "building index: <name>"
	ok($phases{'building index: building graph'}, "phase 'building index: building graph' seen");
	my @bg_rows = grep { $_->{phase} eq 'building index: building graph' } @$rows;
	my %done = map { $_->{tuples_done} => 1 } @bg_rows;
	cmp_ok(scalar(keys %done), '>=', 2, 'tuples_done moves while building the graph');
	my $monotonic = 1;
	for my $i (1 .. $#bg_rows)
	{
		$monotonic = 0 if $bg_rows[$i]{tuples_done} < $bg_rows[ $i - 1 ]{tuples_done};
	}
	ok($monotonic, 'tuples_done never goes back within building graph');
	ok((grep { $_->{tuples_total} == $nslow && $_->{tuples_done} <= $nslow } @bg_rows) == @bg_rows,
		"building graph: tuples_total = $nslow and tuples_done <= total");
	# relinking checks some of the nodes: its total is theirs
	my @rl_rows = grep { $_->{phase} eq 'building index: relinking weakly linked nodes' } @$rows;
	ok((grep { $_->{tuples_total} <= $nslow && $_->{tuples_done} <= $_->{tuples_total} } @rl_rows) == @rl_rows,
		"relinking: tuples_done <= tuples_total <= $nslow");
	my @unknown = grep {
		$_ !~ /^(initializing|building index: (loading tuples|building graph|building reverse graph|merging level 0|relinking weakly linked nodes|writing pages|inserting tuples)|waiting for .*)$/
	} keys %phases;
	is_deeply(\@unknown, [], 'only known phase names');
	is($node->safe_psql('postgres', "SELECT elements FROM n2_index_info('slow_idx')"),
		$nslow, 'slow index complete');
	$node->safe_psql('postgres', 'DROP INDEX slow_idx');
}

# 2. Cancelled by pg_cancel_backend from another session, once it is building the graph.
{
	my $bg  = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = start_in_background($bg, $slow_sql);
	my $rows = watch_progress($pid,
		sub { $_[0]{phase} eq 'building index: building graph' && $_[0]{tuples_done} > 0 });
	ok(@$rows && $rows->[-1]{phase} eq 'building index: building graph',
		'build reached building graph before the cancel');
	is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', 'pg_cancel_backend');
	my ($out, $err) = $bg->query('SELECT 1');
	is($err, 1, 'cancelled build failed');
	like($bg->{stderr}, qr/canceling statement due to user request/, 'with the cancel error');
	$bg->{stderr} = '';
	is(index_exists('slow_idx'), '0', 'no index left after pg_cancel_backend');
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_progress_create_index WHERE pid = $pid"),
		'0', 'no progress row left');

	# the same session builds again (smaller table, quick)
	my ($o2, $e2) = $bg->query('CREATE INDEX items_after_cancel ON items USING n2 (embedding)');
	is($e2, 0, 'same session builds after the cancel') or diag $bg->{stderr};
	is($bg->query_safe("SELECT elements FROM n2_index_info('items_after_cancel')"), '9900',
		'and the new index is complete');
	$bg->query_safe('DROP INDEX items_after_cancel');
	$bg->quit;
}

# 2b. Terminated (pg_terminate_backend: a FATAL error, which exits without
# unwinding) while two threads build the graph, three times: the backend's exit
# stops and joins them before the transaction's memory goes, so no backend
# crashes and the server never restarts; then a build works.
{
	my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
	my $log_at = -s $node->logfile;
	for my $round (1 .. 3)
	{
		my $bg  = $node->background_psql('postgres', on_error_stop => 0);
		my $pid = start_in_background($bg,
			'CREATE INDEX slow_idx ON slow USING n2 (embedding) WITH (n_threads = 2)');
		my $rows = watch_progress($pid,
			sub { $_[0]{phase} eq 'building index: building graph' && $_[0]{tuples_done} > 0 });
		ok(@$rows && $rows->[-1]{phase} eq 'building index: building graph',
			"round $round: build reached building graph before the terminate");
		is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid, 60000)"), 't',
			"round $round: pg_terminate_backend, and the backend is gone");
		$bg->{run}->finish;
	}
	my $log = slurp_file($node->logfile, $log_at);
	unlike($log, qr/terminated by signal/, 'no backend crashed');
	is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started,
		'the server never restarted');
	is(index_exists('slow_idx'), '0', 'no index left after the terminations');
}

# 3. statement_timeout, with two build threads; then the same session builds fine.
{
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	$bg->query_safe("SET statement_timeout = '1s'");
	my $t = time;
	my ($out, $err) = $bg->query(
		'CREATE INDEX slow_idx ON slow USING n2 (embedding) WITH (n_threads = 2)');
	note sprintf('timed-out build returned after %.1fs', time - $t);
	is($err, 1, 'build under statement_timeout failed');
	like($bg->{stderr}, qr/canceling statement due to statement timeout/, 'with the timeout error');
	$bg->{stderr} = '';
	is(index_exists('slow_idx'), '0', 'no index left after statement_timeout');
	$bg->query_safe('RESET statement_timeout');
	($out, $err) = $bg->query($slow_sql);
	is($err, 0, 'same session then builds the slow index') or diag $bg->{stderr};
	is($bg->query_safe("SELECT elements FROM n2_index_info('slow_idx')"), $nslow,
		'and it is complete');
	$bg->quit;
	# and it answers
	my $q = $node->safe_psql('postgres',
		'SET enable_seqscan = off; SELECT id FROM slow ORDER BY embedding <-> (SELECT embedding FROM slow WHERE id = 123) LIMIT 1');
	is($q, '123', 'slow index finds a row by its own vector');
}

# 3b. CREATE INDEX CONCURRENTLY of the slow table, 94 MB of vectors, so that its two
# build threads insert the level-0 nodes grouped by neighbourhood (core/build.c, "The
# order"), held after its scan (pause point build-graph) while another session inserts
# new and duplicate vectors, updates and deletes rows. The index then is valid, holds
# exactly the live rows after VACUUM, passes n2_verify, and a walk at each live row's
# own vector reaches it.
{
	$node->safe_psql('postgres', 'DROP INDEX slow_idx');
	my ($holder, $bg, $waiting) = start_paused($node, 'build-graph',
		'CREATE INDEX CONCURRENTLY slow_idx ON slow USING n2 (embedding) WITH (n_threads = 2)',
		on_error_stop => 0);
	ok($waiting, 'CREATE INDEX CONCURRENTLY waits at build-graph');
	$node->safe_psql('postgres', q{
		INSERT INTO slow SELECT id + 100000, embedding + embedding FROM slow WHERE id % 20 = 0;
		INSERT INTO slow SELECT id + 200000, embedding FROM slow WHERE id % 50 = 1;
		UPDATE slow SET embedding = embedding * embedding WHERE id % 40 = 3;
		DELETE FROM slow WHERE id % 30 = 7;});
	$holder->query_safe('SELECT pg_advisory_unlock(28210)');
	my ($out, $err) = $bg->query('SELECT 1');
	is($err, 0, 'the held CREATE INDEX CONCURRENTLY finished') or diag $bg->{stderr};
	$bg->quit;
	$holder->quit;
	is($node->safe_psql('postgres',
			"SELECT indisvalid FROM pg_index WHERE indexrelid = 'slow_idx'::regclass"),
		't', 'and its index is valid');
	$node->safe_psql('postgres', 'VACUUM slow');
	is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('slow_idx')"),
		'0', 'grouped build under concurrent writes passes n2_verify');
	is($node->safe_psql('postgres', "SELECT heap_tids FROM n2_index_info('slow_idx')"),
		$node->safe_psql('postgres', 'SELECT count(*) FROM slow'),
		'the index holds exactly the live rows');
	# The filter (id + 0: no other index serves it) rejects every other row, so
	# the relaxed_order walk, with no sequential fallback, widens until it finds
	# the row or has visited all it can reach (as t/100's self-search).
	is($node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SET n2.iterative_scan = relaxed_order; SET n2.scan_fallback = off;
		SET n2.max_scan_tuples = 100000000; SET work_mem = '64MB';
		SELECT count(*) FROM slow a LEFT JOIN LATERAL (
			SELECT b.id, l2_distance(b.embedding, a.embedding) AS d FROM slow b
			WHERE b.id + 0 = a.id ORDER BY b.embedding <-> a.embedding LIMIT 1) f ON true
		WHERE f.id IS NULL OR f.d <> 0}),
		'0', 'every live row is found by an index walk at its own vector');
}

# 4. Options that make some element tuples larger than a page: m = 100 with mult = 10
#    draws levels up to 30 (100 links x 6 bytes per level). The build or the insert
#    must fail with an ERROR (or succeed), not crash the backend.
{
	my $log_offset = -s $node->logfile;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
		CREATE TABLE wide_levels (id int, v vector(3));
		INSERT INTO wide_levels SELECT i, ARRAY[sin(i), cos(i), i]::vector
			FROM generate_series(1, 100) i;
		CREATE INDEX wide_levels_v ON wide_levels USING n2 (v) WITH (m = 100, mult = 10);
	});
	unlike($stderr, qr/server closed the connection/, 'build with m = 100, mult = 10 does not crash')
	  or diag $stderr;
	note "build: ret $ret, stderr: $stderr";
	$node->poll_query_until('postgres', 'SELECT true');
	($ret, $stdout, $stderr) = $node->psql('postgres', q{
		CREATE TABLE wide_levels2 (id int, v vector(3));
		CREATE INDEX wide_levels2_v ON wide_levels2 USING n2 (v) WITH (m = 100, mult = 10);
		INSERT INTO wide_levels2 VALUES (1, '[1,2,3]');
	});
	unlike($stderr, qr/server closed the connection/, 'insert with m = 100, mult = 10 does not crash')
	  or diag $stderr;
	note "insert: ret $ret, stderr: $stderr";
	$node->poll_query_until('postgres', 'SELECT true');
	ok(!$node->log_contains(qr/terminated by signal/, $log_offset), 'no backend crashed');
}

note sprintf('total %.1fs', time - $t0);
$node->stop;
done_testing();
