# CREATE INDEX within maintenance_work_mem, with one heap scan, and cancellable
# in every phase.
#
#   1. Memory.  A build's private memory stays within maintenance_work_mem plus
#      a fixed 2 MB: 8MB on 100,000 x 128-d rows and 1MB on 20,000 (both take
#      the over-budget path: NOTICE, then row-by-row inserts), and the in-memory
#      path at 64MB on 90,000 rows.  The over-budget indexes are sound and
#      identical vectors still share one element.
#   2. A cancel in each phase (loading tuples, building graph, writing pages,
#      inserting tuples) fails the build with the cancel error, leaves no index
#      and a working session.
#   3. CREATE INDEX CONCURRENTLY over budget on a table larger than a quarter
#      of shared_buffers (so its scan is a synchronized one, started where a
#      looping seq scan of another session is), while pgbench inserts, updates
#      and deletes: the index is valid, clean, holds exactly the live rows
#      after VACUUM, and finds (98% of) a sample of rows by their own vectors.
#
# How the peak is measured.  /proc/PID/status has no peak of RssAnon, and its
# VmHWM (peak of RssAnon + RssFile + RssShmem) also counts the shared buffers
# the backend touches.  So a sampler process reads the building backend's
# status every 2 ms and then resets its VmHWM (echo 5 > /proc/PID/clear_refs).
# Within each interval RssShmem and RssFile only grow, so RssAnon never exceeded
# VmHWM(end of interval) - RssShmem - RssFile(start of interval): an upper
# bound that also catches allocations freed between two samples, since the
# kernel records the high-water mark before any unmap.  To keep the bound tight
# the backend first touches the shared buffers (pg_prewarm of a table larger
# than shared_buffers) and the WAL buffers (writing more WAL than they hold).
# The test asserts that bound minus RssAnon before the build.
use strict;
use warnings;

use IPC::Run;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use N2Test;

# What a build may use beyond maintenance_work_mem (README: "+ 2 MB").
my $FIXED_KB   = 2048;
my $deadline_s = $PostgreSQL::Test::Utils::timeout_default;
my $t0         = time;

# $n rows of 128-d vectors on a 3-d manifold in 140 overlapping patches; every
# 50th row repeats the vector of the row 7 before it (2% duplicates, spread
# through the table).  Deterministic, and about 10 s per 100,000 rows.
sub gen_sql
{
	my ($table, $n, $first) = @_;
	$first //= 1;
	my $last = $first + $n - 1;
	return qq{
INSERT INTO $table
SELECT i, (SELECT array_agg(sin(t1 * f1 + t2 * f2 + t3 * f3 + ph) ORDER BY d)
           FROM (SELECT d,
                        2 * (d * 0.7548776662::float8 - floor(d * 0.7548776662::float8)) f1,
                        2 * (d * 0.5698402910::float8 - floor(d * 0.5698402910::float8)) f2,
                        2 * (d * 0.4301597090::float8 - floor(d * 0.4301597090::float8)) f3,
                        6.3::float8 * (d * 0.6180339887::float8 - floor(d * 0.6180339887::float8)) ph
                 FROM generate_series(1, 128) d) w)::vector
FROM (SELECT i,
             (j % 20) * 0.3::float8 + 0.5::float8 * (j * 0.6180339887::float8 - floor(j * 0.6180339887::float8)) t1,
             (j % 7) * 0.3::float8 + 0.5::float8 * (j * 0.7548776662::float8 - floor(j * 0.7548776662::float8)) t2,
             0.5::float8 * (j * 0.5698402910::float8 - floor(j * 0.5698402910::float8)) t3
      FROM (SELECT i, CASE WHEN i % 50 = 0 THEN i - 7 ELSE i END j
            FROM generate_series($first, $last) i) q) r;
ANALYZE $table;};
}

sub timed
{
	my ($node, $sql) = @_;
	my $t = time;
	$node->safe_psql('postgres', $sql);
	note sprintf('%.1fs: %s', time - $t, $sql =~ s/\s+/ /gr);
}

