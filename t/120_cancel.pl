# VACUUM and n2_verify answer a cancel, and VACUUM keeps its memory bound.
#
#   - VACUUM cancelled (pg_cancel_backend) in each of its stages: while pass 1
#     filters heap TIDs, while the repair holds the graph lock, once it flags
#     doomed elements deleted, and once it deletes them.  Each time the error
#     is the cancel error, the stage was left unfinished (the index shows it),
#     and the session goes on working; n2_verify is clean after a cancel in
#     pass 1 or while deleting (mid-repair it may see unflagged doomed
#     elements link to flagged ones: noted, not checked).  Then a VACUUM
#     completes: n2_verify is clean, n2_index_info counts only the live rows,
#     and a 1-NN query at each live row's own vector (n2.scan_fallback off)
#     finds it.
#   - VACUUM cancelled while it waits at the pause point vacuum-rebuilt,
#     every list that linked to a doomed element rebuilt and the final
#     reconnection not run yet, while inserts go on: it takes the cancel only
#     after that reconnection, so n2_verify finds every live element
#     reachable and a self-search finds every live row, the inserted ones
#     too.
#   - n2_verify cancelled while it walks the index: the cancel is taken inside
#     it (the server logs a backtrace of where, by backtrace_functions).
#   - VACUUM with maintenance_work_mem = 1MB over more doomed elements than
#     one batch holds: it works in several batches and the index ends as
#     above.
#
# VACUUM is slowed down with vacuum_cost_delay so that each stage lasts long
# enough to be seen from another session, which cancels it as soon as it
# sees the stage begin; nothing depends on how long anything takes.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $node = n2_node('cancel',
	conf => "autovacuum = off\nbacktrace_functions = 'ProcessInterrupts'");
my $timeout = $PostgreSQL::Test::Utils::timeout_default;

# n rows of synthetic 2-d vectors (the same for a given id), no other index:
# VACUUM then spends its index phase in the n2 index alone.
sub make_table
{
	my ($table, $n, $with) = @_;
	$node->safe_psql('postgres', qq{
		CREATE TABLE $table (id int, v vector(2));
		INSERT INTO $table
		SELECT i, format('[%s,%s]', hashint4(i)::float8 / 4294967296 + 0.5,
						 hashint4(-i)::float8 / 4294967296 + 0.5)::vector
		FROM generate_series(1, $n) i;
		CREATE INDEX ${table}_idx ON $table USING n2 (v) WITH ($with);});
}

sub info
{
	my ($idx) = @_;
	my %i;
	@i{qw(elements heap_tids deleted)} = split /\|/, $node->safe_psql('postgres',
		"SELECT elements, heap_tids, deleted FROM n2_index_info('$idx')");
	return \%i;
}

sub verify_problems
{
	my ($idx) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('$idx')");
}

# What n2_verify reports, by kind (for notes).
sub problem_summary
{
	my ($idx) = @_;
	my $s = $node->safe_psql('postgres', qq{
		SELECT coalesce(string_agg(format('%s x %s', n, p), '; '), 'clean')
		FROM (SELECT regexp_replace(problem, '\\(\\d+,\\d+\\)', '(b,o)', 'g') AS p, count(*) AS n
			  FROM n2_verify('$idx') GROUP BY 1) s});
	return $s;
}

# Live rows that an index scan at their own vector does not return: the
# filter rejects every other row, so the walk (relaxed order, no sequential
# finish) goes on until it finds the row or has seen all it can reach.
sub missing_rows
{
	my ($table) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SET n2.scan_fallback = off; SET n2.ef_search = 40;
		SET n2.iterative_scan = relaxed_order; SET n2.max_scan_tuples = 100000000;
		SELECT count(*) FROM $table a
		WHERE NOT EXISTS (SELECT 1 FROM
			(SELECT b.id FROM $table b WHERE b.id + 0 = a.id ORDER BY b.v <-> a.v LIMIT 1) s)});
}

# Waits (polling from another session) until $cond holds while backend $pid
# runs $sql, then cancels it there.  Dies if $sql ends first.  Each round
# commits, so that the poll holds no snapshot VACUUM waits for before it
# deletes what it unlinked.
sub cancel_when
{
	my ($pid, $sql, $cond) = @_;
	$node->safe_psql('postgres', qq{
		DO \$\$
		DECLARE
			deadline timestamptz := clock_timestamp() + interval '$timeout seconds';
		BEGIN
			LOOP
				PERFORM pg_stat_clear_snapshot();
				IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid
						   AND state <> 'active' AND query = \$q\$$sql;\$q\$) THEN
					RAISE EXCEPTION 'statement ended before: %', \$c\$$cond\$c\$;
				END IF;
				IF $cond THEN
					PERFORM pg_cancel_backend($pid);
					RETURN;
				END IF;
				IF clock_timestamp() > deadline THEN
					RAISE EXCEPTION 'timed out waiting for: %', \$c\$$cond\$c\$;
				END IF;
				PERFORM pg_sleep(0.002);
				COMMIT;
			END LOOP;
		END \$\$;});
}

