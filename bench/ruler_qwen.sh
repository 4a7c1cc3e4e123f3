#!/usr/bin/env bash
# ruler_qwen.sh: issue 13's long-context task runs on Qwen2.5-Coder-0.5B-Instruct.
#
#   bash bench/ruler_qwen.sh [long|32k|all|report|pack] [RUN_ROOT]
#
# long:   niah_single_1, niah_single_2, niah_multikey_1 at 8K and 16K, 5 samples per task and
#         length, full attention and starc, quest and topk at budget 1024, KV cache in the PIM device.
# 32k:    the same tasks and cells at 32K (prompt + tokens to generate = the model's 32768), 1 sample.
# all:    long, then 32k.
# report: write the tables and figures of both run directories as they stand (a run still going
#         or stopped included), without running anything.
# pack:   pack both run directories as they stand into bench/results/ruler-qwen2.5-coder-0.5b-NAME-run.tar.gz
#         (bench/ruler_pack.py: the predictions without their repeated prompts). Commit them to carry
#         the runs to another machine: a run directory missing under RUN_ROOT is unpacked from its
#         archive before the run resumes, and a finished run packs itself.
#
# Each sample is prefilled once and the four cells answer from forks of that prefill. The runs go
# to RUN_ROOT (default /work/runs, outside the repository: the prediction files hold every prompt)
# and resume when rerun; the tables go to bench/results/ruler-qwen2.5-coder-0.5b-NAME.md with the
# command, the load average and the wall time, the figures to ...-NAME-plots/. On 2 shared cores a
# 16K prefill takes ten minutes or more and a 32K one half an hour or more: run it in the background,
#
#   nohup nice -n 19 bash bench/ruler_qwen.sh all > /work/runs/ruler-qwen.out 2>&1 &
#
# and rerun the same line to resume. The model is set up by scripts/setup-model.sh qwen2.5-coder-0.5b.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
root=${2:-/work/runs}
mkdir -p "$root"
starc=$root/starc-qwen
model=$repo/models/qwen2.5-coder-0.5b
threads=${THREADS:-2}
tasks=niah_single_1,niah_single_2,niah_multikey_1
cells=(--methods full,starc,quest,topk --budgets 1024)
name_of() { echo "ruler-qwen2.5-coder-0.5b-$1"; }

header() { # header NAME STATE ARGS...: the markdown header of a table
	local name=$1 state=$2; shift 2
	echo "# starc eval on Qwen2.5-Coder-0.5B-Instruct: $name"
	echo
	echo "Command (resumable; the run directory is kept outside the repository):"
	echo
	echo '```'
	echo "starc eval -m models/qwen2.5-coder-0.5b --out $root/$(name_of "$name") --threads $threads --kv pim $*"
	echo '```'
	echo
	echo "$state"
	echo "starc $(cd "$repo" && git rev-parse --short HEAD) (the tree at the time of writing; see the run's config.json)."
	echo "The prompt is RULER's base template (no chat template); the bf16 weights converted from the GGUF."
	echo
}

plots() { # plots NAME: the run's figures, PNG only
	local plots=$repo/bench/results/$(name_of "$1")-plots
	mkdir -p "$plots"
	"$starc" eval report --out "$root/$(name_of "$1")" --plot "$plots" > /dev/null
	rm -f "$plots"/*.svg
}

record() { # record NAME ARGS...: run starc eval with ARGS, write the table and the figures
	local name=$1; shift
	local out=$root/$(name_of "$name")
	local md=$repo/bench/results/$(name_of "$name").md
	local t0=$SECONDS load0
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	if [[ ! -e $out/config.json && -f $(archive "$name") ]]; then
		python3 "$repo/bench/ruler_pack.py" unpack "$(archive "$name")" "$out"
	fi
	"$starc" eval -m "$model" --out "$out" --threads "$threads" --kv pim "$@" > "$out.table.md" 2> >(tee -a "$out.log" >&2)
	"$starc" eval -m "$model" --out "$out" --threads "$threads" --kv pim "$@" --json > "$repo/bench/results/$(name_of "$name").json" 2>/dev/null
	{
		header "$name" "Finished $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; load average at start $load0, at end $(cut -d' ' -f1-3 /proc/loadavg); wall time of this invocation $((SECONDS - t0)) s (a resumed run counts only its own part)." "$@"
		cat "$out.table.md"
	} > "$md"
	echo "wrote $md"
	plots "$name"
	pack "$name"
}

archive() { echo "$repo/bench/results/$(name_of "$1")-run.tar.gz"; }

pack() { # pack NAME: the run directory as it stands, into its archive
	[[ -f $root/$(name_of "$1")/config.json ]] || { echo "$root/$(name_of "$1"): no run yet" >&2; return 0; }
	python3 "$repo/bench/ruler_pack.py" pack "$root/$(name_of "$1")" "$(archive "$1")"
}

report() { # report NAME ARGS...: the table of a run as it stands
	local name=$1; shift
	local out=$root/$(name_of "$name")
	local md=$repo/bench/results/$(name_of "$name").md
	[[ -f $out/config.json ]] || { echo "$out: no run yet" >&2; return 0; }
	{
		header "$name" "**As it stands** at $(date -u +%Y-%m-%dT%H:%MZ) (run still going or stopped: the samples column says what is complete); load average $(cut -d' ' -f1-3 /proc/loadavg)." "$@"
		"$starc" eval report --out "$out"
	} > "$md"
	"$starc" eval report --out "$out" --json > "$repo/bench/results/$(name_of "$name").json"
	echo "wrote $md"
	plots "$name"
}

long=(--tasks "$tasks" --lengths 8192,16384 --samples 5 "${cells[@]}")
k32=(--tasks "$tasks" --lengths 32768 --samples 1 "${cells[@]}")
# report uses the binary the runs use (a rebuild would replace it under a running job)
[[ ($what == report && -x $starc) || $what == pack ]] || (cd "$repo" && go build -o "$starc.new" ./cmd/starc && mv "$starc.new" "$starc")
case $what in
long) record long "${long[@]}" ;;
32k) record 32k "${k32[@]}" ;;
all) record long "${long[@]}"; record 32k "${k32[@]}" ;;
report) report long "${long[@]}"; report 32k "${k32[@]}" ;;
pack) pack long; pack 32k ;;
*) echo "usage: $0 [long|32k|all|report|pack] [RUN_ROOT]" >&2; exit 2 ;;
esac
