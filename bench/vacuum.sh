#!/usr/bin/env bash
# bench/vacuum.sh -- what deleting rows costs n2 and pgvector: in one throwaway
# cluster running this tree's n2 and pgvector (built from the anchor tarball),
# each system loads the same vectors and builds its index, then rounds of
# DELETE and VACUUM run in turn: per round, the VACUUM's time (heap and index),
# the index size after it, and recall@10 at one ef_search against the exact
# top 10 of the rows left.  The n2 rows carry their ratios to pgvector's in the
# same round.  Times on a shared machine drift: only the same-run ratios mean
# much.  A benchmark, not a test: it asserts nothing.
#
# Environment (all optional):
#   DATASET    bigann10k (default), fashion-mnist, or synth: a clustered set
#              made by bench/synth.sh with N rows (default 200000) of DIM
#              dimensions (default 32)
#   DELETES    per round, the share of the original rows it deletes, in percent
#              (default '5 5 30'; rows with id % 100 in the next range go)
#   WITH       n2 options (default 'm = 16, ef_construction = 64, n_threads = 2')
#   PGV_WITH   pgvector options (default 'm = 16, ef_construction = 64'), built
#              with two processes (one parallel worker)
#   EF         ef_search of the recall column (default 40)
#   NQ         queries (default 100)
#   PGVECTOR   pgvector tarball (default ../shared/anchors/pgvector-e48241b.tar.gz)
#   OUT        markdown file (default bench/results/vacuum-<dataset>-<timestamp>.md)
# Run as root (a throwaway cluster as postgres, as run.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
# shellcheck source=../scripts/lib.sh
. "$root/scripts/lib.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"
n2_need_root

DATASET=${DATASET:-bigann10k}
DELETES=${DELETES:-5 5 30}
WITH=${WITH:-m = 16, ef_construction = 64, n_threads = 2}
PGV_WITH=${PGV_WITH:-m = 16, ef_construction = 64}
EF=${EF:-40}
NQ=${NQ:-100}
PGVECTOR=${PGVECTOR:-$root/../shared/anchors/pgvector-e48241b.tar.gz}
OUT=${OUT:-$here/results/vacuum-$DATASET-$(date +%Y%m%d-%H%M%S).md}
mkdir -p "$(dirname "$OUT")"
[ -r "$PGVECTOR" ] || die "pgvector tarball $PGVECTOR missing"
total=0
for d in $DELETES; do total=$((total + d)); done
[ "$total" -lt 100 ] || die "DELETES must add up to less than 100 (percent of the rows)"

if [ "$DATASET" = synth ]; then
	eval "$(OUT='' N=${N:-200000} DIM=${DIM:-32} NQ=$NQ "$here/synth.sh")"
else
	bench_dataset "$DATASET"
fi
make -s -C "$root" PG_CONFIG="$N2_PG_CONFIG" bench/build/n2bench >/dev/null
n2bench=$here/build/n2bench

