#!/usr/bin/env bash
# compat.sh: starc side by side with RULER's own scripts (issue 8, "Compatibility").
#
#   RULER=/path/to/RULER bash bench/ruler/compat.sh DATA_DIR OUT_DIR
#
# RULER is a checkout of NVIDIA/RULER (tested at c3f5e3b), kept outside this repository.
# Steps, chosen with STEPS (comma-separated, default prepare,eval,score):
#   prepare  RULER's scripts/data/prepare.py writes DATA_DIR/$LENGTH/data/<task>/validation.jsonl
#            for SmolLM2's tokenizer (--tokenizer_type hf, base template, seed 42), then starc's
#            reader (eval/ruler/jsonl, via bench/ruler/check) reads every file.
#   eval     starc eval --data DATA_DIR --out OUT_DIR --methods full $EVAL_FLAGS (built from this tree)
#            ASSUMPTION (the command was being written with this script): `starc eval` takes
#            --data, --out and --methods, and writes RULER-format prediction files as
#            OUT_DIR/<length>/pred/<cell>/<task>.jsonl (its layout when this was written; a
#            <task>.jsonl directly under OUT_DIR/<length>/pred, RULER's own layout, is scored too).
#   fake     in place of eval: hand-made predictions for every data file (bench/ruler/check fake:
#            all answers, one answer, upper case in control characters, empty, wrong), to test
#            the score step without a model.
#   score    RULER's scripts/eval/evaluate.py on every OUT_DIR/<length>/pred, then starc's scorer
#            (eval/ruler/score) on the same files; prints both summaries and fails if the Score or
#            Nulls rows differ. starc's STARC-paper scorer is printed after, for reference.
# Environment: PY (a Python with RULER's dependencies; default python3, installed from PyPI if
# missing), TOKENIZER (a directory with tokenizer.json and config.json; default the shared
# SmolLM2 one), LENGTH (4096), SAMPLES (10), TASKS (the essay-free tasks), EVAL_FLAGS.
#
# What this script changes or supplies around RULER's unmodified scripts (see README.md):
#   1. scripts/data/synthetic/json/english_words.json is a Git LFS pointer in a fetched
#      checkout; cwe's script loads it but only samples from it when a context needs more than
#      the 8166 wonderwords words (far beyond 4096 tokens): it is replaced by "{}".
#   2. prepare.py runs its generators as `python`: a `python` that is $PY is put first on PATH.
#   3. evaluate.py imports read_manifest from NeMo (nemo_toolkit, which needs torch): a
#      stand-in module with NeMo's behaviour (strip each line, skip blank ones, json.loads) is
#      put on PYTHONPATH.
#   4. nltk's punkt download fails offline; the essay-free tasks never call sent_tokenize.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)

