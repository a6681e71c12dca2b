#!/usr/bin/env bash
# bench/citus.sh -- distributed (Citus, coordinator + 2 workers on this machine)
# vs single-node n2 k-NN search: QPS and latency in the same run, on the same data.
#
# One Citus cluster (scripts/citus.sh start) holds both:
#   items_local  a plain table on the coordinator: the single-node index
#   items        distributed by id over 2 shards, one per worker
# both WITH (m = 16, ef_construction = 64), loaded with the data set's base vectors.
# Modes, each pgbench over the data set's queries (one script per query, the
# vector as a literal, -M prepared, picked at random), at 1 and 4 clients:
#   single       SELECT id FROM items_local ORDER BY embedding <-> q LIMIT 10
#   single-tx    the same in BEGIN; SET LOCAL n2.ef_search = 40; ...; COMMIT
#   dist         the same query on items: Citus sends it to both shards
#                (ORDER BY ... LIMIT 10 each) and merges on the coordinator
#   dist-tx      dist with the settings the reliable way: BEGIN; SET LOCAL
#                citus.propagate_set_commands = 'local'; SET LOCAL n2.ef_search
#                = 40; ...; COMMIT
#   shard        one shard's table queried directly on its worker (half the
#                rows): the per-shard cost of the distributed query
# Latency = pgbench's per-transaction times (-l): mean, p50, p99 in ms.  Every
# mode runs ROUNDS times, the modes taking turns, and each figure is the median
# over the rounds: on a shared machine rates drift within minutes.
# recall@10 (tie-aware, against the data set's ground truth) of each mode's
# answers is measured once, untimed.
#
# All three servers and pgbench share this machine's CPUs, so dist pays for its
# extra backends here; on separate machines the workers' work runs in parallel.
# Compare modes within one run only (absolute rates on a shared machine drift).
#
# Environment (all optional):
#   DATASET   bigann10k (default) | fashion-mnist
#   SECS      seconds per pgbench run (default 5)
#   ROUNDS    runs per mode and client count (default 3)
#   CLIENTS   client counts (default '1 4')
#   N2_PORT   first port to try (default 56600; the cluster takes 3)
#   OUT       also write the markdown report there
# Run as root: installs this tree's n2 and Citus (scripts/citus.sh install,
# built once) into a private copy of the PostgreSQL installation (N2_PG_BINDIR's),
# so nothing is installed system-wide.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
# shellcheck source=../scripts/lib.sh
. "$root/scripts/lib.sh"

DATASET=${DATASET:-bigann10k}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-"1 4"}
data=${DATA_DIR:-$root/../shared/data}
case $DATASET in
bigann10k) d=$data/bigann10k-128-euclidean ;;
fashion-mnist) d=$data/fashion-mnist-784-euclidean ;;
*) die "unknown DATASET '$DATASET' (bigann10k, fashion-mnist)" ;;
esac
BASE=$d/base.fvecs QUERY=$d/query.fvecs GT=$d/groundtruth.ivecs GT_DIST=$d/groundtruth_distances.fvecs
for f in "$BASE" "$QUERY" "$GT" "$GT_DIST"; do [ -r "$f" ] || die "missing data file $f"; done
NQ=100
command -v python3 >/dev/null || die "python3 needed (to convert .fvecs)"
n2_need_root

