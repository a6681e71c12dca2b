#!/usr/bin/env bash
# test/unit/prefetch.sh OBJECT FUNCTION MIN...: each FUNCTION's compiled code in
# OBJECT holds at least MIN prefetch instructions.  GCC drops the calls to a
# static helper whose only effect is a prefetch unless the helper is inlined
# (pagegraph.c's prefetch_tuple, core/build.c's prefetch_vector); results stay
# the same and only the time shows it, so this checks the code itself.
set -euo pipefail
command -v objdump >/dev/null || {
	echo "prefetch.sh: objdump not found (apt-get install -y binutils)" >&2
	exit 1
}
status=0
while [ $# -ge 3 ]; do
	obj=$1 fn=$2 min=$3
	shift 3
	n=$(objdump -d --no-show-raw-insn "$obj" |
		awk -v f="<$fn>:" '$2 == f { p = 1; next } /^[0-9a-f]+ </ { p = 0 } p && /prefetch/' |
		wc -l)
	if [ "$n" -ge "$min" ]; then
		echo "ok: $fn in $obj has $n prefetches"
	else
		echo "FAILED: $fn in $obj has $n prefetches, expected at least $min" >&2
		status=1
	fi
done
exit $status
