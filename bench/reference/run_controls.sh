#!/usr/bin/env bash
# Control runs, starc side (README "Control, starc side"): 1024-prediction
# dumps of bench/reference/dump with rounding-size perturbations, one at a
# time under flock /tmp/starc-bench.lock, one thread each. Existing outputs
# (meta.json present) are skipped, so the script can be run again to resume.
#
#   DUMP  the dump binary (default /tmp/refdump: go build -o /tmp/refdump ./bench/reference/dump)
#   IDS   the 3072 ids of the shared text (default /work/peers/ref/runs/dorian.ids)
#   OUT   output root (default /work/peers/ref/runs)
#   RUNS  "method:budget:kind:seed ..." with kind base (unperturbed), emb (input embeddings
#         × 1 ± 2^-23, ref_stream.py --perturb-embeddings), q (the scored query ± 1 ulp per
#         element), qN (± N ulps) or flip (seed STEP.LAYER.HEAD: quest attends to the (k+1)-th page
#         instead of the k-th there, dump -flip)
set -euo pipefail
DUMP=${DUMP:-/tmp/refdump}
IDS=${IDS:-/work/peers/ref/runs/dorian.ids}
OUT=${OUT:-/work/peers/ref/runs}
MODEL=${MODEL:-models/smollm2-135m-instruct}
RUNS=${RUNS:-"quest:128:base:0 starc:128:base:0 quest:128:emb:0 quest:128:emb:1 quest:128:emb:2 quest:128:emb:3 quest:128:emb:4 quest:128:emb:5 starc:128:emb:0 starc:128:emb:1 starc:128:emb:2"}
for r in $RUNS; do
  IFS=: read -r method budget kind seed <<<"$r"
  case $kind in
    base) name=ctl-$method-$budget-base; flags=() ;;
    emb) name=ctl-$method-$budget-emb-s$seed; flags=(-perturb-embeddings 1.1920928955078125e-07 -seed "$seed") ;;
    q) name=ctl-$method-$budget-q-s$seed; flags=(-perturb-query -seed "$seed") ;;
    q[0-9]*) name=ctl-$method-$budget-$kind-s$seed; flags=(-perturb-query -perturb-query-ulps "${kind#q}" -seed "$seed") ;;
    flip) name=ctl-$method-$budget-flip-$seed; flags=(-flip "${seed//./:}") ;;
    *) echo "unknown kind $kind" >&2; exit 2 ;;
  esac
  [ -f "$OUT/$name/meta.json" ] && { echo "skip $name"; continue; }
  echo "$(date -u +%H:%M:%S) $name load $(cut -d' ' -f1-3 /proc/loadavg)"
  flock /tmp/starc-bench.lock /usr/bin/time -f '%U user s, %e wall s' \
    "$DUMP" -m "$MODEL" -ids "$IDS" -method "$method" -budget "$budget" -threads 1 "${flags[@]}" -out "$OUT/$name" \
    >"$OUT/$name.log" 2>&1
  tail -1 "$OUT/$name.log"
done
