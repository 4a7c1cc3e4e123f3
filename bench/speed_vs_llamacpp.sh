#!/usr/bin/env bash
# Prefill and decode speed of starc versus llama.cpp, interleaved repetitions, medians.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: LLAMA_CPP=/path/to/built/llama.cpp bench/speed_vs_llamacpp.sh [options]

For each thread count, runs REPS interleaved repetitions (starc, llama.cpp,
starc, llama.cpp, ...) of:
  starc:     starc generate -m MODEL_DIR -p "$(cat PROMPT)" -n 128 --temp 0 --threads T --stats FILE
             (FILE is JSON with prompt_tokens, generated_tokens, prefill_tok_s, decode_tok_s)
  llama.cpp: llama-bench -m PEER_GGUF -t T -p 512 -n 128 -pg 512,128 -r 1 -o json
and prints per-program medians and the ratio starc / llama.cpp for
  prefill  : tokens/s over the 512-token prompt (llama.cpp: pp512)
  decode   : tokens/s generating 128 tokens after a 512-token prompt, i.e. at
             context 512..639 (llama.cpp: 128 / (time(pp512+tg128) - time(pp512)),
             both from the same llama-bench run; this llama.cpp version has no -d)
  tg128@0  : llama.cpp decode from an empty context, for reference only
The 1-minute load average is logged before every run (it includes the previous
benchmark run itself, about T); the machine may be shared.

PROMPT defaults to bench/data/prompt512.txt, 1818 bytes of Pride and Prejudice
that SmolLM2's tokenizer (llama-tokenize) turns into exactly 512 tokens.

options:
  -r REPS          repetitions per program and thread count (default 5, minimum 1)
  -t "T1 T2 ..."   thread counts (default "1 2")
  -p FILE          prompt file for starc (default bench/data/prompt512.txt)
  -o DIR           keep raw outputs (starc stats JSON, llama-bench JSON, samples.tsv) in DIR
  --peer-only      run only llama-bench (starc not needed)
  -h, --help       this text

environment:
  LLAMA_CPP    required: llama.cpp source tree with build/bin/llama-bench
  PEER_GGUF    GGUF for llama.cpp (default $LLAMA_CPP/../models/smollm2-135m-instruct-bf16.gguf)
  STARC        starc binary (default: go build ./cmd/starc into a temp dir)
  STARC_MODEL  model directory for starc (default models/smollm2-135m-instruct, relative to the repo root)

note: llama-bench at the recorded commit only accepts f16/bf16/quantized KV
caches, so the llama.cpp side uses its default F16 KV cache.
EOF
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"

reps=5
thread_counts="1 2"
prompt_file="$REPO_ROOT/bench/data/prompt512.txt"
out_dir=""
peer_only=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	-r) reps="${2:?-r needs a number}"; shift 2 ;;
	-t) thread_counts="${2:?-t needs thread counts}"; shift 2 ;;
	-p) prompt_file="${2:?-p needs a file}"; shift 2 ;;
	-o) out_dir="${2:?-o needs a directory}"; shift 2 ;;
	--peer-only) peer_only=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "-r $reps: want a positive integer"
for t in $thread_counts; do
	[[ "$t" =~ ^[1-9][0-9]*$ ]] || die "-t: thread count '$t' is not a positive integer"
done
[[ -f "$prompt_file" ]] || die "-p $prompt_file: file not found"

prompt_len=512
gen_len=128

need_cmd jq
need_cmd awk
require_llama_cpp llama-bench
resolve_peer_gguf

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT
keep_note="raw samples: $out_dir/samples.tsv"
if [[ -z "$out_dir" ]]; then
	out_dir="$WORK_DIR/out"
	keep_note="raw samples discarded; pass -o DIR to keep them"
fi
mkdir -p "$out_dir"

if [[ $peer_only -eq 0 ]]; then
	resolve_starc
	starc_model="${STARC_MODEL:-models/smollm2-135m-instruct}"
	prompt_text="$(cat "$prompt_file")"
fi

samples="$out_dir/samples.tsv"
printf 'program\tthreads\trep\tload1\tprefill_tok_s\tdecode_tok_s\ttg128_ctx0_tok_s\tprompt_tokens\tgenerated_tokens\n' >"$samples"

