# Compact storage under concurrency: a float16 and an sq8 index (m = 4:
# small lists) on tables seeded with near-ties, during a pgbench storm of
# inserts (half of them near-ties, some exact duplicates), deletes and
# order-checking k-NN queries, with VACUUM running alongside.
#
# On compact codes a scan reports lower bounds and the executor rechecks
# rows with exact distances, except a row whose distance interval overlaps
# no other row's (src/scan.c, certain_order), which it returns unchecked.
# Near-ties (a vector with some coordinates moved by 0.01 - 0.03: the same
# float16 code, and nearly always the same sq8 code, but another exact
# distance) and exact duplicates (one element, several heap TIDs) are where
# a wrong certification would put rows out of order.  Asserted:
#
#   during the storm every k-NN query returns its 20 rows in exact distance
#   order (an order-checking statement fails with a division by zero
#   otherwise), both when the query selects the distance (at ef_search 20,
#   so that placing its last rows widens the walk, src/scan.c) and when it
#   does not (the planner then drops it, src/plan.c: the order is checked by a
#   second statement in the same REPEATABLE READ snapshot, which also
#   finds every returned id in the table);
#   afterwards each index is clean (n2_verify), a search at each live row's
#   own vector finds it (at most one miss per 200 rows; a missed row must
#   still be reachable by a walk), 100-row and 500-row (iterative, strict
#   order) scans return rows in exact order, and after VACUUM the index
#   holds exactly one heap TID per live row.
#
# A third table gets an sq8 index by CREATE INDEX CONCURRENTLY while
# another session inserts into it, and then the same checks; a fourth the
# same with integer vectors only, so that its build compares exact codes.
#
# A certification that ignored the rows returned before (certain_order
# without its max_ub check) fails the storm's order checks within seconds,
# on both indexes and both query forms, and the order checks after it.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $ds   = dataset('bigann10k-128-euclidean');
# jit off: the disable_cost of enable_seqscan = off (which the storm's
# sessions keep) would make PostgreSQL JIT-compile every DELETE by id.
my $node = n2_node('storage_concurrency', conf => "autovacuum = off\nmax_connections = 20\njit = off");
my $t0   = time;

my %storage = (h => 'float16', q => 'sq8');
my @tables  = ('h', 'q');

# pool: all 10,000 vectors (coordinates are integers 0 - 216), the source of
# every row and query vector.
is(load_vectors($node, 'pool', $ds->{base}), 10_000, 'loaded the pool');

# near(v, k): v with about two thirds of its coordinates >= 65 moved by
# 0.01 * k, up or down depending on the coordinate and k (so the variants
# k = 1, 2, 3 of a vector move in different directions and their exact
# distances to a query fall in no fixed order).  float16 has a step of
# 0.0625 or more from 64 up: the code stays the original's.  near(v, 0) = v.
$node->safe_psql('postgres', q{
	CREATE FUNCTION near(v vector, k int) RETURNS vector LANGUAGE sql IMMUTABLE STRICT
	RETURN (SELECT array_agg(CASE WHEN x >= 65 AND (i + k) % 3 <> 0
			THEN x + 0.01::real * k * (CASE WHEN (i + k) % 3 = 1 THEN 1 ELSE -1 END) ELSE x END ORDER BY i)::vector
		FROM unnest(v::real[]) WITH ORDINALITY u(x, i));});
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE near(embedding, k) = embedding) || ' '
		|| count(*) FILTER (WHERE near(embedding, k)::halfvec::vector <> embedding)
	FROM pool, generate_series(1, 3) k WHERE id < 1000}),
	'0 0', 'near-ties differ from their vector exactly, and not in float16');