# Starts $sql in $bg (returns at once), then cancels it once $cond holds.
sub start_and_cancel
{
	my ($bg, $sql, $cond) = @_;
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, "\\echo started\n$sql;\n");
	cancel_when($pid, $sql, $cond);
}

# Waits for the cancelled statement in $bg to end; checks it failed with the
# cancel error and that the session still answers.
sub check_cancelled
{
	my ($bg, $what) = @_;
	my ($out, $err) = $bg->query('SELECT 1');
	is($err, 1, "$what: failed");
	like($bg->{stderr}, qr/canceling statement due to user request/,
		"$what: with the cancel error");
	$bg->{stderr} = '';
	is($bg->query_safe('SELECT 41 + 1'), '42', "$what: the session still works");
}

# --- VACUUM, cancelled in each stage.
my $n = 40_000;
make_table('items', $n, 'm = 8, ef_construction = 32');
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 10 = 0');
my $live = $n - $n / 10;
my $idx_cond = "(SELECT %s FROM n2_index_info('items_idx'))";
my $locked = "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'page' AND granted"
  . " AND relation = 'items_idx'::regclass AND pid = %d)";

my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_safe('SET vacuum_cost_delay = 1');
$bg->query_safe('SET vacuum_cost_limit = 1');
my $pid = $bg->query_safe('SELECT pg_backend_pid()');

# 1. pass 1: some heap TIDs filtered out, not all, no graph lock yet
start_and_cancel($bg, 'VACUUM items',
	"(SELECT phase FROM pg_stat_progress_vacuum WHERE pid = $pid) = 'vacuuming indexes' AND "
	  . sprintf($idx_cond, 'heap_tids') . " < $n");
check_cancelled($bg, 'VACUUM cancelled in pass 1');
my $i = info('items_idx');
ok($i->{heap_tids} > $live && $i->{heap_tids} < $n,
	"pass 1 was under way: $i->{heap_tids} heap TIDs left, of $n, $live live");
is(verify_problems('items_idx'), '', 'n2_verify clean after a cancel in pass 1');

# 2. the repair, holding the graph lock, before it flags anything
start_and_cancel($bg, 'VACUUM items', sprintf($locked, $pid));
check_cancelled($bg, 'VACUUM cancelled holding the graph lock');
$i = info('items_idx');
is($i->{heap_tids}, $live, 'pass 1 had finished');
is($i->{elements} . '/' . $i->{deleted}, "$n/0", 'no element flagged or deleted yet');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_locks WHERE locktype = 'page' AND relation = 'items_idx'::regclass"),
	'0', 'graph lock released');
note 'n2_verify after a cancel holding the graph lock: ' . problem_summary('items_idx');

# 3. once it flags doomed elements deleted, before it deletes any
start_and_cancel($bg, 'VACUUM items',
	sprintf($idx_cond, 'deleted') . ' > 0');
check_cancelled($bg, 'VACUUM cancelled flagging elements');
$i = info('items_idx');
ok($i->{deleted} > 0 && $i->{elements} + $i->{deleted} == $n,
	"elements flagged, none deleted: $i->{elements} live, $i->{deleted} flagged");
note 'n2_verify after a cancel flagging elements: ' . problem_summary('items_idx');

# 4. once it deletes them
start_and_cancel($bg, 'VACUUM items',
	sprintf($idx_cond, 'elements + deleted') . " < $n");
check_cancelled($bg, 'VACUUM cancelled deleting elements');
$i = info('items_idx');
ok($i->{elements} + $i->{deleted} < $n && $i->{elements} + $i->{deleted} > $live,
	"some deleted, not all: $i->{elements} live, $i->{deleted} flagged");
is(verify_problems('items_idx'), '', 'n2_verify clean after a cancel while deleting');

# 5. the same session, at full speed, finishes the job
$bg->query_safe('RESET vacuum_cost_delay');
$bg->query_safe('VACUUM items');
$bg->quit;
is(verify_problems('items_idx'), '', 'n2_verify clean after a complete VACUUM');
$i = info('items_idx');
is("$i->{elements} $i->{heap_tids} $i->{deleted}", "$live $live 0",
	'n2_index_info: only the live rows remain');
is(missing_rows('items'), '0', 'every live row is found at its own vector');

