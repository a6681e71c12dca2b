#!/usr/bin/env bash
# report.sh OUT DATASET: markdown tables from drive.sh's raw files
set -euo pipefail
OUT=$1 ds=$2 R=${RECALL:-0.95}
raw=$OUT/raw
systems=$(ls "$raw"/$ds-*-build.csv | sed "s|.*/$ds-||; s|-build.csv||" | awk '{o = ($1 == "pgvector") ? 0 : ($1 == "float4") ? 1 : ($1 == "float16") ? 2 : 3; print o, $1}' | sort -n | cut -d' ' -f2)
# per system: median over rounds per ef -> $raw/$ds-$s-med.csv (ef,recall,qps,bqps,brec,us,bus)
for s in $systems; do
	cat "$raw"/$ds-$s-r*.csv | awk -F, '
	function med(l,  a, n, i, j, t) { n = split(l, a, " "); for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1]+0 > a[j]+0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
	$1 == "search" { if (!($2 in seen)) { seen[$2] = ++n; ef[n] = $2; rec[n] = $3; brec[n] = $6 }
		k = seen[$2]; q[k] = q[k] " " $4; b[k] = b[k] " " $5; c[k] = c[k] " " $7; bc[k] = bc[k] " " $8; nr[k]++ }
	END { for (k = 1; k <= n; k++) printf "%s,%s,%.1f,%.1f,%s,%.1f,%.1f,%d\n", ef[k], rec[k], med(q[k]), med(b[k]), brec[k], med(c[k]), med(bc[k]), nr[k] }' >"$raw/$ds-$s-med.csv"
done
# at_recall file column: log-linear interpolation at recall R (col 2) of col c
at() { awk -F, -v r="$R" -v c="$2" '{ n++; rec[n] = $2; v[n] = $c }
	END { lo = ""; hi = ""
		for (j = 1; j <= n; j++) { if (rec[j] <= r && (lo == "" || rec[j] > rec[lo])) lo = j; if (rec[j] >= r && (hi == "" || rec[j] < rec[hi])) hi = j }
		if (hi == "") { print ""; exit } if (lo == "" || rec[hi] == rec[lo]) { print v[hi]; exit }
		b = (r - rec[lo]) / (rec[hi] - rec[lo]); printf "%.1f\n", exp(log(v[lo]) + b * (log(v[hi]) - log(v[lo]))) }' "$1"; }
name() { case $1 in pgvector) echo "pgvector hnsw" ;; *) echo "n2 $1" ;; esac; }
read -r pb ps <<<"$(awk -F, '$1 == "build" { print $2, $3 }' "$raw/$ds-pgvector-build.csv")"
pq=$(at "$raw/$ds-pgvector-med.csv" 3); pbq=$(at "$raw/$ds-pgvector-med.csv" 4); pus=$(at "$raw/$ds-pgvector-med.csv" 6)
IFS=, read -r _ en ems erec <"$raw/$ds-exact.csv"
echo "| index | build s | backend CPU s | size MB | QPS @ $R | batch QPS @ $R | backend µs/query @ $R | build / pgvector | size / pgvector | QPS / pgvector | batch QPS / pgvector | µs/query / pgvector |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for s in $systems; do
	IFS=, read -r _ b sz _ _ _ _ _ _ _ _ _ _ bcpu <<<"$(grep '^build' "$raw/$ds-$s-build.csv")"
	q=$(at "$raw/$ds-$s-med.csv" 3); bq=$(at "$raw/$ds-$s-med.csv" 4); us=$(at "$raw/$ds-$s-med.csv" 6)
	awk -v n="$(name "$s")" -v b="$b" -v bc="$bcpu" -v sz="$sz" -v q="$q" -v bq="$bq" -v us="$us" -v pb="$pb" -v ps="$ps" -v pq="$pq" -v pbq="$pbq" -v pus="$pus" 'BEGIN {
		printf "| %s | %.2f | %s | %.1f | %.0f | %.0f | %.0f | %.2f× | %.2f× | %.2f× | %.2f× | %.2f× |\n", n, b, bc == "" ? "–" : bc, sz / 1048576, q, bq, us, b / pb, sz / ps, q / pq, bq / pbq, us / pus }'
done
awk -v ms="$ems" -v n="$en" -v r="$erec" -v pq="$pq" 'BEGIN { printf "| exact plan (seq scan) | – | – | – | %.0f | – | – | – | – | %.3f× | – | – |\n", 1000 / ms, 1000 / ms / pq }'
echo
echo "recall@10 / QPS (median of rounds) / backend µs per query per ef_search:"
echo
hdr="| ef |"; sep="|---:|"
for s in $systems; do hdr="$hdr $(name "$s") |"; sep="$sep---:|"; done
echo "$hdr"; echo "$sep"
for ef in $(cut -d, -f1 "$raw/$ds-pgvector-med.csv"); do
	line="| $ef |"
	for s in $systems; do line="$line $(awk -F, -v e="$ef" '$1 == e { printf "%.4f / %.0f / %.0f", $2, $3, $6 }' "$raw/$ds-$s-med.csv") |"; done
	echo "$line"
done
echo
awk -F, '{ printf "exact plan: %.2f ms/query (%.1f QPS) over %d queries, recall %.4f; ", $3, 1000 / $3, $2, $4 }' "$raw/$ds-exact.csv"
awk -F, '$1 == "floor" { f = f sprintf(" %.0f", $2) } END { print "PostgreSQL floor (10-row btree query) QPS per round:" f }' "$raw/$ds-floor.csv"
