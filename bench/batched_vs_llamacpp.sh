#!/usr/bin/env bash
# batched_vs_llamacpp.sh: aggregate batched-decode throughput of SmolLM2 at a 2048-token context,
# starc (model.BenchmarkBatchDecode, full attention) against llama.cpp's llama-batched-bench on the
# BF16 GGUF of the same weights, interleaved repetitions, medians and ratios. See bench/README.md.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"

usage() {
	cat <<EOF
usage: $(basename "$0") [-r REPS] [-t THREADS] [--npp N] [--ntg N] [--npl LIST] [-o DIR] [--peer-only]

One repetition is one llama-batched-bench invocation (every B of --npl, each sequence with its own
--npp-token prompt, no shared prompt, default F16 KV, -c = maxB * (npp + ntg)), then one run of
starc's BenchmarkBatchDecode/ctx2048/full (forward, batch1, batch8, batch16; 128 timed steps).
Repetitions alternate llama.cpp, starc, llama.cpp, starc, ...

For llama.cpp the script also samples the process CPU time (/proc/PID/stat, every 50 ms) and
stamps each output line, so the CPU time of each decode phase (the T_TG seconds before its table
row appeared) is known: cpu-ms/tok, the figure starc's benchmark reports too.

  -r REPS        repetitions (default 3)
  -t THREADS     threads for both programs (default 2)
  --npp N        prompt tokens per sequence (default 2048)
  --ntg N        decoded tokens per sequence (default 128)
  --npl LIST     batch sizes for llama.cpp, comma-separated (default 1,8,16)
  -o DIR         keep the raw output in DIR (default: a temporary directory, removed at the end)
  --peer-only    run only llama.cpp

Environment: LLAMA_CPP (required: a built llama.cpp tree), PEER_GGUF (default
\$LLAMA_CPP/../models/smollm2-135m-instruct-bf16.gguf). Run it under the bench lock:
  flock /tmp/starc-bench.lock bench/batched_vs_llamacpp.sh -r 3 -o /tmp/batched-run
EOF
}

reps=3 threads=2 npp=2048 ntg=128 npl=1,8,16 out_dir="" peer_only=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	-r) reps="${2:?-r needs a number}"; shift 2 ;;
	-t) threads="${2:?-t needs a number}"; shift 2 ;;
	--npp) npp="${2:?--npp needs a number}"; shift 2 ;;
	--ntg) ntg="${2:?--ntg needs a number}"; shift 2 ;;
	--npl) npl="${2:?--npl needs a list}"; shift 2 ;;
	-o) out_dir="${2:?-o needs a directory}"; shift 2 ;;
	--peer-only) peer_only=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
for v in reps threads npp ntg; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ "$npl" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--npl must be a comma-separated list of positive integers, got '$npl'"

need_cmd awk
require_llama_cpp llama-batched-bench
resolve_peer_gguf
max_b=$(tr , '\n' <<<"$npl" | sort -n | tail -1)
ctx=$((max_b * (npp + ntg)))

if [[ -n "$out_dir" ]]; then
	mkdir -p "$out_dir" || die "-o $out_dir: cannot create the directory"
	WORK_DIR="$out_dir"
else
	WORK_DIR="$(mktemp -d)"
	trap 'rm -rf "$WORK_DIR"' EXIT
fi

if [[ $peer_only -eq 0 ]]; then
	need_cmd go
	echo "building starc's model test binary from $REPO_ROOT ..." >&2
	(cd "$REPO_ROOT" && go test -c -o "$WORK_DIR/model.test" ./model) || die "go test -c ./model failed"
	echo "starc: $(cd "$REPO_ROOT" && git rev-parse --short HEAD)$(cd "$REPO_ROOT" && git diff --quiet -- model || echo ' (model/ has uncommitted changes)')" >&2
fi

# A pipe that is never written: 'read -t' on it is a sleep without forking a process.
rm -f "$WORK_DIR/tick" && mkfifo "$WORK_DIR/tick"
exec {tick_fd}<>"$WORK_DIR/tick"

# stamp prefixes every line of its input with the wall-clock time it arrived.
stamp() {
	local line
	while IFS= read -r line; do
		printf '%s %s\n' "$EPOCHREALTIME" "$line"
	done
}

# run_peer RUN runs llama-batched-bench once: RUN.out holds its stamped stdout, RUN.err its stderr,
# RUN.cpu the samples "time utime+stime_ticks" of the process.
run_peer() {
	local run="$1" pid stat fields
	OMP_WAIT_POLICY=passive "$LLAMA_BIN/llama-batched-bench" -m "$PEER_GGUF" -t "$threads" -c "$ctx" \
		-npp "$npp" -ntg "$ntg" -npl "$npl" >"$run.stdout.fifo" 2>"$run.err" &
	pid=$!
	: >"$run.cpu"
	while [[ -r /proc/$pid/stat ]]; do
		read -r stat </proc/$pid/stat 2>/dev/null || break
		read -ra fields <<<"${stat##*) }" # fields[0]: state; fields[11], fields[12]: utime, stime
		[[ ${fields[0]} == Z ]] && break
		printf '%s %s\n' "$EPOCHREALTIME" $((fields[11] + fields[12])) >>"$run.cpu"
		read -t 0.05 -u "$tick_fd" _ || true
	done
	wait "$pid" || die "llama-batched-bench failed (exit $?); see $run.err"
}

