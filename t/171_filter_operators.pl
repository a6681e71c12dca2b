# Every filter operator of an n2 index, at 10%, 1% and 0.1% selectivity, on filters
# UNCORRELATED with the vectors (issue #18).
#
# Data: bigann10k base_disjoint (9,900 x 128, L2), ids 0..9899, with filter columns
# drawn from a hash of the id (so they are independent of the vectors and of each
# other), values written by this script:
#   cat    int4   id % 10                       (10%; NULL for ~1% of the rows)
#   b100   int4   h1 % 100                      (1%)
#   b1000  int8   10^10 + h2 % 1000             (0.1%, about 10 rows; above 2^32)
#   flag   bool   h3 % 10 = 0                   (10% true)
#   tag    text   'k' || h4 % 100               (1%; NULL on the NULL rows)
#   u      uuid   ...-8000-<h5 % 1000>          (0.1%)
#   labels int4[] {h6 % 10, 100 + h7 % 100, 1000 + h8 % 1000}: one label of each
#                 tier, so one label matches 10%, 1% or 0.1% (NULL on the NULL rows,
#                 '{}' on ~2%)
#   tags   text[] {a<h11 % 10>, b<h12 % 100>, c<h13 % 1000>}: the same tiers
#   s2     int2   h14 % 100                     (1%; compared with int4 constants)
#   l8     int8[] {10^10 + h15 % 10, 10^10 + 100 + h16 % 100}: tiers 10% and 1%
# and ONE n2 index on (v vector_l2_ops, cat, b100, b1000, flag, tag, u, labels, tags,
# s2, l8) WITH (m = 8, ef_construction = 40).
#
# For each case (operator x selectivity, list in @cases) and NQ query vectors
# (query.fvecs, disjoint from the base), the n2 scan with DEFAULT n2 settings
# (enable_seqscan = off only makes sure the n2 plan runs) against the exact plan
# (enable_indexscan = off) asserts:
#   explain   EXPLAIN shows the n2 index scan with the filter as Index Cond, no Filter
#   never short  every query returns min(10, matching rows) rows
#   filter    every row returned satisfies the condition (evaluated on the heap row)
#   order     every query's rows come in ascending distance
#   recall    mean tie-aware recall@10 >= 0.95 (a row is a hit when its distance is
#             <= the min(10, matches)-th exact distance, + 1e-4 relative)
#   all rows  (0.1% cases) when a query matches <= 10 rows, it returns all of them in
#             the exact order (distances equal to the exact answer's, rank by rank)
# NULL filter values: rows with NULL cat never match cat = x nor cat <> x, neither
# near their own vector nor in a scan that goes through all matching rows (which
# must return every matching row).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use N2Test;

my $K   = 10;
my $NQ  = 20;
my $BIG = 10_000_000_000;
my $t0  = time;

my $ds   = dataset('bigann10k-128-euclidean');
my $base = read_fvecs($ds->{base_disjoint});
my $qv   = read_fvecs($ds->{query}, $NQ);
is(scalar @$base, 9900, '9,900 base vectors');

# A 32-bit mixing hash of (id, salt); every product stays below 2^53.
sub h
{
	my ($x, $s) = @_;
	my $v = (($x + 1) * 2654435761 + $s * 1_000_003) & 0xffffffff;
	$v ^= $v >> 15;
	$v = ($v * 40503) & 0xffffffff;
	$v ^= $v >> 13;
	$v = ($v * 48271) & 0xffffffff;
	$v ^= $v >> 16;
	return $v;
}
sub uuid_of { return sprintf('00000000-0000-4000-8000-%012d', $_[0]); }

