# Extension versions: every earlier version's frozen script still installs
# against this library, ALTER EXTENSION n2 UPDATE takes it to the current
# version, and the updated database holds exactly the objects a fresh
# install of the current version creates (compared through pg_dump
# --binary-upgrade, which lists every member of an extension).  An index
# built under the old version keeps working after the update.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $node = n2_node('update', extension => 0);

my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'n2'");
like($current, qr/^\d+\.\d+\.\d+$/, "current version is $current");

# Every version that has an update path to the current one.
my @old = split /\n/, $node->safe_psql('postgres', qq{
	SELECT source FROM pg_extension_update_paths('n2')
	WHERE target = '$current' AND path IS NOT NULL ORDER BY source});
ok(@old > 0, 'update paths to the current version: ' . join(', ', @old));
ok((grep { $_ eq '0.1.0' } @old), '0.1.0 updates to the current version');

# The extension's objects as pg_dump --binary-upgrade writes them, without
# the OIDs it preassigns (they differ between databases).
sub members
{
	my ($db) = @_;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[
			'pg_dump', '--schema-only', '--binary-upgrade', '--no-comments',
			'-d', $node->connstr($db)
		],
		'>', \$stdout, '2>', \$stderr);
	ok($ok, "pg_dump of $db") or diag($stderr);
	my @lines = grep { !/binary_upgrade_set_next_|^--|^\\(un)?restrict |^SET |^SELECT pg_catalog.set_config/ }
	  split /\n/, $stdout;
	return join("\n", grep { $_ ne '' } @lines);
}

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION n2');
is($node->safe_psql('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'n2'"),
	$current, 'CREATE EXTENSION installs the current version');
my $fresh = members('fresh');
like($fresh, qr/CREATE ACCESS METHOD n2 /, 'the dump lists the extension\'s members');

for my $old (@old)
{
	(my $db = "from_$old") =~ s/\./_/g;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, qq{
		CREATE EXTENSION n2 VERSION '$old';
		CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
		INSERT INTO items SELECT i, ARRAY[i % 7, i % 11, i % 13]::real[]::vector
			FROM generate_series(1, 300) i;
		CREATE INDEX items_idx ON items USING n2 (embedding vector_l2_ops);
	});
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'n2'"),
		$old, "$old: its frozen script installs");
	my $knn = q{SET enable_seqscan = off; SET n2.ef_search = 300;
		SELECT string_agg(id::text, ',') FROM (
			SELECT id FROM items ORDER BY embedding <-> '[3,5,7]' LIMIT 5) s};
	my $before = $node->safe_psql($db, $knn);
	like($before, qr/^\d+(,\d+){4}$/, "$old: k-NN through the index");

	$node->safe_psql($db, 'ALTER EXTENSION n2 UPDATE');
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'n2'"),
		$current, "$old: ALTER EXTENSION n2 UPDATE reaches $current");

	is($node->safe_psql($db, $knn), $before,
		"$old: the index built before the update answers the same");
	$node->safe_psql($db, q{INSERT INTO items VALUES (1000, '[100,100,100]')});
	is($node->safe_psql($db, q{SET enable_seqscan = off;
		SELECT id FROM items ORDER BY embedding <-> '[100,100,100.5]' LIMIT 1}),
		'1000', "$old: inserts into that index work after the update");
	is($node->safe_psql($db, "SELECT count(*) FROM n2_verify('items_idx')"), '0',
		"$old: n2_verify clean after the update");

	$node->safe_psql($db, 'DROP TABLE items');
	my $updated = members($db);
	is($updated, $fresh, "$old: the updated extension has the objects of a fresh install");
	if ($updated ne $fresh)
	{
		my @u = split /\n/, $updated;
		my %f = map { $_ => 1 } split /\n/, $fresh;
		my %uu = map { $_ => 1 } @u;
		diag("only after the update: $_") for grep { !$f{$_} } @u;
		diag("only in a fresh install: $_") for grep { !$uu{$_} } split /\n/, $fresh;
	}
}

$node->stop;
done_testing();
