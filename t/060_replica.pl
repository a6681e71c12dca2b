# Streaming replication: an n2 index is WAL-logged, so a hot standby returns
# the same k-NN answers as the primary after the build, inserts, deletes and
# VACUUM, and n2_verify on the standby is clean, also while replay rewrites
# the index.  An index on an UNLOGGED
# table exists on the standby only as its init fork (queries there fail as
# for any unlogged table); on the primary it is empty and usable after a
# crash restart.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $ds      = dataset('bigann10k-128-euclidean');
my $primary = n2_node('primary', init => { allows_streaming => 1 }, conf => 'autovacuum = off');
my $t0      = time;

load_vectors($primary, 'items', $ds->{base}, limit => 5000);
load_vectors($primary, 'pool',  $ds->{base});
$primary->safe_psql('postgres',
	'CREATE INDEX items_idx ON items USING n2 (embedding vector_l2_ops) WITH (m = 8, ef_construction = 64)');
load_vectors($primary, 'scratch', $ds->{base}, limit => 500, unlogged => 1);
$primary->safe_psql('postgres', 'CREATE INDEX scratch_idx ON scratch USING n2 (embedding vector_l2_ops)');
# auto gives these small indexes 3-byte links: the WAL replayed below is
# theirs
is($primary->safe_psql('postgres', "SELECT link_bytes FROM n2_index_info('items_idx')"),
	'3', 'items_idx has 3-byte links');

# a physical slot keeps the WAL the standby still needs, however far the
# primary (which writes full-page images under wal_consistency_checking)
# runs ahead or crashes in between
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby')");
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby'");
$standby->start;

my $queries = read_fvecs($ds->{query}, 30);
my $setup   = 'SET enable_seqscan = off; SET n2.ef_search = 60;';

# One standby session asks the queries at every stage: its scans keep copies
# of the index pages (n2.scan_cache_size), which replay must invalidate.
my $warm = $standby->background_psql('postgres');
$warm->query_safe($setup);

sub compare
{
	my ($what) = @_;
	$primary->wait_for_catchup($standby);
	my ($p_ids, $p_d) = knn_ids($primary, knn_sql('items', 10), $queries, setup => $setup);
	my ($s_ids, $s_d) = knn_ids($standby, knn_sql('items', 10), $queries, setup => $setup);
	is_deeply($s_ids, $p_ids, "$what: standby k-NN ids equal the primary's");
	is_deeply($s_d, $p_d, "$what: standby k-NN distances equal the primary's");
	my ($w_ids, $w_d) = knn_ids($standby, knn_sql('items', 10), $queries, session => $warm);
	is_deeply($w_ids, $p_ids, "$what: a standby session that scanned before gives the primary's ids");
	is_deeply($w_d, $p_d, "$what: and distances");
	like(explain_knn($standby, knn_sql('items', 10), $queries->[0], setup => $setup),
		qr/Index Scan using items_idx/, "$what: the standby uses the n2 index");
	my $problems = "SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('items_idx')";
	is($primary->safe_psql('postgres', $problems), '', "$what: n2_verify clean on the primary");
	is($standby->safe_psql('postgres', $problems), '', "$what: n2_verify clean on the standby");
	is($standby->safe_psql('postgres', "SELECT elements || ' ' || heap_tids || ' ' || pages FROM n2_index_info('items_idx')"),
		$primary->safe_psql('postgres', "SELECT elements || ' ' || heap_tids || ' ' || pages FROM n2_index_info('items_idx')"),
		"$what: same elements, heap TIDs and pages on both");
	# the standby's answers are good ones, not just the same
	my ($e_ids, $e_d) = knn_ids($primary, knn_sql('items', 50), $queries, setup => 'SET enable_indexscan = off;');
	cmp_ok(recall_at_k($s_ids, $e_ids, $e_d, $s_d, 10), '>=', 0.9, "$what: standby recall\@10 >= 0.9");
}

compare('after build');

$primary->safe_psql('postgres', 'INSERT INTO items SELECT id, embedding FROM pool WHERE id >= 5000 AND id < 8000');
compare('after inserts');

$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 3 = 0');
compare('after deletes (before VACUUM)');

$primary->safe_psql('postgres', 'VACUUM items');
compare('after VACUUM');

# inserts that reuse the space VACUUM freed
$primary->safe_psql('postgres', 'INSERT INTO items SELECT id, embedding FROM pool WHERE id >= 8000');
compare('after inserts into freed space');

