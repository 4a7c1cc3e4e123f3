#!/usr/bin/env bash
# demo.sh: build starc, set up the default model and answer a sample prompt.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/starc ./cmd/starc
bash scripts/setup-model.sh
bin/starc generate --chat -p "${1:-What is the capital of France?}" -n 64 --hw
