#!/usr/bin/env python3
"""Writes qwen2_golden.json: token ids of Qwen2.5-Coder-0.5B-Instruct's tokenizer as HF
transformers builds it from the GGUF (AutoTokenizer.from_pretrained(..., gguf_file=...), i.e.
transformers' own GGUF -> Qwen2TokenizerFast converter), an oracle independent of starc's
FromGGUF. Run from the repository root after scripts/setup-model.sh qwen2.5-coder-0.5b:

    pip install transformers==4.45.2 gguf==0.19.0 tokenizers   # in a venv outside the repo
    python3 tokenizer/testdata/gen_qwen2_golden.py

For every file of ../shared/data (whole) and a few short texts: the number of ids, the
SHA-256 of the ids written as decimal numbers joined by ",", and the first 64 ids (all ids
for the short texts). No special-token strings are encoded: transformers' GGUF converter
registers only three of Qwen2's added tokens.
"""
import hashlib
import importlib.metadata
import json
import os

from transformers import AutoTokenizer

SHORT = [
    "Hello, world! 12345 I'm here",
    "0123456789 3.14159 1,000,000 x=42",
    "I'm you're we've they'll she'd it's don't CAN'T Y'ALL",
    "  leading\n\n\ttabs\r\n trailing   ",
    "e\u0301 combining vs \u00e9 precomposed; \ufb01 ligature; \uff26\uff55\uff4c\uff4c width",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \U0001F642 caf\u00e9",
    "def f(x):\n    return x * x  # square\n",
]

tok = AutoTokenizer.from_pretrained("models", gguf_file="qwen2.5-coder-0.5b.gguf")
data = os.path.join("..", "shared", "data")
cases = []
for name in sorted(os.listdir(data)):
    if not name.endswith(".txt"):
        continue
    with open(os.path.join(data, name), encoding="utf-8", newline="") as f:  # keep \r\n
        text = f.read()
    ids = tok.encode(text, add_special_tokens=False)
    cases.append({"file": name, "n": len(ids), "sha256": hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest(),
                  "first": ids[:64]})
for text in SHORT:
    ids = tok.encode(text, add_special_tokens=False)
    cases.append({"text": text, "n": len(ids), "sha256": hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest(),
                  "first": ids})
out = {
    "generator": "tokenizer/testdata/gen_qwen2_golden.py with transformers %s, tokenizers %s, gguf %s" % (
        importlib.metadata.version("transformers"), importlib.metadata.version("tokenizers"),
        importlib.metadata.version("gguf")),
    "gguf": "qwen2.5-coder-0.5b.gguf (scripts/setup-model.sh qwen2.5-coder-0.5b)",
    "cases": cases,
}
with open(os.path.join("tokenizer", "testdata", "qwen2_golden.json"), "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=True)
    f.write("\n")
print("wrote %d cases" % len(cases))
