#!/usr/bin/env bash
# bench/run.sh -- the n2 benchmark suite. Entry point: make bench DATASET=...
#
# For each index setting: CREATE INDEX time, index size, backend peak memory; then
# an n2.ef_search sweep with recall@10 (tie-aware), QPS over one connection with a
# prepared statement, QPS of one LATERAL batch statement; the exact sequential
# scan as baseline; and the core-only search (bench/build/core_bench) of the very
# graph the index holds (exported with n2_index_graph), in memory without the
# buffer manager, with the core/SQL ratio at each ef.
#
# Output: bench/results/<dataset>-<timestamp>/{results.md,results.csv,recall_qps.png,raw/}
#
# Environment (all optional):
#   DATASET   bigann10k (default) | fashion-mnist | custom (then BASE, QUERY, GT_DIST, GT)
#   SETTINGS  index settings separated by ';', each a WITH list, e.g.
#             'm=16,max_m0=32,ef_construction=64,n_threads=2;m=16,max_m0=32,ef_construction=64,n_threads=1'
#   EF        ef_search sweep (default '10 16 24 32 48 64 96 128 256')
#   NQ        queries used (default: 100 bigann10k, 1000 fashion-mnist, all for custom)
#   NEXACT    queries for the exact baseline (default 50)
#   MINTIME   seconds each QPS measurement runs at least (default 2); the rate
#             reported is the median over the passes (one pass = all NQ queries)
#   PIN       where the client and its backend run while timed (n2bench's
#             N2BENCH_PIN): same (default) one CPU, split two CPUs, off wherever
#             the scheduler puts them.  On a VM a round trip across CPUs goes
#             through the host and can cost more than the query itself; left
#             free, each connection lands one way or the other and rates split.
#   ROUNDS    ef sweeps per setting (default 1), each after a floor measurement;
#             the report gives the medians: on a shared machine rates drift by
#             2-3x within minutes, and rounds spread over time even that out
#   NO_CORE=1 skip the core-only runs (they read the graph with n2_index_graph,
#             which needs a superuser or EXECUTE granted on it)
#   COMPRESSION  compression method of items.v (pglz, lz4; default: the server's
#             default_toast_compression, pglz).  Rows wider than about 2 kB
#             (fashion-mnist's 3.1 kB) are compressed inline, and the executor
#             decompresses each row it returns to evaluate the ORDER BY
#             distance; lz4 decompresses several times faster than pglz.
#   TOAST_TUPLE_TARGET  toast_tuple_target of items (bytes, up to 8160): rows
#             below it are stored uncompressed, at the price of a larger heap
# Both are table settings a DBA may choose; the report says which were used.
# The throwaway cluster runs from a private copy of the PostgreSQL installation
# with this tree's n2 installed into it, so nothing is installed system-wide.
#   BENCH_SERVER=1  use the server of the libpq environment (PGHOST, PGPORT, PGUSER,
#             PGDATABASE; it needs the n2 extension installed) instead of a throwaway
#             cluster; peak-memory needs the client on the same machine, as root
#   SHARED_BUFFERS  of the throwaway cluster (default 2GB)
#   BENCH_RENICE    niceness of the throwaway cluster and this script (default -10; 0: leave)
#   OUT       output directory
# Run as root (the throwaway cluster runs as the postgres user via scripts/lib.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
# shellcheck source=../scripts/lib.sh
. "$root/scripts/lib.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

DATASET=${DATASET:-bigann10k}
bench_dataset "$DATASET"

SETTINGS=${SETTINGS:-"m=16,max_m0=32,ef_construction=64,n_threads=2;\
m=16,max_m0=32,ef_construction=64,n_threads=1;\
m=16,max_m0=32,ef_construction=64,n_threads=2,graph_merging=merge_level0;\
m=16,max_m0=32,ef_construction=64,n_threads=2,neighbor_selecting=naive"}
EF=${EF:-"10 16 24 32 48 64 96 128 256"}
NEXACT=${NEXACT:-50}
MINTIME=${MINTIME:-2}
ROUNDS=${ROUNDS:-1}
PIN=${PIN:-same}
case $PIN in same | split | off) ;; *) die "PIN must be same, split or off" ;; esac
export N2BENCH_PIN=$PIN
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"

