#!/usr/bin/env bash
# bench/filtered.sh -- filtered k-NN queries: ms/query, QPS and recall@10
# of the n2 index plan with DEFAULT settings against the exact plan
# (SET enable_indexscan = off) in the same run, at ~10% and 1% selectivity, and
# for a filter that matches 5 rows but that the planner cannot estimate.
#
# Data: fashion-mnist (60,000 x 784, L2) with its class label (10 classes, ~10%
# each), a synthetic bucket = id % 100 (1%) and a label set of 2 distinct labels
# out of 1..20 drawn from a hash of the id (so unrelated to the vector and to the
# class; one label matches ~10% of the rows) as columns:
#   items (id int PRIMARY KEY, label int, bucket int, labels int4[], embedding vector(784))
# and an n2 index WITH (m = 16, ef_construction = 64, n_threads = 2) on
# (embedding, label, bucket, labels): label, bucket and labels are filter columns
# stored in the index, which evaluates the conditions on them (FILTER_COLUMNS=0:
# on embedding alone, the filter applied above the scan).
# Query i (of the first NQ of query.fvecs) runs
#   10%: ... WHERE label = <query i's class>  ORDER BY embedding <-> q LIMIT 10
#    1%: ... WHERE bucket = i % 100           ORDER BY embedding <-> q LIMIT 10
#  5 rows: ... WHERE id % 12000 = 7          (PostgreSQL assumes 0.5% for such an
#          expression, so the n2 plan is chosen; the scan walks n2.max_scan_tuples
#          tuples and then finishes with its sequential pass; first NQ5 queries)
# Uncorrelated filters (the matching rows are not near the query): c is 3, or 4
# for a query of class 3, the same class for every query:
#   u10%: ... WHERE label = c   (1% above, bucket = i % 100, is uncorrelated too)
#   u0.1%: ... WHERE label = c AND bucket = i % 100      (about 60 rows)
#   two:  ... WHERE label = c AND bucket < 50            (two conditions, 5%)
#   u1:   ... WHERE bucket = 37                         (1%, the same bucket for every query)
# Label sets (uncorrelated too), with c1 = 1 + i % 20, c2 = 1 + (i + 7) % 20:
#   lab:  ... WHERE labels && ARRAY[c1, c2]             (overlaps, ~19.5%)
#   labc: ... WHERE labels @> ARRAY[c1]                 (contains, ~10%)
# The exact plan's answers are the ground truth (recall is tie-aware: a returned
# row is a hit when its distance is <= the 10th exact distance).
#
# Timing: all NQ queries of one kind in ONE psql session (constant query vectors
# as literals, as an application would send them), wall time of the session; one
# warm-up pass then PASSES timed passes, the median is reported.  ms/query includes
# psql start-up (a few ms per pass, i.e. negligible per query) and parsing the
# 784-float literal, equally for both plans.
#
# Environment (all optional):
#   BENCH_SERVER=1  use the server of the libpq environment (PGHOST, PGPORT,
#                   PGUSER, PGDATABASE; n2 installed) instead of a throwaway cluster
#   NQ=200          queries (>= 100 recommended)
#   NQ5=20          queries of the 5-row filter
#   PASSES=3        timed passes per measurement (median)
#   INDEX_OPTS      WITH list of the index (default m = 16, ef_construction = 64, n_threads = 2)
#   FILTER_COLUMNS=0  index (embedding) alone, as before filter columns existed
#   REUSE=1         keep an existing items table/index (BENCH_SERVER only)
#   DATA_DIR        shared data folder (default <repo>/../shared/data)
#   SHARED_BUFFERS  of the throwaway cluster (default 2GB)
#   SELS            query kinds to run, in this order (default all:
#                   "10 1 5 u10 u01 two u1 lab labc")
#   OUT             write the markdown table there too
# Run as root without BENCH_SERVER (the throwaway cluster runs as postgres).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
# shellcheck source=../scripts/lib.sh
. "$root/scripts/lib.sh"

data=${DATA_DIR:-$root/../shared/data}/fashion-mnist-784-euclidean
BASE=$data/base.fvecs LABELS=$data/base_labels.u8
QUERY=$data/query.fvecs QLABELS=$data/query_labels.u8
for f in "$BASE" "$LABELS" "$QUERY" "$QLABELS"; do [ -r "$f" ] || die "missing data file $f"; done
NQ=${NQ:-200}
NQ5=${NQ5:-20}
PASSES=${PASSES:-3}
INDEX_OPTS=${INDEX_OPTS:-"m = 16, ef_construction = 64, n_threads = 2"}
SELS=${SELS:-10 1 5 u10 u01 two u1 lab labc}
for sel in $SELS; do
	case $sel in
	10 | 1 | 5 | u10 | u01 | two | u1 | lab | labc) ;;
	*) die "unknown query kind '$sel' in SELS (known: 10 1 5 u10 u01 two u1 lab labc)" ;;
	esac
