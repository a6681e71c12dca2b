#!/usr/bin/env bash
# bench/plot_recall_ef.sh CSV PNG -- recall@10 against ef_search, one panel per
# data set and one curve per system and build, from a CSV of
# dataset,system,build,ef,recall rows (a header line first), such as
# bench/results/recall-ef.csv.  Needs gnuplot.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 CSV PNG" >&2; exit 2; }
command -v gnuplot >/dev/null 2>&1 || { echo "$0: gnuplot is not installed" >&2; exit 1; }
csv=$1 png=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mapfile -t sets < <(awk -F, 'NR > 1 && !seen[$1]++ { print $1 }' "$csv")
{
	echo "set terminal pngcairo noenhanced size $((560 * ${#sets[@]})),480 font ',10'"
	echo "set output '$png'"
	echo "set multiplot layout 1,${#sets[@]}"
	echo "set datafile separator ','"
	echo "set key bottom right"
	echo "set grid"
	echo "set xlabel 'ef_search'"
	echo "set ylabel 'recall@10'"
	echo "set logscale x 2"
	for s in "${sets[@]}"; do
		plot=()
		i=0
		while IFS= read -r curve; do
			i=$((i + 1))
			awk -F, -v s="$s" -v c="$curve" 'NR > 1 && $1 == s && $2 "/" $3 == c { print $4 "," $5 }' \
				"$csv" >"$tmp/$s-$i.csv"
			dash=1
			case ${curve#*/} in 2\ *) dash=2 ;; esac
			plot+=("'$tmp/$s-$i.csv' using 1:2 with linespoints dt $dash title '$curve'")
		done < <(awk -F, -v s="$s" 'NR > 1 && $1 == s && !seen[$2 "/" $3]++ { print $2 "/" $3 }' "$csv")
		echo "set title '$s'"
		(IFS=,; echo "plot ${plot[*]}")
	done
	echo "unset multiplot"
} >"$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
