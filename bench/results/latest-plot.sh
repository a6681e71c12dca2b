#!/usr/bin/env bash
# plot.sh OUT DATASET PNG: recall vs median QPS, one curve per system (after report.sh)
set -euo pipefail
OUT=$1 ds=$2 png=$3 raw=$1/raw
{
	echo "set terminal pngcairo size 900,640 noenhanced font 'sans,10'"
	echo "set output '$png'"
	echo "set title '$ds: recall@10 vs QPS (same run, median of rounds; exact plan $(awk -F, '{printf "%.0f", 1000/$3}' "$raw/$ds-exact.csv") QPS)'"
	echo "set xlabel 'recall@10 (tie-aware)'; set ylabel 'QPS, one connection (log)'"
	echo "set logscale y; set grid; set key bottom left; set datafile separator ','"
	printf "plot "; sep=; i=0
	for s in pgvector float4 float16 sq8; do
		[ -s "$raw/$ds-$s-med.csv" ] || continue; i=$((i + 1))
		t=$([ $s = pgvector ] && echo "pgvector hnsw" || echo "n2 $s")
		printf "%s'%s' using 2:3 with linespoints lw 2 pt 7 lc %d title '%s'" "$sep" "$raw/$ds-$s-med.csv" "$i" "$t"; sep=", "
	done
	echo
} >"$raw/$ds-plot.gp"
gnuplot "$raw/$ds-plot.gp"
