#!/usr/bin/env python3
"""Writes hf_written.safetensors with the PyPI `safetensors` package (the
Rust reference implementation's Python binding), so the Go reader is tested
on a file it did not write. Run from this directory:
    pip install safetensors numpy && python3 gen_safetensors_golden.py
The Go test recomputes the same values from the formulas below.
"""
import numpy as np
from safetensors.numpy import save_file

n = np.arange(12)
tensors = {
    "model.embed.weight": (n.reshape(3, 4) * 0.25 - 1).astype(np.float32),  # i*0.25-1
    "model.norm.weight": (n[:6] - 2.5).astype(np.float16),                   # i-2.5
    "model.ids": (n[:5] * 1000 - 2000).astype(np.int64),                     # i*1000-2000
    "model.flags": np.array([True, False, True]),
    "model.scalar": np.array(7.0, dtype=np.float64),
}
save_file(tensors, "hf_written.safetensors", metadata={"format": "np", "note": "golden"})
print("wrote hf_written.safetensors")