# Each table: pool rows 0 - 1999 (ids as in the pool), and 200 near-ties
# (k = 1 and 2 of every 20th of them) and 20 exact duplicates with ids from
# its sequence (from 100000).
for my $t (@tables)
{
	$node->safe_psql('postgres', qq{
		CREATE SEQUENCE ${t}_ids START 100000;
		CREATE TABLE $t (id bigint DEFAULT nextval('${t}_ids'), embedding vector(128));
		INSERT INTO $t SELECT id, embedding FROM pool WHERE id < 2000;
		INSERT INTO $t (embedding) SELECT near(embedding, k) FROM pool, generate_series(1, 2) k
			WHERE id < 2000 AND id % 20 = 0 ORDER BY id, k;
		INSERT INTO $t (embedding) SELECT embedding FROM pool WHERE id < 2000 AND id % 100 = 7;
		CREATE INDEX ${t}_idx ON $t USING n2 (embedding vector_l2_ops)
			WITH (m = 4, ef_construction = 32, storage = $storage{$t});
		ANALYZE $t;});
	is($node->safe_psql('postgres', "SELECT storage || ' ' || heap_tids FROM n2_index_info('${t}_idx')"),
		"$storage{$t} 2220", "$t: a $storage{$t} index on 2,220 rows");
	is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('${t}_idx')"), '0',
		"$t: n2_verify clean after build");
}

# The two k-NN forms of the storm: (a) the distance selected, (b) only the
# ids (the planner then drops the distance).  Both are n2 index scans.
my $qv = $node->safe_psql('postgres', 'SELECT quote_literal(near(embedding, 1)) FROM pool WHERE id = 40');
for my $t (@tables)
{
	like($node->safe_psql('postgres', qq{SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT d, row_number() OVER () FROM
			(SELECT embedding <-> ${qv}::vector AS d FROM $t ORDER BY embedding <-> ${qv}::vector LIMIT 20) s}),
		qr/Index Scan using ${t}_idx on $t/, "$t: the k-NN query selecting the distance is an n2 index scan");
	like($node->safe_psql('postgres', qq{SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT array_agg(id) FROM
			(SELECT id FROM $t ORDER BY embedding <-> ${qv}::vector LIMIT 20) s}),
		qr/Index Scan using ${t}_idx on $t/, "$t: the k-NN query selecting only ids is an n2 index scan");
}

# pgbench scripts per table (TBL).  Query vectors: a pool vector (one of the
# table's or not), in 3 cases of 7 a near-tie of it, so that the query sits
# among ties.  An order check divides by zero when a row comes out of order
# (exact ties are in order: d < previous d fails, d = previous d does not)
# or fewer than 20 rows come back.
my %template = (
	'TBL_insert@4' => q{
\set r random(0, 2999)
\set k random(-2, 3)
INSERT INTO TBL (embedding) SELECT near(embedding, greatest(:k, 0)) FROM pool WHERE id = :r;
},
	'TBL_duplicate@1' => q{
\set r random(0, 1999)
INSERT INTO TBL (embedding) SELECT embedding FROM TBL WHERE id = :r;
},
	'TBL_delete@3' => q{
\set r random(0, 1999)
\set s random(100000, 103000)
DELETE FROM TBL WHERE id = :r OR id = :s;
},
	'TBL_order_distance@3' => q{
\set r random(0, 2999)
\set k random(-3, 3)
SELECT quote_literal(near(embedding, greatest(:k, 0))) AS qv FROM pool WHERE id = :r \gset
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL n2.ef_search = 20;
SELECT 1 / (count(*) = 20 AND count(*) FILTER (WHERE d < prev) = 0)::int
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS prev
	FROM (SELECT d, row_number() OVER () AS n
		FROM (SELECT embedding <-> :qv::vector AS d FROM TBL ORDER BY embedding <-> :qv::vector LIMIT 20) s) s) s;
COMMIT;
},
	'TBL_order_ids@3' => q{
\set r random(0, 2999)
\set k random(-3, 3)
SELECT quote_literal(near(embedding, greatest(:k, 0))) AS qv FROM pool WHERE id = :r \gset
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL enable_seqscan = off;
SELECT quote_literal(array_agg(id)) AS ids FROM (SELECT id FROM TBL ORDER BY embedding <-> :qv::vector LIMIT 20) s \gset
SELECT 1 / (count(*) = 20 AND count(*) FILTER (WHERE d IS NULL OR d < prev) = 0)::int
FROM (SELECT t.embedding <-> :qv::vector AS d, lag(t.embedding <-> :qv::vector) OVER (ORDER BY u.o) AS prev
	FROM unnest(:ids::bigint[]) WITH ORDINALITY u(id, o) LEFT JOIN TBL t ON t.id = u.id) s;
COMMIT;
},);
my %scripts;
for my $t (@tables)
{
	for my $name (keys %template)
	{
		(my $n = $name) =~ s/TBL/$t/;
		($scripts{$n} = $template{$name}) =~ s/\bTBL\b/$t/g;
	}
}