[[ $# -eq 2 ]] || { echo "usage: RULER=/path/to/RULER $0 DATA_DIR OUT_DIR" >&2; exit 2; }
: "${RULER:?set RULER to a checkout of NVIDIA/RULER}"
[[ -f $RULER/scripts/data/prepare.py && -f $RULER/scripts/eval/evaluate.py ]] \
  || { echo "compat: $RULER is not a RULER checkout (no scripts/data/prepare.py)" >&2; exit 2; }
RULER=$(cd "$RULER" && pwd)
data=$(mkdir -p "$1" && cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
PY=${PY:-python3}
TOKENIZER=${TOKENIZER:-$repo/../shared/models/smollm2-135m-instruct}
LENGTH=${LENGTH:-4096}
SAMPLES=${SAMPLES:-10}
TASKS=${TASKS:-niah_single_1 niah_multikey_2 niah_multikey_3 vt cwe fwe}
STEPS=${STEPS:-prepare,eval,score}
EVAL_FLAGS=${EVAL_FLAGS:-}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { [[ ",$STEPS," == *",$1,"* ]]; }

(cd "$repo" && go build -o "$work/check" ./bench/ruler/check)

deps='transformers==5.24.0 tokenizers==0.23.3 wonderwords==3.0.1 nltk==3.10.4 PyYAML==6.0.4 tqdm==4.70.1 numpy==2.4.6 pandas==3.1.1 tenacity==9.2.1 scipy==1.17.1'
if ! "$PY" -c 'import transformers, wonderwords, nltk, yaml, tqdm, numpy, pandas, tenacity, scipy' 2>/dev/null; then
  echo "compat: installing RULER's Python dependencies into $PY"
  # shellcheck disable=SC2086
  "$PY" -m pip install --disable-pip-version-check --quiet $deps \
    || "$PY" -m pip install --disable-pip-version-check --quiet --break-system-packages $deps
fi
mkdir -p "$work/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$(command -v "$PY")" > "$work/bin/python"  # a wrapper, not a symlink: venvs find themselves by path
chmod +x "$work/bin/python"

if step prepare; then
  words=$RULER/scripts/data/synthetic/json/english_words.json
  if head -c 40 "$words" | grep -q '^version https://git-lfs'; then
    echo "compat: $words is a Git LFS pointer; replacing it by {} (unused at this length)"
    echo '{}' > "$words"
  fi
  for task in $TASKS; do
    file=$data/$LENGTH/data/$task/validation.jsonl
    echo "compat: prepare.py $task at $LENGTH ($SAMPLES samples)"
    (cd "$RULER/scripts/data" && PATH="$work/bin:$PATH" python prepare.py \
      --save_dir "$data/$LENGTH/data" --benchmark synthetic --task "$task" \
      --tokenizer_path "$TOKENIZER" --tokenizer_type hf --max_seq_length "$LENGTH" \
      --model_template_type base --num_samples "$SAMPLES") > "$work/prepare-$task.log" 2>&1
    # prepare.py reports success even when its generator failed: count the lines.
    if [[ ! -f $file || $(wc -l < "$file") -ne $SAMPLES ]]; then
      grep -v nltk_data "$work/prepare-$task.log" >&2
      echo "compat: prepare.py did not write $SAMPLES samples to $file" >&2
      exit 1
    fi
  done
  "$work/check" data "$data"
fi

if step eval; then
  (cd "$repo" && go build -o "$work/starc" ./cmd/starc)
  # shellcheck disable=SC2086
  "$work/starc" eval --data "$data" --out "$out" --methods full $EVAL_FLAGS
fi
if step fake; then
  "$work/check" fake "$data" "$out"
fi

if step score; then
  shim=$work/shim/nemo/collections/asr/parts/utils
  mkdir -p "$shim"
  for d in "$work/shim/nemo" "$work/shim/nemo/collections" "$work/shim/nemo/collections/asr" \
      "$work/shim/nemo/collections/asr/parts" "$shim"; do : > "$d/__init__.py"; done
  cat > "$shim/manifest_utils.py" <<'EOF'
# Stand-in for NeMo's manifest_utils (RULER's evaluate.py needs only these two).
import json


def read_manifest(path):
    items = []
    with open(str(path), "r", encoding="utf-8") as f:
        for line in f.readlines():
            line = line.strip()
            if line:
                items.append(json.loads(line))
    return items


def write_manifest(path, items, ensure_ascii=True):
    with open(str(path), "w", encoding="utf-8") as f:
        for item in items:
            json.dump(item, f, ensure_ascii=ensure_ascii)
            f.write("\n")
EOF
  status=0
  # Every directory of RULER prediction files: OUT/<length>/pred (RULER) or OUT/<length>/pred/<cell>.
  mapfile -t preds < <(find "$out" -path '*/pred*' -name '*.jsonl' -printf '%h\n' | sort -u)
  [[ ${#preds[@]} -gt 0 ]] || { echo "compat: no prediction files under $out/<length>/pred" >&2; exit 1; }
  for pred in "${preds[@]}"; do
    rm -f "$pred"/summary*.csv
    (cd "$RULER/scripts/eval" && PYTHONPATH="$work/shim${PYTHONPATH:+:$PYTHONPATH}" \
      "$PY" evaluate.py --data_dir "$pred" --benchmark synthetic) > "$work/evaluate.log" 2>&1 \
      || { grep -v nltk_data "$work/evaluate.log" >&2; exit 1; }
    summary=$(ls "$pred"/summary*.csv)
    tail -n +2 "$summary" > "$work/ruler.csv"          # drop pandas' 0,1,2,… header
    "$work/check" score "$pred" > "$work/starc.csv"
    echo "== $pred"
    echo "-- RULER evaluate.py ($summary)"
    cat "$work/ruler.csv"
    echo "-- starc eval/ruler/score (scorer ruler)"
    cat "$work/starc.csv"
    if diff <(head -3 "$work/starc.csv") "$work/ruler.csv" > /dev/null; then
      echo "-- identical Score and Nulls rows"
    else
      echo "-- DIFFERENT" >&2
      status=1
    fi
    echo "-- starc eval/ruler/score (scorer starc, STARC's ruler_eval.py; fractions)"
    "$work/check" score -scorer starc "$pred"
  done
  exit $status
fi
