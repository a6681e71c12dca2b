# n2 on Citus: a coordinator and 2 workers (shared_preload_libraries = 'citus'),
# n2 indexes on distributed and reference tables, k-NN pushed to every shard.
# Run by the 'citus' suite of scripts/test.sh (which builds and installs Citus).
#
# bigann10k (10,000 x 128, 100 queries): a local table on the coordinator
# (the single-node index) and a table distributed by id over 2 shards, both
# indexed WITH (m = 16, ef_construction = 64, n_threads = 1):
#   - the index exists on every shard with its reloptions, bad reloptions fail;
#     the k-NN query runs on each shard as ORDER BY ... LIMIT with the shard's
#     n2 index, merged on the coordinator;
#   - recall@10 at the default ef_search, distributed and single-node, >= 0.95
#     against the ground truth, distributed no lower than single-node (0.005
#     tolerance);
#   - settings: a plain SET does not reach the shard queries, SET LOCAL with
#     citus.propagate_set_commands = 'local' does (n2.iterative_scan = off with
#     ef_search = 3 returns 3 rows per shard; ef_search 10 vs 400 reads several
#     times fewer index buffers on every worker, in EXPLAIN ANALYZE), and
#     ALTER DATABASE / ALTER ROLE ... SET reach the workers' new sessions;
#   - moving a shard (logical replication) and rebalancing back (block_writes)
#     rebuild its index and keep every answer identical;
#   - inserts are found, deleted rows are gone after VACUUM, which removes
#     their graph nodes; recall against the disjoint ground truth stays >= 0.95;
#   - a filter on a non-distribution column runs on every shard and returns
#     10 matching rows, recall >= 0.9 against the exact filtered answer;
# fashion-mnist (the first 20,000 x 784, 50 queries, exact answers by a
# sequential scan): distributed by label over 4 shards, CREATE INDEX
# CONCURRENTLY; recall@10 >= 0.95 distributed and single-node; WHERE label = x
# is routed to one shard and uses its index.
# A reference table: its index is on all 3 nodes, queries from the coordinator
# run on its own placement (with its own settings).  Empty shard indexes.
# n2_shard_indexes, n2_index_info_shards and n2_verify_shards cover every
# placement; a corrupted page of one worker's shard index is reported with
# its node and shard, REINDEX repairs it, and every index ends clean.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use N2Test;

my $K = 10;
my $t0 = time;
my $conf = join "\n",
  "shared_preload_libraries = 'citus'",
  'max_prepared_transactions = 50',
  'wal_level = logical',
  'max_wal_senders = 10',
  'max_replication_slots = 10',
  'autovacuum = off',
  "maintenance_work_mem = '256MB'";

# --- the cluster
my $coord = n2_node('coordinator', conf => $conf, extension => 0);
my @workers = map { n2_node("worker$_", conf => $conf, extension => 0) } 1 .. 2;
my $host = $coord->host;    # the socket folder, shared by the TAP nodes
for my $n ($coord, @workers)
{
	$n->append_conf('postgresql.conf', "citus.local_hostname = '$host'");
	$n->reload;
	$n->safe_psql('postgres', 'CREATE EXTENSION citus');
}
$coord->safe_psql('postgres', qq{
	SELECT citus_set_coordinator_host('$host', ${\ $coord->port});
	SELECT citus_add_node('$host', ${\ $workers[0]->port});
	SELECT citus_add_node('$host', ${\ $workers[1]->port});
	CREATE EXTENSION n2;
});
my ($w1port, $w2port) = map { $_->port } @workers;
is($coord->safe_psql('postgres', q{
	SELECT string_agg(result, ',') = (SELECT extversion || ',' || extversion FROM pg_extension WHERE extname = 'n2')
	FROM run_command_on_workers($$SELECT extversion FROM pg_extension WHERE extname = 'n2'$$)}),
	't', 'CREATE EXTENSION n2 reached both workers, same version');

