#!/usr/bin/env bash
# batch_decode.sh: aggregate batched decode of SmolLM2 at a 2048-token context with the KV cache in
# the PIM device (FP16, one device per sequence) against one sequence on the same store and on the
# float32 dense store: model.BenchmarkBatchDecode, interleaved repetitions, medians of the per-run
# ratios. See bench/README.md.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"

usage() {
	cat <<EOF
usage: $(basename "$0") [-r REPS] [-n STEPS] [-o DIR]

One repetition is BenchmarkBatchDecode/ctx2048-pim/full (forward = B=1 through Model.Forward,
batch1, batch8, batch16 through model.Batch, all on device stores), then
BenchmarkBatchDecode/ctx2048/full/forward (B=1 on the float32 dense store, the figure the issue's
"B = 1" was first measured on). Per run: tok/s (wall), cpu-ms/tok (process CPU time per token, the
steadier figure on a shared machine) and the load average; at the end the medians of the per-run
ratios B=8 and B=16 over B=1, on the same store and over the dense B=1.

  -r REPS    repetitions (default 3)
  -n STEPS   timed steps per case (default 128)
  -o DIR     keep the raw output in DIR (default: a temporary directory, removed at the end)

Environment: MODEL_TEST (a test binary of ./model; default: built from this tree). Run it under
the bench lock:
  flock /tmp/starc-bench.lock bench/batch_decode.sh -r 3 -o /tmp/batch-decode
EOF
}

reps=3 steps=128 out_dir=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	-r) reps="${2:?-r needs a number}"; shift 2 ;;
	-n) steps="${2:?-n needs a number}"; shift 2 ;;
	-o) out_dir="${2:?-o needs a directory}"; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
for v in reps steps; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
need_cmd awk
if [[ -n "$out_dir" ]]; then
	mkdir -p "$out_dir"
	WORK_DIR="$out_dir"
else
	WORK_DIR="$(mktemp -d)"
	trap 'rm -rf "$WORK_DIR"' EXIT
fi
if [[ -n "${MODEL_TEST:-}" ]]; then
	[[ -x "$MODEL_TEST" ]] || die "MODEL_TEST=$MODEL_TEST: not an executable file"
	test_bin="$MODEL_TEST"
else
	need_cmd go
	echo "building the model test binary from $REPO_ROOT ..." >&2
	(cd "$REPO_ROOT" && go test -c -o "$WORK_DIR/model.test" ./model) || die "go test -c ./model failed"
	test_bin="$WORK_DIR/model.test"
fi

# bench PATTERN FILE: one benchmark run, its output (with the load before and after) in FILE.
bench() {
	{
		echo "# $(date -u +%FT%TZ) load $(load_now): $1"
		"$test_bin" -test.run '^$' -test.bench "$1" -test.benchtime "${steps}x" -test.count 1
		echo "# $(date -u +%FT%TZ) load $(load_now)"
	} >"$2" 2>&1 || die "benchmark $1 failed: see $2"
}

# metric FILE CASE NAME: the value of metric NAME on the line of CASE (forward, batch8, ...).
metric() {
	awk -v c="$2" -v m="$3" '$1 ~ ("/" c "-[0-9]+$") { for (i = 2; i <= NF; i++) if ($i == m) print $(i - 1) }' "$1"
}

: >"$WORK_DIR/runs.txt"
for r in $(seq 1 "$reps"); do
	bench 'BatchDecode/ctx2048-pim/full/' "$WORK_DIR/pim-$r.txt"
	bench 'BatchDecode/^ctx2048$/full/^forward$' "$WORK_DIR/dense-$r.txt"
	f_cpu=$(metric "$WORK_DIR/pim-$r.txt" forward cpu-ms/tok) f_tok=$(metric "$WORK_DIR/pim-$r.txt" forward tok/s)
	d_cpu=$(metric "$WORK_DIR/dense-$r.txt" forward cpu-ms/tok) d_tok=$(metric "$WORK_DIR/dense-$r.txt" forward tok/s)
	for c in batch1 batch8 batch16; do
		cpu=$(metric "$WORK_DIR/pim-$r.txt" "$c" cpu-ms/tok) tok=$(metric "$WORK_DIR/pim-$r.txt" "$c" tok/s)
		load=$(metric "$WORK_DIR/pim-$r.txt" "$c" load1)
		echo "$r $c $tok $cpu $load $(ratio "$tok" "$f_tok") $(ratio "$f_cpu" "$cpu") $(ratio "$tok" "$d_tok") $(ratio "$d_cpu" "$cpu")" >>"$WORK_DIR/runs.txt"
	done
	echo "$r forward-pim $f_tok $f_cpu $(metric "$WORK_DIR/pim-$r.txt" forward load1) 1 1 $(ratio "$f_tok" "$d_tok") $(ratio "$d_cpu" "$f_cpu")" >>"$WORK_DIR/runs.txt"
	echo "$r forward-dense $d_tok $d_cpu $(metric "$WORK_DIR/dense-$r.txt" forward load1) - - 1 1" >>"$WORK_DIR/runs.txt"
done

echo "# BenchmarkBatchDecode, SmolLM2, 2 threads, 2048-token context, full attention, $steps steps per case"
echo "# commit $(git -C "$REPO_ROOT" rev-parse --short HEAD), $(date -u +%FT%TZ), $(nproc) CPUs"
echo "# ratios: aggregate tok/s over B=1 (wall), B=1 CPU per token over B's (cpu); same = B=1 on the"
echo "# device store (Model.Forward), dense = B=1 on the float32 dense store"
echo "# rep case           tok/s  cpu-ms/tok  load1 | same: wall   cpu | dense: wall  cpu"
awk '{printf "%-4s %-13s %7s %10s %6s | %10s %5s | %11s %5s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$WORK_DIR/runs.txt"
for c in batch8 batch16; do
	col() { awk -v c="$c" -v k="$1" '$2 == c {print $k}' "$WORK_DIR/runs.txt" | median; }
	echo "median $c: same store wall $(col 6)x cpu $(col 7)x; over the float32 dense B=1 wall $(col 8)x cpu $(col 9)x"
done
