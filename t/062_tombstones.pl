# Tombstones: VACUUM frees the graph nodes it unlinked only once no snapshot
# from before the unlinking is left, because a scan that began before may
# still need them to go on.  Points fill a disc, nearest the query first; a
# ring around the first 300 is deleted, so a cursor that has returned those
# 300 has only the ring's nodes left to go on from.
#  - On a hot standby with hot_standby_feedback, such a cursor is open while
#    the primary VACUUMs: the primary keeps the ring's nodes (the standby's
#    snapshot holds the slot's xmin), the standby replays the unlinking, and
#    the cursor still returns every row outside the ring.
#  - A standby replaying the primary's VACUUM up to the middle of its repair
#    finds every row (VACUUM links what only doomed nodes reach first).
#  - Tombstones and the metapage field that says when they were unlinked
#    survive a crash, also on an index whose metapage predates the field
#    (its pd_lower patched back, which drops vacuum_changes too), and a
#    later VACUUM frees them.
# n2_verify and a graph walk from every row's own vector are clean throughout.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $primary = n2_node('primary', init => { allows_streaming => 1 }, conf => 'autovacuum = off');

# point i of a sunflower disc: the farther from the origin, the larger i
$primary->safe_psql('postgres', q{
	CREATE FUNCTION disc(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
		SELECT ARRAY[sqrt(i) * cos(i * 2.39996), sqrt(i) * sin(i * 2.39996)]::vector(2) $$;
	-- VACUUM must not truncate the table (the standby's replay of that
	-- would wait for the cursor's lock), nor remove rows from a heap page the
	-- cursor has pinned (that of its last row): pad makes a page hold
	-- exactly 4 rows, so rows 1 to 300 fill pages of their own
	CREATE TABLE items (id int PRIMARY KEY, v vector(2), pad text)
		WITH (vacuum_truncate = false);
	INSERT INTO items SELECT i, disc(i), repeat('x', 1800) FROM generate_series(1, 3000) i;
	CREATE INDEX items_idx ON items USING n2 (v vector_l2_ops)
		WITH (m = 4, ef_construction = 32, n_threads = 1);
	ANALYZE items;
});

is($primary->safe_psql('postgres',
	'SELECT count(DISTINCT (ctid::text::point)[0]) FILTER (WHERE id <= 300) || \' \' || '
	  . 'count(*) FILTER (WHERE id > 300 AND (ctid::text::point)[0] < 75) FROM items'),
	'75 0', 'rows 1 to 300 fill heap pages 0 to 74, alone');

$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby')");
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', qq{
primary_slot_name = 'standby'
hot_standby_feedback = on
wal_receiver_status_interval = 1
});
$standby->start;

my $scan_setup = 'SET enable_seqscan = off; SET enable_bitmapscan = off; '
  . 'SET n2.ef_search = 10; SET n2.iterative_scan = relaxed_order; '
  . 'SET n2.max_scan_tuples = 1000000;';

# n2_verify's problems, and the rows a graph walk from their own vector does
# not reach: the filter rejects every other row, so the walk (no sequential
# finish) goes on until it finds the row or has seen all it can reach
sub check_index
{
	my ($node, $what) = @_;
	is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('items_idx')"),
		'0', "$what: n2_verify clean");
	is($node->safe_psql('postgres', "$scan_setup SET n2.scan_fallback = off;
		SELECT count(*) FROM items a WHERE NOT EXISTS (SELECT 1 FROM
			(SELECT b.id FROM items b WHERE b.id + 0 = a.id ORDER BY b.v <-> a.v LIMIT 1) s)"),
		'0', "$what: a walk from each row's vector reaches it");
	return;
}

sub deleted_nodes
{
	my ($node) = @_;
	return $node->safe_psql('postgres', "SELECT deleted FROM n2_index_info('items_idx')");
}

# VACUUM's messages about the index (DEBUG2, as for every index)
sub vacuum_verbose
{
	my ($node) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		'SET client_min_messages = debug2; VACUUM items');
	is($ret, 0, 'VACUUM succeeded');
	my $lines = join("\n", grep { /items_idx/ } split /\n/, $err);
	note "VACUUM: $lines";
	return $lines;
}

# Waits until the standby's feedback has moved the slot's xmin past xid (the
# standby has replayed it, and holds no older snapshot).
sub slot_past
{
	my ($xid) = @_;
	$primary->poll_query_until('postgres',
		"SELECT coalesce(xmin::text::bigint > $xid % 4294967296, false) "
		  . "FROM pg_replication_slots WHERE slot_name = 'standby'")
	  or die "the slot's xmin never passed $xid";
	return;
}

# --- a standby cursor across the primary's VACUUM
my $deleter = $primary->safe_psql('postgres', q{
	BEGIN;
	DELETE FROM items WHERE id > 300 AND id <= 2000;
	SELECT txid_current();
	COMMIT;});
$primary->wait_for_catchup($standby);

my $cursor = $standby->background_psql('postgres');
$cursor->query_safe($scan_setup);
$cursor->query_safe("BEGIN; DECLARE c CURSOR FOR SELECT id FROM items ORDER BY v <-> '[0,0]'");
my @first = split /\n/, $cursor->query_safe('FETCH 300 FROM c');
is(scalar(grep { $_ <= 300 } @first), 300,
	'the standby cursor returns the 300 rows inside the ring first');

# VACUUM may remove the deleted rows (the standby's snapshot is younger) but
# not the ring's nodes
slot_past($deleter);
like(vacuum_verbose($primary), qr/batch 1 unlinked 1700 graph elements/,
	'VACUUM unlinks the ring and keeps its nodes');