# search lines of several rounds (search,ef,recall,qps,batch qps,batch recall,
# µs,batch µs) -> one per ef, in first-seen order, rates and times medians,
# then the best round's two rates
median_rounds() {
	awk -F, '
	function sorted(list, a,    n, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n
	}
	function med(list,    a, n) {
		n = sorted(list, a)
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function max(list,    a) { return a[sorted(list, a)] }
	$1 == "search" {
		if (!($2 in seen)) { seen[$2] = ++n; ef[n] = $2; rec[n] = $3; brec[n] = $6 }
		k = seen[$2]; q[k] = q[k] " " $4; b[k] = b[k] " " $5; c[k] = c[k] " " $7; bc[k] = bc[k] " " $8
	}
	END { for (k = 1; k <= n; k++) printf "search,%s,%s,%.1f,%.1f,%s,%.1f,%.1f,%.1f,%.1f\n", ef[k], rec[k], med(q[k]), med(b[k]), brec[k], med(c[k]), med(bc[k]), max(q[k]), max(b[k]) }'
}
stamp=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$here/results/$DATASET-$stamp}
mkdir -p "$OUT/raw"
OUT=$(cd "$OUT" && pwd -P)

n2bench=$here/build/n2bench
core_bench=$here/build/core_bench
[ -x "$n2bench" ] || die "$n2bench missing: run 'make bench' (or make bench/build/n2bench)"
if [ "${NO_CORE:-0}" != 1 ] && [ ! -x "$core_bench" ]; then
	warn "$core_bench missing: no core-only runs"; NO_CORE=1
fi

# ---- server ----
work=
cleanup() {
	if [ -n "$work" ]; then
		n2_cluster_stop
		rm -rf "$work"
	fi
}
trap cleanup EXIT
if [ "${BENCH_SERVER:-0}" != 1 ]; then
	n2_need_root
	work=$(mktemp -d /tmp/n2bench.XXXXXX)
	bench_cluster_start "$work" "${SHARED_BUFFERS:-2GB}" 55990
	export PGHOST=$N2_PGSOCK PGPORT=$N2_PGPORT PGUSER=postgres PGDATABASE=postgres
	# A busy machine skews every rate: the cluster (its backends inherit it)
	# and the clients below run at a raised priority; BENCH_RENICE=0 keeps it.
	if [ "${BENCH_RENICE:--10}" != 0 ]; then
		renice -n "${BENCH_RENICE:--10}" -p "$(head -n1 "$N2_PGDATA/postmaster.pid")" >/dev/null
		renice -n "${BENCH_RENICE:--10}" -p $$ >/dev/null
	fi
fi

pkglib=$(psql -XAtc "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'" 2>/dev/null || echo '?')
info "server's PKGLIBDIR (where n2.so is loaded from): $pkglib"

log "load $DATASET: $BASE"
N2BENCH_COMPRESSION=${COMPRESSION:-} N2BENCH_TOAST_TARGET=${TOAST_TUPLE_TARGET:-} \
	"$n2bench" load "$BASE" "$QUERY" "$NQ" | tee "$OUT/raw/load.csv"
IFS=, read -r _ nrows dim load_s vcomp vbytes heap_bytes <"$OUT/raw/load.csv"
[ "$NQ" -gt 0 ] || NQ=$(( $(stat -c %s "$QUERY") / (4 * (dim + 1)) ))

