# The on-disk format version: an index whose metapage says another format
# version than this build's is refused by every path that reads or changes
# it (scans, inserts, VACUUM, n2_verify, n2_index_info, n2_index_graph), with
# SQLSTATE 0A000 and a hint naming the REINDEX that fixes it; the refused
# calls leave the file as it was; planning does not refuse, so plans that
# do not scan the index still run; the REINDEX the hint names restores the
# index.  Old-format indexes are made by patching the version field of the
# metapage in the file of a stopped cluster.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my $node = n2_node('format', conf => 'autovacuum = off');

# Patching a page by hand would break its checksum.
is($node->safe_psql('postgres', 'SHOW data_checksums'), 'off', 'cluster runs without data checksums');

$node->safe_psql('postgres', q{
	SELECT setseed(0.25);
	CREATE TABLE items (id int PRIMARY KEY, embedding vector(8));
	INSERT INTO items
		SELECT i, (SELECT array_agg(random())::real[] FROM generate_series(1, 8) WHERE i > 0)::vector
		FROM generate_series(1, 600) i;
	CREATE INDEX items_idx ON items USING n2 (embedding vector_l2_ops) WITH (m = 8);
	CREATE SCHEMA "Odd Schema";
	CREATE TABLE "Odd Schema".docs (id int, embedding vector(8));
	INSERT INTO "Odd Schema".docs SELECT id, embedding FROM items;
	CREATE INDEX "Docs Idx" ON "Odd Schema".docs USING n2 (embedding vector_l2_ops);
	-- dead rows, so that VACUUM has index entries to remove
	DELETE FROM items WHERE id % 10 = 0;
	DELETE FROM "Odd Schema".docs WHERE id % 10 = 0;
});

my $current = $node->safe_psql('postgres', 'SELECT format_version FROM n2_index_info(\'items_idx\')');
like($current, qr/^\d+$/, "n2_index_info reports format version $current");

my $knn = q{SET enable_seqscan = off; SET n2.ef_search = 600;
	SELECT string_agg(id::text, ',') FROM (
		SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 7) LIMIT 10) s};
my $before = $node->safe_psql('postgres', $knn);
like($before, qr/^7(,\d+){9}$/, 'k-NN through the index before the patch');
(my $exact = $knn) =~ s/enable_seqscan/enable_indexscan/;
is($before, $node->safe_psql('postgres', $exact), 'k-NN through the index is exact');

my %file;
for my $idx ('items_idx', '"Odd Schema"."Docs Idx"')
{
	$file{$idx} = $node->data_dir . '/'
	  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$idx')");
}

# The metapage's contents start right after the 24-byte page header: magic,
# then version, both uint32 in the machine's byte order.
sub meta_fields
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	my $page;
	read($fh, $page, 8192) == 8192 or die "short read of $path";
	close $fh;
	return unpack('L L', substr($page, 24, 8));
}

sub set_version
{
	my ($path, $version) = @_;
	open(my $fh, '+<:raw', $path) or die "open $path: $!";
	seek($fh, 28, 0) or die "seek $path: $!";
	print $fh pack('L', $version) or die "write $path: $!";
	close $fh or die "close $path: $!";
}

sub slurp_raw
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	local $/;
	my $bytes = <$fh>;
	close $fh;
	return $bytes;
}

# One index gets an older version than this build's, the other a newer one.
my %version = ('items_idx' => $current - 1, '"Odd Schema"."Docs Idx"' => $current + 1);

$node->stop;
for my $idx (sort keys %file)
{
	my ($magic, $version) = meta_fields($file{$idx});
	is(sprintf('%08X', $magic), '4E32484E', "$idx: metapage magic found where expected");
	is($version, $current, "$idx: metapage version found where expected");
	set_version($file{$idx}, $version{$idx});
	is((meta_fields($file{$idx}))[1], $version{$idx}, "$idx: version patched to $version{$idx}");
}
my %patched = map { $_ => slurp_raw($file{$_}) } keys %file;
$node->start;

