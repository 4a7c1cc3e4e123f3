#!/usr/bin/env bash
# The full-length (1024-prediction) reference runs of README.md, "1024
# predictions": two chains of ref_stream.py runs side by side, each under
# nice -n 19, outputs in $OUT/<run>/. Run it again to resume: a finished run
# (meta.json present) is skipped, an interrupted one continues from its
# checkpoint (ref_stream.py, ckpt.pt). Run from the repository root.
#   REF  released code prepared by prepare_ref.sh (default /work/peers/ref/run)
#   OUT  output root (default /work/peers/ref/out)
#   IDS  the 3072+ token ids of the shared text (default /work/peers/ref/runs/dorian.ids)
#   PY   the reference venv's python (default /work/peers/venv-ref/bin/python)
set -euo pipefail
REF=${REF:-/work/peers/ref/run}
OUT=${OUT:-/work/peers/ref/out}
IDS=${IDS:-/work/peers/ref/runs/dorian.ids}
PY=${PY:-/work/peers/venv-ref/bin/python}
test -f "$IDS" || { echo "run_full_length.sh: ids file $IDS not found (IDS=...)" >&2; exit 1; }
test -d "$REF/starc-stable/evaluation" || { echo "run_full_length.sh: $REF has no prepared code; run prepare_ref.sh" >&2; exit 1; }
mkdir -p "$OUT"

# one NAME VARIANT METHOD BUDGET: runs (or resumes) one reference run.
one() {
	local name=$1 variant=$2 method=$3 budget=$4
	if [ -f "$OUT/$name/meta.json" ]; then
		echo "$name: done"
		return
	fi
	nice -n 19 "$PY" bench/reference/ref_stream.py --ref "$REF/$variant" --method "$method" --budget "$budget" \
		--ids "$IDS" --prefill 2048 --max-tokens 1024 --checkpoint-every 64 --out "$OUT/$name" \
		>>"$OUT/$name.log" 2>&1
}

chain_a() {
	one ref-starc-stable-128 starc-stable starc 128
	one ref-starc-stable-1024 starc-stable starc 1024
	one ref-full starc-stable full 0
}
chain_b() {
	one ref-quest-128 quest quest 128
	one ref-quest-1024 quest quest 1024
	one ref-starc-128 starc starc 128
}
chain_a &
chain_b &
wait
