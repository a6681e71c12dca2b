#!/usr/bin/env bash
# bench/scaling.sh -- how n2 and pgvector scale with the row count: for each size
# a synthetic clustered set (bench/synth.sh, 128-d by default) and a throwaway
# cluster running this tree's n2 and pgvector (built from the anchor tarball); in
# it pgvector and n2 with each storage are loaded and built once, under the first
# shared_buffers setting (each in a database of its own), then for each setting
# the cluster restarts with it before each index's ef_search sweep.  One markdown
# row per (size, shared_buffers, system): build time, index size, and the QPS at
# the lowest ef reaching recall@10 >= RECALL (single prepared statements, one
# connection, n2bench search); the n2 rows carry their ratios to pgvector's in
# the same cluster.  Times on a shared machine drift between runs: only the
# same-run ratios mean much.  A benchmark, not a test: it asserts nothing.
#
# Environment (all optional):
#   SIZES           rows (default '100000 300000 1000000')
#   DIM             dimensions (default 128)
#   NQ              queries (default 500)
#   SHARED_BUFFERS  settings to run (default '128MB 4GB': the Debian default,
#                   below the larger indexes, and above all of them)
#   STORAGES        n2 storage values (default 'float4'); a value other than
#                   float4 adds storage = '<value>' to the n2 WITH list
#   WITH            n2 options (default 'm = 16, ef_construction = 64, n_threads = 2')
#   PGV_WITH        pgvector options (default 'm = 16, ef_construction = 64'),
#                   built with two processes (one parallel worker)
#   EF              ef_search sweep (default '10 16 24 32 48 64 96 128 192 256')
#   RECALL          the recall the QPS column is read at (default 0.95)
#   MINTIME         seconds of queries per ef (default 1)
#   PIN             same | split | off (default same; see run.sh)
#   PGVECTOR        pgvector tarball (default ../shared/anchors/pgvector-e48241b.tar.gz)
#   N2_PG_BINDIR    the PostgreSQL 15 installation to copy and build against
#                   (default /usr/lib/postgresql/15/bin; see scripts/lib.sh), e.g.
#                   a private copy that another session's make install cannot touch
#   OUT             folder (default bench/results/scaling-<timestamp>); results.md
#                   and raw/ with every tool's output
# Run as root (a throwaway cluster as postgres, as run.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
# shellcheck source=../scripts/lib.sh
. "$root/scripts/lib.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"
n2_need_root