log "exact baseline (sequential scan, $NEXACT queries)"
"$n2bench" exact "$BASE" "$QUERY" "$GT_DIST" "$NEXACT" | tee "$OUT/raw/exact.csv"
log "PostgreSQL floor: a prepared 10-row btree query, no vectors"
"$n2bench" floor "$NQ" "$MINTIME" | tee "$OUT/raw/floor.csv"

# results.csv: one row per (setting, mode, ef); build columns repeated on each row.
csv=$OUT/results.csv
echo "dataset,setting,mode,ef,recall,qps,batch_qps,batch_recall,backend_us_per_query,batch_backend_us_per_query,build_s,index_bytes,peak_rss_kb,levels,level0_degree_avg,build_cpu_s,qps_best_round,batch_qps_best_round" >"$csv"

IFS=';' read -r -a settings <<<"$SETTINGS"
i=0
for s in "${settings[@]}"; do
	s=$(echo "$s" | tr -d ' ')
	[ -n "$s" ] || continue
	i=$((i + 1))
	log "setting $i: $s: CREATE INDEX"
	"$n2bench" build "$s" | tee "$OUT/raw/build-$i.csv"
	IFS=, read -r _ build_s isize hwm _ _ levels deg m max_m0 efc sel merge bcpu <"$OUT/raw/build-$i.csv"
	for r in $(seq "$ROUNDS"); do
		if [ "$ROUNDS" -gt 1 ]; then
			log "setting $i, round $r of $ROUNDS: floor, then the ef sweep ($EF) over $NQ queries"
			"$n2bench" floor "$NQ" "$MINTIME" | tee -a "$OUT/raw/floor.csv"
		else
			log "setting $i: ef sweep ($EF) over $NQ queries"
		fi
		# shellcheck disable=SC2086
		"$n2bench" search "$BASE" "$QUERY" "$GT_DIST" "$NQ" "$MINTIME" $EF | tee "$OUT/raw/search-$i-r$r.csv"
	done
	# one line per ef: the median of every rate and CPU time over the rounds
	cat "$OUT"/raw/search-"$i"-r*.csv | median_rounds >"$OUT/raw/search-$i.csv"
	bcpu_build=$bcpu
	while IFS=, read -r _ ef rec qps bqps brec cpu bcpu qbest bbest; do
		echo "$DATASET,${s//,/ },sql,$ef,$rec,$qps,$bqps,$brec,$cpu,$bcpu,$build_s,$isize,$hwm,$levels,$deg,$bcpu_build,$qbest,$bbest" >>"$csv"
	done <"$OUT/raw/search-$i.csv"

	if [ "${NO_CORE:-0}" != 1 ]; then
		# The index's own graph, searched by the core alone: same nodes, same
		# links, same queries, so the two differ only in where the graph lives.
		log "setting $i: core-only search of the index's graph"
		"$n2bench" graph "$OUT/raw/graph-$i.bin" | tee "$OUT/raw/graph-$i.csv"
		# shellcheck disable=SC2086
		"$core_bench" "$BASE" "$QUERY" "$GT" "$GT_DIST" "$m" "$max_m0" "$efc" 1 \
			graph="$OUT/raw/graph-$i.bin" ef="$(echo $EF | tr ' ' ',')" nq="$NQ" \
			| tee "$OUT/raw/core-$i.txt"
		rm -f "$OUT/raw/graph-$i.bin"
		# And the core's own build with the same parameters, for build times.
		cbuild= ccpu=
		if [ "$sel" = heuristic ]; then
			threads=$(echo "$s" | tr ',' '\n' | sed -n 's/^n_threads=//p')
			[ -n "$threads" ] && [ "$threads" -gt 0 ] || threads=$(nproc)
			mergearg=
			[ "$merge" = merge_level0 ] && mergearg=merge
			log "setting $i: core-only build (core_bench $m $max_m0 $efc $threads $mergearg)"
			# shellcheck disable=SC2086
			"$core_bench" "$BASE" "$QUERY" "$GT" "$GT_DIST" "$m" "$max_m0" "$efc" "$threads" $mergearg nosearch \
				| tee "$OUT/raw/core-build-$i.txt"
			cbuild=$(sed -n 's/^build: \([0-9.]*\) s.*/\1/p' "$OUT/raw/core-build-$i.txt")
			ccpu=$(sed -n 's/^build: .* s wall, \([0-9.]*\) s CPU.*/\1/p' "$OUT/raw/core-build-$i.txt")
		else
			info "core_bench builds heuristic graphs only: no core-only build for $sel"
		fi
		grep -E '^\| [0-9]+ \|' "$OUT/raw/core-$i.txt" | tr -d ' ' | tr '|' ',' |
			while IFS=, read -r _ ef rec qps _; do
				echo "$DATASET,${s//,/ },core,$ef,$rec,$qps,,,,,$cbuild,,,,,$ccpu" >>"$csv"
			done
	fi