work=$(mktemp -d /tmp/n2vacuum.XXXXXX)
chmod 755 "$work"
cleanup() {
	n2_cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT

bench_pgvector_build "$PGVECTOR" "$work" "$work/pgvector-build.log"
mkdir -p "$work/c"
bench_cluster_start "$work/c" 2GB 56700
bench_pgvector_install "$work/c/pg" "$work/pgvector-build.log"
export PGHOST=$N2_PGSOCK PGPORT=$N2_PGPORT PGUSER=postgres
sql() { n2_as_pg "$N2_PG_BINDIR/psql" -h "$N2_PGSOCK" -p "$N2_PGPORT" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
sql postgres 'CREATE DATABASE pgv'
sql postgres 'CREATE DATABASE n2'

log "load and build ($DATASET)"
PGDATABASE=pgv N2BENCH_AM=hnsw "$n2bench" load "$BASE" "$QUERY" "$NQ" >/dev/null
PGDATABASE=pgv N2BENCH_AM=hnsw \
	N2BENCH_SETUP="SET max_parallel_maintenance_workers = 1; SET min_parallel_table_scan_size = 0" \
	"$n2bench" build "$PGV_WITH" >"$work/pgv-build.csv"
PGDATABASE=n2 "$n2bench" load "$BASE" "$QUERY" "$NQ" >/dev/null
PGDATABASE=n2 "$n2bench" build "$WITH" >"$work/n2-build.csv"
for db in pgv n2; do
	sql "$db" 'ALTER TABLE items SET (autovacuum_enabled = off); CREATE TABLE exact (q int, id int)'
done
ef_setting() { [ "$1" = pgv ] && echo "SET hnsw.ef_search = $EF" || echo "SET n2.ef_search = $EF"; }

# One round in database $1: delete ids with id % 100 in [$2, $3), VACUUM; prints
# "seconds index_bytes recall".  The exact top 10 of the rows left comes from a
# sequential scan; the index's from its scan at EF.
round() {
	local db=$1 lo=$2 hi=$3
	sql "$db" "DELETE FROM items WHERE id % 100 >= $lo AND id % 100 < $hi"
	sql "$db" 'CHECKPOINT'
	local secs
	secs=$(n2_as_pg "$N2_PG_BINDIR/psql" -h "$N2_PGSOCK" -p "$N2_PGPORT" -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<-EOF
		SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
		VACUUM items;
		SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
	EOF
	)
	n2_as_pg "$N2_PG_BINDIR/psql" -h "$N2_PGSOCK" -p "$N2_PGPORT" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$db" <<-EOF
		TRUNCATE exact;
		SET enable_indexscan = off;
		INSERT INTO exact SELECT q.i, x.id FROM queries q
			CROSS JOIN LATERAL (SELECT id FROM items ORDER BY items.v <-> q.v LIMIT 10) x;
		RESET enable_indexscan;
		SET enable_seqscan = off;
		$(ef_setting "$db");
		SELECT $secs, pg_relation_size('items_v_idx'),
			round(count(*)::numeric / (SELECT 10 * count(*) FROM queries), 4)
		FROM queries q CROSS JOIN LATERAL
			(SELECT id FROM items ORDER BY items.v <-> q.v LIMIT 10) x
		JOIN exact e ON e.q = q.i AND e.id = x.id;
	EOF
}

{
	echo "# DELETE and VACUUM: n2 against pgvector ($DATASET)"
	echo
	echo "- $(sql n2 'SELECT count(*) FROM items') rows of $(sql n2 'SELECT vector_dims(v) FROM items LIMIT 1') dimensions"
	echo "- n2: \`$WITH\`, built in $(awk -F, '$1 == "build" { print $2 }' "$work/n2-build.csv") s;" \
		"pgvector e48241b: \`$PGV_WITH\`, 2 build processes, built in $(awk -F, '$1 == "build" { print $2 }' "$work/pgv-build.csv") s"
	echo "- per round: DELETE of the given share of the original rows, CHECKPOINT, then a timed VACUUM (heap and index, one process); recall@10 at ef_search $EF over $NQ queries against the exact top 10 of the rows left"
	echo "- n2 commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%MZ); one run on a shared machine: only the same-round ratios mean much"
	echo
	echo "| round | deleted | index | VACUUM s | index MB | recall@10 | VACUUM vs pgvector | size vs pgvector |"
	echo "|---:|---:|---|---:|---:|---:|---:|---:|"
} >"$OUT"
lo=0
r=0
for d in $DELETES; do
	r=$((r + 1))
	hi=$((lo + d))
	log "round $r: delete ids with id % 100 in [$lo, $hi), VACUUM"
	read -r ps pb pr < <(round pgv "$lo" "$hi")
	read -r ns nb nr < <(round n2 "$lo" "$hi")
	awk -v r="$r" -v d="$hi" -v ps="$ps" -v pb="$pb" -v pr="$pr" -v ns="$ns" -v nb="$nb" -v nr="$nr" 'BEGIN {
		printf "| %d | %d %% | pgvector | %.2f | %.1f | %.4f | 1 | 1 |\n", r, d, ps, pb / 1048576, pr
		printf "| %d | %d %% | n2 | %.2f | %.1f | %.4f | %.2fx | %.2fx |\n", r, d, ns, nb / 1048576, nr,
			ns / ps, nb / pb }' >>"$OUT"
	lo=$hi
done
log "results: $OUT"
cat "$OUT"
