#!/usr/bin/env bash
# scripts/indent.sh -- lay out n2's C sources as PostgreSQL's pgindent does:
# pg_bsd_indent 2.1.x with PostgreSQL's settings, told the typedef names of
# n2 (typedefs.list), of the PostgreSQL server headers and of the C library,
# so that declarations using them are laid out as types.
#
#   scripts/indent.sh                 every C file of the tree
#   scripts/indent.sh FILE...         these files
#   scripts/indent.sh --check [FILE...]  change nothing; list the files it
#                                     would change, exit 2 if any
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
indent=${PG_BSD_INDENT:-pg_bsd_indent}
command -v "$indent" >/dev/null || {
	echo "indent.sh: $indent not found (apt-get install -y pg-bsd-indent)" >&2
	exit 1
}
includedir=$(pg_config --includedir-server)
if [ $# -eq 0 ]; then
	mapfile -t files < <(git ls-files 'src/*.[ch]' 'test/*.[ch]' 'bench/*.[ch]')
	set -- "${files[@]}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
	cat typedefs.list
	scripts/typedefs.sh $(find "$includedir" -name '*.h') \
		"$(pg_config --includedir)/libpq-fe.h"
	# C library and compiler types the sources use
	printf '%s\n' FILE atomic_bool atomic_flag atomic_int atomic_size_t \
		atomic_uint atomic_uint_fast64_t bool int8_t int16_t int32_t int64_t \
		pthread_t pthread_mutex_t pthread_cond_t sigset_t size_t ssize_t \
		uint8_t uint16_t uint32_t uint64_t uintptr_t __m256 __m256i __m512 \
		__m512i va_list
} | sort -u |
	# names the headers typedef that the sources also use as identifiers
	grep -v -x -E 'ANY|FD_SET|U|abs|allocfunc|boolean|date|digit|ilist|interval|iterator|other|pointer|printfunc|reference|string|timestamp|type|wrap' \
		> "$work/typedefs"

changed=0
failed=0
for f in "$@"; do
	cp "$f" "$work/src.c"
	# in the work directory, where it leaves its backup copy
	if ! (cd "$work" && "$indent" -bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce \
		-d0 -di12 -nfc1 -i4 -l79 -lp -lpl -nip -npro -sac -tpg -ts4 \
		-Utypedefs src.c 2>err); then
		echo "indent.sh: $f left as it is: $(head -1 "$work/err")" >&2
		failed=1
		continue
	fi
	# one space before the '*' of a pointer return type on its own line
	sed -i -E 's/^([A-Za-z_][^ \t]*)[ \t]+\*$/\1 */' "$work/src.c"
	if ! cmp -s "$f" "$work/src.c"; then
		changed=1
		if [ $check = 1 ]; then
			echo "$f"
		else
			cp "$work/src.c" "$f"
		fi
	fi
done
[ $check = 0 ] || [ $changed = 0 ] || exit 2
exit $failed
