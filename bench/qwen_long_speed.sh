#!/usr/bin/env bash
# qwen_long_speed.sh: issue 13's long-context speed on Qwen2.5-Coder-0.5B, starc next to llama.cpp.
#
#   LENGTHS="8192 16384 32736" REPS=1 REP_START=1 SIDES="pim llama dense" bash bench/qwen_long_speed.sh [WORK_DIR]
#
# For each length N (prompt tokens) and repetition, one run of each side, interleaved (the order
# rotates with the repetition), each under the bench lock:
#   pim    starc generate, KV cache in the simulated device (the default), bf16 weights
#   dense  starc generate --kv dense (host float32 KV cache)
#   llama  llama-cli on the joined GGUF (its quantised weights, F16 KV cache), OMP_WAIT_POLICY=passive
# The prompt is the first N tokens of Pride and Prejudice (cut so that Qwen's tokenizer gives exactly
# N; llama-tokenize's ids are the same, bench/results/qwen2-vs-llamacpp.md); 32 tokens are generated
# greedily (llama.cpp --ignore-eos), 2 threads. bench/phase_cpu.py notes the process CPU time when
# the first generated token reaches stdout, so prefill and decode have a CPU time each:
#   prefill CPU = CPU at the first token - the side's start-up CPU (a 1-token prompt, -n 1)
#   decode CPU  = CPU at exit - CPU at the first token, over the tokens generated after the first.
# LOCK=none runs without the lock (long runs under nice -n 19 on a contended machine).
# One JSON line per run goes to WORK_DIR/speed.jsonl (default /work/runs/qwen-speed): phase_cpu's
# figures, the side's own wall-clock figures (starc --stats, llama.cpp's llama_perf lines), the
# peer and the starc commit. LLAMA_BIN picks the peer's build/bin.
set -euo pipefail
repo=${STARC_REPO:-$(cd "$(dirname "$0")/.." && pwd)} # STARC_REPO: when run from a copy of the script
work=${1:-/work/runs/qwen-speed}
mkdir -p "$work"
lengths=${LENGTHS:-8192 16384 32736}
reps=${REPS:-1}
rep0=${REP_START:-1} # the first repetition's number (a later invocation adds repetitions)
sides=(${SIDES:-pim llama dense})
bin=${LLAMA_BIN:-/work/peers/llama.cpp-lcp038/build/bin}
model=$repo/models/qwen2.5-coder-0.5b
gguf=$repo/models/qwen2.5-coder-0.5b.gguf
text=$repo/../shared/data/pg1342_pride_and_prejudice.txt
starc=$work/starc
lock=/tmp/starc-bench.lock
locked=(flock "$lock")
[[ ${LOCK:-} == none ]] && locked=() # LOCK=none: no bench lock (then run the script under nice -n 19)
commit=$(cd "$repo" && git rev-parse --short HEAD)
# starc is built from the commit itself (git archive HEAD), not from the shared working tree, which
# may hold other engineers' uncommitted edits.
rm -rf "$work/src" && mkdir -p "$work/src"
(cd "$repo" && git archive HEAD) | tar -x -C "$work/src"
(cd "$work/src" && go build -o "$starc" ./cmd/starc)

# cut N FILE: the prefix of the text that Qwen's tokenizer encodes to exactly N tokens (a small Go
# program against the repository's tokenizer, built in WORK_DIR).
cutter=$work/cut
if [[ ! -x $cutter ]]; then
	mkdir -p "$work/cutsrc"
	cat > "$work/cutsrc/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"
	"strconv"

	"starc/tokenizer"
)

func main() {
	tok, err := tokenizer.Load(os.Args[1])
	if err != nil {
		panic(err)
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(os.Args[3])
	opt := tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}
	ids := tok.Encode(string(data), opt)
	for k := n; k < n+8 && k <= len(ids); k++ {
		text := tok.Decode(ids[:k])
		if len(tok.Encode(text, opt)) == n {
			if err := os.WriteFile(os.Args[4], []byte(text), 0o644); err != nil {
				panic(err)
			}
			fmt.Printf("%s: %d tokens, %d bytes\n", os.Args[4], n, len(text))
			return
		}
	}
	panic("no prefix of exactly n tokens")
}
EOF
	(cd "$work/cutsrc" && printf 'module cut\n\ngo 1.26\n\nrequire starc v0.0.0\n\nreplace starc => %s\n' "$repo" > go.mod &&
		cp "$repo/go.sum" . && go mod tidy > /dev/null 2>&1; go build -o "$cutter" .)
fi

run() { # run SIDE N REP PROMPT_FILE NGEN
	local side=$1 n=$2 rep=$3 prompt=$4 ngen=$5 tag=$work/$1-$2-$3
	local cmd
	case $side in
	pim|dense) cmd=("$starc" generate -m "$model" --prompt-file "$prompt" -n "$ngen" --threads 2 --kv "$side" --stats "$tag.stats.json") ;;
	llama) cmd=("$bin/llama-cli" -m "$gguf" -f "$prompt" -n "$ngen" -c $((n + ngen)) -t 2 --temp 0 -no-cnv --no-display-prompt --ignore-eos) ;;
	esac
	local res
	res=$(OMP_WAIT_POLICY=passive "${locked[@]}" python3 "$repo/bench/phase_cpu.py" "$tag.out" "${cmd[@]}" 2> "$tag.err")
	local extra='{}'
	case $side in
	pim|dense) extra=$(python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$tag.stats.json") ;;
	llama) extra=$(python3 - "$tag.err" <<'EOF'
import json, re, sys
t = open(sys.argv[1]).read()
p = re.search(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens", t)
e = re.search(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs", t)
v = re.search(r"build: (\S+ \(\w+\))", t)
rate = lambda n, ms: n / ms * 1e3 if ms > 0 else None
print(json.dumps({"prompt_tokens": int(p[2]), "prefill_s": float(p[1]) / 1e3, "prefill_tok_s": rate(int(p[2]), float(p[1])),
                  "decode_runs": int(e[2]), "decode_s": float(e[1]) / 1e3, "decode_tok_s": rate(int(e[2]), float(e[1])),
                  "build": v and v[1]}))
EOF
) ;;
	esac
	echo "{\"side\": \"$side\", \"n\": $n, \"locked\": ${#locked[@]}, \"nice\": $(nice), \"rep\": \"$rep\", \"starc\": \"$commit\", \"peer\": \"$bin\", \"run\": $res, \"own\": $extra}" | tee -a "$work/speed.jsonl"
}

# start-up CPU of each side: a 1-token prompt, one token generated
printf "It" > "$work/one.txt"
for side in "${sides[@]}"; do
	[[ -f $work/$side-1-startup.out ]] || run "$side" 1 startup "$work/one.txt" 1
done
for n in $lengths; do
	[[ -f $work/pp$n.txt ]] || "$cutter" "$model/tokenizer.json" "$text" "$n" "$work/pp$n.txt"
	for ((r = rep0; r < rep0 + reps; r++)); do
		k=$(( (r - 1) % ${#sides[@]} ))
		order=("${sides[@]:k}" "${sides[@]:0:k}")
		for side in "${order[@]}"; do
			run "$side" "$n" "$r" "$work/pp$n.txt" 32
		done
	done
done
