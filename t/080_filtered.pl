# Filtered k-NN queries return their LIMIT, on fashion-mnist (60,000 x 784, L2)
# with its class label (10 classes, ~10% each) and a synthetic bucket = id % 100 (1%)
# as columns, an n2 index WITH (m = 16, ef_construction = 64), default GUCs:
#
#   for a sample of 60 queries, WHERE label = <query's class> and WHERE bucket = i % 100
#   run as n2 index scans (checked by EXPLAIN under the default planner settings),
#   every query returns exactly k = 10 rows, recall@10 against the exact filtered answer
#   (enable_indexscan = off) is >= 0.95 at 10% and >= 0.90 at 1%, and the rows come in
#   ascending distance (strict_order, the default);
#   relaxed_order also returns 10 rows; iterative_scan = off starves most 1% queries;
#   a tiny n2.max_scan_tuples, or work_mem too small for the scan, ends the graph walk
#   and says so at DEBUG1; the sequential finish (n2.scan_fallback, default) then returns
#   10 rows in ascending distance, while n2.scan_fallback = off stops the query short;
#   a filter matching 5 rows returns those 5 and ends: with the planner's plan, with the
#   index forced under any bound, and for a 5-row filter the planner cannot estimate
#   (which CREATE STATISTICS on the expression turns into the exact plan);
#   the planner prefers the btree for WHERE id = 5 and a non-n2 plan for ~50 rows.
# Timings are in bench/filtered.sh, not here.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use N2Test;

my $K    = 10;
my $NQ   = 60;
my $NFULL = 10;    # queries for the scans that may visit the whole graph
my $ds   = dataset('fashion-mnist-784-euclidean');
my $labels  = read_u8($ds->{base_labels});
my $qlabels = read_u8($ds->{query_labels});
is(scalar @$labels, 60_000, '60,000 base labels');

# Queries spread over the 2,000 of query.fvecs.
my (@queries, @qlab);
for my $j (0 .. $NQ - 1)
{
	my $qi = $j * int(2000 / $NQ);
	push @queries, read_fvecs($ds->{query}, 1, $qi)->[0];
	push @qlab,    $qlabels->[$qi];
}
is(scalar @queries, $NQ, "$NQ queries");

# The 5 rows of the 5-match filter: rare = 1 where id % 12000 = 7.
my @five = map { 7 + 12_000 * $_ } 0 .. 4;

my $node = n2_node('filtered');

# --- load: COPY file "id<TAB>label<TAB>bucket<TAB>rare<TAB>[...]"
my $t0 = time;
{
	my $raw = $node->basedir . '/raw.tsv';
	my $tsv = $node->basedir . '/items.tsv';
	my ($rows, $dim) = write_copy_file($ds->{base}, $raw);
	is($rows, 60_000, 'wrote 60,000 rows');
	open(my $in,  '<', $raw) or die "$raw: $!";
	open(my $out, '>', $tsv) or die "$tsv: $!";
	while (my $line = <$in>)
	{
		my $tab = index($line, "\t");
		my $id  = substr($line, 0, $tab);
		print $out $id, "\t", $labels->[$id], "\t", $id % 100, "\t",
		  ($id % 12_000 == 7 ? 1 : 0), substr($line, $tab);
	}
	close $in;
	close $out or die "$tsv: $!";
	unlink $raw;
	$node->safe_psql('postgres', qq{
		CREATE TABLE items (id int PRIMARY KEY, label int NOT NULL, bucket int NOT NULL,
							rare int NOT NULL, embedding vector($dim));
		COPY items FROM '$tsv';
	});
	unlink $tsv;
}
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT label), sum(rare) FROM items'),
	'60000|10|5', 'items: 60,000 rows, 10 labels, 5 rare');
note sprintf('load: %.1fs', time - $t0);
$t0 = time;
$node->safe_psql('postgres', q{
	CREATE INDEX items_n2 ON items USING n2 (embedding)
		WITH (m = 16, ef_construction = 64, n_threads = 2);
	VACUUM ANALYZE items;
});
note sprintf('build: %.1fs', time - $t0);