SIZES=${SIZES:-100000 300000 1000000}
DIM=${DIM:-128}
NQ=${NQ:-500}
SHARED_BUFFERS=${SHARED_BUFFERS:-128MB 4GB}
STORAGES=${STORAGES:-float4}
WITH=${WITH:-m = 16, ef_construction = 64, n_threads = 2}
PGV_WITH=${PGV_WITH:-m = 16, ef_construction = 64}
EF=${EF:-10 16 24 32 48 64 96 128 192 256}
RECALL=${RECALL:-0.95}
MINTIME=${MINTIME:-1}
PGVECTOR=${PGVECTOR:-$root/../shared/anchors/pgvector-e48241b.tar.gz}
export N2BENCH_PIN=${PIN:-same}
OUT=${OUT:-$here/results/scaling-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/raw"
OUT=$(cd "$OUT" && pwd -P)
[ -r "$PGVECTOR" ] || die "pgvector tarball $PGVECTOR missing"

make -s -C "$root" PG_CONFIG="$N2_PG_CONFIG" bench/build/n2bench bench/build/synth >/dev/null
n2bench=$here/build/n2bench

work=$(mktemp -d /tmp/n2scaling.XXXXXX)
chmod 755 "$work"
cleanup() {
	n2_cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT

bench_pgvector_build "$PGVECTOR" "$work" "$OUT/raw/pgvector-build.log"

# build line -> "seconds bytes"; search lines -> "ef recall qps" at the lowest
# ef reaching RECALL, or the best recall's line with "(below)" when none does
build_fields() { awk -F, '$1 == "build" { print $2, $3 }' "$1"; }
at_recall() {
	awk -F, -v want="$RECALL" '
	$1 == "search" { if (!done && $3 + 0 >= want) { print $2, $3, $4; done = 1 }
					 if ($3 + 0 > best) { best = $3 + 0; line = $2 " " $3 " " $4 } }
	END { if (!done) print line, "(below)" }' "$1"
}

sb_first=${SHARED_BUFFERS%% *}
results=$OUT/results.md
{
	echo "# n2 vs pgvector as the table grows"
	echo
	echo "- synthetic clustered ${DIM}-d sets (bench/synth.c), $NQ queries, recall@10 against exact ground truth"
	echo "- n2: \`$WITH\` (+ storage); pgvector: \`$PGV_WITH\`, 2 build processes"
	echo "- QPS: single prepared statements on one connection at the lowest ef_search with recall@10 >= $RECALL (PIN=$N2BENCH_PIN)"
	echo "- each index built once per size under shared_buffers $sb_first (its build columns repeat on the other rows); the cluster restarted with the row's shared_buffers before each sweep"
	echo "- n2 commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "| rows | shared_buffers | index | build s | size MB | ef | recall@10 | QPS | build vs pgvector | size vs pgvector | QPS vs pgvector |"
	echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$results"

# restart the cluster with shared_buffers = $1 (the last setting in the file wins)
cluster_restart() {
	n2_cluster_stop
	printf 'shared_buffers = %s\n' "$1" >>"$N2_PGDATA/postgresql.conf"
	n2_as_pg pg_ctl -D "$N2_PGDATA" -l "$N2_PGLOG" -w -t 120 start >/dev/null ||
		{ tail -n 50 "$N2_PGLOG" 2>/dev/null; die "cluster failed to restart"; }
}

# one markdown row: rows sb name build-raw sweep-raw [pgvector's "build bytes qps"]
row() {
	local b s e r q note pb=${6:-} ps=${7:-} pq=${8:-}
	read -r b s < <(build_fields "$4")
	read -r e r q note < <(at_recall "$5")
	awk -v n="$1" -v sb="$2" -v name="$3" -v b="$b" -v s="$s" -v e="$e" -v r="$r" -v q="$q" \
		-v note="${note:-}" -v pb="$pb" -v ps="$ps" -v pq="$pq" 'BEGIN {
		printf "| %d | %s | %s | %.2f | %.1f | %s | %s%s | %.0f | ", n, sb, name, b, s / 1048576,
			e, r, note == "" ? "" : " " note, q
		if (pb == "") print "1 | 1 | 1 |"
		else printf "%.2fx | %.2fx | %.2fx |\n", b / pb, s / ps, q / pq }'
}

for n in $SIZES; do
	log "data: $n x $DIM"
	eval "$(OUT= N=$n DIM=$DIM NQ=$NQ "$here/synth.sh")"	# its OUT is not ours
	# One cluster per size: every index is built once, under the first
	# shared_buffers value; then, for each value, the cluster restarts with
	# it before each index's sweep (so each starts from empty buffers and
	# warms up alone).  The build columns repeat on every shared_buffers row.
	cl=$work/c-$n
	mkdir -p "$cl"
	bench_cluster_start "$cl" "$sb_first" 56500
	bench_pgvector_install "$cl/pg" "$OUT/raw/pgvector-build.log"
	export PGHOST=$N2_PGSOCK PGPORT=$N2_PGPORT PGUSER=postgres
	psql_c() { n2_as_pg "$N2_PG_BINDIR/psql" -h "$N2_PGSOCK" -p "$N2_PGPORT" -d postgres -qc "$1" >/dev/null; }

	log "pgvector: load, build ($n, shared_buffers $sb_first)"
	psql_c 'CREATE DATABASE pgv'
	PGDATABASE=pgv N2BENCH_AM=hnsw "$n2bench" load "$BASE" "$QUERY" "$NQ" >"$OUT/raw/pgvector-$n-build.csv"
	PGDATABASE=pgv N2BENCH_AM=hnsw \
		N2BENCH_SETUP="SET max_parallel_maintenance_workers = 1; SET min_parallel_table_scan_size = 0; SET maintenance_work_mem = '4GB'" \
		"$n2bench" build "$PGV_WITH" >>"$OUT/raw/pgvector-$n-build.csv"

	# n2: load once, a copy of the database per storage
	psql_c 'CREATE DATABASE n2load'
	PGDATABASE=n2load "$n2bench" load "$BASE" "$QUERY" "$NQ" >"$OUT/raw/n2-load-$n.csv"
	for st in $STORAGES; do
		log "n2 storage $st: build ($n, shared_buffers $sb_first)"
		psql_c "CREATE DATABASE n2_$st TEMPLATE n2load STRATEGY FILE_COPY"
		opts=$WITH
		[ "$st" = float4 ] || opts="$WITH, storage = '$st'"
		PGDATABASE=n2_$st "$n2bench" build "$opts" >"$OUT/raw/n2-$st-$n-build.csv"
	done
	psql_c 'DROP DATABASE n2load'

	for sb in $SHARED_BUFFERS; do
		tag=$n-$sb
		log "pgvector: sweep ($tag)"
		cluster_restart "$sb"
		raw=$OUT/raw/pgvector-$tag.csv
		# shellcheck disable=SC2086
		PGDATABASE=pgv N2BENCH_AM=hnsw "$n2bench" search "$BASE" "$QUERY" "$GT_DIST" "$NQ" "$MINTIME" $EF >"$raw"
		read -r pb ps < <(build_fields "$OUT/raw/pgvector-$n-build.csv")
		read -r _ _ pq _ < <(at_recall "$raw")
		row "$n" "$sb" pgvector "$OUT/raw/pgvector-$n-build.csv" "$raw" >>"$results"
		for st in $STORAGES; do
			log "n2 storage $st: sweep ($tag)"
			cluster_restart "$sb"
			raw=$OUT/raw/n2-$st-$tag.csv
			# shellcheck disable=SC2086
			PGDATABASE=n2_$st "$n2bench" search "$BASE" "$QUERY" "$GT_DIST" "$NQ" "$MINTIME" $EF >"$raw"
			row "$n" "$sb" "n2 $st" "$OUT/raw/n2-$st-$n-build.csv" "$raw" "$pb" "$ps" "$pq" >>"$results"
		done
	done
	n2_cluster_stop
	rm -rf "$cl"
done
log "results: $results"
cat "$results"