work=$(mktemp -d /tmp/n2citusbench.XXXXXX)
chmod 755 "$work"
cluster=
cleanup() {
	if [ -n "$cluster" ]; then
		N2_PG_BINDIR=$N2_PG_BINDIR bash "$root/scripts/citus.sh" stop "$cluster" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# ---- a private PostgreSQL root with this tree's n2 and Citus
pgroot=$work/pg
for dir in "$("$N2_PG_CONFIG" --bindir)" "$("$N2_PG_CONFIG" --pkglibdir)" "$("$N2_PG_CONFIG" --sharedir)"; do
	mkdir -p "$pgroot$dir"
	cp -a "$dir/." "$pgroot$dir/"
done
n2_copy_tree "$root" "$work/n2"
chown -R postgres: "$work/n2"
log "build n2 and install it into $pgroot"
n2_as_pg make -C "$work/n2" -j"$(nproc)" PG_CONFIG="$N2_PG_CONFIG" >"$work/build.log" 2>&1 \
	|| { tail -n 30 "$work/build.log"; die "n2 build failed"; }
make -C "$work/n2" install DESTDIR="$pgroot" PG_CONFIG="$N2_PG_CONFIG" >>"$work/build.log" 2>&1 \
	|| { tail -n 30 "$work/build.log"; die "n2 install failed"; }
N2_CITUS_DESTDIR=$pgroot bash "$root/scripts/citus.sh" install "$N2_PG_CONFIG"
N2_PG_BINDIR=$pgroot$("$N2_PG_CONFIG" --bindir)
N2_PG_CONFIG=$N2_PG_BINDIR/pg_config
export N2_PG_BINDIR N2_PG_CONFIG

port=$(n2_free_port "${N2_PORT:-56600}")
cluster=$work/cluster
bash "$root/scripts/citus.sh" start "$cluster" "$port"
sock=$cluster/sock
psql_on() { local p=$1; shift; n2_as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$p" -U postgres -d postgres "$@"; }
sql() { psql_on "$port" "$@"; }

# ---- data
# fvecs -> COPY text "id<TAB>[...]", ids 0-based row numbers
python3 - "$BASE" >"$work/base.tsv" <<-'PY'
	import struct, sys
	with open(sys.argv[1], 'rb') as f:
	    i = 0
	    while True:
	        h = f.read(4)
	        if not h:
	            break
	        d = struct.unpack('<i', h)[0]
	        v = struct.unpack('<%df' % d, f.read(4 * d))
	        sys.stdout.write('%d\t[%s]\n' % (i, ','.join(repr(x) for x in v)))
	        i += 1
PY
# the query vectors as literals, one per line
python3 - "$QUERY" "$NQ" >"$work/queries.txt" <<-'PY'
	import struct, sys
	with open(sys.argv[1], 'rb') as f:
	    for i in range(int(sys.argv[2])):
	        d = struct.unpack('<i', f.read(4))[0]
	        v = struct.unpack('<%df' % d, f.read(4 * d))
	        print('[%s]' % ','.join(repr(x) for x in v))
PY
chmod 644 "$work/base.tsv" "$work/queries.txt"
dim=$(head -n 1 "$work/queries.txt" | tr ',' '\n' | wc -l)
with="WITH (m = 16, ef_construction = 64)"
log "load $DATASET ($dim dimensions) and build the indexes"
sql -c "CREATE TABLE items_local (id int PRIMARY KEY, embedding vector($dim))" \
	-c "\\copy items_local FROM '$work/base.tsv'" \
	-c "CREATE TABLE items (id int PRIMARY KEY, embedding vector($dim))" \
	-c "SELECT create_distributed_table('items', 'id', shard_count => 2)" \
	-c "INSERT INTO items SELECT * FROM items_local ORDER BY id" \
	-c "VACUUM ANALYZE items_local" -c "VACUUM ANALYZE items" >/dev/null
t0=$(date +%s.%N)
sql -c "CREATE INDEX items_local_n2 ON items_local USING n2 (embedding) $with"
t1=$(date +%s.%N)
sql -c "CREATE INDEX items_n2 ON items USING n2 (embedding) $with"
t2=$(date +%s.%N)
build_single=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
build_dist=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }')
IFS='|' read -r shard shard_port < <(sql -At -c "SELECT shardid, nodeport FROM n2_shard_indexes('items_n2') ORDER BY shardid LIMIT 1")
shard_rows=$(sql -At -c "SELECT heap_tids FROM n2_index_info_shards('items_n2') WHERE shardid = $shard")
[ -z "$(sql -At -c "SELECT problem FROM n2_verify_shards('items_n2')")" ] || die "n2_verify_shards found problems"

# ---- one pgbench script per query and mode
setlocal_plain="SET LOCAL n2.ef_search = 40;"
setlocal_citus="SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL n2.ef_search = 40;"
for mode in single single-tx dist dist-tx shard; do
	mkdir -p "$work/scripts/$mode"
	i=0
	while read -r q; do
		case $mode in
		single) s="SELECT id FROM items_local ORDER BY embedding <-> '$q' LIMIT 10;" ;;
		single-tx) s="BEGIN; $setlocal_plain SELECT id FROM items_local ORDER BY embedding <-> '$q' LIMIT 10; COMMIT;" ;;
		dist) s="SELECT id FROM items ORDER BY embedding <-> '$q' LIMIT 10;" ;;
		dist-tx) s="BEGIN; $setlocal_citus SELECT id FROM items ORDER BY embedding <-> '$q' LIMIT 10; COMMIT;" ;;
		shard) s="SELECT id FROM items_$shard ORDER BY embedding <-> '$q' LIMIT 10;" ;;
		esac
		printf '%s\n' "$s" | sed 's/; /;\n/g' >"$work/scripts/$mode/q$i.sql"
		i=$((i + 1))
	done <"$work/queries.txt"
done
chown -R postgres: "$work/scripts"

# ---- recall@10 of each mode's answers (untimed)
score() { # score ANSWERS: recall@10 from lines "id:dist ..."
	python3 - "$GT_DIST" "$1" <<-'PY'
		import struct, sys
		def fvecs(path):
		    out = []
		    with open(path, 'rb') as f:
		        while True:
		            h = f.read(4)
		            if not h:
		                return out
		            d = struct.unpack('<i', h)[0]
		            out.append(struct.unpack('<%df' % d, f.read(4 * d)))
		gt = fvecs(sys.argv[1])
		hits = n = 0
		for qi, line in enumerate(open(sys.argv[2])):
		    bound = gt[qi][9] * (1 + 1e-4) + 1e-6
		    rows = [r.split(':') for r in line.split()][:10]
		    hits += sum(1 for _, dist in rows if float(dist) <= bound)
		    n += 10
		print('%.4f' % (hits / n))
	PY
}
answers() { # answers TABLE SETUP: one line "id:dist ..." per query
	local table=$1 setup=$2 q
	{
		printf '%s\n' "$setup"
		while read -r q; do
			printf "SELECT string_agg(id || ':' || d, ' ' ORDER BY d) FROM (SELECT id, embedding <-> '%s' AS d FROM %s ORDER BY embedding <-> '%s' LIMIT 10) s;\n" "$q" "$table" "$q"
		done <"$work/queries.txt"
		[ -z "$setup" ] || echo "COMMIT;"
	} | sql -At >"$work/answers.txt"
	score "$work/answers.txt"
}
log "recall@10 of each mode"
r_single=$(answers items_local "SET enable_seqscan = off;")
r_single_tx=$(answers items_local "BEGIN; $setlocal_plain SET LOCAL enable_seqscan = off;")
r_dist=$(answers items "")
r_dist_tx=$(answers items "BEGIN; $setlocal_citus")

