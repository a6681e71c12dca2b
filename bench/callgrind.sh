#!/usr/bin/env bash
# bench/callgrind.sh -- what one n2 index scan costs in instructions and simulated
# cache misses, counted by valgrind's callgrind: the same numbers on every run of
# the same build, where wall and CPU times on a shared machine drift by 2-3x.
# Entry point: make bench-callgrind [DATASET=bigann10k] [EF=20] [NQ=100]
#
# Loads the data set into a throwaway cluster, builds one index, stops the server,
# then runs the LATERAL batch statement over the NQ queries in single-user
# backends under callgrind (with its cache simulator): once with one pass over the
# queries and once with two.  The difference is one pass with warm shared buffers,
# so the report is per query of a warm pass:
#   - inside the scan: n2_gettuple and all it calls (the search, page access,
#     distances, heap TIDs), collected alone (--toggle-collect)
#   - the whole statement, executor and heap fetches included
#   - the functions that spend the most inside the scan
# Instructions ignore what dominates real time here, waiting on memory; the
# simulated misses (D1 = a 32 kB first-level data cache, LL = a 1 MB last level) stand
# in for it. They are not the machine's counters: the simulator is a plain two-level cache.
#
# Environment: DATASET (bigann10k, fashion-mnist, custom: see run.sh), EF (20),
# NQ (100), SETTING (one WITH list, default m=16,max_m0=32,ef_construction=64,
# n_threads=1: one thread builds the same graph every time), OUT.  Run as root,
# like run.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
# shellcheck source=../scripts/lib.sh
. "$root/scripts/lib.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

n2_need_root
command -v valgrind >/dev/null 2>&1 || die "valgrind is not installed (apt-get install valgrind)"
command -v callgrind_annotate >/dev/null 2>&1 || die "callgrind_annotate is not installed (valgrind)"
DATASET=${DATASET:-bigann10k}
NQ=${NQ:-100}
bench_dataset "$DATASET"
EF=${EF:-20}
SETTING=${SETTING:-m=16,max_m0=32,ef_construction=64,n_threads=1}
[[ "$EF" =~ ^[1-9][0-9]*$ ]] || die "EF must be a positive integer"
n2bench=$here/build/n2bench
[ -x "$n2bench" ] || die "$n2bench missing: run 'make bench-callgrind'"
OUT=${OUT:-$here/results/callgrind-$DATASET-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)

