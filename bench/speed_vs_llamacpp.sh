#!/usr/bin/env bash
# Prefill and decode speed of starc versus llama.cpp, interleaved repetitions, medians.
set -euo pipefail

usage() {
	cat <<'EOF2'
usage: LLAMA_CPP=/path/to/built/llama.cpp bench/speed_vs_llamacpp.sh [options]

For each thread count T, runs REPS interleaved repetitions (starc, llama.cpp,
starc, llama.cpp, ...); C is the prompt length (-c, 512 by default):
  starc:     starc generate -m MODEL_DIR --prompt-file PROMPT -n 128 --temp 0 --threads T
               [--kv STORE] --stats FILE
             (FILE is JSON with prompt_tokens, generated_tokens, prefill_tok_s,
             decode_tok_s, prefill_cpu_s, decode_cpu_s). With --kv "pim dense"
             each repetition runs starc once per store, as programs starc-pim
             and starc-dense.
  llama.cpp (--peer-tool bench, the default): three invocations, each under
             /usr/bin/time for its CPU seconds:
               L: llama-bench -m PEER_GGUF -t T -p 1 -n 0 -r 1 -o json        (load)
               A: llama-bench -m PEER_GGUF -t T -p C -n 0 -r 1 -o json        (ppC)
               B: llama-bench -m PEER_GGUF -t T -p 0 -n 0 -pg C,128 -r 1 -o json
             (llama-bench runs every test twice: an unmeasured warm-up of the
             whole test, then the measured one)
  llama.cpp (--peer-tool cli): one llama-cli run on the same prompt file as starc,
               llama-cli -m PEER_GGUF -f PROMPT -n 128 -t T --temp 0 -no-cnv --ignore-eos -c C+256
             prefill and decode from its "prompt eval time" and "eval time" lines.
             It costs a quarter of the bench tool's prefill work (no warm-up, one
             prompt), which matters at 8000 tokens; it gives no CPU split, so
             both sides then report the CPU seconds of the whole run (run cpu).
and prints per-program medians and the ratio starc / llama.cpp for
  prefill      : tokens/s over the C-token prompt (llama.cpp: ppC of A)
  decode       : tokens/s generating 128 tokens after a C-token prompt, i.e. at
                 context C..C+127 (llama.cpp: 128 / (time(ppC+tg128 of B) -
                 time(ppC of A)); this llama.cpp version has no -d)
  prefill cpu  : tokens per CPU second of prefill (llama.cpp: C / ((cpu A - cpu L) / 2))
  decode cpu   : decode steps per CPU second (llama.cpp: 129 / (cpu B - cpu A): B's
                 warm-up and measured runs add 1 + 128 decode steps to A's work)
The CPU figures leave out the time other processes held the cores, so they
are the steadier ones on a loaded machine. The 1-minute load average is
logged before every run (it includes the previous benchmark run, about T).

PROMPT defaults to bench/data/prompt512.txt for -c 512: 1818 bytes of Pride and
Prejudice (bytes 536..2353 of SHARED_DATA/pg1342_pride_and_prejudice.txt) that
SmolLM2's tokenizer (llama-tokenize) turns into exactly 512 tokens. For -c 8000
it is cut at run time from the same place: bytes 536..30962 (30427 bytes, sha256
1e77f4d2...0cec), exactly 8000 tokens. Other lengths need -p.

options:
  -r REPS          repetitions per program and thread count (default 5, minimum 1)
  -t "T1 T2 ..."   thread counts (default "1 2")
  -c TOKENS        prompt length in tokens (default 512; 512 and 8000 have default prompts)
  -p FILE          prompt file for starc, TOKENS tokens long (default: see above)
  --kv "STORES"    starc's KV stores, any of pim, dense (default: starc's own default, pim)
  -o DIR           keep raw outputs (starc stats JSON, llama-bench JSON, samples.tsv) in DIR
  --peer-tool bench|cli  how llama.cpp is measured (default bench; see above)
  --peer-only      run only llama.cpp (starc not needed)
  -h, --help       this text

environment:
  LLAMA_CPP    required: llama.cpp source tree with build/bin/llama-bench
  PEER_GGUF    GGUF for llama.cpp (default $LLAMA_CPP/../models/smollm2-135m-instruct-bf16.gguf)
  STARC        starc binary (default: go build ./cmd/starc into a temp dir)
  STARC_MODEL  model directory for starc (default models/smollm2-135m-instruct, relative to the repo root)
  SHARED_DATA  directory of the shared texts (default ../shared/data next to the repo)