done
command -v python3 >/dev/null || die "python3 needed (to convert .fvecs)"

tmp=$(mktemp -d /tmp/n2filtered.XXXXXX)
chmod 755 "$tmp"
work=
cleanup() {
	if [ -n "$work" ]; then
		n2_cluster_stop
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ "${BENCH_SERVER:-0}" != 1 ]; then
	n2_need_root
	work=$tmp/cluster
	mkdir -p "$work"
	chmod 755 "$work"
	cat >"$work/extra.conf" <<-EOF
		shared_buffers = ${SHARED_BUFFERS:-2GB}
		maintenance_work_mem = 2GB
		jit = off
		synchronous_commit = off
		max_wal_size = 8GB
		checkpoint_timeout = 1h
	EOF
	port=$(n2_free_port 56990)
	n2_cluster_start "$work" "$port" "$work/extra.conf"
	export PGHOST=$N2_PGSOCK PGPORT=$port PGUSER=postgres PGDATABASE=postgres
fi
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

# ---- data ----
# fvecs -> COPY text; ids are 0-based row numbers.  With labels:
# "id<TAB>class<TAB>bucket<TAB>{l1,l2}<TAB>[vector]"; l1, l2: 2 distinct labels of
# 1..20 from a 32-bit multiplicative hash of the id.
fvecs_copy() { # path [labels] [limit]
	python3 - "$@" <<-'PY'
		import struct, sys
		path = sys.argv[1]
		labels = open(sys.argv[2], 'rb').read() if len(sys.argv) > 2 and sys.argv[2] else None
		limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
		out = sys.stdout
		def labelset(i):
		    h1 = ((i + 1) * 2654435761) & 0xffffffff
		    h2 = ((i + 1) * 40503 * 2246822519 + 97) & 0xffffffff
		    l1 = 1 + (h1 >> 16) % 20
		    l2 = 1 + (l1 + (h2 >> 16) % 19) % 20   # another of the 19 others
		    return '{%d,%d}' % (l1, l2)
		with open(path, 'rb') as f:
		    i = 0
		    while limit is None or i < limit:
		        h = f.read(4)
		        if not h:
		            break
		        d = struct.unpack('<i', h)[0]
		        v = struct.unpack('<%df' % d, f.read(4 * d))
		        vec = '[' + ','.join(repr(x) for x in v) + ']'
		        if labels is not None:
		            out.write('%d\t%d\t%d\t%s\t%s\n' % (i, labels[i], i % 100, labelset(i), vec))
		        else:
		            out.write('%d\t%s\n' % (i, vec))
		        i += 1
	PY
}

if [ "${REUSE:-0}" = 1 ] && [ "${BENCH_SERVER:-0}" = 1 ] &&
	[ "$("${PSQL[@]}" -Atc "SELECT count(*) FROM pg_class WHERE relname = 'items_n2'")" = 1 ]; then
	log "reusing table items and index items_n2"
	[ "$("${PSQL[@]}" -Atc "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'labels' AND NOT attisdropped")" = 1 ] ||
		die "table items has no labels column (made by an older filtered.sh): run with REUSE=0"
else
	log "load fashion-mnist base (60,000 x 784) with label, bucket and labels columns"
	"${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS n2" \
		-c "DROP TABLE IF EXISTS items" \
		-c "CREATE TABLE items (id int PRIMARY KEY, label int NOT NULL, bucket int NOT NULL, labels int4[] NOT NULL, embedding vector(784))"
	t0=$(date +%s.%N)
	fvecs_copy "$BASE" "$LABELS" | "${PSQL[@]}" -c "\\copy items (id, label, bucket, labels, embedding) FROM STDIN"
	t1=$(date +%s.%N)
	info "loaded $("${PSQL[@]}" -Atc 'SELECT count(*) FROM items') rows in $(printf %.1f "$(echo "$t1 - $t0" | bc)") s"
	cols="embedding, label, bucket, labels"
	[ "${FILTER_COLUMNS:-1}" = 1 ] || cols=embedding
	log "CREATE INDEX items_n2 ... USING n2 ($cols) WITH ($INDEX_OPTS)"
	t0=$(date +%s.%N)
	"${PSQL[@]}" -c "SET maintenance_work_mem = '2GB'" \
		-c "CREATE INDEX items_n2 ON items USING n2 ($cols) WITH ($INDEX_OPTS)"
	t1=$(date +%s.%N)
	build_s=$(printf %.1f "$(echo "$t1 - $t0" | bc)")
	info "built in $build_s s"
	"${PSQL[@]}" -c "VACUUM ANALYZE items"
fi