# VACUUM of both tables in a bounded loop in the background, spanning the
# pgbench run (the test does not depend on how they overlap).
my $vac_sql = "SET client_min_messages = warning;\n"
  . ("VACUUM h;\nVACUUM q;\nSELECT pg_sleep(0.2);\n" x 18);
my ($vac_out, $vac_err) = ('', '');
my $vac = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', '-' ],
	'<', \$vac_sql, '>', \$vac_out, '2>', \$vac_err);

$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --time=12',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'pgbench on float16 and sq8 indexes: inserts of near-ties and duplicates, deletes, k-NN in exact order, VACUUM alongside',
	\%scripts);

ok($vac->finish, 'the background VACUUM loop ran without error') or diag $vac_err;
note sprintf('pgbench phase done at %ds; rows inserted: h %s, q %s', time - $t0,
	map { $node->safe_psql('postgres', "SELECT last_value - 100219 FROM ${_}_ids") } @tables);

# CREATE INDEX CONCURRENTLY of an sq8 index (its quantizer trained on the
# rows its build scan sees) while another session inserts near-ties and
# duplicates, which the index must take through aminsert or its validation
# scan, coded by the trained ranges.  The table then goes through the same
# checks as the storm's.
$node->safe_psql('postgres', q{
	CREATE SEQUENCE c_ids START 100000;
	CREATE TABLE c (id bigint DEFAULT nextval('c_ids'), embedding vector(128));
	INSERT INTO c SELECT id, embedding FROM pool WHERE id < 2000;});
{
	my $sql = join '', map {
		my $r = ($_ * 7919) % 3000;
		$_ % 5 == 0
		  ? "INSERT INTO c (embedding) SELECT embedding FROM c WHERE id = " . ($r % 2000) . ";\n"
		  : "INSERT INTO c (embedding) SELECT near(embedding, " . ($_ % 4) . ") FROM pool WHERE id = $r;\n"
	} 1 .. 3000;
	my ($h, $errfile) = start_script($node, 'cic_inserts', $sql);
	$node->poll_query_until('postgres', 'SELECT count(*) > 2100 FROM c')
	  or die 'the inserts into c did not start';
	my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM c');
	$node->safe_psql('postgres',
		"CREATE INDEX CONCURRENTLY c_idx ON c USING n2 (embedding vector_l2_ops) WITH (m = 4, ef_construction = 32, storage = sq8)");
	my $after = $node->safe_psql('postgres', 'SELECT count(*) FROM c');
	ok($h->finish, 'inserts into c during CREATE INDEX CONCURRENTLY succeeded')
	  or diag slurp_file($errfile);
	note "c: $before rows when CREATE INDEX CONCURRENTLY began, $after when it ended";
	cmp_ok($after, '>', $before, 'c: rows were inserted while CREATE INDEX CONCURRENTLY ran');
	is($node->safe_psql('postgres', "SELECT indisvalid FROM pg_index WHERE indexrelid = 'c_idx'::regclass"),
		't', 'c: CREATE INDEX CONCURRENTLY left a valid index');
	is($node->safe_psql('postgres', "SELECT storage || ' ' || (heap_tids = (SELECT count(*) FROM c)) FROM n2_index_info('c_idx')"),
		'sq8 true', 'c: the sq8 index holds every row, those inserted during the build too');
}
$storage{c} = 'sq8';

