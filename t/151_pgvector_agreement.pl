# Agreement with pgvector: every statement of test/pgvector/agreement.sql
# (pgvector's documented behaviour of vector and halfvec) runs in a database
# with pgvector alone and in one with n2 alone; results compare as text,
# errors by SQLSTATE.  At least 95% must agree, and each statement that does
# not must be one of the deliberate differences below, with its reason (the
# README lists them); a listed difference that no longer differs fails too,
# so the list stays true.  And every function, operator and cast pgvector
# defines on vector and halfvec exists in n2 under the same signature.
use strict;
use warnings;

use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use N2Test;

my %deliberate = (
	q{SELECT cosine_distance('[0,0]'::vector, '[1,1]')} =>
	  'a zero vector has no direction: n2 gives 1 (similarity 0), the value its angular index orders by, pgvector NaN',
	q{SELECT cosine_distance('[0,0]'::halfvec, '[1,1]')} =>
	  'as for vector',
	q{SELECT '{1e39}'::float8[]::vector} =>
	  'n2 raises numeric_value_out_of_range (22003), as real does, where pgvector raises data_exception (22000)',
);

my $file = dirname(__FILE__) . '/../test/pgvector/agreement.sql';
open(my $fh, '<', $file) or die "cannot read $file: $!";
my @stmts = grep { /\S/ && !/^--/ } map { s/\s+$//r } <$fh>;
close $fh;
cmp_ok(scalar @stmts, '>=', 150, scalar(@stmts) . ' statements');

my $node = n2_node('agreement', extension => 0);
my $attempt = q{
	CREATE FUNCTION attempt(stmt text) RETURNS text LANGUAGE plpgsql AS $$
	DECLARE
		r text;
		st text;
	BEGIN
		EXECUTE stmt INTO r;
		RETURN coalesce(r, 'NULL');
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
		RETURN 'ERROR ' || st;
	END $$;
	CREATE TABLE stmts (n int PRIMARY KEY, s text);
};
my %results;
for my $ext (qw(vector n2))
{
	$node->safe_psql('postgres', "CREATE DATABASE with_$ext");
	$node->safe_psql("with_$ext", "CREATE EXTENSION $ext;\n$attempt");
	my $values = join(",\n", map { "($_, " . quote($stmts[$_]) . ')' } 0 .. $#stmts);
	$node->safe_psql("with_$ext", "INSERT INTO stmts VALUES $values");
	# one result per line: results hold no newline
	my $out = $node->safe_psql("with_$ext",
		q{SELECT replace(attempt(s), E'\n', ' ') FROM stmts ORDER BY n});
	$results{$ext} = [ split /\n/, $out, -1 ];
	is(scalar @{ $results{$ext} }, scalar @stmts, "with $ext: one result per statement");
}
is($node->safe_psql('with_n2', q{SELECT count(*) FROM pg_extension WHERE extname = 'vector'}), 0,
	'the n2 database has no pgvector');

my ($same, @undocumented, @stale) = (0);
for my $i (0 .. $#stmts)
{
	my ($p, $n) = ($results{vector}[$i], $results{n2}[$i]);
	my $s = $stmts[$i];
	if ($p eq $n)
	{
		$same++;
		push @stale, $s if exists $deliberate{$s};
	}
	elsif (exists $deliberate{$s})
	{
		note "deliberate: $s\n    pgvector: $p\n    n2:       $n\n    why: $deliberate{$s}";
	}
	else
	{
		push @undocumented, "$s\n    pgvector: $p\n    n2:       $n";
	}
}
my $ratio = $same / @stmts;
cmp_ok($ratio, '>=', 0.95, sprintf('n2 agrees with pgvector on %d of %d statements (%.1f%%)',
		$same, scalar @stmts, 100 * $ratio));
is(scalar @undocumented, 0, 'every difference is a deliberate one')
  or diag join("\n", @undocumented);
is(scalar @stale, 0, 'every deliberate difference still differs') or diag join("\n", @stale);

# The same names: every function, operator and cast of pgvector's on vector
# and halfvec exists in n2 with the same signature, except pgvector's own
# index access methods and their support functions.  sparsevec n2 does not
# have.
for my $kind (
	[ 'function', 'pg_proc', 'objid::regprocedure::text' ],
	[ 'operator', 'pg_operator', 'objid::regoperator::text' ],
	[ 'cast', 'pg_cast',
		q{(SELECT format('%s AS %s', castsource::regtype, casttarget::regtype)
		   FROM pg_cast c WHERE c.oid = objid)} ])
{
	my ($what, $catalog, $name) = @$kind;
	my $members = qq{
		SELECT $name FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
		WHERE d.classid = '$catalog'::regclass AND d.deptype = 'e' AND e.extname = '%s'};
	my %n2 = map { $_ => 1 } split /\n/,
	  $node->safe_psql('with_n2', sprintf($members, 'n2'));
	my @missing = grep { !$n2{$_} && !/sparsevec|^(hnsw|ivfflat)\w*\(internal\)$/ }
	  split /\n/, $node->safe_psql('with_vector', sprintf($members, 'vector'));
	is(join(', ', @missing), '', "every $what of pgvector's on vector and halfvec is in n2");
}

$node->stop;
done_testing();

sub quote
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}