sub sql { return $coord->safe_psql('postgres', $_[0]); }
sub lit { return "'" . vec_literal($_[0]) . "'::vector"; }

# The rows of one k-NN query as "id:dist ..." per query, for comparing runs.
sub answers
{
	my ($sql, $queries, %o) = @_;
	my ($ids, $d) = knn_ids($coord, $sql, $queries, %o);
	return [ map { my $i = $_; join ' ', map { "$ids->[$i][$_]:$d->[$i][$_]" } 0 .. $#{ $ids->[$i] } } 0 .. $#$ids ];
}

sub verify_shards
{
	my ($index) = @_;
	return sql("SELECT coalesce(string_agg(format('%s:%s %s %s/%s: %s', nodename, nodeport, shard_index, blkno, offnum, problem), E'\\n'), '') FROM n2_verify_shards('$index')");
}

# Index buffers each shard's n2 scan read for one query under $setup, from
# EXPLAIN ANALYZE of every task: { shard index => buffers }.
sub shard_buffers
{
	my ($setup, $q) = @_;
	my $plan = sql("SET citus.explain_all_tasks = on; $setup\n"
		  . "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) "
		  . "SELECT id FROM items ORDER BY embedding <-> " . lit($q) . " LIMIT $K");
	my %b;
	while ($plan =~ /Index Scan using (items_n2_\d+) .*?\n\s*Order By: [^\n]*\n\s*Buffers: shared hit=(\d+)(?: read=(\d+))?/g)
	{
		$b{$1} = $2 + ($3 // 0);
	}
	return \%b;
}

# ======================================================================
# bigann10k
my $ds = dataset('bigann10k-128-euclidean');
my $queries = read_fvecs($ds->{query});
my $gt_ids = read_ivecs($ds->{groundtruth});
my $gt_d = read_fvecs($ds->{groundtruth_distances});
my $with = 'WITH (m = 16, ef_construction = 64, n_threads = 1)';

load_vectors($coord, 'items_local', $ds->{base});
sql(qq{
	CREATE INDEX items_local_n2 ON items_local USING n2 (embedding) $with;
	CREATE TABLE items (id int PRIMARY KEY, embedding vector(128));
	SELECT create_distributed_table('items', 'id', shard_count => 2);
	INSERT INTO items SELECT * FROM items_local ORDER BY id;
	CREATE INDEX items_n2 ON items USING n2 (embedding) $with;
	ANALYZE items;
});
note sprintf('bigann10k loaded and indexed: %.1fs', time - $t0);

is(sql(q{SELECT count(*), count(DISTINCT nodeport), sum(elements), sum(heap_tids),
		  min(m) || '/' || max(m), min(ef_construction) || '/' || max(ef_construction), min(dims)
	   FROM n2_index_info_shards('items_n2')}),
	'2|2|10000|10000|16/16|64/64|128',
	'items_n2: one shard index on each worker, 10,000 rows, with the reloptions');
is(sql(q{SELECT string_agg(shard_index, ',' ORDER BY shardid) = string_agg('public.items_n2_' || shardid, ',' ORDER BY shardid)
	   FROM n2_shard_indexes('items_n2')}),
	't', 'shard indexes are named <index>_<shardid>');
{
	my ($ret, $out, $err) = $coord->psql('postgres',
		'CREATE INDEX ON items USING n2 (embedding) WITH (m = 20, max_m0 = 19)');
	like($err, qr/value 19 out of bounds for option "max_m0"/, 'a bad reloption on a distributed table is rejected');
}

# --- the plan: every shard runs ORDER BY ... LIMIT on its n2 index
{
	my $plan = sql("SET citus.explain_all_tasks = on;\n"
		  . 'EXPLAIN (VERBOSE, COSTS OFF) ' . knn_sql('items', $K) =~ s/:q/lit($queries->[0])/ger);
	like($plan, qr/Custom Scan \(Citus Adaptive\)/, 'plan: Citus adaptive executor');
	like($plan, qr/Task Count: 2/, 'plan: one task per shard');
	my @tasks = $plan =~ /Query: SELECT [^\n]* FROM public\.items_\d+ items [^\n]*ORDER BY \(embedding OPERATOR\(public\.<->\) [^\n]*LIMIT '$K'::bigint/g;
	is(scalar @tasks, 2, 'plan: ORDER BY <-> LIMIT is pushed down to both shards');
	my @scans = $plan =~ /Index Scan using items_n2_\d+ on public\.items_\d+/g;
	is(scalar @scans, 2, 'plan: both shard queries use their n2 index');
	like($plan, qr/^Limit\n(?:.*\n)*?\s*->  Sort\n(?:.*\n)*?\s*Sort Key: remote_scan\./m,
		'plan: the coordinator sorts the shard results and applies the LIMIT');
}

# --- recall at the default ef_search, distributed vs single-node
my ($d_ids, $d_d) = knn_ids($coord, knn_sql('items', $K), $queries);
my ($l_ids, $l_d) = knn_ids($coord, knn_sql('items_local', $K), $queries, setup => 'SET enable_seqscan = off;');
my $r_dist = recall_at_k($d_ids, $gt_ids, $gt_d, $d_d, $K);
my $r_local = recall_at_k($l_ids, $gt_ids, $gt_d, $l_d, $K);
note "bigann10k recall\@10 at ef_search 40: distributed $r_dist, single-node $r_local";
cmp_ok($r_dist, '>=', 0.95, "bigann10k: distributed recall\@10 $r_dist >= 0.95");
cmp_ok($r_local, '>=', 0.95, "bigann10k: single-node recall\@10 $r_local >= 0.95");
cmp_ok($r_dist, '>=', $r_local - 0.005, 'bigann10k: distributed recall is no lower than single-node');
is(scalar(grep { @$_ == $K } @$d_ids), scalar @$queries, 'every distributed query returns 10 rows');

# --- settings on the workers
{
	my $count = "SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> "
	  . lit($queries->[5]) . " LIMIT $K) s";
	my $few = 'SET n2.iterative_scan = off; SET n2.ef_search = 3;';
	is(sql("$few $count"), $K, 'a plain SET does not reach the shard queries');
	my $local = "BEGIN; SET LOCAL citus.propagate_set_commands = 'local';";
	is(sql("$local SET LOCAL n2.iterative_scan = off; SET LOCAL n2.ef_search = 3; $count; COMMIT;"),
		6, 'SET LOCAL with citus.propagate_set_commands reaches the shard queries: 3 rows from each shard');

	# buffers count the pages a scan visits only without page copies (a scan
	# reads a copied page from its own memory)
	my $nocopy = "$local SET LOCAL n2.scan_cache_size = 0;";
	my $small = shard_buffers("$nocopy SET LOCAL n2.ef_search = 10;", $queries->[7]);
	my $large = shard_buffers("$nocopy SET LOCAL n2.ef_search = 400;", $queries->[7]);
	my $plain = shard_buffers("$nocopy SET n2.ef_search = 400;", $queries->[7]);
	my $dflt = shard_buffers($nocopy, $queries->[7]);
	note 'index buffers per shard, ef_search 10 / 400 / plain SET 400 / default: '
	  . join(', ', map { "$_ $small->{$_}/$large->{$_}/$plain->{$_}/$dflt->{$_}" } sort keys %$small);
	is(scalar(keys %$small) . '/' . scalar(keys %$large), '2/2', 'EXPLAIN ANALYZE shows both shard scans');
	for my $s (sort keys %$small)
	{
		cmp_ok($large->{$s}, '>', 3 * $small->{$s},
			"$s: ef_search 400 reads more than 3x the index buffers of ef_search 10 ($large->{$s} vs $small->{$s})");
		is($plain->{$s}, $dflt->{$s}, "$s: a plain SET n2.ef_search searches as the default does");
	}

	# per-database and per-role defaults: Citus propagates ALTER DATABASE /
	# ALTER ROLE ... SET; the workers' new sessions start with them
	sql(q{ALTER DATABASE postgres SET n2.iterative_scan = off;
		ALTER DATABASE postgres SET n2.ef_search = 3;});
	is(sql(q{SELECT string_agg(result, ',') FROM run_command_on_workers('SHOW n2.ef_search')}),
		'3,3', 'ALTER DATABASE ... SET n2.ef_search reached both workers');
	is(sql($count), 6, 'ALTER DATABASE ... SET: the shard queries of a new session use it');
	sql('ALTER ROLE CURRENT_USER SET n2.ef_search = 4');
	is(sql($count), 8, 'ALTER ROLE ... SET: the shard queries of a new session use it');
	sql(q{ALTER ROLE CURRENT_USER RESET n2.ef_search;
		ALTER DATABASE postgres RESET n2.ef_search;
		ALTER DATABASE postgres RESET n2.iterative_scan;});
	is(sql($count), $K, 'settings reset: the default again');

	# recall follows ef_search set the SET LOCAL way
	my ($ids1, $d1) = knn_ids($coord, knn_sql('items', $K), $queries,
		setup => "$local SET LOCAL n2.iterative_scan = off; SET LOCAL n2.ef_search = 10;");
	my ($ids2, $d2) = knn_ids($coord, knn_sql('items', $K), $queries,
		setup => "$local SET LOCAL n2.iterative_scan = off; SET LOCAL n2.ef_search = 200;");
	my $r1 = recall_at_k($ids1, $gt_ids, $gt_d, $d1, $K);
	my $r2 = recall_at_k($ids2, $gt_ids, $gt_d, $d2, $K);
	note "distributed recall\@10 with SET LOCAL ef_search 10: $r1, 200: $r2";
	cmp_ok($r2, '>', $r1, "SET LOCAL ef_search 200 finds more true neighbours than 10 ($r2 vs $r1)");
	cmp_ok($r2, '>=', 0.99, "SET LOCAL ef_search 200: recall\@10 $r2 >= 0.99");
}

# --- shard moves rebuild the index on the target; answers stay identical
{
	my $before = answers(knn_sql('items', $K), $queries);
	my ($shard) = sql("SELECT shardid FROM n2_shard_indexes('items_n2') WHERE nodeport = $w1port");
	ok($shard, "a shard of items on worker1 ($shard)");
	my $graph = "SELECT concat_ws(' ', elements, heap_tids, levels, entry_level, level0_degree_min,"
	  . " level0_degree_avg, level0_degree_max, pages) FROM n2_index_info_shards('items_n2') WHERE shardid = $shard";
	my $graph_before = sql($graph);
	sql("SELECT citus_move_shard_placement($shard, '$host', $w1port, '$host', $w2port, shard_transfer_mode => 'force_logical')");
	is(sql("SELECT string_agg(DISTINCT nodeport::text, ',') FROM n2_shard_indexes('items_n2')"),
		$w2port, 'after the move both shard indexes are on worker2');
	is(sql($graph), $graph_before, 'the moved shard index was rebuilt into the same graph (n_threads = 1)');

	is_deeply(answers(knn_sql('items', $K), $queries), $before,
		'after a shard move (logical replication) every answer is identical');
	sql(q{SELECT rebalance_table_shards('items', shard_transfer_mode => 'block_writes')});
	is(sql("SELECT count(DISTINCT nodeport) FROM n2_shard_indexes('items_n2')"), 2,
		'rebalance_table_shards moved a shard back');
	is_deeply(answers(knn_sql('items', $K), $queries), $before,
		'after rebalancing (block_writes) every answer is identical');
	is(verify_shards('items_n2'), '', 'n2_verify_shards clean after the moves');
	# the documented recipe without n2's functions
	is(sql(q{SELECT string_agg(result, ',') FROM run_command_on_shards('items',
			$$SELECT count(*) FROM n2_verify(replace('%s', 'items_', 'items_n2_')::regclass)$$)}),
		'0,0', 'run_command_on_shards with n2_verify on <index>_<shardid>: clean');
}

# --- inserts, deletes, VACUUM
{
	my $off = vec_literal([ 0.5, (0) x 127 ]);
	sql("INSERT INTO items SELECT 20000 + id, embedding + '$off' FROM items WHERE id < 100");
	my ($ids) = knn_ids($coord, knn_sql('items', $K), $queries);
	my $found = grep { my $i = $_; grep { $_ == 20000 + $i } @{ $ids->[$i] } } 0 .. $#$ids;
	cmp_ok($found, '>=', 98, "inserted rows are found by the shard indexes ($found of 100)");

	my $info = q{SELECT sum(elements) || ' ' || sum(heap_tids) FROM n2_index_info_shards('items_n2')};
	sql('DELETE FROM items WHERE id < 100 OR id >= 20000');
	is(sql($info), '10100 10100', 'before VACUUM the shard indexes still hold the deleted rows');
	sql('VACUUM items');
	sql('DELETE FROM items_local WHERE id < 100; VACUUM items_local;');
	is(sql($info), '9900 9900', 'VACUUM removed the deleted rows from the shard indexes');
	is(verify_shards('items_n2'), '', 'n2_verify_shards clean after DELETE and VACUUM');
	my $gid = read_ivecs($ds->{groundtruth_disjoint});
	my $gd  = read_fvecs($ds->{groundtruth_disjoint_distances});
	# ground truth ids of the disjoint set are row numbers of base[100:]
	$gid = [ map { [ map { $_ + 100 } @$_ ] } @$gid ];
	my ($di, $dd) = knn_ids($coord, knn_sql('items', $K), $queries);
	my ($li, $ld) = knn_ids($coord, knn_sql('items_local', $K), $queries, setup => 'SET enable_seqscan = off;');
	my $rd = recall_at_k($di, $gid, $gd, $dd, $K);
	my $rl = recall_at_k($li, $gid, $gd, $ld, $K);
	note "after DELETE + VACUUM: recall\@10 distributed $rd, single-node $rl";
	cmp_ok($rd, '>=', 0.95, "after DELETE + VACUUM: distributed recall\@10 $rd >= 0.95");
	is(scalar(grep { $_ < 100 || $_ >= 20000 } map { @$_ } @$di), 0, 'no deleted row is returned');
}

# --- a filter on a non-distribution column runs on every shard.  On 5,000
# rows a shard's planner prefers a sequential scan for a filter it thinks
# selective: enable_seqscan = off, sent the SET LOCAL way, puts the n2 index
# to work.
{
	my $where = 'id % 10 = 3';
	my $noseq = "BEGIN; SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL enable_seqscan = off;";
	my ($fi, $fd) = knn_ids($coord, knn_sql('items', $K, where => $where), $queries, setup => $noseq);
	my ($ei, $ed) = knn_ids($coord, knn_sql('items_local', $K, where => $where), $queries,
		setup => 'SET enable_indexscan = off; SET enable_bitmapscan = off;');
	my $rf = recall_at_k($fi, $ei, $ed, $fd, $K);
	note "filtered (10%) distributed recall\@10: $rf";
	is(scalar(grep { @$_ == $K } @$fi), scalar @$queries, 'filtered: every query returns 10 rows');
	is(scalar(grep { $_ % 10 != 3 } map { @$_ } @$fi), 0, 'filtered: every row matches the filter');
	cmp_ok($rf, '>=', 0.9, "filtered: recall\@10 $rf >= 0.9 against the exact filtered answer");
	my $plan = sql("SET citus.explain_all_tasks = on; $noseq EXPLAIN (COSTS OFF) "
		  . knn_sql('items', $K, where => $where) =~ s/:q/lit($queries->[0])/ger);
	is(scalar(() = $plan =~ /Index Scan using items_n2_\d+/g), 2, 'filtered: both shards use their n2 index');
}
note sprintf('bigann10k done: %.1fs', time - $t0);

# ======================================================================
# fashion-mnist: 20,000 x 784, distributed by label (4 shards)
{
	my $fm = dataset('fashion-mnist-784-euclidean');
	my $labels = read_u8($fm->{base_labels});
	my $NB = 20_000;
	my $fq = read_fvecs($fm->{query}, 50);
	my $qlabels = read_u8($fm->{query_labels});
	my $raw = $coord->basedir . '/fm_raw.tsv';
	my $tsv = $coord->basedir . '/fm.tsv';
	write_copy_file($fm->{base}, $raw, limit => $NB);
	open(my $in, '<', $raw) or die "$raw: $!";
	open(my $out, '>', $tsv) or die "$tsv: $!";
	while (my $line = <$in>)
	{
		my $tab = index($line, "\t");
		print $out substr($line, 0, $tab), "\t", $labels->[ substr($line, 0, $tab) ], substr($line, $tab);
	}
	close $in;
	close $out or die "$tsv: $!";
	unlink $raw;
	my $fwith = 'WITH (m = 16, ef_construction = 64, n_threads = 1)';
	sql(qq{
		CREATE TABLE fm_local (id int PRIMARY KEY, label int NOT NULL, embedding vector(784));
		COPY fm_local FROM '$tsv';
		CREATE TABLE fm (id int, label int NOT NULL, embedding vector(784), PRIMARY KEY (label, id));
		SELECT create_distributed_table('fm', 'label', shard_count => 4);
		INSERT INTO fm SELECT * FROM fm_local ORDER BY id;
		ANALYZE fm_local;
		ANALYZE fm;
	});
	unlink $tsv;
	$coord->safe_psql('postgres', "CREATE INDEX fm_local_n2 ON fm_local USING n2 (embedding) $fwith");
	$coord->safe_psql('postgres', "CREATE INDEX CONCURRENTLY fm_n2 ON fm USING n2 (embedding) $fwith");
	note sprintf('fashion-mnist loaded and indexed: %.1fs', time - $t0);
	is(sql(q{SELECT count(*) || ' ' || sum(heap_tids) FROM n2_index_info_shards('fm_n2')}),
		"4 $NB", 'CREATE INDEX CONCURRENTLY: 4 shard indexes holding every row');
	is(sql(q{SELECT count(*) || ' ' || bool_and(success AND result::bool) FROM run_command_on_shards('fm',
			$$SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = '%s'::regclass$$)}),
		'4 true', 'CREATE INDEX CONCURRENTLY: every shard index is valid');

	my ($ei, $ed) = knn_ids($coord, knn_sql('fm_local', 50), $fq, setup => 'SET enable_indexscan = off;');
	my ($di, $dd) = knn_ids($coord, knn_sql('fm', $K), $fq);
	my ($li, $ld) = knn_ids($coord, knn_sql('fm_local', $K), $fq, setup => 'SET enable_seqscan = off;');
	my $rd = recall_at_k($di, $ei, $ed, $dd, $K);
	my $rl = recall_at_k($li, $ei, $ed, $ld, $K);
	note "fashion-mnist recall\@10 at ef_search 40: distributed $rd, single-node $rl";
	cmp_ok($rd, '>=', 0.95, "fashion-mnist: distributed recall\@10 $rd >= 0.95");
	cmp_ok($rl, '>=', 0.95, "fashion-mnist: single-node recall\@10 $rl >= 0.95");
	cmp_ok($rd, '>=', $rl - 0.005, 'fashion-mnist: distributed recall is no lower than single-node');

	# WHERE label = x: routed to the one shard holding label x
	my @ql = map { $qlabels->[$_] } 0 .. $#$fq;
	my ($ri, $rdist, $xi, $xd) = ([], [], [], []);
	for my $label (sort { $a <=> $b } keys %{ { map { $_ => 1 } @ql } })
	{
		my @js = grep { $ql[$_] == $label } 0 .. $#ql;
		my $qs = [ map { $fq->[$_] } @js ];
		my ($i1, $d1) = knn_ids($coord, knn_sql('fm', $K, where => "label = $label"), $qs);
		my ($i2, $d2) = knn_ids($coord, knn_sql('fm_local', $K, where => "label = $label"), $qs,
			setup => 'SET enable_indexscan = off; SET enable_bitmapscan = off;');
		for my $n (0 .. $#js)
		{
			$ri->[ $js[$n] ] = $i1->[$n];
			$rdist->[ $js[$n] ] = $d1->[$n];
			$xi->[ $js[$n] ] = $i2->[$n];
			$xd->[ $js[$n] ] = $d2->[$n];
		}
	}
	my $rr = recall_at_k($ri, $xi, $xd, $rdist, $K);
	note "fashion-mnist WHERE label = x (routed): recall\@10 $rr";
	cmp_ok($rr, '>=', 0.95, "routed by the distribution column: recall\@10 $rr >= 0.95");
	my $plan = sql('EXPLAIN (COSTS OFF) ' . knn_sql('fm', $K, where => "label = $ql[0]") =~ s/:q/lit($fq->[0])/ger);
	like($plan, qr/Task Count: 1\b/, 'WHERE label = x: one task (router query)');
	like($plan, qr/Index Scan using fm_n2_\d+ on fm_\d+/, 'WHERE label = x: the shard query uses its n2 index');
	is(verify_shards('fm_n2'), '', 'n2_verify_shards clean on fm_n2');
}
note sprintf('fashion-mnist done: %.1fs', time - $t0);

# ======================================================================
# a reference table: a copy of the index on every node
{
	sql(q{CREATE TABLE ref (id int PRIMARY KEY, embedding vector(128));
		SELECT create_reference_table('ref');
		INSERT INTO ref SELECT * FROM items_local WHERE id BETWEEN 100 AND 3099;
		CREATE INDEX ref_n2 ON ref USING n2 (embedding) WITH (m = 8);
		ANALYZE ref;});
	is(sql(q{SELECT count(DISTINCT nodeport) || ' ' || min(elements) || ' ' || max(elements) FROM n2_index_info_shards('ref_n2')}),
		'3 3000 3000', 'reference table: the index is on all 3 nodes');
	my $sub = [ @$queries[ 0 .. 19 ] ];
	my ($ri, $rd) = knn_ids($coord, knn_sql('ref', $K), $sub, setup => 'SET enable_seqscan = off;');
	my ($ei, $ed) = knn_ids($coord, knn_sql('ref', 50), $sub, setup => 'SET enable_indexscan = off;');
	my $r = recall_at_k($ri, $ei, $ed, $rd, $K);
	cmp_ok($r, '>=', 0.95, "reference table: recall\@10 $r >= 0.95");
	my $count = 'SELECT count(*) FROM (SELECT id FROM ref ORDER BY embedding <-> ' . lit($queries->[5]) . " LIMIT $K) s";
	is(sql("SET n2.iterative_scan = off; SET n2.ef_search = 3; $count"), 3,
		'reference table: read on the coordinator, with its session settings');
	is(verify_shards('ref_n2'), '', 'n2_verify_shards clean on ref_n2');
}

# --- shard indexes with no rows
sql(q{CREATE TABLE few (id int PRIMARY KEY, embedding vector(3));
	SELECT create_distributed_table('few', 'id', shard_count => 4);
	INSERT INTO few VALUES (1, '[1,2,3]');
	CREATE INDEX few_n2 ON few USING n2 (embedding);});
is(sql(q{SELECT count(*) || ' ' || sum(elements) || ' ' || count(*) FILTER (WHERE elements = 0)
	   FROM n2_index_info_shards('few_n2')}),
	'4 1 3', 'n2_index_info_shards: 4 shard indexes, 3 of them empty');
is(verify_shards('few_n2'), '', 'n2_verify_shards clean on empty shard indexes');
is(sql(q{SELECT id FROM few ORDER BY embedding <-> '[1,2,2]' LIMIT 5}), '1',
	'k-NN over shards with no rows');

# --- a distributed partitioned table: its n2 index's shard indexes are its
# partitions' (the partitioned index has none of its own)
sql(q{CREATE TABLE ev (id bigint, day int, embedding vector(3), PRIMARY KEY (id, day))
		PARTITION BY RANGE (day);
	CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM (0) TO (5);
	CREATE TABLE ev_2 PARTITION OF ev FOR VALUES FROM (5) TO (10);
	CREATE INDEX ev_n2 ON ev USING n2 (embedding);
	SELECT create_distributed_table('ev', 'id', shard_count => 2);
	INSERT INTO ev SELECT g, g % 10, ARRAY[g % 7, g % 11, g % 13]::real[]::vector
		FROM generate_series(1, 1000) g;});
is(sql(q{SELECT count(*) || ' ' || count(DISTINCT shard_index) FROM n2_index_info_shards('ev_n2')}),
	'4 4', 'partitioned: n2_index_info_shards covers the 2 x 2 shard indexes of the partitions');
is(sql(q{SELECT sum(heap_tids) FROM n2_index_info_shards('ev_n2')}), '1000',
	'partitioned: which hold every row');
is(verify_shards('ev_n2'), '', 'partitioned: n2_verify_shards clean');

# ======================================================================
# n2_verify_shards finds a damaged shard index, and says where
{
	my ($shard, $sidx) = split /\|/, sql("SELECT shardid, shard_index FROM n2_shard_indexes('items_n2') WHERE nodeport = $w1port LIMIT 1");
	ok($shard, "items_n2 has a shard index on worker1 ($sidx)");
	my $path = $workers[0]->data_dir . '/' . $workers[0]->safe_psql('postgres', "SELECT pg_relation_filepath('$sidx')");
	$workers[0]->stop;
	# zero the page id in the special space of block 1 (pd_special at byte 16)
	open(my $fh, '+<:raw', $path) or die "$path: $!";
	my $hdr;
	sysseek($fh, 8192 + 16, 0) or die "seek $path: $!";
	sysread($fh, $hdr, 2) == 2 or die "read $path: $!";
	my $special = unpack('v', $hdr);
	cmp_ok($special, '<', 8192, "block 1 has a special space at $special");
	sysseek($fh, 8192 + $special + 2, 0) or die "seek $path: $!";
	syswrite($fh, pack('v', 0), 2) == 2 or die "write $path: $!";
	close $fh;
	$workers[0]->start;
	my $problems = verify_shards('items_n2');
	like($problems, qr/^\Q$host\E:$w1port \Q$sidx\E 1\/: not an n2 data page$/m,
		'n2_verify_shards reports the damaged page with its node and shard index');
	is(scalar(grep { !/^\Q$host\E:$w1port \Q$sidx\E / } split /\n/, $problems), 0,
		'only that shard index has problems');
	sql('REINDEX INDEX items_n2');
	is(verify_shards('items_n2'), '', 'REINDEX on the coordinator repaired it');
}

# --- n2's functions reject what they cannot check
{
	my ($ret, $out, $err) = $coord->psql('postgres', "SELECT * FROM n2_verify_shards('items_pkey')");
	like($err, qr/"items_pkey" is not an n2 index/, 'n2_verify_shards: not an n2 index');
	($ret, $out, $err) = $coord->psql('postgres', "SELECT * FROM n2_index_info_shards('items_local_n2')");
	like($err, qr/table "items_local" of index "items_local_n2" is not a Citus table/,
		'n2_index_info_shards: a local index is not a Citus table');
}

for my $i (qw(items_n2 fm_n2 ref_n2))
{
	is(verify_shards($i), '', "$i: every shard index clean at the end");
}
note sprintf('total: %.1fs', time - $t0);

$coord->stop;
$_->stop for @workers;
done_testing();
