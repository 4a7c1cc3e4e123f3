#!/usr/bin/env bash
# ruler_smollm2.sh: issue 8's recorded results on SmolLM2-135M-Instruct.
#
#   bash bench/ruler_smollm2.sh [tasks|heatmap|grid|pack|all] [RUN_ROOT]
#
# tasks:   RULER's 11 synthetic tasks at 2K and 4K, 10 samples per task and length, full
#          attention and starc, quest, topk and streaming at budget 256, KV cache in the PIM device.
# heatmap: niah_single_2 at 10 needle depths × 1K/2K/4K/8K, 5 samples each, full and starc-256.
# grid:    the 11 tasks at 2K and 4K, 20 samples per task and length, all seven methods at budgets
#          128, 256 and 512 (19 cells, decoded in lockstep batches from each sample's prefill):
#          roughly 7 hours on 2 quiet cores; it resumes where it stopped, also on another machine:
#          a grid run directory missing under RUN_ROOT is first unpacked from
#          bench/results/ruler-smollm2-grid-run.tar.gz (bench/ruler_pack.py) when that exists.
# pack:    pack the grid's run directory as it stands (a run in progress included) into
#          bench/results/ruler-smollm2-grid-run.tar.gz: commit it to carry the run to the next
#          machine; the grid packs it itself when it ends.
#
# The runs go to RUN_ROOT (default /work/runs, outside the repository: the prediction files hold
# every prompt) and resume when rerun; the tables go to bench/results/ruler-smollm2-*.md with the
# command, the load average and the wall time, the figures (starc eval report --plot) to
# bench/results/ruler-smollm2-*-plots/. Run it in the background: on 2 cores the task grid
# takes about 1.5 h and the heatmap about 1 h on a quiet machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
root=${2:-/work/runs}
mkdir -p "$root"
if [[ $what == pack ]]; then
	exec python3 "$repo/bench/ruler_pack.py" pack "$root/ruler-smollm2-grid" "$repo/bench/results/ruler-smollm2-grid-run.tar.gz"
fi
starc=$root/starc
# starc is built from the commit (git archive HEAD), not from the working tree, which may hold
# someone's uncommitted edits; the tables name that commit.
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
(cd "$repo" && git archive HEAD) | tar -x -C "$src"
(cd "$src" && go build -o "$starc" ./cmd/starc)
threads=${THREADS:-2}

record() { # record NAME ARGS...: run starc eval with ARGS, write bench/results/ruler-smollm2-NAME.md
	local name=$1; shift
	local out=$root/ruler-smollm2-$name
	local md=$repo/bench/results/ruler-smollm2-$name.md
	local t0=$SECONDS load0
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	"$starc" eval --out "$out" --threads "$threads" --kv pim "$@" > "$out.table.md" 2> >(tee "$out.log" >&2)
	"$starc" eval --out "$out" --threads "$threads" --kv pim "$@" --json > "$repo/bench/results/ruler-smollm2-$name.json" 2>/dev/null
	{
		echo "# starc eval on SmolLM2-135M-Instruct: $name"
		echo
		echo "Command (resumable; the run directory is kept outside the repository):"
		echo
		echo '```'
		echo "starc eval --out $out --threads $threads --kv pim $*"
		echo '```'
		echo
		echo "Recorded $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; load average at start $load0, at end $(cut -d' ' -f1-3 /proc/loadavg);"
		echo "wall time of this invocation $((SECONDS - t0)) s (a resumed run counts only its own part)."
		echo "starc $(cd "$repo" && git rev-parse --short HEAD)."
		echo
		cat "$out.table.md"
	} > "$md"
	echo "wrote $md"
	local plots=$repo/bench/results/ruler-smollm2-$name-plots
	mkdir -p "$plots"
	"$starc" eval report --out "$out" --plot "$plots" > /dev/null
	rm -f "$plots"/*.svg # the PNGs are what the results keep
}

case $what in
tasks|all)
	record tasks --lengths 2048,4096 --samples 10 --methods full,starc,quest,topk,streaming --budgets 256 ;;&
heatmap|all)
	record heatmap --tasks niah_single_2 --depths 0,11,22,33,44,56,67,78,89,100 --lengths 1024,2048,4096,8192 \
		--samples 5 --methods full,starc --budgets 256 ;;
tasks) ;;
grid)
	archive=$repo/bench/results/ruler-smollm2-grid-run.tar.gz
	if [[ ! -e $root/ruler-smollm2-grid/config.json && -f $archive ]]; then
		python3 "$repo/bench/ruler_pack.py" unpack "$archive" "$root/ruler-smollm2-grid"
	fi
	record grid --lengths 2048,4096 --samples 20 --methods full,starc,quest,quest-kernel,topk,sparq,streaming \
		--budgets 128,256,512
	python3 "$repo/bench/ruler_pack.py" pack "$root/ruler-smollm2-grid" "$archive" ;;
*) echo "usage: $0 [tasks|heatmap|grid|pack|all] [RUN_ROOT]" >&2; exit 2 ;;
esac
