# Compact storage (storage = float16, sq8) on bigann10k (disjoint base:
# 9,900 x 128, 100 queries):
#
#   each storage x metric reaches recall@10 >= 0.95 at the DEFAULT n2.ef_search
#   (ground truth: the dataset's for L2, an exact sequential scan for angular
#   and dot), returns rows in exact distance order, and is smaller than the
#   float4 index;
#   the real[] operator classes work on codes too;
#   rows inserted after the build are found (sq8 codes them with the trained
#   ranges), VACUUM leaves a clean index that still finds the rows left;
#   a hot standby returns the same answers; crash recovery leaves a clean
#   index that finds every row.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $K  = 10;
my $ds = dataset('bigann10k-128-euclidean');
my $queries  = read_fvecs($ds->{query});
my $gt_ids   = read_ivecs($ds->{groundtruth_disjoint});
my $gt_dists = read_fvecs($ds->{groundtruth_disjoint_distances});

my $node = n2_node('storage', init => { allows_streaming => 1 },
	conf => "autovacuum = off\nrestart_after_crash = on");
is(load_vectors($node, 'items', $ds->{base_disjoint}), 9_900, 'loaded base_disjoint');
is($node->safe_psql('postgres', "LOAD 'n2'; SHOW n2.ef_search"), '40', 'default n2.ef_search is 40');

$node->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby')");
$node->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby'");
$standby->start;

sub verify_clean
{
	my ($n, $index, $what) = @_;
	is($n->safe_psql('postgres',
			"SELECT coalesce(string_agg(format('%s/%s: %s', blkno, offnum, problem), E'\\n'), '') FROM n2_verify('$index')"),
		'', "$what: n2_verify clean");
}

sub bytes
{
	my ($index) = @_;
	return $node->safe_psql('postgres', "SELECT bytes FROM n2_index_info('$index')");
}