# The same with vectors that stay integers: the pool's, whose 8-bit codes
# are the vectors exactly, so the build compares codes (src/build.c,
# exact_codes; DEBUG1 says so): sq8's trained codes for x, codes trained for
# the build alone for y (float4), while another session inserts duplicates
# and integer variants (1 added to a third of the coordinates) and deletes
# rows.  Both tables then go through the same checks.
$node->safe_psql('postgres', q{
	CREATE FUNCTION shift(v vector, k int) RETURNS vector LANGUAGE sql IMMUTABLE STRICT
	RETURN (SELECT array_agg(CASE WHEN (i + k) % 3 = 0 THEN x + 1 ELSE x END ORDER BY i)::vector
		FROM unnest(v::real[]) WITH ORDINALITY u(x, i));});
for my $case ([ 'x', 'sq8' ], [ 'y', 'float4' ])
{
	my ($t, $st) = @$case;
	$node->safe_psql('postgres', qq{
		CREATE SEQUENCE ${t}_ids START 100000;
		CREATE TABLE $t (id bigint DEFAULT nextval('${t}_ids'), embedding vector(128));
		INSERT INTO $t SELECT id, embedding FROM pool WHERE id < 2000;});
	my $sql = join '', map {
		my $r = ($_ * 7919) % 3000;
		$_ % 7 == 0 ? "DELETE FROM $t WHERE id = " . ($r % 2000) . ";\n"
		  : $_ % 5 == 0
		  ? "INSERT INTO $t (embedding) SELECT embedding FROM pool WHERE id = $r;\n"
		  : "INSERT INTO $t (embedding) SELECT shift(embedding, $_) FROM pool WHERE id = $r;\n"
	} 1 .. 3000;
	my ($h, $errfile) = start_script($node, "exact_inserts_$t", $sql);
	$node->poll_query_until('postgres', "SELECT last_value > 100100 FROM ${t}_ids")
	  or die "the inserts into $t did not start";
	my $before = $node->safe_psql('postgres', "SELECT last_value FROM ${t}_ids");
	my ($out, $err) = ('', '');
	$node->psql('postgres', qq{SET client_min_messages = debug1;
		CREATE INDEX CONCURRENTLY ${t}_idx ON $t USING n2 (embedding vector_l2_ops) WITH (m = 4, ef_construction = 32, storage = $st)},
		stdout => \$out, stderr => \$err, on_error_die => 1);
	my $after = $node->safe_psql('postgres', "SELECT last_value FROM ${t}_ids");
	like($err, qr/building n2 index "${t}_idx" on exact 8-bit codes of its vectors/,
		"$t: CREATE INDEX CONCURRENTLY built on exact codes");
	ok($h->finish, "inserts and deletes on $t during CREATE INDEX CONCURRENTLY succeeded")
	  or diag slurp_file($errfile);
	is($node->safe_psql('postgres', "SELECT indisvalid FROM pg_index WHERE indexrelid = '${t}_idx'::regclass"),
		't', "$t: CREATE INDEX CONCURRENTLY left a valid index");
	note "$t: sequence at $before when CREATE INDEX CONCURRENTLY began, $after when it ended";
	cmp_ok($after, '>', $before, "$t: rows were inserted while CREATE INDEX CONCURRENTLY ran");
	$storage{$t} = $st;
}

# Query vectors for the order checks after the storm: 15 pool vectors (ids
# 3, 202, ..., 2789: in the tables' range or not), 12 of them as near-ties,
# and 5 of the data set's queries.
my @queries;
for my $line (split /\n/, $node->safe_psql('postgres', q{
	SELECT near(embedding, id % 4) FROM pool WHERE id % 199 = 3 ORDER BY id LIMIT 15}))
{
	push @queries, [ split /,/, substr($line, 1, -1) ];
}
push @queries, @{ read_fvecs($ds->{query}, 5) };
is(scalar @queries, 20, '20 query vectors for the order checks');

