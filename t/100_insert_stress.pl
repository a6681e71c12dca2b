# Insert stress: hunts for inserts that leave a live row unreachable in the
# graph.  Many short rounds, each on a fresh table of random 8-d vectors with
# the smallest lists (m = 2..4, max_m0 = m..4, ef_construction = 1..3), where
# nearly every insert re-selects some neighbour's list and the beam finds
# poor neighbours:
#   single   one session inserts into an index built small;
#   conc     four sessions insert at once into an index built small;
#   cic      CREATE INDEX CONCURRENTLY while three sessions insert (odd
#            rounds here and in vacuum: a filter column and sq8 codes);
#   vacuum   three sessions insert while a fourth DELETEs and VACUUMs and a
#            fifth holds a snapshot that keeps tombstones for a while;
#   cic128   t/070's CREATE INDEX CONCURRENTLY (m = 12, bigann 4,000 rows,
#            2,000 single-row inserts from another session meanwhile).
# After every round n2_verify must return nothing, and an index scan at each
# live row's own vector must return that row at distance 0 with the graph
# walk alone (n2.scan_fallback = off: no sequential finish to hide an orphan);
# with the filter column, also the scan with the row's own key (k, one of 20
# values) as index condition, which reads the key directory's list or walks.
# A failing round reports its seed and parameters; single rounds replay
# exactly (one session, seeded random()).  Under wal_consistency_checking
# (the tapwal suite) a third of the rounds run; N2_STRESS_SCALE=k runs k
# times as many.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $ds   = dataset('bigann10k-128-euclidean');
my $node = n2_node('stress', conf => "autovacuum = off\nmax_connections = 30");
my $t0   = time;

my $walcheck = $node->safe_psql('postgres', 'SHOW wal_consistency_checking') ne '';
my $scale = ($walcheck ? 1 / 3 : 1) * ($ENV{N2_STRESS_SCALE} // 1);
sub rounds { my $n = int($_[0] * $scale + 0.5); return $n < 1 ? 1 : $n; }

$node->safe_psql('postgres', q{
	CREATE FUNCTION rv(d int) RETURNS vector LANGUAGE sql VOLATILE AS
		$$SELECT array_agg(random()::real)::vector FROM generate_series(1, d)$$;});

# Rows an index scan at their own vector does not return at distance 0.  The
# filter (id + 0: no other index serves it) rejects every other row, so the
# relaxed_order walk widens until it finds the row or has visited everything
# reachable from the entry point (which seeds level 0): an exhaustive search
# whatever n2.ef_search is, which therefore stays small, for speed.
# strict_order would skip a row found after a farther one was returned.
my $self_setup = 'SET enable_seqscan = off; SET enable_bitmapscan = off; '
  . 'SET n2.ef_search = 40; SET n2.iterative_scan = relaxed_order; '
  . 'SET n2.scan_fallback = off; SET n2.max_scan_tuples = 100000000; SET work_mem = \'64MB\';';
sub self_sql
{
	my ($t, $col, $key) = @_;
	my $cond = $key ? " AND b.$key = a.$key" : '';
	return "SELECT count(*) FROM $t a LEFT JOIN LATERAL
		(SELECT b.id, l2_distance(b.$col, a.$col) AS d FROM $t b WHERE b.id + 0 = a.id$cond
		 ORDER BY b.$col <-> a.$col LIMIT 1) s ON true
	WHERE s.id IS NULL OR s.d <> 0";
}

$node->safe_psql('postgres', q{
	CREATE TABLE probe (id bigserial PRIMARY KEY, v vector(8));
	INSERT INTO probe (v) SELECT rv(8) FROM generate_series(1, 50);
	CREATE INDEX probe_idx ON probe USING n2 (v) WITH (m = 2, max_m0 = 2);
	ANALYZE probe;});
like($node->safe_psql('postgres', "$self_setup EXPLAIN (COSTS OFF) " . self_sql('probe', 'v')),
	qr/Index Scan using probe_idx on probe b\s+Order By: \(v <-> a\.v\)/,
	'the self-search is an n2 index scan ordered by the row\'s own vector');

my %stats;    # kind => [rounds, failed]

# Checks the index after a round; one test, with what failed in its name
# and the details in diag.
sub check_round
{
	my ($kind, $desc, $t, $index, $col) = @_;
	$col //= 'v';
	$stats{$kind}[0]++;
	my $problems = $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(problem || ': ' || n, E'\\n'), '') FROM
		   (SELECT problem, count(*) AS n FROM n2_verify('$index') GROUP BY 1 ORDER BY 1) p");
	my $rows    = $node->safe_psql('postgres', "SELECT count(*) FROM $t");
	# every other round, the walk starts from an upper-level beam of 4
	my $beam = 'SET n2.upper_ef_search = ' . ($stats{$kind}[0] % 2 ? 4 : 1) . '; ';
	my $missing = $node->safe_psql('postgres', "$self_setup $beam" . self_sql($t, $col));

	# with a filter column, also with the row's own key as an index condition:
	# a key 5 % of the rows hold sends the scan to the key directory's list
	my $keyed = $node->safe_psql('postgres',
		"SELECT indnkeyatts > 1 FROM pg_index WHERE indexrelid = '$index'::regclass") eq 't';
	$missing += $node->safe_psql('postgres', "$self_setup $beam" . self_sql($t, $col, 'k'))
	  if $keyed;
	my $good    = $problems eq '' && $missing eq '0';
	$stats{$kind}[1]++ if !$good;
	ok($good, "$kind $desc: n2_verify clean, all $rows rows found by an index scan at their own vector")
	  or diag("$kind $desc: $rows rows, $missing not found by a self-search with scan_fallback off\n"
		  . "n2_verify:\n$problems");
	return $good;
}