is(deleted_nodes($primary), '1700', 'the ring\'s nodes stay, flagged');
$primary->wait_for_catchup($standby);
is(deleted_nodes($standby), '1700', 'the standby replayed the unlinking');

my @rest = split /\n/, $cursor->query_safe('FETCH ALL FROM c');
is(scalar(@rest), 1000, 'the standby cursor returns the 1,000 rows outside the ring');
is(scalar(grep { $_ > 2000 } @rest), 1000, 'all of them from outside the ring');
$cursor->query_safe('COMMIT');
$cursor->quit;

# the slot's xmin moves past the unlinking once the standby's snapshot is
# gone and a later transaction has ended
slot_past($primary->safe_psql('postgres', 'SELECT txid_current()'));
like(vacuum_verbose($primary), qr/removed 1700 graph elements an earlier VACUUM unlinked/,
	'a VACUUM with no dead rows frees the tombstones');
is(deleted_nodes($primary), '0', 'no tombstone left');
$primary->wait_for_catchup($standby);
is(deleted_nodes($standby), '0', 'nor on the standby');
check_index($primary, 'primary after the tombstones went');
check_index($standby, 'standby after the tombstones went');

# --- a standby scan while the primary's VACUUM repairs the graph: half the
# rows of an m = 2 index of 20,000 2-d points deleted (the entry point's
# too) leaves rows that only doomed nodes reach.  VACUUM links them before
# it rebuilds any list, so the standby, replaying up to the pause point
# vacuum-rebuilt (every list rebuilt, the final reconnection not run),
# finds every row; it used to miss 12.
$deleter = $primary->safe_psql('postgres', q{
	CREATE TABLE cut (id int PRIMARY KEY, v vector(2)) WITH (autovacuum_enabled = off);
	INSERT INTO cut SELECT i, format('[%s,%s]', hashint4(i)::float8 / 4294967296 + 0.5,
									 hashint4(-i)::float8 / 4294967296 + 0.5)::vector
		FROM generate_series(1, 20000) i;
	CREATE INDEX cut_idx ON cut USING n2 (v vector_l2_ops)
		WITH (m = 2, max_m0 = 4, ef_construction = 8, n_threads = 1);
	BEGIN;
	DELETE FROM cut WHERE id % 2 = 0;
	SELECT txid_current();
	COMMIT;});
slot_past($deleter);
my $unreached = "$scan_setup SET n2.scan_fallback = off;
	SELECT count(*) FROM cut a WHERE NOT EXISTS (SELECT 1 FROM
		(SELECT b.id FROM cut b WHERE b.id + 0 = a.id ORDER BY b.v <-> a.v LIMIT 1) s)";
my ($pause, $vacuum, $waiting) = start_paused($primary, 'vacuum-rebuilt', 'VACUUM cut');
ok($waiting, 'the primary\'s VACUUM waits at vacuum-rebuilt');
$primary->wait_for_catchup($standby, 'replay',
	$primary->safe_psql('postgres', 'SELECT pg_switch_wal()'));
is($standby->safe_psql('postgres', $unreached), '0',
	'standby, replayed to the middle of the repair: a walk from each row\'s vector reaches it');
$pause->query_safe('SELECT pg_advisory_unlock(28210)');
$vacuum->query_safe('SELECT 1');
$vacuum->quit;
$pause->quit;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $unreached), '0', 'standby after the repair: the same');
is($primary->safe_psql('postgres', "SELECT count(*) FROM n2_verify('cut_idx')"), '0',
	'n2_verify clean after the repair');

# --- a crash with tombstones on an index whose metapage predates tomb_xid
# (and vacuum_changes, after it)
$primary->safe_psql('postgres', 'CHECKPOINT');
my $file = $primary->data_dir . '/'
  . $primary->safe_psql('postgres', "SELECT pg_relation_filepath('items_idx')");
$primary->stop;
open(my $fh, '+<:raw', $file) or die "open $file: $!";
sysseek($fh, 12, 0);
sysread($fh, my $lower, 2);
is(unpack('v', $lower), 24 + 120, 'the metapage ends after vacuum_changes');
sysseek($fh, 12, 0);
syswrite($fh, pack('v', 24 + 96));
close $fh;
$primary->start;

# a snapshot taken after the DELETE (here and on the standby): VACUUM
# removes the rows, not the nodes
$deleter = $primary->safe_psql('postgres', q{
	BEGIN;
	DELETE FROM items WHERE id > 2000 AND id <= 2500;
	SELECT txid_current();
	COMMIT;});
slot_past($deleter);
my $holder = $primary->background_psql('postgres');
$holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM items');
like(vacuum_verbose($primary), qr/batch 1 unlinked 500 graph elements/,
	'an open snapshot keeps the unlinked nodes');
kill9_cluster($primary);
eval { $holder->quit };
$primary->start;
is(deleted_nodes($primary), '500', 'the tombstones survive the crash');
check_index($primary, 'after the crash');
slot_past($primary->safe_psql('postgres', 'SELECT txid_current()'));
like(vacuum_verbose($primary), qr/removed 500 graph elements an earlier VACUUM unlinked/,
	'the metapage still says when they were unlinked: a later VACUUM frees them');
is(deleted_nodes($primary), '0', 'no tombstone left after the crash');
check_index($primary, 'after the crash and VACUUM');
$primary->wait_for_catchup($standby);
check_index($standby, 'standby after the primary\'s crash');

done_testing();
