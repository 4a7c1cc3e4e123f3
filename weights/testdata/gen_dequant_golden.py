#!/usr/bin/env python3
"""Writes dequant_golden.json: ggml blocks and their dequantized values, both
computed by the PyPI `gguf` package (gguf-py), an oracle independent of the
Go code. Run from this directory:  pip install gguf numpy && python3 gen_dequant_golden.py

Two kinds of case per type:
  quantized: deterministic pseudo-random floats quantized by gguf.quants.quantize
             (only types gguf-py can quantize), then dequantized by gguf-py;
  random:    random block bytes whose f16/f32 scale fields are set to finite
             values, dequantized by gguf-py (covers every bit pattern of the quants).
"""
import base64
import importlib.metadata
import json

import numpy as np
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T

rng = np.random.RandomState(20261124)

# Byte offsets of each block's floating-point scale fields: (offset, "f16"|"f32").
SCALE_FIELDS = {
    T.Q4_0: [(0, "f16")],
    T.Q4_1: [(0, "f16"), (2, "f16")],
    T.Q5_0: [(0, "f16")],
    T.Q5_1: [(0, "f16"), (2, "f16")],
    T.Q8_0: [(0, "f16")],
    T.Q2_K: [(80, "f16"), (82, "f16")],
    T.Q3_K: [(108, "f16")],
    T.Q4_K: [(0, "f16"), (2, "f16")],
    T.Q5_K: [(0, "f16"), (2, "f16")],
    T.Q6_K: [(208, "f16")],
}
QUANTIZABLE = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def case(kind, typ, raw):
    want = quants.dequantize(raw, typ).astype("<f4").reshape(-1)
    assert np.all(np.isfinite(want)), (kind, typ.name)
    return {"kind": kind, "type": typ.name, "type_id": int(typ), "n": int(want.size),
            "raw": b64(raw), "want": b64(want)}


cases = []
for typ in QUANTIZABLE:
    blk, _ = GGML_QUANT_SIZES[typ]
    n = max(256, 8 * blk)
    x = (rng.standard_normal((2, n // 2)) * rng.uniform(0.01, 3.0, size=(2, 1))).astype(np.float32)
    x[0, :5] = [0.0, -0.0, 1e-8, -65504.0 / 1000, 42.0]
    cases.append(case("quantized", typ, quants.quantize(x, typ)))

for typ, fields in SCALE_FIELDS.items():
    blk, size = GGML_QUANT_SIZES[typ]
    nblocks = 2 if blk == 256 else 8
    raw = rng.randint(0, 256, size=(nblocks, size)).astype(np.uint8)
    for b in range(nblocks):
        for off, kind in fields:
            v = rng.uniform(0.001, 0.2) * rng.choice([-1.0, 1.0])
            enc = np.array([v], dtype="<f2" if kind == "f16" else "<f4").view(np.uint8)
            raw[b, off:off + enc.size] = enc
    cases.append(case("random", typ, raw.reshape(1, -1)))

sizes = {t.name: list(GGML_QUANT_SIZES[t]) + [int(t)] for t in T if t in GGML_QUANT_SIZES}
out = {
    "generator": "testdata/gen_dequant_golden.py with gguf %s, numpy %s" % (
        importlib.metadata.version("gguf"), np.__version__),
    "sizes": sizes,  # name -> [block elements, block bytes, type id], from gguf-py
    "cases": cases,
}
with open("dequant_golden.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote %d cases" % len(cases))