# --- VACUUM cancelled while it rebuilds the lists that link to doomed
# elements.  A rebuilt list drops its doomed links, so what only doomed
# elements reach must have another path by then: VACUUM links it before the
# rebuilding, and reconnects what inserts left without one after it.  A
# cancel taken in between used to leave live rows out of every scan until
# the next VACUUM; VACUUM holds interrupts from the rebuilding to the
# reconnection: here the cancel arrives while it waits at the pause point
# vacuum-rebuilt, every list rebuilt, the reconnection not run yet.  Half
# the rows deleted at m = 2 leaves elements to link: VACUUM's DEBUG1 lines
# say how many, and the test needs some.
{
	make_table('cut', 20_000, 'm = 2, max_m0 = 4, ef_construction = 8');
	$node->safe_psql('postgres', 'DELETE FROM cut WHERE id % 2 = 0');
	my ($hold, $cbg, $waiting, $cpid) = start_paused($node, 'vacuum-rebuilt', 'VACUUM cut',
		on_error_stop => 0, setup => ['SET client_min_messages = debug1']);
	ok($waiting, 'VACUUM waits at vacuum-rebuilt');
	# inserts go on meanwhile: new vectors, and rows joining existing ones
	$node->safe_psql('postgres', q{
		INSERT INTO cut SELECT i, format('[%s,%s]', hashint4(i)::float8 / 4294967296 + 0.5,
								   hashint4(-i)::float8 / 4294967296 + 0.5)::vector
		FROM generate_series(30001, 30500) i;
		INSERT INTO cut SELECT id + 40000, v FROM cut WHERE id % 7 = 1 AND id < 20000;});
	is($node->safe_psql('postgres', "SELECT pg_cancel_backend($cpid)"), 't',
		'VACUUM is sent a cancel there');
	$hold->query_safe('SELECT pg_advisory_unlock(28210)');
	my ($out, $err) = $cbg->query('SELECT 1');
	is($err, 1, 'VACUUM cancelled while it rebuilds lists: failed');
	like($cbg->{stderr}, qr/canceling statement due to user request/,
		'with the cancel error');
	my ($before) = $cbg->{stderr} =~ /"cut_idx": (\d+) elements that only deleted ones reached linked/;
	my ($after)  = $cbg->{stderr} =~ /"cut_idx": (\d+) unreachable elements reconnected/;
	my $linked = ($before // 0) + ($after // 0);
	ok($linked > 0,
		"before it took the cancel it linked $linked elements (" . ($before // 0)
		  . ' before the rebuilding, ' . ($after // 0) . ' after)');
	$cbg->quit;
	$hold->quit;
	my $i = info('cut_idx');
	ok($i->{deleted} > 0, "doomed elements stay, flagged: $i->{deleted}");
	is(verify_problems('cut_idx'), '',
		'n2_verify clean after the cancel: every live element reachable');
	is(missing_rows('cut'), '0', 'every live row is found at its own vector');
	$node->safe_psql('postgres', 'VACUUM cut');
	is(verify_problems('cut_idx'), '', 'n2_verify clean after the next VACUUM');
	$i = info('cut_idx');
	is($i->{deleted}, '0', 'that VACUUM removed the doomed elements');
}

# --- n2_verify, cancelled while it walks the index (it holds the graph lock
# meanwhile).  Where the cancel was taken is in the backtrace the server logs:
# inside n2_verify, not after it returned.  A try where n2_verify finishes
# first is repeated.
{
	my $vbg  = $node->background_psql('postgres', on_error_stop => 0);
	my $vpid = $vbg->query_safe('SELECT pg_backend_pid()');
	my $inside = 0;
	for my $try (1 .. 5)
	{
		my $offset = -s $node->logfile;
		eval {
			start_and_cancel($vbg, "SELECT count(*) FROM n2_verify('items_idx')",
				sprintf($locked, $vpid));
		};
		my ($out, $err) = $vbg->query('SELECT 1');
		$vbg->{stderr} = '';
		next if !$err;
		my $log = slurp_file($node->logfile, $offset);
		if ($log =~ /canceling statement due to user request\n.*BACKTRACE:(.*?)STATEMENT:/s)
		{
			my $bt = $1;
			note "try $try: cancel taken at:$bt";
			if ($bt =~ /n2\.so/)
			{
				$inside = 1;
				last;
			}
		}
	}
	ok($inside, 'n2_verify took the cancel inside its walk');
	is($vbg->query_safe('SELECT 41 + 1'), '42', 'the session still works');
	$vbg->quit;
}

# --- maintenance_work_mem = 1MB: 65536 doomed elements per batch.
$n = 100_000;
make_table('big', $n, 'm = 8, ef_construction = 32');
$node->safe_psql('postgres', 'DELETE FROM big WHERE id % 5 <> 0');
$live = $n / 5;
{
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SET maintenance_work_mem = '1MB';
		SET client_min_messages = debug2;
		VACUUM (PARALLEL 0) big;});
	is($ret, 0, 'VACUUM with maintenance_work_mem = 1MB succeeds');
	my @removed = $err =~ /index "big_idx": batch \d+ removed (\d+) graph elements/g;
	my $total = 0;
	$total += $_ for @removed;
	note 'elements removed per batch: ' . join(', ', @removed);
	cmp_ok(scalar(@removed), '>=', 2, 'the doomed elements took several batches');
	is($total, $n - $live, 'the batches removed every doomed element');
	is(scalar(grep { $_ > 65536 } @removed), 0, 'no batch above 65536 elements');
}
is(verify_problems('big_idx'), '', 'n2_verify clean after VACUUM in batches');
$i = info('big_idx');
is("$i->{elements} $i->{heap_tids} $i->{deleted}", "$live $live 0",
	'n2_index_info: only the live rows remain');
is(missing_rows('big'), '0', 'every live row is found at its own vector');

$node->stop;
done_testing();