# ---------------------------------------------------------------- 1. memory
my $node = n2_node('mem', conf => "shared_buffers = 128MB\nautovacuum = off\nmax_wal_size = 2GB");
$node->safe_psql('postgres', 'CREATE EXTENSION pg_prewarm');
timed($node, 'CREATE TABLE items (id int, v vector(128));' . gen_sql('items', 100_000));
# 1800-byte rows stay uncompressed: 160 MB, more than shared_buffers
timed($node, q{CREATE TABLE filler AS SELECT i, repeat('x', 1800) pad FROM generate_series(1, 80000) i;
	CREATE TABLE walfill (x text)});

# Sampler (a forked child): the upper bound described above and the plain
# RssAnon peak, in kB, written to $out once $stop exists or the backend is gone.
sub run_sampler
{
	my ($pid, $stop, $out) = @_;
	my $status = sub {
		open(my $f, '<', "/proc/$pid/status") or return undef;
		local $/;
		my $s = <$f>;
		close $f;
		my %h;
		for my $k (qw(RssAnon RssFile RssShmem VmHWM))
		{
			($h{$k}) = $s =~ /^$k:\s+(\d+)/m;
			return undef unless defined $h{$k};
		}
		return \%h;
	};
	my $reset = sub {
		open(my $f, '>', "/proc/$pid/clear_refs") or die "clear_refs: $!";
		print $f "5\n";
		close $f or die "clear_refs: $!";
	};
	my $prev = $status->() or die "no /proc/$pid/status";
	$reset->();
	my ($anon0, $upper, $anon, $n) = ($prev->{RssAnon}, 0, 0, 0);
	while (!-e $stop)
	{
		usleep(2000);
		my $cur = $status->() or last;
		$reset->();
		my $bound = $cur->{VmHWM} - $prev->{RssShmem} - $prev->{RssFile};
		$upper = $bound if $bound > $upper;
		$anon = $cur->{RssAnon} if $cur->{RssAnon} > $anon;
		$prev = $cur;
		$n++;
	}
	open(my $o, '>', $out) or die "$out: $!";
	print $o "$anon0 $upper $anon $n\n";
	close $o;
}

# Runs $sql in a fresh session at maintenance_work_mem $mwm and returns
# (peak kB above the baseline: upper bound, sampled RssAnon; samples; stderr).
sub measure_build
{
	my ($mwm, $sql) = @_;
	my $bg = $node->background_psql('postgres', on_error_stop => 1);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_safe(q{SET client_min_messages = warning;
		SELECT pg_prewarm('filler');
		INSERT INTO walfill SELECT repeat(md5(i::text), 30) FROM generate_series(1, 10000) i;
		CREATE TEMP TABLE warm AS SELECT i, ARRAY[i, 1, 2]::vector v FROM generate_series(1, 100) i;
		CREATE INDEX ON warm USING n2 (v);
		DROP TABLE warm;
		RESET client_min_messages});
	$bg->query_safe("SET maintenance_work_mem = '$mwm'");
	my $stop = $node->basedir . "/sampler_$pid.stop";
	my $out  = $node->basedir . "/sampler_$pid.out";
	unlink $stop, $out;
	my $child = fork();
	die "fork: $!" unless defined $child;
	if ($child == 0)
	{
		eval { run_sampler($pid, $stop, $out); };
		print STDERR "sampler: $@" if $@;
		POSIX::_exit($@ ? 1 : 0);
	}
	usleep(50_000);
	my $t = time;
	my ($res, $err) = $bg->query($sql);
	my $secs = time - $t;
	open(my $f, '>', $stop) or die "$stop: $!";
	close $f;
	waitpid($child, 0);
	is($? >> 8, 0, "$mwm: the sampler ran");
	my $stderr = $bg->{stderr};
	$bg->{stderr} = '';
	like($bg->query_safe('SELECT 1'), qr/^1$/, "$mwm: the session answers after the build");
	$bg->quit;
	open(my $in, '<', $out) or die "$out: $!";
	my ($anon0, $upper, $anon, $n) = split ' ', scalar <$in>;
	close $in;
	note sprintf('%s: %.1fs, baseline RssAnon %d kB, peak above it: %d kB (bound), %d kB (sampled), %d samples: %s',
		$mwm, $secs, $anon0, $upper - $anon0, $anon - $anon0, $n, $sql);
	return ($upper - $anon0, $anon - $anon0, $n, $stderr);
}

