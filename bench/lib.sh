# Shared helpers for the bench/*.sh comparison scripts. Sourced, never run.
# Everything here is plain bash plus jq, awk and sort.

# die prints its arguments to stderr, prefixed with the script name, and exits 1.
die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# need_cmd fails with a clear message when a required program is missing.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || die "required program '$1' not found in PATH"
}

# require_llama_cpp checks LLAMA_CPP and sets LLAMA_BIN to its build/bin directory.
# LLAMA_CPP must point at an already-built llama.cpp source tree (outside this repo).
require_llama_cpp() {
	if [[ -z "${LLAMA_CPP:-}" ]]; then
		die "LLAMA_CPP is not set. Point it at an already-built llama.cpp tree, e.g.
  LLAMA_CPP=/path/to/llama.cpp $0 ...
(the binaries are expected in \$LLAMA_CPP/build/bin; see bench/README.md for the commit and cmake flags used)"
	fi
	LLAMA_BIN="$LLAMA_CPP/build/bin"
	local tool
	for tool in "$@"; do
		[[ -x "$LLAMA_BIN/$tool" ]] || die "LLAMA_CPP=$LLAMA_CPP: $LLAMA_BIN/$tool is missing or not executable (build target '$tool')"
	done
}

# resolve_peer_gguf sets PEER_GGUF (default: the BF16 GGUF next to the llama.cpp tree) and checks it.
resolve_peer_gguf() {
	PEER_GGUF="${PEER_GGUF:-$LLAMA_CPP/../models/smollm2-135m-instruct-bf16.gguf}"
	[[ -f "$PEER_GGUF" ]] || die "PEER_GGUF=$PEER_GGUF: file not found (make it with
  \$LLAMA_CPP/build/bin/llama-quantize --allow-requantize SmolLM2-135M-Instruct.Q4_1.gguf OUT.gguf BF16
and set PEER_GGUF=OUT.gguf)"
}

# resolve_starc sets the array STARC_CMD. If STARC is set it is used as the
# binary; otherwise ./cmd/starc is built once into WORK_DIR.
resolve_starc() {
	if [[ -n "${STARC:-}" ]]; then
		[[ -x "$STARC" ]] || die "STARC=$STARC: not an executable file"
		STARC_CMD=("$STARC")
		return
	fi
	need_cmd go
	[[ -d "$REPO_ROOT/cmd/starc" ]] || die "$REPO_ROOT/cmd/starc does not exist yet; set STARC=/path/to/starc or use --peer-only"
	echo "building starc from $REPO_ROOT/cmd/starc ..." >&2
	(cd "$REPO_ROOT" && go build -o "$WORK_DIR/starc" ./cmd/starc) || die "go build ./cmd/starc failed"
	STARC_CMD=("$WORK_DIR/starc")
}

# median reads numbers, one per line, on stdin and prints their median (empty input: "nan").
median() {
	sort -g | awk '{v[NR] = $1} END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) { printf "%.4g\n", v[(NR + 1) / 2] } else { printf "%.4g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }
	}'
}

# ratio prints a/b with 3 decimals, or "n/a" when either side is not a number or b is zero.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		num = "^[-+]?[0-9.]+([eE][-+]?[0-9]+)?$"
		if (a !~ num || b !~ num || b + 0 == 0) { print "n/a"; exit }
		printf "%.3f\n", a / b
	}'
}

# load_now prints the 1-minute load average, to log alongside every measurement.
load_now() {
	awk '{print $1}' /proc/loadavg
}
