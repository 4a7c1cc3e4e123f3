#!/usr/bin/env bash
# Perplexity of starc versus llama.cpp on the same text, context and weights.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: LLAMA_CPP=/path/to/built/llama.cpp bench/ppl_vs_llamacpp.sh [options]

Runs
  starc ppl -m MODEL_DIR -f SLICE --ctx CTX --threads THREADS --json
  llama-perplexity -m PEER_GGUF -f SLICE -c CTX -b CTX -t THREADS -ctk f32 -ctv f32
on the same text and prints both perplexities and the relative difference
(starc - llama.cpp) / llama.cpp. The goal is |difference| <= 0.5 %; the script
exits 3 when the goal is missed.

SLICE defaults to the first 65536 bytes of ../shared/data/pg1342_pride_and_prejudice.txt
(cut with head -c at run time).

options:
  -f FILE      text to score instead of the default slice
  -c CTX       context length, also llama-perplexity's batch size (default 2048)
  -t THREADS   threads for both programs (default 2)
  --kv TYPE    llama.cpp KV cache type for K and V (default f32; f16 is llama.cpp's own default)
  --peer-only  run only llama-perplexity (starc not needed)
  -h, --help   this text

environment:
  LLAMA_CPP    required: llama.cpp source tree with build/bin/llama-perplexity
  PEER_GGUF    GGUF for llama.cpp (default $LLAMA_CPP/../models/smollm2-135m-instruct-bf16.gguf)
  STARC        starc binary (default: go build ./cmd/starc into a temp dir)
  STARC_MODEL  model directory for starc (default models/smollm2-135m-instruct, relative to the repo root)
EOF
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"

text_file=""
ctx=2048
threads=2
kv_type=f32
peer_only=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	-f) text_file="${2:?-f needs a file}"; shift 2 ;;
	-c) ctx="${2:?-c needs a number}"; shift 2 ;;
	-t) threads="${2:?-t needs a number}"; shift 2 ;;
	--kv) kv_type="${2:?--kv needs a type}"; shift 2 ;;
	--peer-only) peer_only=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

need_cmd jq
need_cmd awk
require_llama_cpp llama-perplexity
resolve_peer_gguf

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

if [[ -z "$text_file" ]]; then
	book="$REPO_ROOT/../shared/data/pg1342_pride_and_prejudice.txt"
	[[ -f "$book" ]] || die "$book not found; pass the text with -f FILE"
	text_file="$WORK_DIR/pg1342_first65536.txt"
	head -c 65536 "$book" >"$text_file"
fi
[[ -f "$text_file" ]] || die "-f $text_file: file not found"
text_file="$(cd "$(dirname "$text_file")" && pwd)/$(basename "$text_file")"

echo "text: $text_file ($(wc -c <"$text_file") bytes), ctx $ctx, load $(load_now)"

# llama.cpp side.
llama_log="$WORK_DIR/llama-perplexity.log"
llama_cmd=("$LLAMA_BIN/llama-perplexity" -m "$PEER_GGUF" -f "$text_file" -c "$ctx" -b "$ctx" -t "$threads" -ctk "$kv_type" -ctv "$kv_type")
echo "llama.cpp: ${llama_cmd[*]}"
"${llama_cmd[@]}" >"$llama_log" 2>&1 || { tail -20 "$llama_log" >&2; die "llama-perplexity failed (log above)"; }
llama_ppl="$(sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1/p' "$llama_log")"
llama_err="$(sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\2/p' "$llama_log")"
llama_chunks="$(sed -n 's/.*calculating perplexity over \([0-9]*\) chunks.*/\1/p' "$llama_log")"
[[ -n "$llama_ppl" ]] || die "no 'Final estimate' line in llama-perplexity output ($llama_log)"
echo "llama.cpp PPL = $llama_ppl +/- $llama_err over $llama_chunks chunks (KV $kv_type, load $(load_now))"

if [[ $peer_only -eq 1 ]]; then
	exit 0
fi

# starc side.
resolve_starc
starc_model="${STARC_MODEL:-models/smollm2-135m-instruct}"
starc_json="$WORK_DIR/starc-ppl.json"
starc_cmd=("${STARC_CMD[@]}" ppl -m "$starc_model" -f "$text_file" --ctx "$ctx" --threads "$threads" --json)
echo "starc:     ${starc_cmd[*]}"
(cd "$REPO_ROOT" && "${starc_cmd[@]}") >"$starc_json" || die "starc ppl failed"
starc_ppl="$(jq -er '.ppl // .perplexity' "$starc_json")" ||
	die "starc ppl --json output has neither .ppl nor .perplexity: $(head -c 400 "$starc_json")"
echo "starc     PPL = $starc_ppl (load $(load_now))"
jq -c 'del(.ppl, .perplexity)' "$starc_json" | sed 's/^/starc JSON (rest): /'

rel="$(awk -v s="$starc_ppl" -v l="$llama_ppl" 'BEGIN { printf "%+.3f", 100 * (s - l) / l }')"
echo "relative difference (starc - llama.cpp) / llama.cpp = $rel %"
if awk -v r="$rel" 'BEGIN { exit !(r <= 0.5 && r >= -0.5) }'; then
	echo "within the 0.5 % goal"
else
	echo "OUTSIDE the 0.5 % goal"
	exit 3
fi
