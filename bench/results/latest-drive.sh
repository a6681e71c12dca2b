#!/usr/bin/env bash
# bench/results/latest-drive.sh -- the driver of the "Latest results" run (bench/README.md):
# OUT=folder [SB=2GB DATASETS=... SYSTEMS="pgvector float4 float16 sq8" ROUNDS=3
# INTERLEAVE=ef|system] as root;
# then latest-report.sh OUT DATASET (RECALL=0.95) and latest-plot.sh OUT DATASET PNG.
# One cluster, one run: pgvector hnsw, n2 per storage, exact plan; per dataset a
# database per system so the ef sweeps can be interleaved round by round.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd -P); root=$(cd "$here/.." && pwd -P)
export N2_PG_BINDIR=${N2_PG_BINDIR:-/usr/lib/postgresql/15/bin}
. "$root/scripts/lib.sh"; . "$here/lib.sh"
n2_need_root
SB=${SB:-2GB}
DATASETS=${DATASETS:-bigann10k fashion-mnist}
SYSTEMS=${SYSTEMS:-pgvector float4 float16 sq8}
EF=${EF:-10 16 20 24 32 40 64}
ROUNDS=${ROUNDS:-3}
INTERLEAVE=${INTERLEAVE:-ef}
MINTIME=${MINTIME:-1}
NEXACT=${NEXACT:-100}
WITH=${WITH:-m = 16, ef_construction = 64, n_threads = 2}
PGV_WITH=${PGV_WITH:-m = 16, ef_construction = 64}
export N2BENCH_PIN=${PIN:-same}
OUT=${OUT:?}
mkdir -p "$OUT/raw"
n2bench=$here/build/n2bench
work=$(mktemp -d /tmp/n2latest.XXXXXX); chmod 755 "$work"
cleanup() { n2_cluster_stop; rm -rf "$work"; }
trap cleanup EXIT
tar -xzf $root/../shared/anchors/pgvector-e48241b.tar.gz -C "$work"
pgv_src=$work/$(tar -tzf $root/../shared/anchors/pgvector-e48241b.tar.gz | awk -F/ 'NR == 1 { print $1 }')
make -C "$pgv_src" PG_CONFIG="$N2_PG_CONFIG" >"$OUT/raw/pgvector-build.log" 2>&1
mkdir -p "$work/c"; bench_cluster_start "$work/c" "$SB" 55700
make -C "$pgv_src" install PG_CONFIG="$N2_PG_CONFIG" DESTDIR="$work/c/pg" >>"$OUT/raw/pgvector-build.log" 2>&1
export PGHOST=$N2_PGSOCK PGPORT=$N2_PGPORT PGUSER=postgres
renice -n -10 -p "$(head -n1 "$N2_PGDATA/postmaster.pid")" >/dev/null; renice -n -10 -p $$ >/dev/null
psql -XAtc "SELECT version(), current_setting('shared_buffers')" -d postgres | tee "$OUT/raw/server.txt"
git -C "$root" rev-parse HEAD >"$OUT/raw/commit.txt"
for ds in $DATASETS; do
	unset NQ
	[ "$ds" = fashion-mnist ] && NQ=500
	bench_dataset "$ds"
	for s in $SYSTEMS; do
		db=$(echo "${ds}_$s" | tr -- - _)
		psql -Xqc "CREATE DATABASE $db" -d postgres
		raw=$OUT/raw/$ds-$s-build.csv
		log "$ds $s: load + build"
		if [ "$s" = pgvector ]; then
			PGDATABASE=$db N2BENCH_AM=hnsw "$n2bench" load "$BASE" "$QUERY" "$NQ" >"$raw"
			PGDATABASE=$db N2BENCH_AM=hnsw \
				N2BENCH_SETUP="SET max_parallel_maintenance_workers = 1; SET min_parallel_table_scan_size = 0; SET maintenance_work_mem = '2GB'" \
				"$n2bench" build "$PGV_WITH" | tee -a "$raw"
		else
			opts=$WITH; [ "$s" = float4 ] || opts="$WITH, storage = '$s'"
			PGDATABASE=$db "$n2bench" load "$BASE" "$QUERY" "$NQ" >"$raw"
			PGDATABASE=$db "$n2bench" build "$opts" | tee -a "$raw"
		fi
	done
	log "$ds: exact plan ($NEXACT queries)"
	PGDATABASE=$(echo "${ds}_float4" | tr -- - _)
	[ "$SYSTEMS" = "${SYSTEMS#*float4}" ] && PGDATABASE=$(echo "${ds}_$(echo $SYSTEMS | awk '{print $NF}')" | tr -- - _)
	PGDATABASE=$PGDATABASE "$n2bench" exact "$BASE" "$QUERY" "$GT_DIST" "$NEXACT" | tee "$OUT/raw/$ds-exact.csv"
	for r in $(seq "$ROUNDS"); do
		# INTERLEAVE=ef: each ef_search value on every system in turn, so that a
		# minute of a busier machine falls on all of them; =system: one sweep each
		if [ "$INTERLEAVE" = ef ]; then
			log "$ds round $r: ef_search by ef_search over $SYSTEMS"
			for s in $SYSTEMS; do : >"$OUT/raw/$ds-$s-r$r.csv"; done
			for ef in $EF; do
				for s in $SYSTEMS; do
					db=$(echo "${ds}_$s" | tr -- - _)
					am=; [ "$s" = pgvector ] && am=hnsw
					PGDATABASE=$db N2BENCH_AM=$am "$n2bench" search "$BASE" "$QUERY" "$GT_DIST" "$NQ" "$MINTIME" "$ef" | tee -a "$OUT/raw/$ds-$s-r$r.csv"
				done
			done
		else
			for s in $SYSTEMS; do
				db=$(echo "${ds}_$s" | tr -- - _)
				log "$ds round $r: $s sweep"
				am=; [ "$s" = pgvector ] && am=hnsw
				# shellcheck disable=SC2086
				PGDATABASE=$db N2BENCH_AM=$am "$n2bench" search "$BASE" "$QUERY" "$GT_DIST" "$NQ" "$MINTIME" $EF | tee "$OUT/raw/$ds-$s-r$r.csv"
			done
		fi
		PGDATABASE=$PGDATABASE "$n2bench" floor "$NQ" "$MINTIME" | tee -a "$OUT/raw/$ds-floor.csv" || true
	done
	for s in $SYSTEMS; do psql -Xqc "DROP DATABASE $(echo "${ds}_$s" | tr -- - _)" -d postgres; done
done
log done
