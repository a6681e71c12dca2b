# Crash safety: kill -9 during an insert load and during VACUUM of an n2
# index (held at each of its pause points in the repair of the graph).  After crash recovery the index must be structurally clean
# (n2_verify), every committed row must be there and be found through the
# index, and the index must keep working (insert, VACUUM).
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $ds   = dataset('bigann10k-128-euclidean');
my $node = n2_node('crash', conf => "autovacuum = off\nrestart_after_crash = on");
my $t0   = time;

load_vectors($node, 'pool',  $ds->{base});
load_vectors($node, 'items', $ds->{base}, limit => 2000);
$node->safe_psql('postgres',
	'CREATE INDEX items_idx ON items USING n2 (embedding vector_l2_ops) WITH (m = 8, ef_construction = 64)');
# auto gives this small index 3-byte links: the recovery below replays them
is($node->safe_psql('postgres', "SELECT link_bytes FROM n2_index_info('items_idx')"),
	'3', 'items_idx has 3-byte links');
# Force the pages of the index to be written by a checkpoint, so that the
# WAL replayed after the crashes starts from full-page images and deltas.
$node->safe_psql('postgres', 'CHECKPOINT');

# Every row of items must be found through the index: by a k-NN query at its
# own vector (k = rows sharing that vector) and by a full index-ordered scan.
sub check_index
{
	my ($what) = @_;
	is($node->safe_psql('postgres',
			"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('items_idx')"),
		'', "$what: n2_verify clean");
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
	is($node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET n2.ef_search = 1000;
		WITH d AS (SELECT id, embedding, count(*) OVER (PARTITION BY embedding) AS n FROM items)
		SELECT count(*) FROM d
		WHERE d.id NOT IN (SELECT j.id FROM items j ORDER BY j.embedding <-> d.embedding LIMIT d.n)}),
		'0', "$what: all $rows rows found by a k-NN query at their own vector");
	is($node->safe_psql('postgres', q{
		SET enable_seqscan = off; SET n2.iterative_scan = relaxed_order; SET n2.max_scan_tuples = 10000000;
		SELECT count(*) FROM (SELECT id FROM items
			ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = 3) LIMIT 100000) x}),
		$rows, "$what: index-ordered full scan returns all $rows rows");
}

# The ids a client saw committed: psql prints "c <id>" after each autocommit
# INSERT returned.  Rows may also exist whose commit the client never saw.
sub committed_ids
{
	my ($out) = @_;
	return [ $out =~ /^c (\d+)$/mg ];
}

sub all_present
{
	my ($ids, $what) = @_;
	ok(scalar @$ids > 0, "$what: the client saw " . scalar(@$ids) . ' commits');
	my $list = join(',', @$ids) || '-1';
	is($node->safe_psql('postgres', "SELECT count(*) FROM items WHERE id IN ($list)"),
		scalar @$ids, "$what: every row the client saw committed survived the crash");
}

# Start psql in the background on an SQL script, reading it from a file and
# writing to files (no pumping needed); returns (harness, output file).
my $nscript = 0;
sub start_psql
{
	my ($sql) = @_;
	$nscript++;
	my $in  = $node->basedir . "/script_$nscript.sql";
	my $out = $node->basedir . "/script_$nscript.out";
	append_to_file($in, $sql);
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', $in ],
		'<', '/dev/null', '>', $out, '2>', "$out.err");
	return ($h, $out);
}

# The state before any crash, so that a problem found after recovery is
# known to come from the crash (or not).
check_index('after build, before any crash');

# --- 1. kill -9 during an insert load
{
	my $sql = '';
	for my $i (10_000 .. 10_000 + 4999)
	{
		$sql .= "INSERT INTO items SELECT $i, embedding FROM pool WHERE id = " . ($i % 10_000) . ";\n"
		  . "\\echo c $i\n";
	}
	my ($h, $out) = start_psql($sql);
	# let some inserts commit (bounded wait), then pull the plug
	$node->poll_query_until('postgres', 'SELECT count(*) >= 300 FROM items WHERE id >= 10000')
	  or die 'inserts did not start';
	kill9_cluster($node);
	$h->finish;    # psql exits on the lost connection
	my $ids = committed_ids(slurp_file($out));
	note scalar(@$ids) . ' inserts acknowledged before the crash';
	ok(scalar @$ids < 5000, 'the crash interrupted the insert load');
	$node->start;
	all_present($ids, 'insert crash');
	check_index('after crash during inserts');
}

# --- 2. kill -9 of the backend running VACUUM (the postmaster then resets
# every backend and replays WAL: crash recovery without a restart), once at
# each of VACUUM's pause points: holding the graph lock before it flags the
# doomed elements (vacuum-repair), with them flagged but the lists that link
# to them not yet rebuilt (vacuum-flagged), and with those lists rebuilt but
# the entry point not yet moved nor the unreachable reconnected
# (vacuum-rebuilt).  Each round deletes rows of its own first.
my $round = 0;
for my $point ('vacuum-repair', 'vacuum-flagged', 'vacuum-rebuilt')
{
	$round++;
	$node->safe_psql('postgres',
		"DELETE FROM items WHERE (id + $round) % 7 = 0 OR (id >= 10000 AND id % 5 = $round)");
	my $left = $node->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM items');
	# VACUUM stops at the pause point for as long as another session holds
	# the advisory lock n2.pause_key names
	my ($hold) = start_psql("SELECT pg_advisory_lock(28210);\nSELECT pg_sleep(600);\n");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 28210 AND granted")
	  or die 'the pause lock was not taken';
	my ($h, $out) = start_psql("SET n2.pause_at = '$point';\nVACUUM items;\n");
	my $pid;
	for (1 .. 300)
	{
		$pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE query = 'VACUUM items;'");
		last if $pid;
		select undef, undef, undef, 0.02;
	}
	ok($pid, "$point: VACUUM backend started");
	ok($node->poll_query_until('postgres', qq{
		SELECT count(*) = 1 FROM pg_locks
		WHERE locktype = 'advisory' AND objid = 28210 AND NOT granted AND pid = $pid}),
		"VACUUM waits at $point");
	my $crashes = () = slurp_file($node->logfile) =~ /terminated by signal 9: Killed/g;
	kill 'KILL', $pid;
	$h->finish;
	$hold->finish;    # the postmaster's reset ends the holder's session too
	# the postmaster reinitialises; wait until it accepts queries again
	$node->poll_query_until('postgres', 'SELECT true') or die 'no recovery after the crash';
	my $after = () = slurp_file($node->logfile) =~ /terminated by signal 9: Killed/g;
	is($after, $crashes + 1, "$point: the server saw the backend die");
	is($node->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM items'),
		$left, "after crash at $point: the same rows");
	check_index("after crash at $point");
}

# the index still works: a complete VACUUM, more inserts, the checks again
$node->safe_psql('postgres', 'VACUUM items');
$node->safe_psql('postgres',
	'INSERT INTO items SELECT 20000 + id, embedding FROM pool WHERE id % 7 = 0');
check_index('after VACUUM and inserts following recovery');

note sprintf('total %ds', time - $t0);
$node->stop;
done_testing();