# Starts a psql session running $sql; returns the harness and its stderr file.
my $nscripts = 0;
sub client
{
	my ($sql) = @_;
	return [ start_script($node, 'script' . $nscripts++, $sql) ];
}

# Starts psql sessions running @scripts at the same moment: each first
# waits for an advisory lock that a gate session holds until all of them
# wait for it (at most 30 s).  Returns them, the gate last.
sub clients_together
{
	my @scripts = @_;
	my $n       = @scripts;
	my $gate    = client(qq{
		SELECT pg_advisory_lock(4242);
		DO \$\$ BEGIN
			FOR i IN 1 .. 3000 LOOP
				EXIT WHEN (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
						   AND objid = 4242 AND NOT granted) >= $n;
				PERFORM pg_sleep(0.01);
			END LOOP;
		END \$\$;});
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted")
	  or die 'the gate session did not take its lock';
	my @c = map { client("SELECT pg_advisory_lock_shared(4242);\nSELECT pg_advisory_unlock_shared(4242);\n$_") } @scripts;
	return (@c, $gate);
}

sub finish_clients
{
	my ($what, @clients) = @_;
	my $i = 0;
	for my $c (@clients)
	{
		$i++;
		ok($c->[0]->finish, "$what: client $i succeeded") or diag slurp_file($c->[1]);
	}
}

# Parameter sets cycled through by the rounds: mostly the smallest lists,
# where a lost link is most often the only one into its target.
my @params = (
	[ 2, 2, 1 ], [ 2, 2, 2 ], [ 2, 3, 1 ], [ 2, 2, 3 ], [ 2, 3, 2 ], [ 3, 3, 1 ],
	[ 2, 4, 2 ], [ 3, 4, 2 ], [ 4, 4, 1 ], [ 2, 2, 2 ], [ 3, 3, 3 ], [ 4, 4, 2 ]);
sub params_of
{
	my ($r) = @_;
	my ($m, $m0, $efc) = @{ $params[ $r % @params ] };
	return ($m, $m0, $efc, "m = $m, max_m0 = $m0, ef_construction = $efc");
}
sub seed_of { return sprintf('%.4f', (($_[0] * 7919 + $_[1] * 104729) % 9973) / 9973); }

# k: a filter key for the rounds whose index also holds one
sub fresh_table
{
	my ($seed, $rows) = @_;
	$node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS s;
		CREATE TABLE s (id bigserial PRIMARY KEY, v vector(8),
			k int DEFAULT floor(random() * 20));
		SELECT setseed($seed);
		INSERT INTO s (v) SELECT rv(8) FROM generate_series(1, $rows);});
}

# Odd rounds of cic and vacuum index a filter column beside the vector and
# store sq8 codes, so that keys, compact codes and their lossy scans go
# through the same overlapping inserts, CIC and VACUUM.
sub variant
{
	my ($r) = @_;
	return $r % 2 ? ('v, k', ', storage = sq8') : ('v', '');
}

# Single-row INSERT statements for a client, after its own setseed.
sub insert_script
{
	my ($seed, $n, $per) = @_;
	return "SELECT setseed($seed);\n" . ("INSERT INTO s (v) SELECT rv(8) FROM generate_series(1, $per);\n" x $n);
}

# --- single: one session, an index built on 100 rows, 2,000 inserted
for my $r (1 .. rounds(24))
{
	my ($m, $m0, $efc, $p) = params_of($r);
	my $seed = seed_of(1, $r);
	$node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS s;
		SELECT setseed($seed);
		CREATE TABLE s (id bigserial PRIMARY KEY, v vector(8));
		INSERT INTO s (v) SELECT rv(8) FROM generate_series(1, 100);
		CREATE INDEX s_idx ON s USING n2 (v) WITH (m = $m, max_m0 = $m0, ef_construction = $efc, n_threads = 1);
		INSERT INTO s (v) SELECT rv(8) FROM generate_series(1, 2000);});
	check_round('single', "round $r (setseed $seed, 100 + 2000 rows, $p)", 's', 's_idx');
}
note sprintf('single rounds done at %ds', time - $t0);