note: llama-bench at the recorded commit only accepts f16/bf16/quantized KV
caches, so the llama.cpp side uses its default F16 KV cache.
EOF2
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$REPO_ROOT/bench/lib.sh"

reps=5
thread_counts="1 2"
prompt_len=512
prompt_file=""
kv_stores=""
out_dir=""
peer_only=0
peer_tool=bench
while [[ $# -gt 0 ]]; do
	case "$1" in
	-r) reps="${2:?-r needs a number}"; shift 2 ;;
	-t) thread_counts="${2:?-t needs thread counts}"; shift 2 ;;
	-c) prompt_len="${2:?-c needs a number of tokens}"; shift 2 ;;
	-p) prompt_file="${2:?-p needs a file}"; shift 2 ;;
	--kv) kv_stores="${2:?--kv needs pim, dense or both}"; shift 2 ;;
	-o) out_dir="${2:?-o needs a directory}"; shift 2 ;;
	--peer-tool) peer_tool="${2:?--peer-tool needs bench or cli}"; shift 2 ;;
	--peer-only) peer_only=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "-r $reps: want a positive integer"
for t in $thread_counts; do
	[[ "$t" =~ ^[1-9][0-9]*$ ]] || die "-t: thread count '$t' is not a positive integer"
done
[[ "$prompt_len" =~ ^[1-9][0-9]*$ ]] || die "-c $prompt_len: want a positive integer"
for kv in $kv_stores; do
	[[ "$kv" == dense || "$kv" == pim ]] || die "--kv: store '$kv' is not pim or dense"
done
[[ "$peer_tool" == bench || "$peer_tool" == cli ]] || die "--peer-tool $peer_tool: want bench or cli"
gen_len=128

need_cmd jq
need_cmd awk
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (it measures llama-bench's CPU seconds)"
if [[ "$peer_tool" == bench ]]; then require_llama_cpp llama-bench; else require_llama_cpp llama-cli; fi
resolve_peer_gguf

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT
keep_note="raw samples: $out_dir/samples.tsv"
if [[ -z "$out_dir" ]]; then
	out_dir="$WORK_DIR/out"
	keep_note="raw samples discarded; pass -o DIR to keep them"
fi
mkdir -p "$out_dir"

starc_programs=()
if [[ $peer_only -eq 0 || "$peer_tool" == cli ]]; then
	if [[ -z "$prompt_file" ]]; then
		case "$prompt_len" in
		512) prompt_file="$REPO_ROOT/bench/data/prompt512.txt" ;;
		8000)
			need_cmd sha256sum
			text="${SHARED_DATA:-$REPO_ROOT/../shared/data}/pg1342_pride_and_prejudice.txt"
			[[ -f "$text" ]] || die "$text: not found (set SHARED_DATA, or give the prompt with -p)"
			prompt_file="$WORK_DIR/prompt8000.txt"
			# head first: "tail | head" would end in SIGPIPE, which pipefail turns into a silent exit
			head -c 30963 "$text" | tail -c 30427 >"$prompt_file"
			sum="$(sha256sum "$prompt_file" | cut -d' ' -f1)"
			[[ "$sum" == 1e77f4d2237c91ec9ce63d8d5063a09c8c0e13ae926c2a3c3bdeb81503360cec ]] ||
				die "$text: bytes 536..30962 have sha256 $sum, not the 8000-token prompt's 1e77f4d2...0cec"
			;;
		*) die "-c $prompt_len: no default prompt of that length; give one with -p" ;;
		esac
	fi
	[[ -f "$prompt_file" ]] || die "-p $prompt_file: file not found"
	prompt_file="$(cd "$(dirname "$prompt_file")" && pwd)/$(basename "$prompt_file")"
fi
if [[ $peer_only -eq 0 ]]; then
	resolve_starc
	starc_model="${STARC_MODEL:-models/smollm2-135m-instruct}"
	if [[ -z "$kv_stores" ]]; then
		starc_programs=(starc)
	else
		for kv in $kv_stores; do starc_programs+=("starc-$kv"); done
	fi
fi

samples="$out_dir/samples.tsv"
printf 'program\tthreads\trep\tload1\tprefill_tok_s\tdecode_tok_s\tprefill_cpu_tok_s\tdecode_cpu_tok_s\tprompt_tokens\tgenerated_tokens\trun_cpu_s\n' >"$samples"