# Distances of every query's rows never decrease.
sub in_order
{
	my ($dists) = @_;
	for my $d (@$dists)
	{
		for my $j (1 .. $#$d)
		{
			return 0 if $d->[$j] < $d->[ $j - 1 ];
		}
	}
	return 1;
}

my %exact;
$exact{'<=>'} = [ knn_ids($node, knn_sql('items', 20, op => '<=>'), $queries,
	setup => 'SET enable_indexscan = off; SET enable_bitmapscan = off;') ];
$exact{'<#>'} = [ knn_ids($node, knn_sql('items', 20, op => '<#>'), $queries,
	setup => 'SET enable_indexscan = off; SET enable_bitmapscan = off;') ];
$exact{'<->'} = [ $gt_ids, $gt_dists ];

$node->safe_psql('postgres', 'CREATE INDEX items_f4 ON items USING n2 (embedding vector_l2_ops)');
my $f4_bytes = bytes('items_f4');
$node->safe_psql('postgres', 'DROP INDEX items_f4');

my %opclass = ('<->' => 'vector_l2_ops', '<=>' => 'vector_angular_ops', '<#>' => 'vector_dot_ops');
my %ratio   = (float16 => 0.7, sq8 => 0.5);
for my $storage ('float16', 'sq8')
{
	for my $op ('<->', '<=>', '<#>')
	{
		my $index = "items_${storage}_" . ($op eq '<->' ? 'l2' : $op eq '<=>' ? 'angular' : 'dot');
		$node->safe_psql('postgres',
			"CREATE INDEX $index ON items USING n2 (embedding $opclass{$op}) WITH (storage = '$storage')");
		is($node->safe_psql('postgres', "SELECT storage FROM n2_index_info('$index')"),
			$storage, "$index: n2_index_info says $storage");
		like(explain_knn($node, knn_sql('items', $K, op => $op), $queries->[0]),
			qr/Index Scan using \Q$index\E on items/, "$index: the query uses it");
		my ($ids, $dists) = knn_ids($node, knn_sql('items', $K, op => $op), $queries);
		is(scalar(grep { @$_ == $K } @$ids), scalar @$queries, "$index: every query returns $K rows");
		my $r = recall_at_k($ids, $exact{$op}[0], $exact{$op}[1], $dists, $K);
		cmp_ok($r, '>=', 0.95, "$index: recall\@10 at default ef_search = $r");
		ok(in_order($dists), "$index: rows in exact distance order");
		verify_clean($node, $index, $index);
		if ($op eq '<->')
		{
			my $b = bytes($index);
			note "$index: $b bytes, float4 $f4_bytes";
			cmp_ok($b, '<', $ratio{$storage} * $f4_bytes, "$index is under $ratio{$storage}x the float4 index");
		}
		# the L2 indexes stay for the standby
		$node->safe_psql('postgres', "DROP INDEX $index") unless $op eq '<->';
	}
	# an iterative scan past ef_search keeps exact order too
	my (undef, $deep) = knn_ids($node, knn_sql('items', 200), [ @$queries[ 0 .. 9 ] ],
		setup => "SET n2.ef_search = 20; SET enable_seqscan = off; SET n2.iterative_scan = strict_order;");
	ok(in_order($deep), "$storage: 200 rows per query from an iterative scan in exact order");
	is(scalar(grep { @$_ == 200 } @$deep), 10, "$storage: the iterative scan returns 200 rows a query");
	$node->safe_psql('postgres', "DROP INDEX items_${storage}_l2") if $storage eq 'float16';
}

# --- real[] operator class, float16 and sq8
$node->safe_psql('postgres', q{
	CREATE TABLE arr AS SELECT id, embedding::real[] AS a FROM items WHERE id < 3000;
	CREATE INDEX arr_f16 ON arr USING n2 (a float4_l2_ops) WITH (storage = float16);
});
{
	my @q = @$queries[ 0 .. 19 ];
	my $sql = "SELECT id, a <-> (:q)::real[] FROM arr ORDER BY a <-> (:q)::real[] LIMIT $K";
	my ($e_ids, $e_d) = knn_ids($node, $sql =~ s/LIMIT $K/LIMIT 20/r, \@q,
		setup => 'SET enable_indexscan = off;');
	for my $storage ('float16', 'sq8')
	{
		if ($storage eq 'sq8')
		{
			$node->safe_psql('postgres',
				'DROP INDEX arr_f16; CREATE INDEX arr_sq8 ON arr USING n2 (a float4_l2_ops) WITH (storage = sq8)');
		}
		like(explain_knn($node, $sql, $q[0]), qr/Index Scan using arr_/, "real[] $storage: index scan");
		my ($ids, $d) = knn_ids($node, $sql, \@q);
		my $r = recall_at_k($ids, $e_ids, $e_d, $d, $K);
		cmp_ok($r, '>=', 0.95, "real[] $storage: recall\@10 = $r");
		ok(in_order($d), "real[] $storage: rows in exact distance order");
	}
}

# --- inserts after the build: half built, half inserted (sq8 codes them
# with the ranges the first half trained)
$node->safe_psql('postgres', q{
	CREATE TABLE grown (id int PRIMARY KEY, embedding vector(128));
	INSERT INTO grown SELECT id, embedding FROM items WHERE id % 2 = 0;
	CREATE INDEX grown_sq8 ON grown USING n2 (embedding) WITH (storage = sq8);
	INSERT INTO grown SELECT id, embedding FROM items WHERE id % 2 = 1;
	ANALYZE grown;
});
is($node->safe_psql('postgres', "SELECT elements, heap_tids FROM n2_index_info('grown_sq8')"),
	'9900|9900', 'grown_sq8 holds every vector');
{
	my ($ids, $d) = knn_ids($node, knn_sql('grown', $K), $queries);
	my $r = recall_at_k($ids, $gt_ids, $gt_dists, $d, $K);
	cmp_ok($r, '>=', 0.95, "half built, half inserted sq8: recall\@10 = $r");
	ok(in_order($d), 'half built, half inserted sq8: exact order');
}
verify_clean($node, 'grown_sq8', 'after inserts');

# --- VACUUM
$node->safe_psql('postgres', 'DELETE FROM grown WHERE id % 3 = 0; VACUUM grown;');
verify_clean($node, 'grown_sq8', 'after VACUUM');
{
	my ($e_ids, $e_d) = knn_ids($node, knn_sql('grown', 20), $queries,
		setup => 'SET enable_indexscan = off;');
	my ($ids, $d) = knn_ids($node, knn_sql('grown', $K), $queries);
	my $r = recall_at_k($ids, $e_ids, $e_d, $d, $K);
	cmp_ok($r, '>=', 0.95, "after VACUUM: recall\@10 = $r");
	is($node->safe_psql('postgres',
		"SET enable_seqscan = off; SET n2.iterative_scan = relaxed_order; SELECT count(*) FROM (SELECT id FROM grown ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 100000) s"),
		$node->safe_psql('postgres', 'SELECT count(*) FROM grown'),
		'after VACUUM: a scan reaches every row');
}

# --- the standby answers the same
$node->wait_for_catchup($standby);
for my $t ([ 'items', 'items_sq8_l2' ], [ 'grown', 'grown_sq8' ])
{
	my ($table, $index) = @$t;
	my ($p_ids, $p_d) = knn_ids($node, knn_sql($table, $K), $queries);
	my ($s_ids, $s_d) = knn_ids($standby, knn_sql($table, $K), $queries);
	is_deeply($s_ids, $p_ids, "$index: standby k-NN ids equal the primary's");
	is_deeply($s_d, $p_d, "$index: standby k-NN distances equal the primary's");
	like(explain_knn($standby, knn_sql($table, $K), $queries->[0]),
		qr/Index Scan using \Q$index\E/, "$index: the standby uses the index");
	verify_clean($standby, $index, "$index on the standby");
}

# --- crash recovery: inserts, then an immediate stop (no checkpoint)
$node->safe_psql('postgres', q{
	CHECKPOINT;
	CREATE TABLE fresh (id int PRIMARY KEY, embedding vector(128));
	CREATE INDEX fresh_sq8 ON fresh USING n2 (embedding) WITH (storage = sq8);
	INSERT INTO fresh SELECT id, embedding FROM items WHERE id < 2000;
	INSERT INTO grown SELECT id + 100000, embedding FROM items WHERE id % 3 = 0;
});
$node->stop('immediate');
$node->start;
verify_clean($node, 'grown_sq8', 'grown_sq8 after crash recovery');
verify_clean($node, 'fresh_sq8', 'fresh_sq8 (trained by its first insert) after crash recovery');
for my $table ('grown', 'fresh')
{
	is($node->safe_psql('postgres',
		"SET enable_seqscan = off; SET n2.iterative_scan = relaxed_order; SELECT count(*) FROM (SELECT id FROM $table ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 100000) s"),
		$node->safe_psql('postgres', "SELECT count(*) FROM $table"),
		"$table after crash recovery: a scan reaches every row");
}
{
	my ($e_ids, $e_d) = knn_ids($node, knn_sql('fresh', 20), $queries,
		setup => 'SET enable_indexscan = off;');
	my ($ids, $d) = knn_ids($node, knn_sql('fresh', $K), $queries);
	ok(in_order($d), 'fresh_sq8: exact order');
	note 'fresh_sq8 (ranges from one vector) recall@10 = ' . recall_at_k($ids, $e_ids, $e_d, $d, $K);
}

$standby->stop;
$node->stop;
done_testing();