# ---- queries ----
# qvec.tsv: "i<TAB>label<TAB>[vector]"
fvecs_copy "$QUERY" "$QLABELS" "$NQ" | awk -F'\t' '{print $1 "\t" $2 "\t" $5}' >"$tmp/qvec.tsv"
[ "$(wc -l <"$tmp/qvec.tsv")" = "$NQ" ] || die "query.fvecs has fewer than $NQ vectors"

# make_script SEL SETUP -> psql script on stdout: one output line per query,
# "id:dist id:dist ..." in the order returned.
make_script() {
	local sel=$1 setup=$2 explain=${3:-0}
	echo "$setup"
	awk -F'\t' -v sel="$sel" -v explain="$explain" -v nq5="$NQ5" '{
		c = ($2 == 3) ? 4 : 3
		if (sel == "10") w = "label = " $2
		else if (sel == "1") w = "bucket = " ($1 % 100)
		else if (sel == "u10") w = "label = " c
		else if (sel == "u01") w = "label = " c " AND bucket = " ($1 % 100)
		else if (sel == "two") w = "label = " c " AND bucket < 50"
		else if (sel == "u1") w = "bucket = 37"
		else if (sel == "lab") w = "labels && ARRAY[" (1 + $1 % 20) ", " (1 + ($1 + 7) % 20) "]"
		else if (sel == "labc") w = "labels @> ARRAY[" (1 + $1 % 20) "]"
		else w = "id % 12000 = 7"
		if (sel == "5" && NR > nq5)
			exit
		if (explain) {
			printf "EXPLAIN (COSTS OFF) SELECT id FROM items WHERE %s ORDER BY embedding <-> \x27%s\x27 LIMIT 10;\n", w, $3
			exit
		}
		printf "SELECT coalesce(string_agg(id || \x27:\x27 || d, \x27 \x27), \x27\x27) FROM (SELECT id, embedding <-> \x27%s\x27 AS d FROM items WHERE %s ORDER BY embedding <-> \x27%s\x27 LIMIT 10) s;\n", $3, w, $3
	}' "$tmp/qvec.tsv"
}

# explain_plan SEL SETUP -> one-line plan summary of the first query
explain_plan() {
	local sel=$1 setup=$2
	make_script "$sel" "$setup" 1 | "${PSQL[@]}" -At | grep -oE 'Index Scan using [a-z0-9_]+|Seq Scan|Parallel Seq Scan|Bitmap Heap Scan|Sort' | sort -u | paste -sd+ -
}