run_starc() { # program threads rep
	local prog="$1" t="$2" i="$3" load stats kv_flag=()
	[[ "$prog" == starc ]] || kv_flag=(--kv "${prog#starc-}")
	stats="$out_dir/$prog-t$t-r$i.json"
	load="$(load_now)"
	(cd "$REPO_ROOT" && /usr/bin/time -f '%U %S' -o "$out_dir/$prog-t$t-r$i.time" \
		"${STARC_CMD[@]}" generate -m "$starc_model" --prompt-file "$prompt_file" -n "$gen_len" \
		--temp 0 --threads "$t" "${kv_flag[@]}" --stats "$stats") >"$out_dir/$prog-t$t-r$i.out" ||
		die "starc generate failed ($prog, threads $t, rep $i); output in $out_dir/$prog-t$t-r$i.out"
	jq -e 'has("prompt_tokens") and has("generated_tokens") and has("prefill_tok_s") and has("decode_tok_s")' \
		"$stats" >/dev/null || die "$stats: stats JSON lacks prompt_tokens/generated_tokens/prefill_tok_s/decode_tok_s"
	# decode_tok_s counts forward passes (generated - 1); so does the CPU rate.
	jq -r --arg p "$prog" --arg t "$t" --arg i "$i" --arg load "$load" \
		--argjson run_cpu "$(tail -1 "$out_dir/$prog-t$t-r$i.time" | awk '{print $1 + $2}')" '
		def per(n; s): if (s // 0) > 0 then n / s else "" end;
		[$p, $t, $i, $load, .prefill_tok_s, .decode_tok_s,
		 per(.prompt_tokens; .prefill_cpu_s), per(.generated_tokens - 1; .decode_cpu_s),
		 .prompt_tokens, .generated_tokens, $run_cpu] | @tsv' "$stats" >>"$samples"
	local pt gt
	pt="$(jq -r .prompt_tokens "$stats")"
	gt="$(jq -r .generated_tokens "$stats")"
	[[ "$pt" == "$prompt_len" ]] || echo "warning: $prog prompt_tokens=$pt, llama-bench uses $prompt_len" >&2
	[[ "$gt" == "$gen_len" ]] || echo "warning: $prog generated_tokens=$gt (stopped early?), llama-bench uses $gen_len" >&2
}

# bench_timed NAME ARGS...: one llama-bench invocation; JSON in NAME.json, CPU seconds in NAME.cpu.
bench_timed() {
	local name="$1"
	shift
	/usr/bin/time -f '%U %S' -o "$name.time" "$LLAMA_BIN/llama-bench" -m "$PEER_GGUF" -r 1 -o json "$@" \
		>"$name.json" 2>"$name.err" || die "llama-bench $* failed; stderr in $name.err"
	tail -1 "$name.time" | awk '{print $1 + $2}' >"$name.cpu"
}

run_llama() { # threads rep
	local t="$1" i="$2" load base
	base="$out_dir/llama-t$t-r$i"
	load="$(load_now)"
	bench_timed "$base-L" -t "$t" -p 1 -n 0
	bench_timed "$base-A" -t "$t" -p "$prompt_len" -n 0
	bench_timed "$base-B" -t "$t" -p 0 -n 0 -pg "$prompt_len,$gen_len"
	jq -r -n --arg t "$t" --arg i "$i" --arg load "$load" --argjson np "$prompt_len" --argjson ng "$gen_len" \
		--slurpfile a "$base-A.json" --slurpfile b "$base-B.json" \
		--argjson cl "$(cat "$base-L.cpu")" --argjson ca "$(cat "$base-A.cpu")" --argjson cb "$(cat "$base-B.cpu")" '
		($a[0][] | select(.n_prompt == $np and .n_gen == 0)) as $pp
		| ($b[0][] | select(.n_prompt == $np and .n_gen == $ng)) as $pg
		| ($pg.avg_ns - $pp.avg_ns) as $decode_ns
		| ["llama.cpp", $t, $i, $load, $pp.avg_ts, (if $decode_ns > 0 then $ng * 1e9 / $decode_ns else "" end),
		   (if $ca > $cl then $np * 2 / ($ca - $cl) else "" end),
		   (if $cb > $ca then ($ng + 1) / ($cb - $ca) else "" end), $np, $ng, ""]
		| @tsv' >>"$samples" || die "$base-[AB].json: unexpected llama-bench JSON"
	# Under heavy load time(pp+tg) can come out below time(pp); such a sample has no decode rate.
	[[ -n "$(tail -1 "$samples" | cut -f6)" ]] ||
		echo "warning: llama.cpp threads $t rep $i: time(pp$prompt_len+tg$gen_len) <= time(pp$prompt_len), decode sample dropped" >&2
}

run_llama_cli() { # threads rep
	local t="$1" i="$2" load base pp tg
	base="$out_dir/llama-cli-t$t-r$i"
	load="$(load_now)"
	/usr/bin/time -f '%U %S' -o "$base.time" "$LLAMA_BIN/llama-cli" -m "$PEER_GGUF" -f "$prompt_file" \
		-n "$gen_len" -t "$t" --temp 0 -no-cnv --ignore-eos -c $((prompt_len + gen_len + 128)) \
		</dev/null >"$base.out" 2>"$base.err" || die "llama-cli failed (threads $t, rep $i); stderr in $base.err"
	# llama_perf_context_print: prompt eval time =  151.95 ms /     6 tokens (...)
	#                                  eval time =  615.07 ms /     7 runs   (...)
	pp="$(sed -n 's/.*prompt eval time = *\([0-9.]*\) ms \/ *\([0-9]*\) tokens.*/\1 \2/p' "$base.err")"
	tg="$(sed -n 's/.*[^t] eval time = *\([0-9.]*\) ms \/ *\([0-9]*\) runs.*/\1 \2/p' "$base.err")"
	[[ -n "$pp" && -n "$tg" ]] || die "$base.err: no prompt eval / eval time lines"
	set -- $pp $tg
	[[ "$2" == "$prompt_len" ]] || echo "warning: llama-cli prompt of $2 tokens, starc's is $prompt_len" >&2
	awk -v p=llama.cpp -v t="$t" -v i="$i" -v load="$load" -v pms="$1" -v pn="$2" -v gms="$3" -v gn="$4" \
		-v cpu="$(tail -1 "$base.time" | awk '{print $1 + $2}')" -v ng="$gen_len" 'BEGIN {
		OFS = "\t"; print p, t, i, load, pn * 1000 / pms, gn * 1000 / gms, "", "", pn, ng, cpu }' >>"$samples"
}