work=$(mktemp -d /tmp/n2callgrind.XXXXXX)
cleanup() {
	n2_cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT
bench_cluster_start "$work" 1GB 56990
export PGHOST=$N2_PGSOCK PGPORT=$N2_PGPORT PGUSER=postgres PGDATABASE=postgres
log "load $DATASET ($NQ queries) and build the index ($SETTING)"
"$n2bench" load "$BASE" "$QUERY" "$NQ" >"$OUT/load.csv"
"$n2bench" build "$SETTING" >"$OUT/build.csv"
n2_cluster_stop
chmod 777 "$OUT"

# run NAME PASSES [callgrind options...]: PASSES batch statements in one backend
run() {
	local name=$1 passes=$2 sql=$work/$1.sql
	shift 2
	{
		echo "SET n2.ef_search = $EF"
		for _ in $(seq "$passes"); do
			echo "SELECT count(*) FROM queries q CROSS JOIN LATERAL (SELECT id FROM items ORDER BY items.v <-> q.v LIMIT 10) x"
		done
	} >"$sql"
	log "callgrind: $name"
	n2_as_pg valgrind --tool=callgrind --cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 \
		--LL=1048576,8,64 --callgrind-out-file="$OUT/$name.out" "$@" \
		"$N2_PG_BINDIR/postgres" --single -D "$N2_PGDATA" -c shared_buffers=1GB postgres \
		<"$sql" >"$OUT/$name.log" 2>&1 || { tail -n 30 "$OUT/$name.log"; die "callgrind run $name failed"; }
}
run scan1 1 --toggle-collect=n2_gettuple
run scan2 2 --toggle-collect=n2_gettuple
run all1 1
run all2 2

# totals EVENT FILE: that event's total in a callgrind output file
totals() {
	awk -v ev="$1" '/^events:/ { for (i = 2; i <= NF; i++) col[$i] = i - 1 }
		/^(summary|totals):/ { print $(col[ev] + 1); exit }' "$2"
}
per_query() { # per_query EVENT NAME: (two passes - one pass) / NQ
	awk -v a="$(totals "$1" "$OUT/${2}1.out")" -v b="$(totals "$1" "$OUT/${2}2.out")" -v n="$NQ" \
		'BEGIN { printf "%.0f", (b - a) / n }'
}
ir_scan=$(per_query Ir scan) ir_all=$(per_query Ir all)
d1_scan=$(( $(per_query D1mr scan) + $(per_query D1mw scan) ))
ll_scan=$(( $(per_query DLmr scan) + $(per_query DLmw scan) ))
d1_all=$(( $(per_query D1mr all) + $(per_query D1mw all) ))
ll_all=$(( $(per_query DLmr all) + $(per_query DLmw all) ))

# functions: exclusive instructions of one warm pass, inside the scan
funcs() {
	callgrind_annotate --auto=no --inclusive=no --show=Ir --threshold=100 "$1" 2>/dev/null |
		sed -n 's/^ *\([0-9,]*\) ( *[0-9.]*%)  *\(.*\)$/\1\t\2/p' |
		awk -F'\t' '{ n = $1; gsub(",", "", n); f = $2
			obj = f; sub(/^.*\[/, "", obj); sub(/\]$/, "", obj); sub(/^.*\//, "", obj)
			sub(/ \[.*$/, "", f); sub(/^.*:/, "", f)
			if (f ~ /^0x/) f = obj "+" f
			if (f != "PROGRAM TOTALS") sum[f] += n }
			END { for (f in sum) print f "\t" sum[f] }'
}
funcs "$OUT/scan1.out" >"$work/f1"
funcs "$OUT/scan2.out" >"$work/f2"

{
	echo "# n2 callgrind: $DATASET, ef_search $EF"
	echo
	echo "- $(cut -d, -f2,3 "$OUT/load.csv" | tr ',' ' ' | awk '{print $1 " × " $2}') vectors, index \`$SETTING\`," \
		"one warm pass of the LATERAL batch over $NQ queries (two passes minus one), single-user backend"
	echo "- n2 commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes');" \
		"valgrind $(valgrind --version | sed 's/valgrind-//'), which runs the AVX2 kernels (it has no AVX-512);" \
		"simulated caches: 32 kB 8-way first level (D1), 1 MB 8-way last level (LL, an L2's size)"
	echo "- instructions count each iteration of a \`rep stos\` (memset) as one, so memset looks dearer than it is"
	echo
	echo "| per query | instructions | D1 misses | LL misses |"
	echo "|---|---:|---:|---:|"
	echo "| inside the n2 scan (n2_gettuple and callees) | $ir_scan | $d1_scan | $ll_scan |"
	echo "| whole statement | $ir_all | $d1_all | $ll_all |"
	echo
	echo "Inside the scan, by function (exclusive instructions per query):"
	echo
	echo "| function | instructions | share |"
	echo "|---|---:|---:|"
	awk -F'\t' -v n="$NQ" -v tot="$ir_scan" 'NR == FNR { a[$1] = $2; next }
		{ d = ($2 - a[$1]) / n; if (d > 0) printf "%s\t%.0f\n", $1, d }' "$work/f1" "$work/f2" |
		sort -t$'\t' -k2,2nr | head -n 15 |
		awk -F'\t' -v tot="$ir_scan" '{ printf "| `%s` | %s | %.1f%% |\n", $1, $2, 100 * $2 / tot }'
} >"$OUT/callgrind.md"
cat "$OUT/callgrind.md"
log "results in $OUT (callgrind_annotate $OUT/scan2.out for more)"