sub check_memory
{
	my ($mwm, $budget_kb, $sql, $over, $min_kb) = @_;
	my ($upper, $anon, $n, $stderr) = measure_build($mwm, $sql);
	cmp_ok($n, '>=', 10, "$mwm: sampled the build");
	cmp_ok($upper, '<=', $budget_kb + $FIXED_KB,
		"$mwm: peak private memory $upper kB <= maintenance_work_mem + $FIXED_KB kB");
	# the measurement sees the memory the build does use
	cmp_ok($anon, '>=', $min_kb, "$mwm: and it used at least $min_kb kB");
	if ($over)
	{
		like($stderr, qr/NOTICE:  n2 graph no longer fits into maintenance_work_mem after \d+ tuples/,
			"$mwm: over-budget NOTICE");
		like($stderr, qr/HINT:  Increase maintenance_work_mem to speed up builds\./, "$mwm: with its HINT");
	}
	else
	{
		is($stderr, '', "$mwm: in-memory build, no NOTICE");
	}
}

check_memory('8MB', 8192,
	'CREATE INDEX items_8mb ON items USING n2 (v) WITH (m = 8, ef_construction = 32)',
	1, 4096);
is($node->safe_psql('postgres', "SELECT elements || ' ' || heap_tids FROM n2_index_info('items_8mb')"),
	$node->safe_psql('postgres', 'SELECT count(DISTINCT v::real[]) || \' \' || count(*) FROM items'),
	'8MB: one element per distinct vector, one heap TID per row');
is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('items_8mb')"), '0',
	'8MB: n2_verify clean');
$node->safe_psql('postgres', 'DROP INDEX items_8mb');

check_memory('1MB', 1024,
	'CREATE INDEX items_1mb ON items USING n2 (v) WITH (m = 8, ef_construction = 32) WHERE id <= 20000',
	1, 512);
is($node->safe_psql('postgres', "SELECT elements || ' ' || heap_tids FROM n2_index_info('items_1mb')"),
	$node->safe_psql('postgres',
		"SELECT count(DISTINCT v::real[]) || ' ' || count(*) FROM items WHERE id <= 20000"),
	'1MB: one element per distinct vector, one heap TID per row');
is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('items_1mb')"), '0',
	'1MB: n2_verify clean');
$node->safe_psql('postgres', 'DROP INDEX items_1mb');

check_memory('64MB', 65536,
	'CREATE INDEX items_64mb ON items USING n2 (v) WITH (m = 8, ef_construction = 32) WHERE id <= 90000',
	0, 32768);
is($node->safe_psql('postgres', "SELECT heap_tids FROM n2_index_info('items_64mb')"), '90000',
	'64MB: every row indexed');
$node->safe_psql('postgres', 'DROP INDEX items_64mb');
note sprintf('memory part done at %.0fs', time - $t0);

# ---------------------------------------------------------------- 2. cancel
sub index_exists
{
	my ($n, $name) = @_;
	return $n->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = '$name'");
}

# Polls the progress view from session $mon until backend $pid shows $phase,
# and then, with $cancel, cancels it in the same query (so the cancel comes
# while the phase lasts).  Returns the row seen ("phase|done|total"), or
# undef if the build ended first.
sub wait_phase
{
	my ($mon, $pid, $phase, $cancel) = @_;
	my $act   = $cancel ? "pg_cancel_backend(pid)::text" : "'seen'";
	my $start = time;
	my $seen  = 0;
	while (time - $start < $deadline_s)
	{
		my $r = $mon->query_safe(qq{
			SELECT phase || '|' || tuples_done || '|' || tuples_total || '|' ||
				CASE WHEN phase = '$phase' THEN $act ELSE '' END
			FROM pg_stat_progress_create_index WHERE pid = $pid});
		if ($r ne '')
		{
			$seen = 1;
			return $1 if $r =~ /^(\Q$phase\E\|\d+\|\d+)\|(true|seen)$/;
		}
		elsif ($seen)
		{
			return undef;
		}
		usleep(2_000);
	}
	return undef;
}