for t in $thread_counts; do
	for ((i = 1; i <= reps; i++)); do
		for prog in "${starc_programs[@]}"; do
			run_starc "$prog" "$t" "$i"
			tail -1 "$samples" | cut -f1-8,11 | sed 's/^/  /'
		done
		if [[ "$peer_tool" == bench ]]; then run_llama "$t" "$i"; else run_llama_cli "$t" "$i"; fi
		tail -1 "$samples" | cut -f1-8,11 | sed 's/^/  /'
	done
done

# column numbers in samples.tsv: 4 load, 5 prefill, 6 decode, 7 prefill cpu, 8 decode cpu, 11 run cpu
med() { # program threads column
	awk -F'\t' -v p="$1" -v t="$2" -v c="$3" 'NR > 1 && $1 == p && $2 == t && $c != "" {print $c}' "$samples" | median
}

echo
echo "medians over $reps repetitions (tokens/s; cpu: tokens per CPU second); $keep_note"
header="$(printf '%-7s  %-30s' threads metric)"
for prog in "${starc_programs[@]}"; do header+="$(printf '  %11s' "$prog")"; done
header+="$(printf '  %10s' llama.cpp)"
for prog in "${starc_programs[@]}"; do header+="$(printf '  %9s' "ratio")"; done
echo "$header"
for t in $thread_counts; do
	metrics=("prefill $prompt_len-token prompt:5" "decode 128 at ctx $prompt_len:6" "prefill cpu:7" "decode cpu:8")
	[[ "$peer_tool" == bench ]] || metrics=("prefill $prompt_len-token prompt:5" "decode 128 at ctx $prompt_len:6" "run cpu s (less is faster):11")
	for m in "${metrics[@]}" "load average (1 min):4"; do
		name="${m%:*}"
		col="${m##*:}"
		l="$(med llama.cpp "$t" "$col")"
		line="$(printf '%-7s  %-30s' "$t" "$name")"
		for prog in "${starc_programs[@]}"; do line+="$(printf '  %11s' "$(med "$prog" "$t" "$col")")"; done
		line+="$(printf '  %10s' "$l")"
		if [[ $col -eq 11 ]]; then # seconds: llama.cpp / starc, so that > 1 means starc is faster
			for prog in "${starc_programs[@]}"; do line+="$(printf '  %9s' "$(ratio "$l" "$(med "$prog" "$t" "$col")")")"; done
		elif [[ $col -ne 4 ]]; then
			for prog in "${starc_programs[@]}"; do line+="$(printf '  %9s' "$(ratio "$(med "$prog" "$t" "$col")" "$l")")"; done
		fi
		echo "$line"
	done
done
