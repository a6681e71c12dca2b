#!/usr/bin/env bash
# scripts/typedefs.sh -- print the typedef names declared in n2's C sources, one a
# line, sorted: the contents of typedefs.list, which pgindent needs to lay out
# declarations that use them (see CONTRIBUTING.md).
#
#   scripts/typedefs.sh > typedefs.list
#   scripts/typedefs.sh FILE...        the typedefs those files declare
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ $# -eq 0 ]; then
	mapfile -t files < <(git ls-files 'src/*.c' 'src/*.h' 'test/*.c' 'test/*.h' 'bench/*.c' 'bench/*.h' 2>/dev/null ||
		find src test bench -name '*.[ch]')
	set -- "${files[@]}"
fi
perl -e '
	my %names;
	for my $file (@ARGV)
	{
		open(my $fh, "<", $file) or die "$file: $!";
		local $/;
		my $src = <$fh>;
		$src =~ s{/\*.*?\*/}{}gs;	# comments
		# each typedef up to the ";" that ends it at brace depth 0
		while ($src =~ /\btypedef\b/g)
		{
			my ($depth, $text, $pos) = (0, "", pos($src));
			for my $i ($pos .. length($src) - 1)
			{
				my $c = substr($src, $i, 1);
				$depth++ if $c eq "{";
				$depth-- if $c eq "}";
				last if $c eq ";" && $depth == 0;
				$text .= $c;
			}
			$text =~ s/\{.*\}//s;	# the body of a struct, union or enum
			if ($text =~ /\(\s*\*\s*(\w+)\s*\)/)	# function pointer
			{
				$names{$1} = 1;
			}
			elsif ($text =~ /(\w+)\s*(?:\[[^]]*\]\s*)*$/)
			{
				$names{$1} = 1;
			}
		}
	}
	print "$_\n" for sort keys %names;
' "$@"