# timed SEL SETUP NAME -> runs warm-up + PASSES, leaves $tmp/NAME.out, echoes median seconds
timed() {
	local sel=$1 setup=$2 name=$3 p t0 t1
	make_script "$sel" "$setup" >"$tmp/$name.sql"
	"${PSQL[@]}" -At -f "$tmp/$name.sql" >"$tmp/$name.out"
	for p in $(seq 1 "$PASSES"); do
		t0=$(date +%s.%N)
		"${PSQL[@]}" -At -f "$tmp/$name.sql" >"$tmp/$name.out"
		t1=$(date +%s.%N)
		echo "$t1 - $t0" | bc
	done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

# recall EXACT_OUT INDEX_OUT -> "mean_recall full_rows_fraction ascending_fraction"
# (a query whose exact answer has fewer than 10 rows counts as full when it returns them all)
# The index plan's distances come from the index (the projection reuses them), so a
# returned row also found by the exact plan must have the exact plan's distance: a
# mismatch (a wrong distance in the index would otherwise pass the recall test) makes
# the recall column say so.
recall() {
	paste -d'|' "$1" "$2" | awk -F'|' '
	{
		n = split($1, e, " "); m = split($2, r, " ")
		want = n < 10 ? n : 10
		split(e[n], kv, ":"); bound = kv[2] + (kv[2] < 0 ? -kv[2] : kv[2]) * 1e-4 + 1e-6
		delete exact
		for (j = 1; j <= n; j++) { split(e[j], kv, ":"); exact[kv[1]] = kv[2] + 0 }
		hits = 0; asc = 1; prev = -1e308
		delete seen
		for (j = 1; j <= m && j <= 10; j++) {
			split(r[j], kv, ":")
			if (!(kv[1] in seen) && kv[2] + 0 <= bound) hits++
			seen[kv[1]] = 1
			if (kv[2] + 0 < prev) asc = 0
			prev = kv[2] + 0
			if (kv[1] in exact) {
				d = kv[2] - exact[kv[1]]
				if ((d < 0 ? -d : d) > 1e-4 * (exact[kv[1]] < 0 ? -exact[kv[1]] : exact[kv[1]]) + 1e-6)
					bad++
			}
		}
		sum += want ? hits / want : 1; full += (m == want); ascn += asc; q++
	}
	END {
		rec = sprintf("%.4f", sum / q)
		if (bad > 0)
			rec = rec "(" bad "-distance-mismatches)"
		printf "%s %d/%d %d/%d\n", rec, full, q, ascn, q
	}'
}

out_md=$tmp/results.md
{
	echo "# n2 filtered k-NN: fashion-mnist (60,000 × 784, L2), k = 10, $NQ queries"
	echo
	echo "- index: n2 WITH ($INDEX_OPTS)${build_s:+, built in ${build_s} s}; PostgreSQL $("${PSQL[@]}" -Atc 'SHOW server_version'), shared_buffers $("${PSQL[@]}" -Atc 'SHOW shared_buffers'), work_mem $("${PSQL[@]}" -Atc 'SHOW work_mem')"
	echo "- machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; repository HEAD $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown) (what runs is the installed n2 library)"
	echo "- index plan: default settings (n2.ef_search $("${PSQL[@]}" -Atc "LOAD 'n2'; SHOW n2.ef_search"), n2.iterative_scan $("${PSQL[@]}" -Atc "LOAD 'n2'; SHOW n2.iterative_scan"), n2.max_scan_tuples $("${PSQL[@]}" -Atc "LOAD 'n2'; SHOW n2.max_scan_tuples"), default planner); exact plan: SET enable_indexscan = off (ground truth)"
	echo "- 10%: WHERE label = <query's class>; 1%: WHERE bucket = i % 100 (bucket = id % 100); 5 rows: WHERE id % 12000 = 7 (first $NQ5 queries); uncorrelated (c = 3, or 4 for a query of class 3): label = c, label = c AND bucket = i % 100, label = c AND bucket < 50, bucket = 37; label sets (labels: 2 of 1..20 per row, by a hash of the id; c1 = 1 + i % 20, c2 = 1 + (i + 7) % 20): labels && ARRAY[c1, c2], labels @> ARRAY[c1]; median of $PASSES passes over all queries in one psql session"
	echo "- query kinds run (SELS): $SELS"
	echo
	echo "| selectivity | plan | chosen plan nodes | ms/query | QPS | recall@10 | queries with all rows (10, or all 5) | ascending | speed-up vs exact |"
	echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
} >"$out_md"

for sel in $SELS; do
	nq=$NQ
	[ "$sel" = 5 ] && nq=$NQ5
	log "selectivity $sel%: exact plan"
	exact_setup="SET enable_indexscan = off;"
	ex_plan=$(explain_plan "$sel" "$exact_setup")
	ex_s=$(timed "$sel" "$exact_setup" "exact$sel")
	log "selectivity $sel%: index plan, default settings"
	ix_plan=$(explain_plan "$sel" "")
	ix_s=$(timed "$sel" "" "index$sel")
	read -r ex_rec ex_full ex_asc <<<"$(recall "$tmp/exact$sel.out" "$tmp/exact$sel.out")"
	read -r ix_rec ix_full ix_asc <<<"$(recall "$tmp/exact$sel.out" "$tmp/index$sel.out")"
	ex_ms=$(awk -v s="$ex_s" -v n="$nq" 'BEGIN {printf "%.2f", s * 1000 / n}')
	ix_ms=$(awk -v s="$ix_s" -v n="$nq" 'BEGIN {printf "%.2f", s * 1000 / n}')
	ex_qps=$(awk -v s="$ex_s" -v n="$nq" 'BEGIN {printf "%.1f", n / s}')
	ix_qps=$(awk -v s="$ix_s" -v n="$nq" 'BEGIN {printf "%.1f", n / s}')
	speed=$(awk -v a="$ex_s" -v b="$ix_s" 'BEGIN {printf "%.2f×", a / b}')
	case $sel in
	10) label="~10% (label)" ;;
	1) label="1% (bucket)" ;;
	u10) label="uncorrelated 10% (label = c)" ;;
	u01) label="uncorrelated 0.1% (label = c AND bucket)" ;;
	two) label="two conditions (label = c AND bucket < 50)" ;;
	u1) label="uncorrelated 1% (bucket = 37 for all)" ;;
	lab) label="label set, uncorrelated ~19.5% (labels && ARRAY[c1, c2])" ;;
	labc) label="label set, uncorrelated ~10% (labels @> ARRAY[c1])" ;;
	*) label="5 rows (id % 12000 = 7)" ;;
	esac
	{
		echo "| $label | n2 index, defaults | $ix_plan | $ix_ms | $ix_qps | $ix_rec | $ix_full | $ix_asc | $speed |"
		echo "| $label | exact (enable_indexscan = off) | $ex_plan | $ex_ms | $ex_qps | $ex_rec | $ex_full | $ex_asc | 1.00× |"
	} >>"$out_md"
done

echo >>"$out_md"
if [ -n "${OUT:-}" ]; then
	mkdir -p "$(dirname "$OUT")"
	cp "$out_md" "$OUT"
fi
echo
cat "$out_md"