# peer_rows RUN prints "B S_TG cpu_ms_per_tok" for each table row of RUN: the CPU time of the decode
# phase is the CPU-time samples interpolated at the row's arrival and T_TG seconds before it.
peer_rows() {
	local run="$1" hz
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" -v tg="$ntg" '
		FNR == NR { t[++n] = $1; c[n] = $2; next }
		function cpu_at(x,   i) {
			if (x <= t[1]) return c[1]
			for (i = 2; i <= n; i++) if (t[i] >= x) return c[i-1] + (c[i] - c[i-1]) * (x - t[i-1]) / (t[i] - t[i-1])
			return c[n]
		}
		/^[0-9.]+ \| *[0-9]+ \| / {
			split($0, f, "|"); b = f[4] + 0; ttg = f[8] + 0; stg = f[9] + 0
			end = $1; ms = (cpu_at(end) - cpu_at(end - ttg)) / hz * 1000 / (b * tg)
			printf "%d %.2f %.2f\n", b, stg, ms
		}' "$run.cpu" "$run.out"
}

# starc_rows RUN prints "case tok/s cpu_ms_per_tok load1" for each benchmark line of RUN.out.
starc_rows() {
	awk '/^BenchmarkBatchDecode\/ctx2048\/full\// {
		name = $1; sub(/^BenchmarkBatchDecode\/ctx2048\/full\//, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 2; i < NF; i++) {
			if ($(i+1) == "tok/s") tps = $i
			if ($(i+1) == "cpu-ms/tok") ms = $i
			if ($(i+1) == "load1") ld = $i
		}
		print name, tps, ms, ld
	}' "$1.out"
}

echo "llama.cpp: $LLAMA_BIN/llama-batched-bench -m $PEER_GGUF -t $threads -c $ctx -npp $npp -ntg $ntg -npl $npl (OMP_WAIT_POLICY=passive)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), raw output in $WORK_DIR"
: >"$WORK_DIR/peer.tsv"
: >"$WORK_DIR/starc.tsv"
for ((r = 1; r <= reps; r++)); do
	run="$WORK_DIR/peer-$r"
	rm -f "$run.stdout.fifo" && mkfifo "$run.stdout.fifo"
	stamp <"$run.stdout.fifo" >"$run.out" &
	stamp_pid=$!
	load=$(load_now)
	run_peer "$run"
	wait "$stamp_pid"
	rm -f "$run.stdout.fifo"
	peer_rows "$run" | while read -r b stg ms; do
		printf '%d\t%d\t%s\t%s\t%s\n' "$r" "$b" "$stg" "$ms" "$load" >>"$WORK_DIR/peer.tsv"
		printf 'rep %d llama.cpp B=%-2d  S_TG %8.2f tok/s  %6.2f cpu-ms/tok  (load at start %s)\n' "$r" "$b" "$stg" "$ms" "$load"
	done
	[[ $peer_only -eq 1 ]] && continue
	run="$WORK_DIR/starc-$r"
	(cd "$REPO_ROOT/model" && "$WORK_DIR/model.test" -test.run '^$' -test.bench 'BatchDecode/ctx2048/full/' \
		-test.benchtime 128x -test.count 1) >"$run.out" 2>&1 || die "starc benchmark failed; see $run.out"
	starc_rows "$run" | while read -r name tps ms ld; do
		printf '%d\t%s\t%s\t%s\t%s\n' "$r" "$name" "$tps" "$ms" "$ld" >>"$WORK_DIR/starc.tsv"
		printf 'rep %d starc     %-8s S_TG %8.2f tok/s  %6.2f cpu-ms/tok  (load at end %s)\n' "$r" "$name" "$tps" "$ms" "$ld"
	done
done

# Medians over the repetitions, and the ratios to B=1 taken within each repetition.
echo
echo "medians over $reps repetitions (tok/s aggregate over the batch; cpu-ms/tok = process CPU time per token)"
for b in $(tr , ' ' <<<"$npl"); do
	tps=$(awk -v b="$b" '$2 == b {print $3}' "$WORK_DIR/peer.tsv" | median)
	ms=$(awk -v b="$b" '$2 == b {print $4}' "$WORK_DIR/peer.tsv" | median)
	r_tps=$(awk -v b="$b" '$2 == 1 {one[$1] = $3} $2 == b {v[$1] = $3} END {for (r in v) if (one[r] > 0) print v[r] / one[r]}' "$WORK_DIR/peer.tsv" | median)
	r_cpu=$(awk -v b="$b" '$2 == 1 {one[$1] = $4} $2 == b {v[$1] = $4} END {for (r in v) if (v[r] > 0) print one[r] / v[r]}' "$WORK_DIR/peer.tsv" | median)
	printf 'llama.cpp B=%-2d  %8s tok/s  %6s cpu-ms/tok   vs B=1: %sx (tok/s), %sx (CPU per token)\n' "$b" "$tps" "$ms" "$r_tps" "$r_cpu"
done
if [[ $peer_only -eq 0 ]]; then
	for name in forward batch1 batch8 batch16; do
		tps=$(awk -v n="$name" '$2 == n {print $3}' "$WORK_DIR/starc.tsv" | median)
		ms=$(awk -v n="$name" '$2 == n {print $4}' "$WORK_DIR/starc.tsv" | median)
		r_tps=$(awk -v n="$name" '$2 == "forward" {one[$1] = $3} $2 == n {v[$1] = $3} END {for (r in v) if (one[r] > 0) print v[r] / one[r]}' "$WORK_DIR/starc.tsv" | median)
		printf 'starc     %-8s %8s tok/s  %6s cpu-ms/tok   vs forward: %sx (tok/s)\n' "$name" "$tps" "$ms" "$r_tps"
	done
	for b in 8 16; do
		s=$(awk -v n="batch$b" '$2 == n {print $3}' "$WORK_DIR/starc.tsv" | median)
		p=$(awk -v b="$b" '$2 == b {print $3}' "$WORK_DIR/peer.tsv" | median)
		echo "starc / llama.cpp at B=$b (medians of tok/s): $(ratio "$s" "$p")"
	done
fi
