
=pod

=head1 NAME

N2Test - helpers shared by the n2 TAP tests (t/*.pl)

=head1 SYNOPSIS

  use PostgreSQL::Test::Cluster;
  use PostgreSQL::Test::Utils;
  use Test::More;
  use N2Test;

  my $node = n2_node('main');                     # initdb, start, CREATE EXTENSION n2
  my $ds   = dataset('bigann10k-128-euclidean');  # paths of base/query/groundtruth files
  load_vectors($node, 'items', $ds->{base});      # stream 10,000 x 128 in with COPY
  my $queries  = read_fvecs($ds->{query}, 20);
  my $gt_ids   = read_ivecs($ds->{groundtruth}, 20);
  my $gt_dists = read_fvecs($ds->{groundtruth_distances}, 20);
  my ($ids, $dists) = knn_ids($node, knn_sql('items', 10), $queries,
                              setup => 'SET n2.ef_search = 40;');
  my $recall = recall_at_k($ids, $gt_ids, $gt_dists, $dists, 10);

The test scripts find this module because the Makefile adds C<-I ./t> to PROVE_FLAGS.

=head1 FUNCTIONS

=cut

package N2Test;

use strict;
use warnings;

use Carp qw(croak confess);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Exporter qw(import);
use IPC::Run;
use PostgreSQL::Test::Utils qw(append_to_file);

our @EXPORT = qw(
  data_dir dataset read_fvecs read_ivecs read_u8 vec_literal
  write_copy_file load_vectors n2_node
  knn_sql knn_ids explain_knn recall_at_k l2_distance kill9_cluster
  start_script start_paused
);

# Relative tolerance when comparing distances (float32 sums in the server vs float64
# ground truth). Tests may localise it: local $N2Test::EPS_REL = 1e-3;
our $EPS_REL = 1e-4;
our $EPS_ABS = 1e-6;

=head2 data_dir()

Absolute path of the shared data folder: C<$ENV{N2_DATA_DIR}> if set, else
C<< <repo>/../shared/data >> (the repo root being the parent of this file's folder).
Dies if it does not exist: tests must never skip silently for want of data.

=cut

sub data_dir
{
	my $d = $ENV{N2_DATA_DIR};
	if (defined $d && $d ne '')
	{
		-d $d or confess "N2_DATA_DIR=$d is not a directory";
		return abs_path($d);
	}
	my $root = abs_path(dirname(abs_path(__FILE__)) . '/..');
	my $cand = "$root/../shared/data";
	-d $cand
	  or confess "shared data folder not found: set N2_DATA_DIR or provide $cand";
	return abs_path($cand);
}

=head2 dataset($name)

Hashref of the files of one dataset folder under data_dir(), keyed by file name without
extension (base, query, groundtruth, groundtruth_distances, base_disjoint, ...), plus
C<dir>. Dies if the folder or its base.fvecs is missing.

=cut

sub dataset
{
	my ($name) = @_;
	my $dir = data_dir() . "/$name";
	-d $dir or confess "dataset $name not found in " . data_dir();
	my %ds = (dir => $dir);
	opendir(my $dh, $dir) or confess "opendir $dir: $!";
	for my $f (readdir $dh)
	{
		next unless $f =~ /^(.+)\.(fvecs|ivecs|u8)$/;
		$ds{$1} = "$dir/$f";
	}
	closedir $dh;
	-f ($ds{base} // '') or confess "dataset $name has no base.fvecs";
	return \%ds;
}

# Read up to $limit vectors (all if undef) starting at vector $offset (default 0).
# $code is the unpack letter for one element ('f<' or 'l<').
sub _read_vecs
{
	my ($path, $code, $limit, $offset) = @_;
	$offset //= 0;
	open(my $fh, '<:raw', $path) or confess "cannot open $path: $!";
	my $hdr;
	my $got = read($fh, $hdr, 4);
	return [] if !$got;
	my $dim = unpack('l<', $hdr);
	confess "$path: bad dimension $dim" if $dim <= 0 || $dim > 1_000_000;
	my $rec = 4 + 4 * $dim;
	seek($fh, $offset * $rec, 0) or confess "seek $path: $!";
	my @out;
	my $buf;
	while (!defined $limit || @out < $limit)
	{
		my $n = read($fh, $buf, $rec);
		confess "read $path: $!" if !defined $n;
		last if $n == 0;
		confess "$path: truncated record" if $n != $rec;
		my ($d, @v) = unpack("l< ${code}$dim", $buf);
		confess "$path: dimension changes from $dim to $d" if $d != $dim;
		push @out, \@v;
	}
	close $fh;
	return \@out;
}

=head2 read_fvecs($path, $limit, $offset), read_ivecs($path, $limit, $offset)

Read a .fvecs (per vector: int32 dimension d, then d float32, little-endian) or .ivecs
(the same with int32) file. Returns an arrayref of arrayrefs; at most $limit vectors
(all when undef), starting at vector number $offset (default 0). Big files
(fashion-mnist base: 60,000 x 784) cost ~1.5 GB as Perl arrays: to load them into a
table pass the path to load_vectors(), which streams.

=cut

sub read_fvecs { return _read_vecs($_[0], 'f<', $_[1], $_[2]); }
sub read_ivecs { return _read_vecs($_[0], 'l<', $_[1], $_[2]); }

=head2 read_u8($path)

Bytes of a .u8 labels file as an arrayref of integers.

=cut

sub read_u8
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or confess "cannot open $path: $!";
	local $/;
	my $b = <$fh>;
	close $fh;
	return [ unpack('C*', $b // '') ];
}

=head2 vec_literal(\@v)

Text form of a vector, '[1,2.5,3]'. Perl's default number formatting (15 significant
digits) round-trips every float32 exactly.

=cut

sub vec_literal
{
	my ($v) = @_;
	return '[' . join(',', @$v) . ']';
}

=head2 write_copy_file($source, $file, %opts)

Write a COPY text file of "id<TAB>[v1,...]" lines. $source is an arrayref of vectors
or the path of an .fvecs file (streamed, constant memory). Options: limit, offset (as
in read_fvecs), first_id (id of the first row written; default: offset, so ids are the
0-based row numbers of the file, as in the ground truth). Returns (rows, dim).

=cut

sub write_copy_file
{
	my ($source, $file, %opts) = @_;
	my $offset   = $opts{offset} // 0;
	my $limit    = $opts{limit};
	my $id       = $opts{first_id} // $offset;
	my ($rows, $dim) = (0, undef);
	open(my $out, '>', $file) or confess "cannot write $file: $!";
	if (ref $source eq 'ARRAY')
	{
		my $end = $#$source;
		$end = $offset + $limit - 1 if defined $limit && $offset + $limit - 1 < $end;
		for my $i ($offset .. $end)
		{
			my $v = $source->[$i];
			$dim //= scalar @$v;
			confess "vector $i has " . scalar(@$v) . " dimensions, not $dim" if @$v != $dim;
			print $out $id++, "\t[", join(',', @$v), "]\n";
			$rows++;
		}
	}
	else
	{
		open(my $fh, '<:raw', $source) or confess "cannot open $source: $!";
		my $hdr;
		read($fh, $hdr, 4) == 4 or confess "$source: empty";
		$dim = unpack('l<', $hdr);
		my $rec = 4 + 4 * $dim;
		seek($fh, $offset * $rec, 0) or confess "seek $source: $!";
		my $buf;
		while (!defined $limit || $rows < $limit)
		{
			my $n = read($fh, $buf, $rec);
			confess "read $source: $!" if !defined $n;
			last if $n == 0;
			confess "$source: truncated record" if $n != $rec;
			my ($d, @v) = unpack("l< f<$dim", $buf);
			print $out $id++, "\t[", join(',', @v), "]\n";
			$rows++;
		}
		close $fh;
	}
	close $out or confess "close $file: $!";
	return ($rows, $dim);
}

=head2 load_vectors($node, $table, $source, %opts)

Create C<$table (id int primary key, embedding vector(dim))> and bulk-load it with a
server-side C<COPY ... FROM '/file'> of a file written in the node's basedir (the TAP
node runs as the same OS user, as superuser). $source: arrayref of vectors or .fvecs
path (see write_copy_file; options limit, offset, first_id apply). Other options:
dbname (default postgres), create => 0 to append to an existing table, unlogged => 1,
column (default embedding), analyze => 0 to skip ANALYZE. Returns the number of rows
loaded. 60,000 x 784 takes well under a minute.

=cut

sub load_vectors
{
	my ($node, $table, $source, %opts) = @_;
	my $dbname = $opts{dbname} // 'postgres';
	my $col    = $opts{column} // 'embedding';
	my $file   = $node->basedir . "/copy_${table}_$$.tsv";
	$file =~ s/[^\w\/.\-]/_/g;
	my ($rows, $dim) = write_copy_file($source, $file, %opts);
	confess "load_vectors: no vectors in source" if !$rows;
	my $sql = '';
	if ($opts{create} // 1)
	{
		my $unlogged = $opts{unlogged} ? 'UNLOGGED ' : '';
		$sql .= "CREATE ${unlogged}TABLE $table (id int PRIMARY KEY, $col vector($dim));\n";
	}
	$sql .= "COPY $table (id, $col) FROM '$file';\n";
	$sql .= "ANALYZE $table;\n" if $opts{analyze} // 1;
	$node->safe_psql($dbname, $sql);
	unlink $file;
	return $rows;
}

=head2 n2_node($name, %opts)

A new PostgreSQL::Test::Cluster node, initialised (init options from $opts{init},
e.g. C<< init => { allows_streaming => 1 } >>), with extra postgresql.conf lines from
$opts{conf} (string), started, and with C<CREATE EXTENSION n2> done in database
postgres (skip with C<< extension => 0 >>).

=cut

sub n2_node
{
	my ($name, %opts) = @_;
	require PostgreSQL::Test::Cluster;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opts{init} // {} });
	$node->append_conf('postgresql.conf', $opts{conf}) if defined $opts{conf};
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION n2') if $opts{extension} // 1;
	return $node;
}

=head2 knn_sql($table, $k, %opts)

The canonical k-NN query as a template for knn_ids():
C<SELECT id, embedding E<lt>-E<gt> :q FROM $table ORDER BY embedding E<lt>-E<gt> :q LIMIT $k>.
Options: op ('<->', '<=>', '<#>'), column, id (id column), where (a condition).

=cut

sub knn_sql
{
	my ($table, $k, %opts) = @_;
	my $op    = $opts{op}     // '<->';
	my $col   = $opts{column} // 'embedding';
	my $id    = $opts{id}     // 'id';
	my $where = defined $opts{where} ? " WHERE $opts{where}" : '';
	return "SELECT $id, $col $op :q FROM $table$where ORDER BY $col $op :q LIMIT $k";
}

=head2 knn_ids($node, $sql, \@queries, %opts)

Run one k-NN query per query vector, all in ONE psql session. $sql returns rows of
(id, distance) -- or just (id) -- in rank order, with the placeholder C<:q> standing for
the query vector; each C<:q> is replaced by C<'[...]'::vector> (a constant, as an
application would send). Options: dbname, setup (SQL run first in the same session, e.g.
C<SET n2.ef_search = 100; SET enable_seqscan = off;>), session (a background_psql
session to run them in instead of a new one: its scans keep their page copies,
n2.scan_cache_size, from one call to the next).

Returns in list context (\@ids_per_query, \@dists_per_query), in scalar context
\@ids_per_query. Dists are undef when $sql returns only ids.

=cut

sub knn_ids
{
	my ($node, $sql, $queries, %opts) = @_;
	my $dbname = $opts{dbname} // 'postgres';
	$sql =~ s/;\s*$//;
	confess "knn_ids: SQL has no :q placeholder" unless $sql =~ /:q\b/;
	my $script = '';
	$script .= "$opts{setup}\n" if defined $opts{setup};
	for my $q (@$queries)
	{
		my $lit = "'" . vec_literal($q) . "'::vector";
		(my $one = $sql) =~ s/:q\b/$lit/g;
		# one output line per query: "id:dist id:dist ..." in the inner query's order
		$script .= "SELECT coalesce(string_agg(s::text, ' '), '') FROM ($one) s;\n";
	}
	my ($stdout, $stderr);
	if (defined $opts{session})
	{
		$stdout = $opts{session}->query_safe($script);
	}
	else
	{
		my $ret = $node->psql(
			$dbname, $script,
			stdout        => \$stdout,
			stderr        => \$stderr,
			on_error_stop => 1);
		confess "knn_ids: psql failed ($ret): $stderr" if $ret != 0;
	}
	my @lines = split /\n/, $stdout, -1;
	pop @lines while @lines > @$queries && $lines[-1] eq '';
	confess "knn_ids: expected " . scalar(@$queries) . " result lines, got " . scalar(@lines)
	  if @lines != @$queries;
	my (@ids, @dists);
	for my $line (@lines)
	{
		my (@i, @d);
		# each row is a record text "(id,dist)" or "(id)"
		while ($line =~ /\(([^,()]+)(?:,([^,()]*))?\)/g)
		{
			push @i, $1 + 0;
			push @d, (defined $2 && $2 ne '') ? $2 + 0 : undef;
		}
		push @ids,   \@i;
		push @dists, \@d;
	}
	return wantarray ? (\@ids, \@dists) : \@ids;
}

=head2 explain_knn($node, $sql, $q, %opts)

EXPLAIN (COSTS OFF) of $sql with :q bound to query vector $q; returns the plan text
(so a test can check e.g. C<like($plan, qr/Index Scan using .* on items/)>).
Options: dbname, setup.

=cut

sub explain_knn
{
	my ($node, $sql, $q, %opts) = @_;
	my $dbname = $opts{dbname} // 'postgres';
	my $lit = "'" . vec_literal($q) . "'::vector";
	(my $one = $sql) =~ s/:q\b/$lit/g;
	my $setup = defined $opts{setup} ? "$opts{setup}\n" : '';
	return $node->safe_psql($dbname, "${setup}EXPLAIN (COSTS OFF) $one");
}

=head2 recall_at_k(\@result_ids, \@gt_ids, \@gt_dists, \@result_dists, $k)

Mean tie-aware recall@k over the queries (also callable without \@result_dists:
recall_at_k(\@result_ids, \@gt_ids, \@gt_dists, $k)). For query i, let T be the k-th
ground-truth distance. A returned row (only the first k, duplicates counted once) is a
hit when its true distance is <= T (+ $EPS_REL relative, $EPS_ABS absolute): when its
id is among the ground-truth ids whose distance is within that bound (ground truth
lists more than k, so ties at the boundary count), or when its returned distance
(from \@result_dists, if given) is within it. Recall of a query is hits / k.

Returns the mean in scalar context; in list context (mean, \@per_query).

=cut

sub recall_at_k
{
	my ($res, $gt_ids, $gt_dists, $res_dists, $k) = @_;
	if (!defined $k && defined $res_dists && !ref $res_dists)
	{
		($k, $res_dists) = ($res_dists, undef);
	}
	confess "recall_at_k: k must be positive" unless defined $k && $k > 0;
	confess "recall_at_k: no queries" unless @$res;
	confess "recall_at_k: more results than ground truth rows" if @$res > @$gt_ids;
	my @per;
	for my $qi (0 .. $#$res)
	{
		my $gi = $gt_ids->[$qi];
		my $gd = $gt_dists->[$qi];
		confess "recall_at_k: ground truth of query $qi has fewer than $k entries" if @$gd < $k;
		my $t     = $gd->[ $k - 1 ];
		my $bound = $t + abs($t) * $EPS_REL + $EPS_ABS;
		my %ok;
		for my $j (0 .. $#$gi)
		{
			last if $gd->[$j] > $bound;
			$ok{ $gi->[$j] } = 1;
		}
		my ($hits, %seen) = (0);
		my $r  = $res->[$qi];
		my $rd = $res_dists ? $res_dists->[$qi] : undef;
		my $n  = @$r < $k ? scalar @$r : $k;
		for my $j (0 .. $n - 1)
		{
			my $id = $r->[$j];
			next if $seen{$id}++;
			if ($ok{$id}
				|| (defined $rd && defined $rd->[$j] && $rd->[$j] <= $bound))
			{
				$hits++;
			}
		}
		push @per, $hits / $k;
	}
	my $sum = 0;
	$sum += $_ for @per;
	my $mean = $sum / @per;
	return wantarray ? ($mean, \@per) : $mean;
}

=head2 l2_distance(\@a, \@b)

Euclidean distance in Perl (double precision), for spot checks.

=cut

sub l2_distance
{
	my ($a, $b) = @_;
	confess "l2_distance: dimensions differ" if @$a != @$b;
	my $s = 0;
	for my $i (0 .. $#$a) { my $d = $a->[$i] - $b->[$i]; $s += $d * $d; }
	return sqrt($s);
}

=head2 kill9_cluster($node)

SIGKILL the node's postmaster and then every process it had started (they would
otherwise linger attached to shared memory), as a power cut would; waits (bounded)
for them to be gone.

=cut

sub kill9_cluster
{
	my ($node) = @_;
	my $pid = $node->{_pid};
	my @children;
	for my $stat (glob '/proc/[0-9]*/stat')
	{
		open(my $fh, '<', $stat) or next;
		my $line = <$fh>;
		close $fh;
		next unless defined $line && $line =~ /^(\d+) \(.*\) \S+ (\d+)/;
		push @children, $1 if $2 == $pid;
	}
	$node->kill9;
	kill 'KILL', @children;
	Test::More::note('killed postmaster ' . $pid . ' and ' . scalar(@children) . ' children');
	for (1 .. 100)
	{
		last unless grep { kill 0, $_ } @children;
		select undef, undef, undef, 0.1;
	}
	return;
}