done

# ---- report ----
# the floor: median (and range) over every measurement of the run
read -r floor_qps floor_us floor_min floor_max floor_n < <(awk -F, '$1 == "floor" { q[++n] = $2; u[n] = $3 }
	END {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && q[j - 1] > q[j]; j--) { t = q[j]; q[j] = q[j - 1]; q[j - 1] = t; t = u[j]; u[j] = u[j - 1]; u[j - 1] = t }
		m = int((n + 1) / 2)
		printf "%.1f %.1f %.1f %.1f %d\n", q[m], u[m], q[1], q[n], n
	}' "$OUT/raw/floor.csv")
log "report: $OUT/results.md"
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
ncpu=$(nproc)
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
commit=${N2_COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}
pgver=$(psql -XAtc 'SHOW server_version' 2>/dev/null || echo '?')
sb=$(psql -XAtc 'SHOW shared_buffers' 2>/dev/null || echo '?')
simd=$(cat "$OUT"/raw/core-*.txt 2>/dev/null | sed -n 's/.*simd \([a-z0-9_-]*\).*/\1/p' | head -n1 || true)

{
	echo "# n2 benchmark: $DATASET"
	echo
	echo "- data: $nrows × $dim ($(basename "$BASE")), $NQ queries ($(basename "$QUERY")), k = 10, L2; load (binary COPY) ${load_s} s"
	echo "- items storage: column compression ${COMPRESSION:-default (pglz)}, toast_tuple_target ${TOAST_TUPLE_TARGET:-default (2032)};" \
		"v stored ${vcomp:+$vcomp-compressed, }$vbytes bytes on average ($((4 * dim + 8)) raw); heap $(awk -v b="$heap_bytes" 'BEGIN {printf "%.1f", b / 1048576}') MB"
	echo "- machine: $cpu, $ncpu CPUs, $mem; PostgreSQL $pgver, shared_buffers $sb; n2 commit $commit from $pkglib${simd:+, core SIMD $simd}"
	echo "- recall@10 is tie-aware (a hit is a row no farther than the 10th true neighbour);"
	echo "  QPS = prepared statement, binary, one connection, client on the same machine, median rate over passes of all queries;"
	case $PIN in
	same) echo "  client and backend pinned to one CPU while timed (PIN=same: a round trip costs the least, no wake-up across CPUs);" ;;
	split) echo "  client and backend pinned to two CPUs while timed (PIN=split: every round trip wakes the other CPU);" ;;
	off) echo "  client and backend placed by the scheduler (PIN=off: rates split by whether they share a CPU);" ;;
	esac
	echo "  batch QPS = one \`SELECT ... FROM queries q CROSS JOIN LATERAL (SELECT id FROM items ORDER BY v <-> q.v LIMIT 10)\` statement;"
	echo "  core = bench/build/core_bench searching the index's own graph (n2_index_graph: the same nodes and links) in memory with the C core, one thread, the same $NQ queries;"
	echo "  backend µs/query = CPU time of the server process per query (/proc/<pid>/schedstat), steadier than QPS on a busy machine;"
	echo "  core/SQL QPS = core QPS ÷ SQL QPS at the same ef (the same graph and search, so the same recall); core/SQL CPU = core QPS × backend µs/query ÷ 1e6;"
	echo "  core build = core_bench building its own graph with the same parameters (heuristic selection only)."
	echo "- backend CPU s = user + system time of the backend over CREATE INDEX, all its build threads (/proc/<pid>/stat);
  peak RSS = the backend's VmHWM during CREATE INDEX (reset just before; includes shared buffers it touched)"
	echo
	awk -F, '{printf "- exact baseline (sequential scan, no parallel workers): %.2f ms/query = %.1f QPS over %d queries, recall %.4f\n", $3, 1000/$3, $2, $4}' "$OUT/raw/exact.csv"
	echo "- PostgreSQL floor: \`SELECT id FROM items WHERE id >= \$1 ORDER BY id LIMIT 10\` through a btree, prepared, same client and connection: $floor_qps QPS, $floor_us backend µs/query$([ "$floor_n" -gt 1 ] && echo " (median of $floor_n measurements over the run, from $floor_min to $floor_max QPS)"). No SQL k-NN query can be faster, so core/SQL can at best reach core QPS ÷ this"
	if [ "$ROUNDS" -gt 1 ]; then
		echo "- each setting's ef sweep ran $ROUNDS times, each after a floor measurement; QPS and µs/query are the medians over those rounds, best round QPS the highest (raw/search-<setting>-r<round>.csv)"
	fi
	echo
} >"$OUT/results.md"