my $node = n2_node('filter_ops', conf => 'autovacuum = off');
my @nullrows;
{
	my $tsv = $node->basedir . '/items.tsv';
	open(my $out, '>', $tsv) or die "$tsv: $!";
	for my $id (0 .. $#$base)
	{
		my $isnull = h($id, 9) % 100 == 0;
		push @nullrows, $id if $isnull;
		my $labels =
			$isnull              ? '\N'
		  : h($id, 10) % 50 == 0 ? '{}'
		  : sprintf('{%d,%d,%d}', h($id, 6) % 10, 100 + h($id, 7) % 100, 1000 + h($id, 8) % 1000);
		print $out join("\t",
			$id,
			vec_literal($base->[$id]),
			$isnull ? '\N' : $id % 10,
			h($id, 1) % 100,
			$BIG + h($id, 2) % 1000,
			h($id, 3) % 10 == 0 ? 't' : 'f',
			$isnull ? '\N' : 'k' . h($id, 4) % 100,
			uuid_of(h($id, 5) % 1000),
			$labels,
			sprintf('{a%d,b%d,c%d}', h($id, 11) % 10, h($id, 12) % 100, h($id, 13) % 1000),
			h($id, 14) % 100,
			sprintf('{%d,%d}', $BIG + h($id, 15) % 10, $BIG + 100 + h($id, 16) % 100)),
		  "\n";
	}
	close $out or die "$tsv: $!";
	$node->safe_psql('postgres', qq{
		CREATE TABLE items (id int PRIMARY KEY, v vector(128), cat int4, b100 int4,
							b1000 int8, flag bool, tag text, u uuid, labels int4[], tags text[],
							s2 int2, l8 int8[]);
		COPY items FROM '$tsv';
		CREATE INDEX items_n2 ON items USING n2
			(v vector_l2_ops, cat, b100, b1000, flag, tag, u, labels, tags, s2, l8)
			WITH (m = 8, ef_construction = 40);
		VACUUM ANALYZE items;
	});
	unlink $tsv;
}
note sprintf('loaded and indexed in %.1fs; %d rows with NULL filter values',
	time - $t0, scalar @nullrows);
is($node->safe_psql('postgres', q{SELECT count(*) FROM n2_verify('items_n2')}), '0',
	'n2_verify: the index with 8 filter columns is sound');

# Per query j (0 .. NQ-1): c = j % 10, b = (37 j) % 100, x = (73 j) % 1000.
sub c_ { return $_[0] % 10; }
sub b_ { return ($_[0] * 37) % 100; }
sub x_ { return ($_[0] * 73) % 1000; }
sub big { return $BIG + $_[0]; }
sub q_ { return "'" . $_[0] . "'"; }

# [operator, selectivity label, sub { condition for query j }, check explain (default 1)]
my @cases = (
	[ '= int4',  '10%',  sub { 'cat = ' . c_($_[0]) } ],
	[ '= int4',  '1%',   sub { 'b100 = ' . b_($_[0]) } ],
	[ '= int8',  '0.1%', sub { 'b1000 = ' . big(x_($_[0])) } ],
	[ '<> int4', '90%',  sub { 'cat <> ' . c_($_[0]) } ],
	[ '<> int4', '10%',  sub { 'cat = ' . c_($_[0]) . ' AND b100 <> ' . b_($_[0]) } ],
	[ '<> int4', '1%',   sub { 'b100 = ' . b_($_[0]) . ' AND cat <> ' . c_($_[0]) } ],
	[ '<> text', '0.1%', sub { 'b1000 = ' . big(x_($_[0])) . " AND tag <> 'k" . b_($_[0]) . "'" } ],
	[ 'IN', '10%', sub { 'b100 IN (' . join(', ', map { (b_($_[0]) + $_) % 100 } 0 .. 9) . ')' } ],
	[ 'IN', '1%', sub { 'b1000 IN (' . join(', ', map { big((x_($_[0]) + $_) % 1000) } 0 .. 9) . ')' } ],
	[ 'IN', '0.1%', sub { 'b1000 IN (' . big(x_($_[0])) . ', -1)' } ],
	[ '= ANY', '10%',  sub { 'cat = ANY (ARRAY[' . c_($_[0]) . '])' } ],
	[ '= ANY', '1%',   sub { 'b100 = ANY (ARRAY[' . b_($_[0]) . ', -5])' } ],
	[ '= ANY', '0.1%', sub { "b1000 = ANY ('{" . big(x_($_[0])) . "}'::int8[])" } ],
	[ '< int8',  '10%',  sub { 'b1000 < ' . big(100) } ],
	[ '< int8',  '1%',   sub { 'b1000 < ' . big(10) } ],
	[ '< int8',  '0.1%', sub { 'b1000 < ' . big(1) } ],
	[ '<= int8', '10%',  sub { 'b1000 <= ' . big(99) } ],
	[ '<= int8', '1%',   sub { 'b1000 <= ' . big(9) } ],
	[ '<= int8', '0.1%', sub { 'b1000 <= ' . big(0) } ],
	[ '> int8',  '10%',  sub { 'b1000 > ' . big(899) } ],
	[ '> int8',  '1%',   sub { 'b1000 > ' . big(989) } ],
	[ '> int8',  '0.1%', sub { 'b1000 > ' . big(998) } ],
	[ '>= int8', '10%',  sub { 'b1000 >= ' . big(900) } ],
	[ '>= int8', '1%',   sub { 'b1000 >= ' . big(990) } ],
	[ '>= int8', '0.1%', sub { 'b1000 >= ' . big(999) } ],
	[ '< int4',  '10%',  sub { 'b100 < 10' } ],
	[ '<= int4', '1%',   sub { 'b100 <= 0' } ],
	[ '> int4',  '1%',   sub { 'b100 > 98' } ],
	[ '>= int4', '10%',  sub { 'cat >= 9' } ],
	[ '&& int4[]', '10%',  sub { 'labels && ARRAY[' . c_($_[0]) . ']' } ],
	[ '&& int4[]', '11%',  sub { 'labels && ARRAY[' . c_($_[0]) . ', ' . (100 + b_($_[0])) . ']' } ],
	[ '&& int4[]', '1%',   sub { 'labels && ARRAY[' . (100 + b_($_[0])) . ']' } ],
	[ '&& int4[]', '0.1%', sub { 'labels && ARRAY[' . (1000 + x_($_[0])) . ']' } ],
	[ '@> int4[]', '10%',  sub { 'labels @> ARRAY[' . c_($_[0]) . ']' } ],
	[ '@> int4[]', '1%',   sub { 'labels @> ARRAY[' . (100 + b_($_[0])) . ']' } ],
	[ '@> int4[]', '0.1%', sub { 'labels @> ARRAY[' . c_($_[0]) . ', ' . (100 + b_($_[0])) . ']' } ],
	[ '&& text[]', '10%',  sub { q{tags && ARRAY['a} . c_($_[0]) . q{']} } ],
	[ '&& text[]', '1%',   sub { q{tags && ARRAY['b} . b_($_[0]) . q{']} } ],
	[ '&& text[]', '0.1%', sub { q{tags && ARRAY['c} . x_($_[0]) . q{']} } ],
	[ '@> text[]', '10%',  sub { q{tags @> ARRAY['a} . c_($_[0]) . q{']} } ],
	[ '@> text[]', '1%',   sub { q{tags @> ARRAY['b} . b_($_[0]) . q{']} } ],
	[ '@> text[]', '0.1%', sub { q{tags @> ARRAY['a} . c_($_[0]) . q{', 'b} . b_($_[0]) . q{']} } ],
	[ 'bool',     '10%',  sub { 'flag' } ],
	[ 'NOT bool', '90%',  sub { 'NOT flag' } ],
	[ 'NOT bool', '1%',   sub { 'NOT flag AND b100 = ' . b_($_[0]) } ],
	[ 'bool',     '0.1%', sub { 'flag AND b100 = ' . b_($_[0]) } ],
	[ '= text', '10%', sub { 'tag = ANY (ARRAY[' . join(', ', map { q_('k' . (b_($_[0]) + $_) % 100) } 0 .. 9) . '])' } ],
	[ '= text', '1%',   sub { q{tag = 'k} . b_($_[0]) . q{'} } ],
	[ '= text', '0.1%', sub { q{tag = 'k} . b_($_[0]) . q{' AND cat = } . c_($_[0]) } ],
	[ '= uuid', '10%', sub { 'u IN (' . join(', ', map { q_(uuid_of((x_($_[0]) + $_) % 1000)) } 0 .. 99) . ')' } ],
	[ '= uuid', '1%', sub { 'u = ANY (ARRAY[' . join(', ', map { q_(uuid_of((x_($_[0]) + $_) % 1000)) . '::uuid' } 0 .. 9) . '])' } ],
	[ '= uuid', '0.1%', sub { 'u = ' . q_(uuid_of(x_($_[0]))) } ],
	[ '= int2',  '1%',   sub { 's2 = ' . b_($_[0]) } ],
	[ '<= int2', '10%',  sub { 's2 <= 9' } ],
	[ 'IN int2', '10%',  sub { 's2 IN (' . join(', ', map { (b_($_[0]) + 3 * $_) % 100 } 0 .. 9) . ')' } ],
	[ '> int2',  '0.1%', sub { 's2 > 98 AND cat = ' . c_($_[0]) } ],
	[ '&& int8[]', '10%',  sub { 'l8 && ARRAY[' . big(c_($_[0])) . ']::int8[]' } ],
	[ '@> int8[]', '1%',   sub { 'l8 @> ARRAY[' . big(100 + b_($_[0])) . ']::int8[]' } ],
	[ '@> int8[]', '0.1%', sub { 'l8 @> ARRAY[' . big(c_($_[0])) . ', ' . big(100 + b_($_[0])) . ']::int8[]' } ],
	[ 'IS NULL', '1%', sub { 'cat IS NULL' }, 0 ],
);

# Run every query of a case; returns [ [ [id, dist, ok], ... ] per query ] or dies.
sub run_case
{
	my ($where, $setup, $limit) = @_;
	my $script = "$setup\n";
	for my $j (0 .. $NQ - 1)
	{
		my $q = "'" . vec_literal($qv->[$j]) . "'::vector";
		my $w = $where->($j);
		$script .= "SELECT coalesce(string_agg(id || ':' || d || ':' || ok::int, ' '), '') FROM "
		  . "(SELECT id, v <-> $q AS d, ($w) IS TRUE AS ok FROM items WHERE $w "
		  . "ORDER BY v <-> $q LIMIT $limit) s;\n";
	}
	my ($out, $err);
	my $ret = $node->psql('postgres', $script, stdout => \$out, stderr => \$err, on_error_stop => 1);
	die "psql failed: $err" if $ret != 0;
	my @lines = split /\n/, $out, -1;
	pop @lines while @lines > $NQ && $lines[-1] eq '';
	die 'expected ' . $NQ . ' lines, got ' . scalar(@lines) if @lines != $NQ;
	return [ map { [ map { [ split /:/ ] } split / /, $_ ] } @lines ];
}

my $INDEX = 'SET enable_seqscan = off;';
my $EXACT = 'SET enable_indexscan = off; SET enable_bitmapscan = off;';
my (@summary, @failed);
for my $case (@cases)
{
	my ($op, $sel, $where, $want_explain) = @$case;
	$want_explain //= 1;
	my $name = "$op $sel [" . $where->(1) . ']';
	$name = substr($name, 0, 90) . '...]' if length($name) > 95;
	my $tc = time;

	my $plan = $node->safe_psql('postgres', "$INDEX EXPLAIN (COSTS OFF) SELECT id FROM items WHERE "
		  . $where->(0) . " ORDER BY v <-> '" . vec_literal($qv->[0]) . "' LIMIT 10");
	my $default_plan = $node->safe_psql('postgres', 'EXPLAIN (COSTS OFF) SELECT id FROM items WHERE '
		  . $where->(0) . " ORDER BY v <-> '" . vec_literal($qv->[0]) . "' LIMIT 10");
	if ($want_explain)
	{
		ok($plan =~ /Index Scan using items_n2 on items\s+Index Cond: / && $plan !~ /Filter:/,
			"$name: explain: the condition is an Index Cond of the n2 scan")
		  or diag($plan);
	}
	# exact: 2k rows, so that ties at the k-th distance count
	my $ex = eval { run_case($where, $EXACT, 2 * $K) };
	die "$name: exact plan failed: $@" if !$ex;
	my $ix = eval { run_case($where, $INDEX, $K) };
	if (!$ix)
	{
		fail("$name: the n2 scan ran: $@");
		push @failed, $name;
		next;
	}
	my ($short, $bad, $unordered, $rsum, $rmin, $few, $few_ok, $matches) = (0, 0, 0, 0, 1, 0, 0, 0);
	for my $j (0 .. $NQ - 1)
	{
		my ($e, $r) = ($ex->[$j], $ix->[$j]);
		# exact LIMIT 2k returned fewer than k: that is every matching row
		my $want = @$e < $K ? scalar @$e : $K;
		$matches += @$e;
		my @r = @$r[ 0 .. ($#$r < $K - 1 ? $#$r : $K - 1) ];
		$short++ if @$r != $want;
		$bad += grep { !$_->[2] } @$r;
		for my $i (1 .. $#$r) { $unordered++, last if $r->[$i][1] < $r->[ $i - 1 ][1]; }
		my $rec = 1;
		if ($want > 0)
		{
			my $t     = $e->[ $want - 1 ][1];
			my $bound = $t + abs($t) * 1e-4 + 1e-6;
			my (%seen, $hits);
			$hits = grep { !$seen{ $_->[0] }++ && $_->[2] && $_->[1] <= $bound } @r;
			$rec = $hits / $want;
		}
		$rsum += $rec;
		$rmin = $rec if $rec < $rmin;
		if (@$e <= $K)
		{
			$few++;
			my $same = @$r == @$e;
			for my $i (0 .. $#$e)
			{
				last if !$same;
				my $d = $e->[$i][1];
				$same = 0 if abs($r->[$i][1] - $d) > abs($d) * 1e-6 + 1e-9;
			}
			$few_ok++ if $same;
		}
	}
	my $recall = sprintf('%.3f', $rsum / $NQ);
	my $avg    = sprintf('%.1f', $matches / $NQ);
	my $fails  = 0;
	is($short, 0, "$name: never short (queries short: $short of $NQ)") or $fails++;
	is($bad, 0, "$name: every row returned satisfies the filter") or $fails++;
	is($unordered, 0, "$name: rows in ascending distance") or $fails++;
	cmp_ok($recall, '>=', 0.95, "$name: recall\@10 = $recall (min $rmin)") or $fails++;
	if ($sel eq '0.1%' || $few)
	{
		is($few_ok, $few, "$name: all matching rows in order for the $few queries matching <= $K rows")
		  or $fails++;
	}
	push @failed, $name if $fails;
	my $dplan = $default_plan =~ /Index Scan using items_n2/ ? 'n2' : 'other';
	push @summary, sprintf('%-70s recall %s min %.1f short %d bad %d few %d/%d avg-exact-rows %s default-plan %s %.1fs',
		$name, $recall, $rmin, $short, $bad, $few_ok, $few, $avg, $dplan, time - $tc);
	note $summary[-1];
}

# --- NULL filter values: near a row with NULL cat (its own vector), cat = x and
# cat <> x never return it; nor do the label-set and text operators.
{
	my @rows = @nullrows[ 0 .. ($#nullrows < 19 ? $#nullrows : 19) ];
	my $script = $INDEX . "\n";
	for my $id (@rows)
	{
		my $q = "'" . vec_literal($base->[$id]) . "'::vector";
		for my $w ('cat = ' . ($id % 10), 'cat <> ' . ($id % 10), 'cat <> 99', "tag <> 'zz'",
			'labels && ARRAY[' . (h($id, 6) % 10) . ']', 'NOT (cat = 3)')
		{
			$script .= "SELECT count(*) || ' ' || count(*) FILTER (WHERE id = $id OR cat IS NULL) FROM "
			  . "(SELECT id, cat FROM items WHERE $w ORDER BY v <-> $q LIMIT 10) s;\n";
		}
	}
	my @lines = split /\n/, $node->safe_psql('postgres', $script);
	is(scalar(grep { $_ ne '10 0' } @lines), 0,
		scalar(@rows) . ' rows with NULL cat, 6 conditions each: 10 rows returned, never a NULL-key row')
	  or diag(join(' | ', grep { $_ ne '10 0' } @lines));
}

# A scan through every matching row (relaxed_order, as t/050 does for a full
# index-ordered scan): it returns them all once, and no row with NULL cat.
for my $w ('cat = 5', 'cat <> 5', 'cat >= 0', 'labels && ARRAY[3]')
{
	my $exact = $node->safe_psql('postgres', "SELECT count(*) FROM items WHERE $w");
	my $got = $node->safe_psql('postgres', qq{$INDEX SET n2.max_scan_tuples = 1000000;
		SET n2.iterative_scan = relaxed_order;
		SELECT count(*) || ' ' || count(*) FILTER (WHERE cat IS NULL) || ' ' || count(DISTINCT id)
		FROM (SELECT id, cat FROM items WHERE $w
			  ORDER BY v <-> '} . vec_literal($qv->[0]) . qq{' LIMIT 100000) s});
	is($got, "$exact 0 $exact",
		"$w, LIMIT 100000 (relaxed_order): all $exact matching rows once, none with NULL cat");
}

# strict_order (default) with a LIMIT above the number of matching rows (1%, 0.1%):
# every matching row, in the exact order.
for my $w ('b100 = 37', 'b100 = 37 AND flag', 'labels && ARRAY[137]', "tag = 'k37'")
{
	my $sql = sub {
		my ($setup) = @_;
		my $script = "$setup\n";
		for my $j (0 .. $NQ - 1)
		{
			my $q = "'" . vec_literal($qv->[$j]) . "'::vector";
			$script .= "SELECT coalesce(string_agg(d::text, ' '), '') FROM "
			  . "(SELECT v <-> $q AS d FROM items WHERE $w ORDER BY v <-> $q LIMIT 1000) s;\n";
		}
		return [ split /\n/, $node->safe_psql('postgres', $script) ];
	};
	my $ex = $sql->($EXACT);
	my $ix = $sql->($INDEX);
	my $rx = $sql->("$INDEX SET n2.iterative_scan = relaxed_order;");
	my $n  = scalar split / /, $ex->[0];
	my $same = grep { $ex->[$_] eq $ix->[$_] } 0 .. $NQ - 1;
	my $rows = 0;
	$rows += scalar split / /, $_ for @$ix;
	is($same, $NQ, "$w, LIMIT 1000 > $n matching rows (strict_order): all rows in the exact order "
		  . "in $same of $NQ queries (" . sprintf('%.1f', $rows / $NQ) . " rows per query)")
	  or diag(join("\n", map {
			my @e = split / /, $ex->[$_];
			my @i = split / /, $ix->[$_];
			my $p = 0;
			$p++ while $p < @e && $p < @i && $e[$p] eq $i[$p];
			"query $_: exact " . scalar(@e) . ' rows, n2 ' . scalar(@i)
			  . ' (relaxed_order: ' . scalar(split / /, $rx->[$_]) . ')'
			  . " rows, first difference at rank $p: exact " . ($e[$p] // '-') . ', n2 ' . ($i[$p] // '-')
		} grep { $ex->[$_] ne $ix->[$_] } 0 .. $NQ - 1));
}

note "summary per case:\n" . join("\n", @summary);
note 'cases with a failed assertion: ' . (@failed ? join('; ', @failed) : 'none');
note sprintf('total %.1fs', time - $t0);
$node->stop;
done_testing();