# Default GUCs are in force: this file changes none of them unless said.
is($node->safe_psql('postgres',
		"LOAD 'n2'; SELECT current_setting('n2.ef_search') || ' ' || current_setting('n2.iterative_scan')"
		  . " || ' ' || current_setting('n2.max_scan_tuples') || ' ' || current_setting('n2.scan_mem_multiplier')"),
	'40 strict_order 20000 1', 'defaults: ef_search 40, strict_order, max_scan_tuples 20000, scan_mem_multiplier 1');

# The filter of query $j at a selectivity.
sub where_of
{
	my ($sel, $j) = @_;
	return $sel eq '10%' ? "label = $qlab[$j]" : 'bucket = ' . ($j % 100);
}

sub lit { return "'" . vec_literal($_[0]) . "'::vector"; }

# One filtered k-NN query per sample query (with its own WHERE, or $o{where} for all),
# all in one psql session after $setup; the first $o{n} queries only if given (scans
# that visit the whole graph take ~1 s each). Returns (\@ids, \@dists, $stderr).
sub run_filtered
{
	my ($sel, $k, $setup, %o) = @_;
	my $script = ($setup // '') . "\n";
	my $nq = $o{n} // scalar @queries;
	for my $j (0 .. $nq - 1)
	{
		my $q = lit($queries[$j]);
		my $w = $o{where} // where_of($sel, $j);
		$script .= "SELECT coalesce(string_agg(s::text, ' '), '') FROM "
		  . "(SELECT id, embedding <-> $q FROM items WHERE $w ORDER BY embedding <-> $q LIMIT $k) s;\n";
	}
	my ($stdout, $stderr);
	my $ret = $node->psql('postgres', $script, stdout => \$stdout, stderr => \$stderr, on_error_stop => 1);
	die "psql failed ($ret): $stderr" if $ret != 0;
	my @lines = split /\n/, $stdout, -1;
	pop @lines while @lines > $nq && $lines[-1] eq '';
	die "expected $nq lines, got " . scalar(@lines) if @lines != $nq;
	my (@ids, @dists);
	for my $line (@lines)
	{
		my (@i, @d);
		while ($line =~ /\(([^,()]+),([^,()]*)\)/g) { push @i, $1 + 0; push @d, $2 + 0; }
		push @ids,   \@i;
		push @dists, \@d;
	}
	return (\@ids, \@dists, $stderr);
}

# Plans of every sample query under $setup: how many use items_n2.
sub n2_plans
{
	my ($sel, $setup) = @_;
	my $script = ($setup // '') . "\n";
	for my $j (0 .. $#queries)
	{
		my $q = lit($queries[$j]);
		my $w = where_of($sel, $j);
		$script .= "EXPLAIN (COSTS OFF) SELECT id FROM items WHERE $w ORDER BY embedding <-> $q LIMIT $K;\n";
	}
	my $out = $node->safe_psql('postgres', $script);
	my $n = () = $out =~ /Index Scan using items_n2 on items/g;
	return $n;
}

sub ascending
{
	my ($d) = @_;
	for my $i (1 .. $#$d) { return 0 if $d->[$i] < $d->[ $i - 1 ]; }
	return 1;
}

my $EXACT = 'SET enable_indexscan = off; SET enable_bitmapscan = off;';
my %recall;
my %exact;
for my $sel ('10%', '1%')
{
	# exact filtered answers (top 20 so that ties at the 10th count)
	my ($gi, $gd) = run_filtered($sel, 20, $EXACT);
	is(scalar(grep { @$_ == 20 } @$gi), $NQ, "$sel: exact plan returns 20 rows for every query");
	$exact{$sel} = [ $gi, $gd ];

	# the default plan is the n2 index scan, with the filter above it
	is(n2_plans($sel), $NQ, "$sel: default planner uses items_n2 for all $NQ queries");
	like(explain_knn($node, knn_sql('items', $K, where => where_of($sel, 0)), $queries[0]),
		qr/Index Scan using items_n2 on items.*Filter: \(\w+ = \d+\)/s,
		"$sel: filter is applied above the n2 scan");
	is(n2_plans($sel, $EXACT), 0, "$sel: exact plan does not use items_n2");

	my ($ids, $dists) = run_filtered($sel, $K, '');
	my @short = grep { @{ $ids->[$_] } != $K } 0 .. $#$ids;
	is(scalar @short, 0, "$sel: every query returns exactly $K rows")
	  or diag "short: " . join(', ', map { "q$_: " . scalar @{ $ids->[$_] } } @short);

	my $bad = 0;
	for my $j (0 .. $#$ids)
	{
		my $w = where_of($sel, $j);
		my ($col, $val) = $w =~ /^(\w+) = (\d+)$/;
		$bad++ if $col eq 'bucket' && grep { $_ % 100 != $val } @{ $ids->[$j] };
		$bad++ if $col eq 'label'  && grep { $labels->[$_] != $val } @{ $ids->[$j] };
	}
	is($bad, 0, "$sel: every returned row satisfies its filter");

	my $r = recall_at_k($ids, $gi, $gd, $dists, $K);
	$recall{$sel} = $r;
	cmp_ok($r, '>=', $sel eq '10%' ? 0.95 : 0.90, "$sel: recall\@10 vs exact filtered = $r");
	is(scalar(grep { ascending($_) } @$dists), $NQ, "$sel: strict_order rows are in ascending distance");

	# relaxed_order widens too
	my ($rids, $rdists) = run_filtered($sel, $K, 'SET n2.iterative_scan = relaxed_order;');
	is(scalar(grep { @$_ == $K } @$rids), $NQ, "$sel: relaxed_order returns $K rows for every query");
	my $rr = recall_at_k($rids, $gi, $gd, $rdists, $K);
	cmp_ok($rr, '>=', 0.90, "$sel: relaxed_order recall\@10 = $rr");
}

# iterative_scan = off: one search of width ef_search (40) -> ~0.4 rows pass a 1% filter
{
	my ($ids) = run_filtered('1%', $K, 'SET n2.iterative_scan = off;');
	my $short = grep { @$_ < $K } @$ids;
	cmp_ok($short, '>', $NQ / 2, "iterative_scan = off: $short of $NQ 1% queries return fewer than $K rows");
	my ($ids10) = run_filtered('10%', $K, 'SET n2.iterative_scan = off;');
	my $over = grep { @$_ > $K } @$ids10;
	is($over, 0, 'iterative_scan = off: never more than LIMIT');
}

# --- bounds end the graph walk and say so at DEBUG1; the sequential finish (the default
# n2.scan_fallback) still returns the exact rest, n2.scan_fallback = off ends the scan short
{
	my $OFF = 'SET n2.scan_fallback = off;';
	my $setup = 'SET client_min_messages = debug1; SET n2.max_scan_tuples = 100;';
	my ($ids, undef, $err) = run_filtered('1%', $K, "$OFF $setup");
	my $short = grep { @$_ < $K } @$ids;
	cmp_ok($short, '>', $NQ / 2, "fallback off, max_scan_tuples = 100: $short of $NQ 1% queries return fewer than $K rows");
	my $msgs = () = $err =~ /DEBUG:  n2 index scan stopped after visiting \d+ tuples/g;
	cmp_ok($msgs, '>=', $short, "fallback off, max_scan_tuples = 100: DEBUG1 stop message for every short query ($msgs)");
	like($err, qr/HINT:  Raise n2\.max_scan_tuples/, 'the message hints at n2.max_scan_tuples');
	# the bound is checked when the search widens: the first round (ef_search wide) always completes
	my ($n) = $err =~ /stopped after visiting (\d+) tuples/;
	cmp_ok($n, '>=', 100, "visited count reported ($n) reached the bound");

	# the same without debug1: no message reaches the client
	my (undef, undef, $quiet) = run_filtered('1%', $K, "$OFF SET n2.max_scan_tuples = 100;");
	unlike($quiet, qr/n2 index scan stopped/, 'no stop message at the default client_min_messages');

	# default fallback: the walk stops at 100 tuples and a sequential pass finishes exactly
	my ($sids, $sd, $serr) = run_filtered('1%', $K, $setup);
	is(scalar(grep { @$_ == $K } @$sids), $NQ, "max_scan_tuples = 100, sequential finish: every 1% query returns $K rows");
	is(scalar(grep { ascending($_) } @$sd), $NQ, 'sequential finish: rows in ascending distance');
	my $sr = recall_at_k($sids, $exact{'1%'}[0], $exact{'1%'}[1], $sd, $K);
	cmp_ok($sr, '>=', 0.90, "sequential finish: recall\@10 = $sr");
	my $smsgs = () = $serr =~ /DEBUG:  n2 index scan reached its n2\.max_scan_tuples after visiting \d+ tuples; finishing with a sequential pass over the index/g;
	cmp_ok($smsgs, '>', $NQ / 2, "sequential finish: DEBUG1 message when the walk hands over ($smsgs of $NQ)");

	# memory bound: work_mem 64kB x 1, a forced scan for the 5 rows of rare = 1
	my $mem = 'SET enable_seqscan = off; SET client_min_messages = debug1; SET work_mem = \'64kB\';'
	  . ' SET n2.max_scan_tuples = 1000000;';
	my ($mids, undef, $merr) = run_filtered('1%', $K, "$OFF $mem", where => 'rare = 1', n => $NFULL);
	cmp_ok(scalar(grep { @$_ < 5 } @$mids), '>', 0, 'fallback off, work_mem = 64kB: the forced scan comes back short');
	like($merr, qr/DEBUG:  n2 index scan stopped at its memory limit after visiting \d+ tuples/,
		'fallback off, work_mem = 64kB: memory-limit stop message');
	like($merr, qr/HINT:  Raise work_mem or n2\.scan_mem_multiplier/, 'the message hints at work_mem');
	my ($bigger) = run_filtered('1%', $K, "$OFF $mem SET n2.scan_mem_multiplier = 1000;",
		where => 'rare = 1', n => $NFULL);
	is(scalar(grep { @$_ == 5 } @$bigger), $NFULL, 'scan_mem_multiplier = 1000 lifts the memory bound: all 5 rare rows');

	# default fallback under the same memory bound: the finish runs in passes of 64 kB
	# (4,096 candidates for 60,000 elements) and still returns all 5 in order
	my $five = join(',', sort { $a <=> $b } @five);
	my ($fids, $fd, $ferr) = run_filtered('1%', $K, $mem, where => 'rare = 1', n => $NFULL);
	is(scalar(grep { join(',', sort { $a <=> $b } @$_) eq $five } @$fids), $NFULL,
		'work_mem = 64kB, sequential finish: every query returns exactly the 5 rare rows');
	is(scalar(grep { ascending($_) } @$fd), $NFULL, 'work_mem = 64kB, sequential finish: ascending distance');
	like($ferr, qr/n2 index scan reached its memory limit after visiting \d+ tuples; finishing with a sequential pass/,
		'work_mem = 64kB: DEBUG1 says the memory limit handed over to the sequential pass');
}

# --- a filter matching 5 rows
{
	my $five = join(',', sort { $a <=> $b } @five);
	my $sorted = sub { join(',', sort { $a <=> $b } @{ $_[0] }) };

	# the planner knows rare = 1 is 5 rows: not the n2 index
	my $plan = explain_knn($node, knn_sql('items', $K, where => 'rare = 1'), $queries[0]);
	unlike($plan, qr/items_n2/, 'rare = 1 (5 rows): planner does not use items_n2') or diag $plan;
	my ($ids, $dists) = run_filtered('1%', $K, '', where => 'rare = 1');
	is(scalar(grep { $sorted->($_) eq $five } @$ids), $NQ, 'rare = 1: every query returns exactly those 5 rows');

	# the n2 index forced (no btree on rare), bound above the table size: 5 rows, the scan
	# runs out of graph and ends without a stop message
	my $forced = 'SET enable_seqscan = off; SET client_min_messages = debug1;';
	like(explain_knn($node, knn_sql('items', $K, where => 'rare = 1'), $queries[0], setup => $forced),
		qr/Index Scan using items_n2/, 'enable_seqscan = off: rare = 1 uses items_n2');
	my ($fids, $fd, $ferr) = run_filtered('1%', $K, "$forced SET n2.max_scan_tuples = 1000000;",
		where => 'rare = 1', n => $NFULL);
	is(scalar(grep { $sorted->($_) eq $five } @$fids), $NFULL,
		'forced n2 scan, max_scan_tuples = 1000000: every query returns those 5 rows and ends');
	is(scalar(grep { ascending($_) } @$fd), $NFULL, 'forced n2 scan: the 5 rows in ascending distance');
	unlike($ferr, qr/n2 index scan stopped/, 'forced n2 scan: ended by exhausting the graph, not a bound');

	# default bound (20000 of 60000 tuples): the walk hands over to the sequential finish,
	# which returns every remaining row in order
	my ($dids, $dd, $derr) = run_filtered('1%', $K, $forced, where => 'rare = 1', n => $NFULL);
	is(scalar(grep { $sorted->($_) eq $five } @$dids), $NFULL,
		'forced n2 scan, default bound: every query returns exactly those 5 rows');
	is(scalar(grep { ascending($_) } @$dd), $NFULL, 'forced n2 scan, default bound: ascending distance');
	my $dmsgs = () = $derr =~ /n2 index scan reached its n2\.max_scan_tuples after visiting \d+ tuples/g;
	is($dmsgs, $NFULL, 'forced n2 scan, default bound: each query says at DEBUG1 that it finished sequentially');

	# a 5-row filter the planner cannot estimate (0.5% assumed for an opaque expression)
	# gets the n2 plan, default settings: still those 5 rows
	my $w = 'id % 12000 = 7';
	my $p = explain_knn($node, knn_sql('items', $K, where => $w), $queries[0]);
	like($p, qr/Index Scan using items_n2/, "WHERE $w: the planner picks items_n2") or diag $p;
	my ($oids, $od) = run_filtered('1%', $K, '', where => $w, n => $NFULL);
	is(scalar(grep { $sorted->($_) eq $five } @$oids), $NFULL,
		"WHERE $w (5 rows, default settings): every query returns those 5 rows");
	is(scalar(grep { ascending($_) } @$od), $NFULL, "WHERE $w: ascending distance");

	# statistics on the expression let the planner see it is 5 rows: the exact plan
	$node->safe_psql('postgres', 'CREATE STATISTICS items_mod ON (id % 12000) FROM items; ANALYZE items;');
	$p = explain_knn($node, knn_sql('items', $K, where => $w), $queries[0]);
	unlike($p, qr/items_n2/, "WHERE $w after CREATE STATISTICS on the expression: not items_n2") or diag $p;
	my ($sids) = run_filtered('1%', $K, '', where => $w, n => $NFULL);
	is(scalar(grep { $sorted->($_) eq $five } @$sids), $NFULL, "WHERE $w, exact plan: those 5 rows");
	$node->safe_psql('postgres', 'DROP STATISTICS items_mod; ANALYZE items;');
}

# --- the planner prefers other plans for very selective filters
{
	my $q = $queries[0];
	my $p = explain_knn($node, knn_sql('items', $K, where => 'id = 5'), $q);
	like($p, qr/Index Scan using items_pkey/, 'WHERE id = 5: btree on id') or diag $p;
	unlike($p, qr/items_n2/, 'WHERE id = 5: not n2');
	$p = explain_knn($node, knn_sql('items', $K, where => 'id < 50'), $q);
	unlike($p, qr/items_n2/, 'WHERE id < 50 (50 rows): not n2') or diag $p;
	like($p, qr/Sort/, 'WHERE id < 50: sort of the matching rows');
	$p = explain_knn($node, knn_sql('items', $K, where => 'label = 3 AND bucket = 5'), $q);
	unlike($p, qr/items_n2/, 'label = 3 AND bucket = 5 (~60 rows): not n2') or diag $p;
	my ($ids) = run_filtered('1%', $K, '', where => 'id < 50');
	is(scalar(grep { @$_ == $K && !grep { $_ >= 50 } @$_ } @$ids), $NQ, 'WHERE id < 50: 10 rows below 50');
	# with no btree, the ~50-row filter still goes to a sequential scan + sort
	$node->safe_psql('postgres', 'ALTER TABLE items DROP CONSTRAINT items_pkey; ANALYZE items');
	$p = explain_knn($node, knn_sql('items', $K, where => 'id < 50'), $q);
	unlike($p, qr/items_n2/, 'WHERE id < 50 without a btree: not n2') or diag $p;
	like($p, qr/Seq Scan on items/, 'WHERE id < 50 without a btree: sequential scan + sort');
}

note sprintf('recall@10: 10%% %.4f, 1%% %.4f', $recall{'10%'}, $recall{'1%'});
$node->stop;
done_testing();