# Starts $sql, cancels it during $phase, checks the outcome.
sub cancel_in_phase
{
	my ($phase, $mwm, $sql, $index) = @_;
	my $mon = $node->background_psql('postgres', on_error_stop => 1);
	my $bg  = $node->background_psql('postgres', on_error_stop => 0);
	$bg->query_safe("SET maintenance_work_mem = '$mwm'");
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, "\\echo started\n$sql;\n");
	my $row = wait_phase($mon, $pid, "building index: $phase", 1);
	ok(defined $row, "$phase: cancelled during the phase (" . ($row // 'not seen') . ')');
	my ($out, $err) = $bg->query('SELECT 1');
	is($err, 1, "$phase: the cancelled build failed");
	like($bg->{stderr}, qr/ERROR:  canceling statement due to user request/,
		"$phase: with the cancel error");
	$bg->{stderr} = '';
	is(index_exists($node, $index), '0', "$phase: no index left");
	is($bg->query_safe('SELECT 1'), '1', "$phase: the session still works");
	$bg->quit;
	$mon->quit;
	$node->safe_psql('postgres', "DROP INDEX IF EXISTS $index");
}

cancel_in_phase('loading tuples', '64MB',
	'CREATE INDEX items_cancel ON items USING n2 (v)', 'items_cancel');
cancel_in_phase('building graph', '64MB',
	'CREATE INDEX items_cancel ON items USING n2 (v) WITH (m = 8, ef_construction = 32) WHERE id <= 90000',
	'items_cancel');
# a cheap graph: the build soon reaches the writing of 90,000 nodes
cancel_in_phase('writing pages', '64MB',
	'CREATE INDEX items_cancel ON items USING n2 (v) WITH (m = 2, ef_construction = 1) WHERE id <= 90000',
	'items_cancel');
cancel_in_phase('inserting tuples', '8MB',
	'CREATE INDEX items_cancel ON items USING n2 (v) WITH (m = 8, ef_construction = 32)',
	'items_cancel');
note sprintf('cancel part done at %.0fs', time - $t0);
$node->stop;

# ---------------------------------------------------------------- 3. CIC
# shared_buffers = 16MB: a scan of a table over 4 MB is a synchronized one.
my $cic = n2_node('cic', conf => "shared_buffers = 16MB\nautovacuum = off\n"
	  . "max_parallel_workers_per_gather = 0\nmax_connections = 20");
timed($cic, 'CREATE TABLE t (id int, v vector(128));' . gen_sql('t', 20_000)
	  . 'CREATE TABLE pool (id int, v vector(128));' . gen_sql('pool', 5_000, 20_001));
my $blocks = $cic->safe_psql('postgres', "SELECT pg_relation_size('t') / 8192");
cmp_ok($blocks, '>', 512, "t has $blocks blocks, more than a quarter of shared_buffers");

my $dir = $cic->basedir;
# The scanner reads a third of the table a time: a whole scan would end where
# it began and leave the synchronization hint there, often block 0.
my %scripts = (
	scan   => "SELECT count(*) FROM (SELECT 1 FROM t LIMIT 7000) s;\n",
	insert => "\\set s random(20001, 25000)\nINSERT INTO t SELECT id, v FROM pool WHERE id = :s;\n",
	# never the vector a row has: an update that kept it could be HOT, and
	# the index would hold the HOT chain's root, not the row's ctid
	update => "\\set r random(1, 20000)\n\\set s random(20001, 25000)\n"
	  . "UPDATE t SET v = p.v FROM pool p WHERE t.id = :r AND p.id = :s AND t.v <> p.v;\n",
	delete => "\\set r random(1, 25000)\nDELETE FROM t WHERE id = :r;\n");
for my $s (keys %scripts)
{
	open(my $f, '>', "$dir/$s.sql") or die "$dir/$s.sql: $!";
	print $f $scripts{$s};
	close $f;
}

# pgbench running @files until stopped, its sessions named $name
sub pgbench_start
{
	my ($name, @files) = @_;
	return IPC::Run::start(
		[
			'pgbench', '-n', '-T', '600', '-c', scalar(@files), '-j', '1',
			'-h', $cic->host, '-p', $cic->port,
			(map { ('-f', "$dir/$_.sql") } @files),
			"dbname=postgres application_name=$name"
		],
		'>', "$dir/$name.out", '2>', "$dir/$name.err");
}

sub pgbench_stop
{
	my ($h, $name) = @_;
	# TERM, not INT: a shell without job control starts background jobs
	# with SIGINT ignored, and pgbench would then run its whole -T
	$h->signal('TERM');
	$h->finish;
	# until their backends are gone: VACUUM must see no older snapshot
	$cic->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = '$name'")
	  or die "$name backends linger";
}

my $start_block;
for my $attempt (1 .. 3)
{
	my $scanner = pgbench_start('n2_scanner', 'scan');
	$cic->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'n2_scanner'")
	  or die 'no scanner';
	usleep(300_000);

	my $bg  = $cic->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_safe("SET maintenance_work_mem = '1MB'");
	$bg->query_until(qr/started/, "\\echo started\nCREATE INDEX CONCURRENTLY t_idx ON t USING n2 (v);\n");
	# writers start once the index exists in the catalog, so no update is HOT
	my $mon = $cic->background_psql('postgres', on_error_stop => 1);
	ok(defined wait_phase($mon, $pid, 'building index: inserting tuples', 0),
		'CIC reached the over-budget insert phase');
	$mon->quit;
	my $writers = pgbench_start('n2_writers', 'insert', 'update', 'delete');
	$bg->query('SELECT 1');
	unlike($bg->{stderr}, qr/ERROR/, 'CREATE INDEX CONCURRENTLY succeeded');
	like($bg->{stderr}, qr/NOTICE:  n2 graph no longer fits into maintenance_work_mem/,
		'CIC took the over-budget path');
	$bg->quit;

	# node 0 is the first row the build read: its heap block is where it started
	$start_block = $cic->safe_psql('postgres', q{
		SELECT (heap_tids[1]::text::point)[0]::int FROM n2_index_graph('t_idx')
		WHERE element = '(1,1)' AND level = 0});
	note "attempt $attempt: the build's scan started at heap block $start_block";
	usleep(500_000);
	pgbench_stop($writers, 'n2_writers');
	pgbench_stop($scanner, 'n2_scanner');
	last if $start_block > 0 || $attempt == 3;
	$cic->safe_psql('postgres', 'DROP INDEX t_idx');
}
cmp_ok($start_block, '>', 0, 'the CIC scan was synchronized: it started mid-table');

# pgbench backends flush their statistics as they exit
my ($ins, $upd, $del) = split /\|/, $cic->safe_psql('postgres', q{
	SELECT n_tup_ins - 20000 || '|' || n_tup_upd || '|' || n_tup_del
	FROM pg_stat_user_tables WHERE relname = 't'});
note "pgbench: $ins inserts, $upd updates, $del deletes";
ok($ins > 0 && $upd > 0 && $del > 0, 'pgbench inserted, updated and deleted during the build');

# INDEX_CLEANUP on: with few dead line pointers a VACUUM may skip the index
# (PostgreSQL's bypass of index vacuuming), leaving their TIDs in it.
$cic->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP on) t');
is($cic->safe_psql('postgres',
		"SELECT indisvalid FROM pg_index WHERE indexrelid = 't_idx'::regclass"), 't',
	'the index is valid');