# Runs $sql expecting the format error; returns psql's stderr.
sub refused
{
	my ($sql, $idx, $name, $hint, $what) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SET enable_seqscan = off;\n\\set VERBOSITY verbose\n$sql", on_error_stop => 1);
	isnt($ret, 0, "$what: fails");
	like($stderr,
		qr/ERROR:  0A000: index "\Q$name\E" has n2 on-disk format version $version{$idx}, this n2 needs version $current/,
		"$what: SQLSTATE 0A000 and the versions");
	like($stderr, qr/HINT:  \Q$hint\E\n/, "$what: the hint names the REINDEX");
	return $stderr;
}

my $q = '(SELECT embedding FROM items WHERE id = 7)';
for my $case (
	[ 'items_idx', 'items_idx', 'REINDEX INDEX public.items_idx', 'items', 'items_idx' ],
	[ '"Odd Schema"."Docs Idx"', 'Docs Idx', 'REINDEX INDEX "Odd Schema"."Docs Idx"',
		'"Odd Schema".docs', "'\"Odd Schema\".\"Docs Idx\"'" ])
{
	my ($idx, $name, $hint, $table, $regclass) = @$case;
	$regclass = "'$regclass'" if $regclass !~ /^'/;
	refused("SELECT id FROM $table ORDER BY embedding <-> $q LIMIT 5", $idx, $name, $hint,
		"$name: index scan");
	refused("INSERT INTO $table VALUES (1001, '[1,2,3,4,5,6,7,8]')", $idx, $name, $hint,
		"$name: insert");
	refused("VACUUM (INDEX_CLEANUP ON) $table", $idx, $name, $hint, "$name: VACUUM");
	refused("SELECT * FROM n2_verify($regclass)", $idx, $name, $hint, "$name: n2_verify");
	refused("SELECT * FROM n2_index_info($regclass)", $idx, $name, $hint, "$name: n2_index_info");
	refused("SELECT count(*) FROM n2_index_graph($regclass)", $idx, $name, $hint,
		"$name: n2_index_graph");
}

# Planning reads the metapage too, but quietly: a query that does not scan
# the index plans and runs beside it.
is($node->safe_psql('postgres',
		"SET enable_indexscan = off; SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> $q LIMIT 5) s"),
	'5', 'the exact plan runs beside an index in another format');

# Nothing the refused calls did reached the index files.
$node->safe_psql('postgres', 'CHECKPOINT');
for my $idx (sort keys %file)
{
	ok(slurp_raw($file{$idx}) eq $patched{$idx}, "$idx: refused calls left the file unchanged");
}

# The hint's command restores each index.
$node->safe_psql('postgres', 'REINDEX INDEX public.items_idx');
$node->safe_psql('postgres', 'REINDEX INDEX "Odd Schema"."Docs Idx"');
for my $regclass ('items_idx', '"Odd Schema"."Docs Idx"')
{
	is($node->safe_psql('postgres', "SELECT format_version FROM n2_index_info('$regclass')"),
		$current, "$regclass: format version $current after REINDEX");
	is($node->safe_psql('postgres', "SELECT count(*) FROM n2_verify('$regclass')"),
		'0', "$regclass: n2_verify clean after REINDEX");
}
is($node->safe_psql('postgres', $knn), $before, 'k-NN through the rebuilt index as before');
$node->safe_psql('postgres', q{
	INSERT INTO items VALUES (1001, '[1,2,3,4,5,6,7,8]');
	VACUUM (INDEX_CLEANUP ON) items;
});
is($node->safe_psql('postgres', q{SET enable_seqscan = off;
	SELECT id FROM items ORDER BY embedding <-> '[1,2,3,4,5,6,7,8]' LIMIT 1}),
	'1001', 'insert and VACUUM work again');

$node->stop;
done_testing();