# --- conc: four sessions insert 500 rows each (batches of 5) at once
for my $r (1 .. rounds(10))
{
	my ($m, $m0, $efc, $p) = params_of($r + 5);
	my $seed = seed_of(2, $r);
	fresh_table($seed, 100);
	$node->safe_psql('postgres',
		"CREATE INDEX s_idx ON s USING n2 (v) WITH (m = $m, max_m0 = $m0, ef_construction = $efc, n_threads = 1)");
	my @c = clients_together(map { insert_script(seed_of(20 + $_, $r), 100, 5) } 1 .. 4);
	finish_clients("conc round $r", @c);
	check_round('conc', "round $r (seed $seed, 100 + 4 x 500 rows, $p)", 's', 's_idx');
}
note sprintf('concurrent rounds done at %ds', time - $t0);

# --- cic: CREATE INDEX CONCURRENTLY on 1,500 rows while three sessions
# insert 400 rows each, one per statement
for my $r (1 .. rounds(6))
{
	my ($m, $m0, $efc, $p) = params_of($r + 2);
	my $seed = seed_of(3, $r);
	fresh_table($seed, 1500);
	my ($cols, $opts) = variant($r);
	my @c = clients_together(map { insert_script(seed_of(30 + $_, $r), 400, 1) } 1 .. 3);
	$node->safe_psql('postgres',
		"CREATE INDEX CONCURRENTLY s_idx ON s USING n2 ($cols) WITH (m = $m, max_m0 = $m0, ef_construction = $efc$opts, n_threads = "
		  . (1 + $r % 2) . ')');
	$p .= $opts;
	my $after = 2700 - $node->safe_psql('postgres', 'SELECT count(*) FROM s');
	finish_clients("cic round $r", @c);
	note "cic round $r: $after of 1200 rows inserted after CREATE INDEX CONCURRENTLY returned";
	is($node->safe_psql('postgres',
			"SELECT indisvalid AND heap_tids = (SELECT count(*) FROM s) FROM pg_index, n2_index_info('s_idx') WHERE indexrelid = 's_idx'::regclass"),
		't', "cic round $r: index valid, one heap TID per row");
	check_round('cic', "round $r (seed $seed, 1500 + 3 x 400 rows, $p)", 's', 's_idx');
}
note sprintf('CREATE INDEX CONCURRENTLY rounds done at %ds', time - $t0);

