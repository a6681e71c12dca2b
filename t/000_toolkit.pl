# Self-test of the TAP toolkit (t/N2Test.pm): dataset readers, bulk loading, batched
# k-NN queries and tie-aware recall, checked against exact (sequential scan) search.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $ds = dataset('bigann10k-128-euclidean');

# --- readers
my $base = read_fvecs($ds->{base});
is(scalar @$base,         10_000, 'read_fvecs: 10,000 base vectors');
is(scalar @{ $base->[0] }, 128,    'read_fvecs: 128 dimensions');
my $tail = read_fvecs($ds->{base}, 2, 9_998);
is_deeply($tail, [ @$base[ 9998, 9999 ] ], 'read_fvecs: limit and offset');

my $nq       = 20;
my $queries  = read_fvecs($ds->{query}, $nq);
my $gt_ids   = read_ivecs($ds->{groundtruth}, $nq);
my $gt_dists = read_fvecs($ds->{groundtruth_distances}, $nq);
is(scalar @$queries,         $nq, 'read_fvecs: query limit');
is(scalar @{ $gt_ids->[0] }, 100, 'read_ivecs: 100 ground-truth ids per query');
is_deeply($queries->[3], $base->[3], 'queries are base[0:100]');
cmp_ok(abs(l2_distance($queries->[0], $base->[ $gt_ids->[0][5] ]) - $gt_dists->[0][5]),
	'<', 1e-3, 'l2_distance agrees with the ground-truth distance');

is(vec_literal([ 1, 2.5, -3 ]), '[1,2.5,-3]', 'vec_literal');

# --- recall_at_k on hand-made data (ties at the k-th distance count as hits)
{
	my $gi = [ [ 10, 11, 12, 13 ] ];
	my $gd = [ [ 1.0, 2.0, 2.0, 3.0 ] ];
	is(recall_at_k([ [ 10, 11 ] ], $gi, $gd, 2), 1, 'recall: exact answer');
	is(recall_at_k([ [ 10, 12 ] ], $gi, $gd, 2), 1, 'recall: tie at the k-th distance is a hit');
	is(recall_at_k([ [ 10, 13 ] ], $gi, $gd, 2), 0.5, 'recall: farther row is a miss');
	is(recall_at_k([ [ 10, 10 ] ], $gi, $gd, 2), 0.5, 'recall: duplicates count once');
	is(recall_at_k([ [10] ], $gi, $gd, 2), 0.5, 'recall: short result');
	is(recall_at_k([ [ 10, 99 ] ], $gi, $gd, [ [ 1.0, 2.0 ] ], 2),
		1, 'recall: id outside ground truth list at a tied distance is a hit');
	my ($mean, $per) = recall_at_k([ [ 10, 11 ], [ 13, 10 ] ], [ @$gi, @$gi ], [ @$gd, @$gd ], 2);
	is_deeply([ $mean, $per ], [ 0.75, [ 1, 0.5 ] ], 'recall: mean and per-query');
}

# --- database side
my $node = n2_node('toolkit');
my $t0   = time;
is(load_vectors($node, 'items', $ds->{base}), 10_000, 'load_vectors from .fvecs file');
note sprintf('loaded 10,000 x 128 in %ds', time - $t0);
is($node->safe_psql('postgres', 'SELECT count(*), min(id), max(id) FROM items'),
	'10000|0|9999', 'row count and ids');
is($node->safe_psql('postgres', 'SELECT vector_dims(embedding) FROM items WHERE id = 0'),
	'128', 'dimension');
is($node->safe_psql('postgres', 'SELECT embedding::text FROM items WHERE id = 9999'),
	vec_literal($base->[9999]), 'vectors round-trip exactly');

is(load_vectors($node, 'small', $base, limit => 5, offset => 100), 5,
	'load_vectors from an arrayref with limit/offset');
is($node->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM small'),
	'100,101,102,103,104', 'ids are row numbers of the source');

# exact k-NN (no index: sequential scan + sort) must match the ground truth
my $k = 10;
my ($ids, $dists) = knn_ids($node, knn_sql('items', $k), $queries);
is(scalar @$ids, $nq, 'knn_ids: one result per query');
is(scalar @{ $ids->[0] }, $k, 'knn_ids: k rows');
is($ids->[0][0], 0, 'query 0 finds base[0] first');
cmp_ok(abs($dists->[1][3] - $gt_dists->[1][3]), '<', 1e-2, 'returned distances match ground truth');
is(recall_at_k($ids, $gt_ids, $gt_dists, $dists, $k), 1, 'exact search: recall@10 = 1.0');
is(recall_at_k($ids, $gt_ids, $gt_dists, $k), 1, 'exact search: recall@10 = 1.0 from ids alone');
my $same = grep { join(',', @{ $ids->[$_] }) eq join(',', @{ $gt_ids->[$_] }[ 0 .. $k - 1 ]) } 0 .. $nq - 1;
cmp_ok($same, '>=', $nq - 2, "ids equal the ground truth ids for $same of $nq queries (rest: ties)");

my $ids_only = knn_ids($node, "SELECT id FROM items ORDER BY embedding <-> :q LIMIT 3", [ @$queries[ 0 .. 2 ] ],
	setup => 'SET enable_indexscan = off;');
is_deeply($ids_only, [ map { [ @{ $ids->[$_] }[ 0 .. 2 ] ] } 0 .. 2 ], 'knn_ids: id-only query and setup');

like(explain_knn($node, knn_sql('items', $k), $queries->[0]), qr/Limit/, 'explain_knn returns a plan');

$node->stop;
done_testing();