# Distances of every query's rows never decrease, and each query has $n rows.
sub in_order
{
	my ($dists, $n) = @_;
	for my $d (@$dists)
	{
		return 0 if @$d != $n;
		for my $j (1 .. $#$d)
		{
			return 0 if $d->[$j] < $d->[ $j - 1 ];
		}
	}
	return 1;
}

for my $t (@tables, 'c', 'x', 'y')
{
	my $what = "$t ($storage{$t})";
	my $idx  = "${t}_idx";
	my $rows = $node->safe_psql('postgres', "SELECT count(*) FROM $t");
	note "$what: $rows live rows";
	is($node->safe_psql('postgres',
			"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('$idx')"),
		'', "$what: n2_verify clean after the concurrent phase");

	# A search at each live row's own vector finds it (k = the rows sharing
	# that vector: they are one element; near-ties are farther, exactly).
	my $missed = $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET n2.ef_search = 200;
		WITH d AS (SELECT id, embedding, count(*) OVER (PARTITION BY embedding) AS n FROM $t)
		SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM d
		WHERE d.id NOT IN (SELECT j.id FROM $t j ORDER BY j.embedding <-> d.embedding LIMIT d.n)});
	my @missed = split /,/, $missed;
	note "$what: rows a search at their own vector missed: " . ($missed || 'none');
	cmp_ok(scalar @missed, '<=', int($rows / 200),
		"$what: a search at each row's own vector finds all but at most 1 in 200 of $rows");
	# A missed row must still be reachable: a relaxed_order walk with no
	# fallback, whose id filter rejects every other row, widens until it
	# returns the row or has visited all it can.
	is($node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET enable_bitmapscan = off; SET n2.iterative_scan = relaxed_order;
		SET n2.scan_fallback = off; SET n2.max_scan_tuples = 100000000; SET work_mem = '64MB';
		SELECT count(*) FROM $t a LEFT JOIN LATERAL
			(SELECT b.id FROM $t b WHERE b.id + 0 = a.id ORDER BY b.embedding <-> a.embedding LIMIT 1) s ON true
		WHERE a.id IN (} . join(',', @missed, -1) . q{) AND s.id IS NULL}),
		'0', "$what: the walk reaches every row the search missed");

	# Exact order after the storm: 100 rows at ef_search 200, and 500 rows
	# from an iterative strict_order scan (past the default ef_search 40).
	my (undef, $d100) = knn_ids($node, knn_sql($t, 100), \@queries,
		setup => 'SET enable_seqscan = off; SET n2.ef_search = 200;');
	ok(in_order($d100, 100), "$what: 100 rows per query in exact distance order");
	my (undef, $d500) = knn_ids($node, knn_sql($t, 500), \@queries,
		setup => 'SET enable_seqscan = off; SET n2.iterative_scan = strict_order;');
	ok(in_order($d500, 500), "$what: 500 rows per query from an iterative strict_order scan in exact distance order");

	# After VACUUM the index holds exactly one heap TID per live row (a few
	# rounds: a VACUUM that cannot get a heap page's cleanup lock leaves its
	# dead tuples for the next; INDEX_CLEANUP on: no bypass of the index).
	my $tids;
	for my $round (1 .. 5)
	{
		$node->safe_psql('postgres', "VACUUM (INDEX_CLEANUP on) $t");
		$tids = $node->safe_psql('postgres', "SELECT heap_tids FROM n2_index_info('$idx')");
		last if $tids eq $rows;
		note "$what: VACUUM round $round left $tids index TIDs for $rows live rows";
	}
	is($tids, $rows, "$what: after VACUUM, heap TIDs in the index = live rows");
	is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('$idx')"), '0',
		"$what: n2_verify clean after the final VACUUM");
}

note sprintf('total %ds', time - $t0);
$node->stop;
done_testing();
