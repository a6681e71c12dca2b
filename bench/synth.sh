#!/usr/bin/env bash
# bench/synth.sh -- a synthetic clustered set shaped like text embeddings, with
# its exact ground truth, generated here (no download; the same files for the
# same settings on every machine).  The model is described in bench/synth.c.
#
# Environment (all optional):
#   N     rows (default 100000)
#   DIM   dimensions (default 1536)
#   NQ    queries, drawn like the rows and not among them (default 1000)
#   SEED  generator seed (default 20260)
#   OUT   folder (default bench/data/synth-DIM-N-sSEED); kept when it is complete
#
# Then, for instance:
#   DATASET=custom BASE=$OUT/base.fvecs QUERY=$OUT/query.fvecs \
#     GT=$OUT/groundtruth.ivecs GT_DIST=$OUT/groundtruth_distances.fvecs bench/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
N=${N:-100000}
DIM=${DIM:-1536}
NQ=${NQ:-1000}
SEED=${SEED:-20260}
OUT=${OUT:-$here/data/synth-$DIM-$N-s$SEED}
[[ "$N$DIM$NQ$SEED" =~ ^[0-9]+$ ]] || { echo "synth.sh: N, DIM, NQ and SEED are integers" >&2; exit 2; }
make -s -C "$root" bench/build/synth >/dev/null
if [ ! -s "$OUT/groundtruth_distances.fvecs" ] || [ ! -e "$OUT/.done-$NQ" ]; then
	mkdir -p "$OUT"
	rm -f "$OUT"/.done-*
	"$here/build/synth" "$OUT" "$N" "$DIM" "$NQ" "seed=$SEED" >&2
	touch "$OUT/.done-$NQ"
fi
printf 'BASE=%s QUERY=%s GT=%s GT_DIST=%s\n' "$OUT/base.fvecs" "$OUT/query.fvecs" \
	"$OUT/groundtruth.ivecs" "$OUT/groundtruth_distances.fvecs"