run_starc() { # threads rep
	local t="$1" i="$2" load stats
	stats="$out_dir/starc-t$t-r$i.json"
	load="$(load_now)"
	(cd "$REPO_ROOT" && "${STARC_CMD[@]}" generate -m "$starc_model" -p "$prompt_text" -n "$gen_len" \
		--temp 0 --threads "$t" --stats "$stats") >"$out_dir/starc-t$t-r$i.out" ||
		die "starc generate failed (threads $t, rep $i); output in $out_dir/starc-t$t-r$i.out"
	jq -e 'has("prompt_tokens") and has("generated_tokens") and has("prefill_tok_s") and has("decode_tok_s")' \
		"$stats" >/dev/null || die "$stats: stats JSON lacks prompt_tokens/generated_tokens/prefill_tok_s/decode_tok_s"
	jq -r --arg t "$t" --arg i "$i" --arg load "$load" \
		'["starc", $t, $i, $load, .prefill_tok_s, .decode_tok_s, "", .prompt_tokens, .generated_tokens] | @tsv' \
		"$stats" >>"$samples"
	local pt gt
	pt="$(jq -r .prompt_tokens "$stats")"
	gt="$(jq -r .generated_tokens "$stats")"
	[[ "$pt" == "$prompt_len" ]] || echo "warning: starc prompt_tokens=$pt, llama-bench uses $prompt_len" >&2
	[[ "$gt" == "$gen_len" ]] || echo "warning: starc generated_tokens=$gt (stopped early?), llama-bench uses $gen_len" >&2
}

run_llama() { # threads rep
	local t="$1" i="$2" load json
	json="$out_dir/llama-t$t-r$i.json"
	load="$(load_now)"
	"$LLAMA_BIN/llama-bench" -m "$PEER_GGUF" -t "$t" -p "$prompt_len" -n "$gen_len" \
		-pg "$prompt_len,$gen_len" -r 1 -o json >"$json" 2>"$out_dir/llama-t$t-r$i.err" ||
		die "llama-bench failed (threads $t, rep $i); stderr in $out_dir/llama-t$t-r$i.err"
	jq -r --arg t "$t" --arg i "$i" --arg load "$load" --argjson np "$prompt_len" --argjson ng "$gen_len" '
		(.[] | select(.n_prompt == $np and .n_gen == 0)) as $pp
		| (.[] | select(.n_prompt == 0 and .n_gen == $ng)) as $tg
		| (.[] | select(.n_prompt == $np and .n_gen == $ng)) as $pg
		| ($pg.avg_ns - $pp.avg_ns) as $decode_ns
		| ["llama.cpp", $t, $i, $load, $pp.avg_ts, (if $decode_ns > 0 then $ng * 1e9 / $decode_ns else "" end),
		   $tg.avg_ts, $np, $ng]
		| @tsv' "$json" >>"$samples" || die "$json: unexpected llama-bench JSON"
	# Under heavy load time(pp+tg) can come out below time(pp); such a sample has no decode rate.
	[[ -n "$(tail -1 "$samples" | cut -f6)" ]] ||
		echo "warning: llama.cpp threads $t rep $i: time(pp$prompt_len+tg$gen_len) <= time(pp$prompt_len), decode sample dropped" >&2
}

for t in $thread_counts; do
	for ((i = 1; i <= reps; i++)); do
		if [[ $peer_only -eq 0 ]]; then
			run_starc "$t" "$i"
			tail -1 "$samples" | cut -f1-6 | sed 's/^/  /'
		fi
		run_llama "$t" "$i"
		tail -1 "$samples" | cut -f1-7 | sed 's/^/  /'
	done
done

# column numbers in samples.tsv: 4 load, 5 prefill, 6 decode, 7 tg128@0
med() { # program threads column
	awk -F'\t' -v p="$1" -v t="$2" -v c="$3" 'NR > 1 && $1 == p && $2 == t && $c != "" {print $c}' "$samples" | median
}

echo
echo "medians over $reps repetitions (tokens/s); $keep_note"
printf '%-7s  %-26s  %10s  %10s  %8s\n' threads metric starc llama.cpp ratio
for t in $thread_counts; do
	for m in "prefill 512-token prompt:5" "decode 128 at ctx 512:6" "llama.cpp tg128 at ctx 0:7"; do
		name="${m%:*}"
		col="${m##*:}"
		s="-" # starc has no tg128-at-ctx-0 sample
		[[ $peer_only -eq 1 || $col -eq 7 ]] || s="$(med starc "$t" "$col")"
		l="$(med llama.cpp "$t" "$col")"
		printf '%-7s  %-26s  %10s  %10s  %8s\n' "$t" "$name" "$s" "$l" "$(ratio "$s" "$l")"
	done
	s="-"
	[[ $peer_only -eq 1 ]] || s="$(med starc "$t" 4)"
	printf '%-7s  %-26s  %10s  %10s\n' "$t" "load average (1 min)" "$s" "$(med llama.cpp "$t" 4)"
done
