#!/usr/bin/env bash
# test.sh: everything the test suite needs, on a fresh machine, then the
# suite: the HF tokenizers wheel (the tokenizer oracle), the default model,
# go vet, go test, and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import tokenizers' 2>/dev/null; then
  echo "test: installing the HF tokenizers wheel (test oracle)"
  python3 -m pip install --disable-pip-version-check --quiet 'tokenizers==0.23.3' \
    || python3 -m pip install --disable-pip-version-check --quiet --break-system-packages 'tokenizers==0.23.3'
fi
bash scripts/setup-model.sh

go vet ./...
go test -count=1 -timeout 25m ./...
bash deploy/slurm/test.sh   # a real single-node Slurm: the grid as a job array + dependent merge

# Short fuzzing of every parser (the corpora live in testdata/fuzz). Budgets
# are execution counts, not durations: a duration -fuzztime races Go's fuzz
# coordinator at the deadline and can fail with "context deadline exceeded"
# and no crasher (golang/go#75804, fixed in Go 1.27).
fuzztime=${FUZZTIME:-100000x}
for target in weights:FuzzSafetensors weights:FuzzGGUF tokenizer:FuzzParse tokenizer:FuzzEncode tokenizer:FuzzGPT2Split \
    model:FuzzParseConfig pim:FuzzReadTrace pim/system:FuzzBudgetTable eval/ruler/jsonl:FuzzParseSamples eval/ruler/jsonl:FuzzParsePredictions eval/ruler/jsonl:FuzzResume \
    cmd/starc:FuzzCLIFlags eval/grid:FuzzParseSpec eval/grid:FuzzParseSamples cmd/starc:FuzzGridFlags eval/ruler:FuzzGenerate@10000x; do
  budget=$fuzztime
  [[ $target == *@* ]] && budget=${target##*@} target=${target%@*} # a slower target runs fewer executions
  pkg=${target%%:*} name=${target##*:}
  if grep -q "func $name(" "$pkg"/*_test.go 2>/dev/null; then
    go test -run='^$' -fuzz="^$name\$" -fuzztime="$budget" -fuzzminimizetime=200x "./$pkg" > /tmp/starc-fuzz.log 2>&1 \
      || { cat /tmp/starc-fuzz.log; echo "test: fuzz target $name failed" >&2; exit 1; }
    echo "ok   fuzz $pkg $name ($budget)"
  else
    echo "test: fuzz target $name not found in $pkg" >&2
    exit 1
  fi
done