is($cic->safe_psql('postgres', "SELECT count(*) FROM n2_verify('t_idx')"), '0', 'n2_verify clean');
my $live = $cic->safe_psql('postgres', 'SELECT count(*) FROM t');
is($cic->safe_psql('postgres', "SELECT heap_tids FROM n2_index_info('t_idx')"), $live,
	"the index holds $live heap TIDs, one per live row");
is($cic->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT unnest(heap_tids) tid FROM n2_index_graph('t_idx') WHERE level = 0) i
	FULL JOIN t ON t.ctid = i.tid WHERE i.tid IS NULL OR t.ctid IS NULL}),
	'0', 'and exactly the live rows');
# Every live row is found by an index scan at its own vector: the filter
# (on ctid: inserts may repeat an id) rejects every other row, so the walk (relaxed order, no sequential finish)
# goes on until it finds the row or has seen all it can reach.
my $missed = $cic->safe_psql('postgres', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_tidscan = off;
	SET n2.scan_fallback = off; SET n2.ef_search = 40;
	SET n2.iterative_scan = relaxed_order; SET n2.max_scan_tuples = 100000000;
	SELECT coalesce(string_agg(a.ctid::text, ' '), '') FROM t a
	WHERE NOT EXISTS (SELECT 1 FROM
		(SELECT b.id FROM t b WHERE b.ctid = a.ctid ORDER BY b.v <-> a.v LIMIT 1) s)});
is($missed, '', 'every live row is found by a self-search walking the graph alone');

note sprintf('total %.0fs', time - $t0);
$cic->stop;
done_testing();
