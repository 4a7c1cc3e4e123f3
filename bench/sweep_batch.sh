#!/usr/bin/env bash
# sweep_batch.sh: wall time of `starc sweep` with its runs decoding in one batch (--batch N, one
# shared prefill) against the same sweep one run after another (--batch 1, each run prefilling the
# text itself), on the same machine, and whether both give the same rows. See bench/README.md.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"

usage() {
	cat <<EOF
usage: $(basename "$0") [-r REPS] [-b BATCH] [-t THREADS] [-f TEXT] [--prefill N] [--max-tokens N]
                        [--methods LIST] [--budgets LIST] [-o DIR]

One repetition is the batched sweep then the sequential one (default: 4 methods x 4 budgets, 13
runs since full runs once, 512 scored tokens after a 2048-token prefill). Each sweep's wall and
CPU time (user + sys of the process) and the load average before and after are logged. At the end:
the medians, the ratio sequential / batched (how many times faster the batch is), and the largest
relative difference between the two sweeps' rows (perplexity and every other figure), which must
stay below 1e-6.

  -r REPS          repetitions (default 1; a sequential sweep takes tens of minutes)
  -b BATCH         --batch of the batched sweep (default 16; 0 = as many as fit in 4 GiB)
  -t THREADS       --threads (default 2)
  -f TEXT          text file (default ../shared/data/pg174_picture_of_dorian_gray.txt)
  --prefill N      tokens prefilled (default 2048)
  --max-tokens N   tokens scored per run (default 512)
  --methods LIST   (default full,starc,quest,topk)
  --budgets LIST   (default 128,256,512,1024)
  -o DIR           keep the rows and logs in DIR (default: a temporary directory, removed at the end)

Environment: STARC (a starc binary; default: built from this tree), STARC_MODEL (the model
directory, as for starc). Run it under the bench lock:
  flock /tmp/starc-bench.lock bench/sweep_batch.sh -o /tmp/sweep-batch
EOF
}

reps=1 batch=16 threads=2 text="$REPO_ROOT/../shared/data/pg174_picture_of_dorian_gray.txt"
prefill=2048 max_tokens=512 methods=full,starc,quest,topk budgets=128,256,512,1024 out_dir=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	-r) reps="${2:?-r needs a number}"; shift 2 ;;
	-b) batch="${2:?-b needs a number}"; shift 2 ;;
	-t) threads="${2:?-t needs a number}"; shift 2 ;;
	-f) text="${2:?-f needs a file}"; shift 2 ;;
	--prefill) prefill="${2:?--prefill needs a number}"; shift 2 ;;
	--max-tokens) max_tokens="${2:?--max-tokens needs a number}"; shift 2 ;;
	--methods) methods="${2:?--methods needs a list}"; shift 2 ;;
	--budgets) budgets="${2:?--budgets needs a list}"; shift 2 ;;
	-o) out_dir="${2:?-o needs a directory}"; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
for v in reps threads prefill max_tokens; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ "$batch" =~ ^[0-9]+$ ]] || die "-b must be a non-negative integer, got '$batch'"
[[ -f "$text" ]] || die "-f $text: file not found"

need_cmd jq
need_cmd awk
if [[ -n "$out_dir" ]]; then
	mkdir -p "$out_dir"
	WORK_DIR="$out_dir"
else
	WORK_DIR="$(mktemp -d)"
	trap 'rm -rf "$WORK_DIR"' EXIT
fi
resolve_starc

# sweep NAME BATCH: one sweep, its rows in NAME.json; appends "NAME wall cpu load-before load-after"
# to times.txt.
sweep() {
	local name=$1 b=$2 before after t0 t1 cpu
	before=$(load_now)
	echo "$(date -u +%FT%TZ) $name: --batch $b, load $before" >&2
	t0=$(date +%s.%N)
	# bash's time: real, user, sys of the sweep
	local TIMEFORMAT='%R %U %S'
	{ time "${STARC_CMD[@]}" sweep -f "$text" --prefill "$prefill" --max-tokens "$max_tokens" --methods "$methods" \
		--budgets "$budgets" --threads "$threads" --batch "$b" --json --out "$WORK_DIR/$name.json" \
		>"$WORK_DIR/$name.stdout" 2>"$WORK_DIR/$name.log"; } 2>"$WORK_DIR/$name.time" ||
		die "sweep $name failed: see $WORK_DIR/$name.log"
	t1=$(date +%s.%N)
	after=$(load_now)
	cpu=$(awk '{print $2 + $3}' "$WORK_DIR/$name.time")
	echo "$name $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') $cpu $before $after" >>"$WORK_DIR/times.txt"
	echo "$(date -u +%FT%TZ) $name: $(tail -1 "$WORK_DIR/times.txt")" >&2
}

# maxreldiff A B: the largest relative difference between the numeric fields of two sweeps' rows
# (same runs in the same order), and the field and run it is in.
maxreldiff() {
	jq -rn --slurpfile a "$1" --slurpfile b "$2" '
		[range(0; $a[0] | length) as $i | $a[0][$i] as $x | $b[0][$i] as $y
		 | if $x.method != $y.method or $x.budget != $y.budget then error("rows differ in order") else . end
		 | $x | to_entries[] | select((.value | type) == "number" and .key != "seconds")
		 | {run: "\($x.method)-\($x.budget)", field: .key,
		    rel: (if .value == 0 then ($y[.key] | fabs) else ((.value - $y[.key]) / .value | fabs) end)}]
		| max_by(.rel) | "\(.rel) \(.field) \(.run)"'
}

: >"$WORK_DIR/times.txt"
for r in $(seq 1 "$reps"); do
	sweep "batched-$r" "$batch"
	sweep "sequential-$r" 1
done

echo "# starc sweep, $methods x budgets $budgets, --prefill $prefill --max-tokens $max_tokens, --threads $threads, $(basename "$text")"
echo "# commit $(git -C "$REPO_ROOT" rev-parse --short HEAD), $(date -u +%FT%TZ), $(nproc) CPUs"
echo "# run            wall-s   cpu-s  load-before load-after"
awk '{printf "%-14s %8s %8s %8s %8s\n", $1, $2, $3, $4, $5}' "$WORK_DIR/times.txt"
bw=$(awk '$1 ~ /^batched/ {print $2}' "$WORK_DIR/times.txt" | median)
sw=$(awk '$1 ~ /^sequential/ {print $2}' "$WORK_DIR/times.txt" | median)
bc=$(awk '$1 ~ /^batched/ {print $3}' "$WORK_DIR/times.txt" | median)
sc=$(awk '$1 ~ /^sequential/ {print $3}' "$WORK_DIR/times.txt" | median)
echo "median wall: batched $bw s, sequential $sw s: batched is $(ratio "$sw" "$bw")x faster"
echo "median CPU:  batched $bc s, sequential $sc s: $(ratio "$sc" "$bc")x"
worst=0
for r in $(seq 1 "$reps"); do
	d=$(maxreldiff "$WORK_DIR/sequential-$r.json" "$WORK_DIR/batched-$r.json")
	echo "repetition $r: largest relative difference of the rows (batched vs sequential): $d"
	worst=$(awk -v a="$worst" -v b="${d%% *}" 'BEGIN {print (b > a) ? b : a}')
done
if awk -v w="$worst" 'BEGIN {exit !(w <= 1e-6)}'; then
	echo "rows equal to 1e-6 relative: yes (largest $worst)"
else
	echo "rows equal to 1e-6 relative: NO (largest $worst)"
	exit 1
fi