# --- vacuum: three sessions insert 500 rows each while a fourth deletes a
# random 100 rows and VACUUMs, six times.  A fifth takes a snapshot after
# the first DELETE and searches (by its key, when the index has one) until
# the fourth VACUUM is done, so that the VACUUMs beside it must keep the
# nodes they unlink as tombstones and leave them (the second DELETE's rows
# the snapshot still sees): inserts go on beside them, and the first VACUUM
# after removes them.  The first VACUUM may unlink nothing, when an insert
# that began before the DELETE still runs; the last of the four beside the
# snapshot holds all that any of them unlinked.  The snapshot is taken only
# once every transaction whose ID precedes the first DELETE's has ended:
# otherwise its xmin would precede the DELETE, whose rows would then stay
# recently dead to every VACUUM beside it, and nothing would be unlinked.
$node->safe_psql('postgres', 'CREATE TABLE tomb_log (n serial, r int, phase text, deleted bigint)');
my $await = sub {
	my ($lock, $held) = @_;
	my $cond = ($held ? '' : 'NOT ') . "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $lock AND granted)";
	return "DO \$\$ BEGIN FOR i IN 1 .. 6000 LOOP EXIT WHEN $cond; PERFORM pg_sleep(0.01); END LOOP; END \$\$;\n";
};
for my $r (1 .. rounds(6))
{
	my ($m, $m0, $efc, $p) = params_of($r + 7);
	my $seed = seed_of(4, $r);
	fresh_table($seed, 1000);
	my ($cols, $opts) = variant($r);
	$node->safe_psql('postgres',
		"CREATE INDEX s_idx ON s USING n2 ($cols) WITH (m = $m, max_m0 = $m0, ef_construction = $efc$opts, n_threads = 1)");
	$p .= $opts;
	my $delete = "DELETE FROM s WHERE id IN (SELECT id FROM s ORDER BY random() LIMIT 100);\n";
	my $first_delete = "BEGIN;\n$delete"
	  . "SELECT set_config('n2t.delete_xid', pg_current_xact_id()::text, false);\nCOMMIT;\n"
	  . "DO \$\$ BEGIN FOR i IN 1 .. 6000 LOOP\n"
	  . "  EXIT WHEN pg_snapshot_xmin(pg_current_snapshot()) > current_setting('n2t.delete_xid')::xid8;\n"
	  . "  PERFORM pg_sleep(0.01);\nEND LOOP; END \$\$;\n";
	my $vacuum = "VACUUM s;\nINSERT INTO tomb_log (r, phase, deleted) SELECT $r, '%s', deleted FROM n2_index_info('s_idx');\n";
	my $keycond = $cols eq 'v' ? '' : 'WHERE k = i % 20';
	my @c = clients_together((map { insert_script(seed_of(40 + $_, $r), 100, 5) } 1 .. 3),
		"SET client_min_messages = warning;\nSELECT setseed($seed);\n"
		  . $first_delete
		  . "SELECT pg_advisory_lock(4345);\n"
		  . $await->(4343, 1)
		  . sprintf($vacuum, 'held')
		  . $delete
		  . (sprintf($vacuum, 'held') x 3)
		  . "SELECT pg_advisory_lock(4344);\n"
		  . $await->(4343, 0)
		  . (($delete . sprintf($vacuum, 'free')) x 4)
		  . "SELECT pg_advisory_unlock_all();\n",
		"SET enable_seqscan = off;\nSET enable_bitmapscan = off;\n"
		  . $await->(4345, 1)
		  . "BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT count(*) FROM s;\n"
		  . "SELECT pg_advisory_xact_lock(4343);\n"
		  . "DO \$\$ DECLARE q vector; BEGIN FOR i IN 1 .. 6000 LOOP\n"
		  . "  EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4344 AND granted);\n"
		  . "  q := rv(8); PERFORM id FROM s $keycond ORDER BY v <-> q LIMIT 5; PERFORM pg_sleep(0.01);\n"
		  . "END LOOP; END \$\$;\nCOMMIT;\n");
	finish_clients("vacuum round $r", @c);
	my ($held, $free) = split /\|/, $node->safe_psql('postgres',
		"SELECT (SELECT deleted FROM tomb_log WHERE r = $r AND phase = 'held' ORDER BY n DESC LIMIT 1), "
		  . "count(*) FILTER (WHERE phase = 'free') FROM tomb_log WHERE r = $r");
	ok($held > 0 && $free == 4,
		"vacuum round $r: the VACUUMs beside the old snapshot kept tombstones ($held)");
	$node->safe_psql('postgres', 'VACUUM s');
	is($node->safe_psql('postgres', "SELECT deleted FROM n2_index_info('s_idx')"),
		'0', "vacuum round $r: a VACUUM with no old snapshot left removed every tombstone");
	check_round('vacuum', "round $r (seed $seed, 1000 + 3 x 500 rows - 600 deleted, $p)", 's', 's_idx');
}
note sprintf('DELETE + VACUUM rounds done at %ds', time - $t0);

# --- cic128: t/070's scenario at m = 12 (it has left two elements
# unreachable now and then)
load_vectors($node, 'pool', $ds->{base});
for my $r (1 .. rounds(3))
{
	$node->safe_psql('postgres', 'DROP TABLE IF EXISTS items');
	load_vectors($node, 'items', $ds->{base}, limit => 4000);
	my $sql = join '', map { "INSERT INTO items SELECT id, embedding FROM pool WHERE id = $_;\n" } 4000 .. 5999;
	my $c = client($sql);
	$node->safe_psql('postgres',
		'CREATE INDEX CONCURRENTLY items_idx ON items USING n2 (embedding vector_l2_ops) WITH (m = 12, ef_construction = 80)');
	my $after = 6000 - $node->safe_psql('postgres', 'SELECT count(*) FROM items');
	finish_clients("cic128 round $r", $c);
	note "cic128 round $r: $after of 2000 rows inserted after CREATE INDEX CONCURRENTLY returned";
	is($node->safe_psql('postgres',
			"SELECT indisvalid AND heap_tids = 6000 FROM pg_index, n2_index_info('items_idx') WHERE indexrelid = 'items_idx'::regclass"),
		't', "cic128 round $r: index valid, 6,000 heap TIDs");
	check_round('cic128', "round $r (bigann 4000 + 2000 rows, m = 12, ef_construction = 80)", 'items', 'items_idx',
		'embedding');
}

my @summary;
for my $kind (qw(single conc cic vacuum cic128))
{
	my ($n, $bad) = @{ $stats{$kind} // [ 0, 0 ] };
	push @summary, "$kind $n" . ($bad ? " ($bad failed)" : '');
}
note sprintf('rounds run%s: %s; total %ds', $walcheck ? ' (wal_consistency_checking: a third)' : '',
	join(', ', @summary), time - $t0);
$node->stop;
done_testing();