awk -F, -v t_build="$T_BUILD" -v t_size="$T_SIZE_MB" -v t_qps="$T_QPS" -v t_rec="$T_RECALL" -v floor_qps="$floor_qps" -v rounds="$ROUNDS" \
	-v exact_ms="$(cut -d, -f3 "$OUT/raw/exact.csv")" -v plotdir="$OUT/raw" '
function lg(x) { return log(x) }
# QPS at recall r on curve (rec[], qps[], n points sorted by ef): log-linear interpolation.
function at_recall(key, r,    j, best, lo, hi, a, b) {
	lo = ""; hi = ""
	for (j = 1; j <= cn[key]; j++) {
		a = crec[key, j]
		if (a <= r && (lo == "" || a > crec[key, lo])) lo = j
		if (a >= r && (hi == "" || a < crec[key, hi])) hi = j
	}
	if (hi == "") return ""
	# every point above r: the least of them is a lower bound for QPS at r
	if (lo == "") return cqps[key, hi]
	if (crec[key, hi] == crec[key, lo]) return (cqps[key, lo] > cqps[key, hi] ? cqps[key, lo] : cqps[key, hi])
	b = (r - crec[key, lo]) / (crec[key, hi] - crec[key, lo])
	return exp(lg(cqps[key, lo]) + b * (lg(cqps[key, hi]) - lg(cqps[key, lo])))
}
NR == 1 { next }
{
	s = $2; mode = $3
	if (!(s in sid)) { sid[s] = ++ns; sname[ns] = s }
	key = sid[s] SUBSEP mode
	n = ++cn[key]
	crec[key, n] = $5; cqps[key, n] = $6; cef[key, n] = $4
	if (mode == "sql") { bq[key, n] = $7; br[key, n] = $8; cpu[key, n] = $9; bcpu[key, n] = $10; qb[key, n] = $17; bb[key, n] = $18
		build[sid[s]] = $11; size[sid[s]] = $12; hwm[sid[s]] = $13; lev[sid[s]] = $14; deg[sid[s]] = $15; bcpus[sid[s]] = $16 }
	else { cbuild[sid[s]] = $11; ccpus[sid[s]] = $16 }
}
END {
	print "## Builds\n"
	print "| # | setting | CREATE INDEX s | backend CPU s | index MB | backend peak RSS MB | levels | level-0 degree avg | core build s (CPU s) |"
	print "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
	for (k = 1; k <= ns; k++)
		printf "| %d | `%s` | %.2f | %s | %.1f | %.0f | %s | %s | %s |\n", k, sname[k], build[k], bcpus[k], size[k] / 1048576, hwm[k] / 1024, lev[k], deg[k], (k in cbuild) ? sprintf("%.2f (%s)", cbuild[k], ccpus[k]) : "–"
	print "\n## ef_search sweep\n"
	print "| # | ef | recall@10 | QPS | best round QPS | backend µs/query | batch QPS | best round batch QPS | batch µs/query | batch recall | QPS vs exact | core recall | core QPS | core/SQL QPS | core/SQL CPU |"
	print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (k = 1; k <= ns; k++) {
		key = k SUBSEP "sql"; ck = k SUBSEP "core"
		for (j = 1; j <= cn[key]; j++) {
			cr = "–"; c = ""
			for (jj = 1; jj <= cn[ck]; jj++) if (cef[ck, jj] == cef[key, j]) { cr = sprintf("%.4f", crec[ck, jj]); c = cqps[ck, jj] }
			printf "| %d | %d | %.4f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.4f | %.0f× | %s | %s | %s | %s |\n", k, cef[key, j], crec[key, j], cqps[key, j], qb[key, j], cpu[key, j], bq[key, j], bb[key, j], bcpu[key, j], br[key, j], cqps[key, j] * exact_ms / 1000, cr, c == "" ? "–" : sprintf("%.0f", c), c == "" ? "–" : sprintf("%.1f", c / cqps[key, j]), (c == "" || cpu[key, j] <= 0) ? "–" : sprintf("%.1f", c * cpu[key, j] / 1e6)
		}
	}
	if (t_qps != "") {
		print "\n## Versus the targets (pgvector 0.8.6, m=16, ef_construction=64, this machine class)\n"
		print "Setting 1 (`" sname[1] "`). Goal: build ≤ 0.5× target, QPS at equal recall ≥ 2×, SQL within 2× of core-only, index no larger.\n"
		print "| measure | pgvector | n2 | n2 / pgvector |"
		print "|---|---:|---:|---:|"
		printf "| build s | %s | %.2f | %.2f |\n", t_build, build[1], build[1] / t_build
		printf "| index MB | %s | %.1f | %.2f |\n", t_size, size[1] / 1048576, size[1] / 1048576 / t_size
		q = at_recall(1 SUBSEP "sql", t_rec)
		printf "| QPS at recall %s%s | %s | %s | %s |\n", t_rec, (rounds > 1 ? ", median of rounds" : ""), t_qps, q == "" ? "not reached" : sprintf("%.0f", q), q == "" ? "–" : sprintf("%.2f", q / t_qps)
		if (rounds > 1) {
			qbest = at_recall_best(1, t_rec)
			printf "| QPS at recall %s, best round | %s | %s | %s |\n", t_rec, t_qps, qbest == "" ? "not reached" : sprintf("%.0f", qbest), qbest == "" ? "–" : sprintf("%.2f", qbest / t_qps)
		}
		b = at_recall2(1, t_rec)
		c = (1 SUBSEP "core" in cn) ? at_recall(1 SUBSEP "core", t_rec) : ""
		printf "| core-only QPS at recall %s | | %s | core/SQL %s |\n", t_rec, c == "" ? "–" : sprintf("%.0f", c), (c == "" || q == "") ? "–" : sprintf("%.2f", c / q)
		if (b != "") printf "| batch (LATERAL) QPS at recall %s | | %.0f | %.2f |\n", t_rec, b, b / t_qps
		if (floor_qps != "") printf "| PostgreSQL floor QPS (10-row btree query) | | %.0f | core/floor %s |\n", floor_qps, c == "" ? "–" : sprintf("%.2f", c / floor_qps)
	}
	# gnuplot data: one file per curve
	for (k = 1; k <= ns; k++) for (mo = 1; mo <= 2; mo++) {
		m = mo == 1 ? "sql" : "core"; key = k SUBSEP m
		if (!(key in cn)) continue
		f = plotdir "/curve-" k "-" m ".dat"
		printf "" > f
		for (j = 1; j <= cn[key]; j++) printf "%s %s %s\n", crec[key, j], cqps[key, j], cef[key, j] >> f
		close(f)
	}
}
function at_recall_best(k, r,    key2, j) {
	key2 = k SUBSEP "best"
	if (!(key2 in cn)) { cn[key2] = cn[k SUBSEP "sql"]
		for (j = 1; j <= cn[key2]; j++) { crec[key2, j] = crec[k SUBSEP "sql", j]; cqps[key2, j] = qb[k SUBSEP "sql", j] } }
	return at_recall(key2, r)
}
function at_recall2(k, r,    key2, j) {
	key2 = k SUBSEP "batch"
	if (!(key2 in cn)) { cn[key2] = cn[k SUBSEP "sql"]
		for (j = 1; j <= cn[key2]; j++) { crec[key2, j] = br[k SUBSEP "sql", j]; cqps[key2, j] = bq[k SUBSEP "sql", j] } }
	return at_recall(key2, r)
}' "$csv" >>"$OUT/results.md"