# ---- pgbench
pgb() { # pgb MODE PORT CLIENTS -> "tps mean_ms p50_ms p99_ms"
	local mode=$1 p=$2 c=$3 args=() f
	for f in "$work/scripts/$mode"/q*.sql; do args+=(-f "$f"); done
	rm -f "$work"/pgblog*
	n2_as_pg pgbench -n -M prepared -h "$sock" -p "$p" -U postgres -c "$c" -j "$c" -T "$SECS" \
		-l --log-prefix="$work/pgblog" "${args[@]}" postgres >"$work/pgbench.out" 2>&1 \
		|| { cat "$work/pgbench.out"; die "pgbench $mode failed"; }
	local tps
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/pgbench.out" | head -n 1)
	cat "$work"/pgblog* | awk '{print $3}' | sort -n | awk -v tps="$tps" '
		{ a[NR] = $1; s += $1 }
		END { printf "%.0f %.3f %.3f %.3f\n", tps, s / NR / 1000, a[int(NR * 0.5) + 1] / 1000, a[int(NR * 0.99) + 1] / 1000 }'
}
chown postgres: "$work"
declare -A RES
for round in $(seq "$ROUNDS"); do
	for c in $CLIENTS; do
		for mode in single single-tx dist dist-tx shard; do
			p=$port
			[ "$mode" != shard ] || p=$shard_port
			log "round $round: pgbench $mode, $c client(s), ${SECS}s"
			r=$(pgb "$mode" "$p" "$c")
			info "QPS, mean, p50, p99 ms: $r"
			RES[$mode,$c]="${RES[$mode,$c]:-}$r"$'\n'
		done
	done
done
# the median of each column over the rounds
median_cols() {
	awk '{ for (i = 1; i <= NF; i++) v[i, NR] = $i; nf = NF }
		END {
			for (i = 1; i <= nf; i++) {
				n = 0
				for (r = 1; r <= NR; r++) a[++n] = v[i, r]
				for (x = 1; x <= n; x++) for (y = x + 1; y <= n; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
				printf "%s%s", (i > 1 ? " " : ""), (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
			}
			printf "\n"
		}'
}

# ---- report
rows=$(sql -At -c "SELECT count(*) FROM items_local")
report=$work/report.md
{
	echo "# Distributed (Citus) vs single-node n2 search: $DATASET"
	echo
	echo "- data: $rows x $dim, $NQ queries, k = 10, L2; index WITH (m = 16, ef_construction = 64), n2.ef_search = 40 (default)"
	echo "- Citus 13.2.2, coordinator + 2 workers on ONE machine ($(nproc) CPUs, shared by the 3 servers and pgbench); items distributed by id, 2 shards (one per worker, $shard_rows rows in shard $shard)"
	echo "- CREATE INDEX: single-node ${build_single}s, distributed ${build_dist}s (both shards in parallel)"
	echo "- pgbench -M prepared, ${SECS}s per run, one script per query (vector literal), picked at random; latency from pgbench -l; medians of $ROUNDS rounds, the modes taking turns"
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine)"
	echo "- $(n2_as_pg "$N2_PG_BINDIR/postgres" --version); n2 $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo
	echo "| mode | clients | QPS | mean ms | p50 ms | p99 ms | recall@10 |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for c in $CLIENTS; do
		for mode in single single-tx dist dist-tx shard; do
			read -r tps mean p50 p99 < <(printf '%s' "${RES[$mode,$c]}" | median_cols)
			case $mode in
			single) r=$r_single ;; single-tx) r=$r_single_tx ;; dist) r=$r_dist ;; dist-tx) r=$r_dist_tx ;; shard) r='(half the data)' ;;
			esac
			echo "| $mode | $c | $tps | $mean | $p50 | $p99 | $r |"
		done
	done
	echo
	echo "single: the local table on the coordinator; single-tx: the same inside BEGIN; SET LOCAL n2.ef_search = 40; ...; COMMIT;"
	echo "dist: the distributed table, Citus adaptive executor, both shards; dist-tx: with SET LOCAL citus.propagate_set_commands = 'local' and SET LOCAL n2.ef_search = 40 (how settings reach the workers);"
	echo "shard: shard $shard's table queried directly on its worker (the per-shard cost)."
} >"$report"
cat "$report"
[ -z "${OUT:-}" ] || cp "$report" "$OUT"