=head2 start_paused($node, $point, $sql, %opts)

Runs $sql in a background session (C<< on_error_stop => 0 >> when
$opts{on_error_stop} is 0) that stops at the test-only pause point $point
(src/pause.c): a holder session takes the pause lock first, the statements in
$opts{setup} (array ref) run before $sql, and this waits until the session
waits for that lock.  Returns the holder, the session, whether it got
there and the session's backend PID; the caller releases it with
C<< $holder->query_safe('SELECT pg_advisory_unlock(28210)') >>.

=cut

sub start_paused
{
	my ($node, $point, $sql, %opts) = @_;
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('SELECT pg_advisory_lock(28210)');
	my $bg  = $node->background_psql('postgres', on_error_stop => $opts{on_error_stop} // 1);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_safe("SET n2.pause_at = '$point'");
	$bg->query_safe($_) for @{ $opts{setup} // [] };
	$bg->query_until(qr/started/, "\\echo started\n$sql;\n");
	my $waiting = $node->poll_query_until('postgres', qq{
		SELECT count(*) = 1 FROM pg_locks
		WHERE locktype = 'advisory' AND objid = 28210 AND NOT granted AND pid = $pid});
	return ($holder, $bg, $waiting, $pid);
}

=head2 start_script($node, $name, $sql)

Starts a psql session on database postgres running $sql, written to
C<< <basedir>/$name.sql >> (a file, not a string: IPC::Run moves data through
pipes only while the harness is pumped), stopping at the first error. Returns
the harness and the file its stderr goes to.

=cut

sub start_script
{
	my ($node, $name, $sql) = @_;
	my $file = $node->basedir . "/$name.sql";
	append_to_file($file, $sql);
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', $file ],
		'>', '/dev/null', '2>', "$file.err");
	return ($h, "$file.err");
}

1;
