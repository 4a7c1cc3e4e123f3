#!/usr/bin/env python3
"""Writes qwen2_dequant_golden.json: for each ggml type in the two Qwen2.5-Coder GGUFs of
scripts/setup-model.sh (Q5_0, Q8_0, Q6_K, Q4_K, F32), the first tensor of that type in each
file dequantized by the PyPI `gguf` package (gguf-py's gguf.quants.dequantize), summarised as
the sum and sum of squares over the whole tensor and 256 values at evenly spread indices. The
weights themselves are not copied here. Run from the repository root after
`scripts/setup-model.sh qwen2.5-coder-0.5b` and `... qwen2.5-coder-1.5b`:

    pip install gguf==0.19.0 numpy   # in a venv outside the repo
    python3 weights/testdata/gen_qwen2_dequant_golden.py
"""
import importlib.metadata
import json

import numpy as np
from gguf import GGUFReader, quants

FILES = ["qwen2.5-coder-0.5b.gguf", "qwen2.5-coder-1.5b.gguf"]
SAMPLES = 256

cases = []
for name in FILES:
    r = GGUFReader("models/" + name)
    seen = set()
    for t in r.tensors:
        typ = t.tensor_type
        if typ.name in seen:
            continue
        seen.add(typ.name)
        x = quants.dequantize(t.data, typ).astype(np.float32).reshape(-1)
        n = x.size
        idx = [(i * n) // SAMPLES + (i * 7919) % max(1, n // SAMPLES) for i in range(SAMPLES)]
        cases.append({
            "file": name, "tensor": t.name, "type": typ.name, "type_id": int(typ), "n": int(n),
            "sum": float(x.astype(np.float64).sum()), "sumsq": float((x.astype(np.float64) ** 2).sum()),
            "index": idx, "value": [float(x[i]) for i in idx],
        })
out = {
    "generator": "weights/testdata/gen_qwen2_dequant_golden.py with gguf %s, numpy %s" % (
        importlib.metadata.version("gguf"), np.__version__),
    "cases": cases,
}
with open("weights/testdata/qwen2_dequant_golden.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote %d cases: %s" % (len(cases), ", ".join("%s/%s" % (c["file"][:18], c["type"]) for c in cases)))