if ! command -v gnuplot >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && [ "${N2_SKIP_APT:-0}" != 1 ]; then
	log "install gnuplot-nox for the plot"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox </dev/null >"$OUT/raw/apt.log" 2>&1 \
		|| warn "apt-get install gnuplot-nox failed: see $OUT/raw/apt.log"
fi
if command -v gnuplot >/dev/null 2>&1; then
	{
		echo "set terminal pngcairo size 1000,760 noenhanced font 'sans,10'"
		echo "set output '$OUT/recall_qps.png'"
		echo "set title 'n2: recall@10 vs QPS, $DATASET ($nrows x $dim), k=10'"
		echo "set xlabel 'recall@10 (tie-aware)'; set ylabel 'queries per second (log)'"
		echo "set logscale y; set grid; set key outside below; set xrange [*:1.002]"
		printf "plot "
		sep=
		for f in "$OUT"/raw/curve-*.dat; do
			b=$(basename "$f" .dat); k=${b#curve-}; k=${k%-*}; m=${b##*-}
			title=$(sed -n "${k}p" <<<"$(tr ';' '\n' <<<"$SETTINGS" | tr -d ' ' | grep -v '^$')")
			if [ "$m" = core ]; then style="with linespoints dt 2 lc $k pt 6"; title="core-only: $title"
			else style="with linespoints lw 2 lc $k pt 7"; title="SQL: $title"; fi
			printf "%s'%s' using 1:2 %s title '%s'" "$sep" "$f" "$style" "$title"
			sep=", "
		done
		if [ -n "$T_QPS" ]; then
			printf "%s'-' using 1:2 with points pt 9 ps 2 lc rgb 'black' title 'pgvector 0.8.6 target'\n%s %s\ne\n" "$sep" "$T_RECALL" "$T_QPS"
		fi
		echo
	} >"$OUT/raw/plot.gp"
	if ! gnuplot "$OUT/raw/plot.gp" 2>"$OUT/raw/gnuplot.log"; then
		sed -i 's/pngcairo/png/; s/ font .sans,10.//' "$OUT/raw/plot.gp"
		gnuplot "$OUT/raw/plot.gp" 2>>"$OUT/raw/gnuplot.log" || warn "gnuplot failed: see $OUT/raw/gnuplot.log"
	fi
	[ -s "$OUT/recall_qps.png" ] && printf '\n![recall vs QPS](recall_qps.png)\n' >>"$OUT/results.md"
else
	warn "gnuplot not installed (apt-get install gnuplot-nox): no plot"
fi

cat "$OUT/results.md"
log "results in $OUT"