# n2_verify on the standby while replay changes the index under it: rows
# rewritten and VACUUMed on the primary, round after round.  A single pass
# there saw half-replayed steps (links to elements not there yet); only
# what passes a moment apart all find may be reported.
my $writer = $primary->background_psql('postgres', on_error_stop => 1);
$writer->query_until(qr/writing/, "\\echo writing\n" . join('', map {
	"INSERT INTO items SELECT id + 100000 * $_, embedding + (SELECT embedding FROM pool WHERE id = $_) FROM pool WHERE id % 4 = $_ % 4;\n"
	  . "DELETE FROM items WHERE id >= 100000 AND id % 3 = $_ % 3;\nVACUUM items;\n"
} (1 .. 6)) . "DELETE FROM items WHERE id >= 100000;\nVACUUM items;\n");
my @seen;
for my $i (1 .. 40)
{
	my $p = $standby->safe_psql('postgres',
		"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), '; '), '') FROM n2_verify('items_idx')");
	push @seen, "pass $i: $p" if $p ne '';
}
$writer->quit;
is(join("\n", @seen), '', 'n2_verify on the standby during replay reports nothing');
compare('after rewrites during n2_verify on the standby');

# --- unlogged table: only the init fork reaches the standby
my ($ret, $out, $err) = $standby->psql('postgres',
	'SET enable_seqscan = off; SELECT id FROM scratch ORDER BY embedding <-> (SELECT embedding FROM items LIMIT 1) LIMIT 1');
isnt($ret, 0, 'standby: querying the unlogged table fails');
like($err, qr/cannot access temporary or unlogged relations during recovery/, 'standby: with the usual error');
is($standby->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'scratch_idx'"),
	'1', 'standby: the unlogged index exists in the catalog');

is($primary->safe_psql('postgres', 'SELECT count(*) FROM (SELECT id FROM scratch ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = 1) LIMIT 5) s'),
	'5', 'primary: the unlogged index answers');
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM scratch'), '0',
	'primary after a crash restart: the unlogged table is empty');
is($primary->safe_psql('postgres', "SELECT count(*) FROM n2_verify('scratch_idx')"), '0',
	'primary after a crash restart: the empty unlogged index is valid (reset from its init fork)');
$primary->safe_psql('postgres', 'INSERT INTO scratch SELECT id, embedding FROM pool WHERE id < 300');
is($primary->safe_psql('postgres', q{SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM scratch
		ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = 17) LIMIT 3) s}),
	$primary->safe_psql('postgres', q{SET enable_indexscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM scratch
		ORDER BY embedding <-> (SELECT embedding FROM pool WHERE id = 17) LIMIT 3) s}),
	'primary: the unlogged index is usable again after inserts (same top-3 as exact)');
is($primary->safe_psql('postgres', "SELECT count(*) FROM n2_verify('scratch_idx')"), '0',
	'primary: n2_verify clean on the refilled unlogged index');

# the logged index came through the crash restart, and the standby follows
compare('after primary crash restart');

# A problem that stays is still reported on the standby: the entry point of
# the standby's copy of an index is made to name a line that does not exist
# (after a restartpoint, so that replay does not restore the page).
$primary->safe_psql('postgres', q{
	CREATE TABLE brk AS SELECT id, embedding FROM pool WHERE id < 200;
	CREATE INDEX brk_idx ON brk USING n2 (embedding vector_l2_ops);
	CHECKPOINT;});
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'CHECKPOINT');
my $brk = $standby->data_dir . '/' . $standby->safe_psql('postgres', "SELECT pg_relation_filepath('brk_idx')");
$warm->quit;
$standby->stop;
{
	# the metapage's entry point: page header (24 bytes), then 40 bytes of
	# the metapage's fields; its offset number is the last 2 of its 6 bytes
	open(my $fh, '+<:raw', $brk) or die "open $brk: $!";
	seek($fh, 24 + 40 + 4, 0) or die "seek $brk: $!";
	print $fh pack('S', 32767) or die "write $brk: $!";
	close $fh or die "close $brk: $!";
}
$standby->start;
like($standby->safe_psql('postgres', "SELECT string_agg(problem, '; ') FROM n2_verify('brk_idx')"),
	qr/entry point \(\d+,32767\) is not an element/, 'standby: a problem that stays is reported');
is($primary->safe_psql('postgres', "SELECT count(*) FROM n2_verify('brk_idx')"), '0',
	'primary: its own copy is sound');

note sprintf('total %ds', time - $t0);
$standby->stop;
$primary->stop;
done_testing();
