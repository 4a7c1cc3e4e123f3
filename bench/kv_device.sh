#!/usr/bin/env bash
# kv_device.sh: issue 10's figures for the KV cache in the PIM device against the dense float32
# host cache, SmolLM2-135M-Instruct, in one run:
#   1. decode speed, 2 threads, contexts 512 / 2048 / 8000, full and starc at budget 256
#      (BenchmarkDecodeKVDevice: the two stores decode in alternation, medians, load logged);
#   2. peak RSS of `starc generate` on an 8019-token prompt (the first 30460 bytes of Pride and
#      Prejudice) plus 16 generated tokens, device and dense, full and starc at 256;
#   3. perplexity on the first 64 KB of Pride and Prejudice at ctx 2048, device and dense;
#   4. the default command's answer to "What is the capital of France?" (device by default).
#
#   bash bench/kv_device.sh [OUT_FILE]      (default bench/results/kv-device-run.txt)
#
# starc and the test binary are built from the commit (git archive HEAD), which the output names.
# Heavy: run it on a quiet machine, alone (about 10 minutes on 2 idle cores).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/bench/results/kv-device-run.txt}
shared=$(cd "$repo/.." && pwd)/shared
text=$shared/data/pg1342_pride_and_prejudice.txt
[[ -f $text ]] || { echo "kv_device.sh: $text missing (../shared/data)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && git archive HEAD) | tar -x -C "$work"
mkdir -p "$work/models" && ln -s "$repo/models/smollm2-135m-instruct" "$work/models/smollm2-135m-instruct"
(cd "$work" && go build -o bin/starc ./cmd/starc && go test -c -o model.test ./model)
starc=$work/bin/starc
model=$repo/models/smollm2-135m-instruct
head -c 30460 "$text" > "$work/prompt8k.txt"
head -c 65536 "$text" > "$work/pp64k.txt"
load() { cut -d' ' -f1-3 /proc/loadavg; }

{
echo "# bench/kv_device.sh at $(cd "$repo" && git rev-parse --short HEAD), $(date -u +%FT%TZ), $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')), load $(load)"
echo
echo "## 1. decode speed (go test ./model -run '^\$' -bench DecodeKVDevice -benchtime 1x -v)"
(cd "$work/model" && STARC_SHARED=$shared ../model.test -test.run '^$' -test.bench DecodeKVDevice -test.benchtime 1x -test.v -test.timeout 90m 2>&1) |
	grep -Ev '^(goos|goarch|pkg|cpu):' || true
echo
echo "## 2. peak RSS, 8019-token prompt + 16 tokens, 2 threads (/usr/bin/time -f %M)"
for method in full starc; do
	for kv in pim dense; do
		budget=0; [[ $method == starc ]] && budget=256
		/usr/bin/time -f '%M' -o "$work/rss" "$starc" generate -m "$model" --prompt-file "$work/prompt8k.txt" -n 16 \
			--threads 2 --kv "$kv" --method "$method" --budget "$budget" > /dev/null 2> "$work/gen.err"
		echo "$method budget $budget, --kv $kv: peak RSS $(($(tail -1 "$work/rss") / 1024)) MB; $(grep -m1 'prompt' "$work/gen.err" | head -c 200)"
	done
done
echo
echo "## 3. perplexity, first 64 KB of pg1342, ctx 2048 (starc ppl --ctx 2048)"
declare -A ppl
for kv in pim dense; do
	"$starc" ppl -m "$model" -f "$work/pp64k.txt" --ctx 2048 --threads 2 --kv "$kv" --json > "$work/ppl-$kv.json" 2> "$work/ppl-$kv.err"
	ppl[$kv]=$(python3 -c 'import json,sys; print(repr(json.load(open(sys.argv[1]))["ppl"]))' "$work/ppl-$kv.json")
	echo "--kv $kv: ppl ${ppl[$kv]}"
done
python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("device vs dense: %+.4f %% (issue: within 0.05 %%)" % (100*(a-b)/b))' "${ppl[pim]}" "${ppl[dense]}"
echo
echo "## 4. starc generate --chat -p \"What is the capital of France?\" -n 32 (default KV store)"
"$starc" generate -m "$model" --chat -p "What is the capital of France?" -n 32 2> "$work/fr.err"
echo
sed 's/^/    /' "$work/fr.err"
echo
echo "load at end $(load)"
} | tee "$out"
