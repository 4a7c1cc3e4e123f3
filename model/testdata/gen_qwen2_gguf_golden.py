#!/usr/bin/env python3
"""Writes qwen2_gguf_golden.json: what HF transformers computes for Qwen2.5-Coder-0.5B-Instruct
loaded from the GGUF that `scripts/setup-model.sh qwen2.5-coder-0.5b` keeps
(AutoModelForCausalLM.from_pretrained(..., gguf_file=...): transformers' own GGUF reader and
dequantizer, Qwen2ForCausalLM's forward), the reference for starc's converted checkpoint.

starc's checkpoint holds the matrices in bf16 (1-D tensors in float32), so the same rounding
is applied here to every 2-D weight before running in float32: both sides then compute with
identical weights, and only summation order differs.

For a 64-token chat prompt: per position the argmax, the largest logit, the log-sum-exp and
the logits of 8 fixed ids; then 16 greedy tokens. Run from the repository root:

    pip install torch transformers==4.45.2 gguf==0.19.0   # in a venv outside the repo
    python3 model/testdata/gen_qwen2_gguf_golden.py
"""
import importlib.metadata
import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

GGUF = "qwen2.5-coder-0.5b.gguf"
PROMPT = ("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
          "<|im_start|>user\nWrite a Python function that checks whether a number is prime. "
          "Explain how it works in two short sentences, then give one example call and its output. "
          "Keep the code under ten lines.<|im_end|>\n<|im_start|>assistant\n")
PROBES = [0, 11, 198, 220, 271, 750, 13, 151645]

torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained("models", gguf_file=GGUF)
model = AutoModelForCausalLM.from_pretrained("models", gguf_file=GGUF, torch_dtype=torch.float32)
model.eval()
with torch.no_grad():
    for p in model.parameters():
        if p.dim() == 2:
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
ids = tok.encode(PROMPT, add_special_tokens=False)
assert len(ids) >= 64, len(ids)
ids = ids[:64]
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0].float()
    out = model.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False, num_beams=1)
rows = []
for i in range(len(ids)):
    row = logits[i]
    rows.append({"argmax": int(row.argmax()), "max": float(row.max()), "lse": float(torch.logsumexp(row.double(), 0)),
                 "probes": [float(row[j]) for j in PROBES]})
golden = {
    "generator": "model/testdata/gen_qwen2_gguf_golden.py with transformers %s, torch %s, gguf %s" % (
        importlib.metadata.version("transformers"), torch.__version__, importlib.metadata.version("gguf")),
    "gguf": GGUF, "config": {"model_type": model.config.model_type, "tie_word_embeddings": model.config.tie_word_embeddings},
    "input_ids": ids, "probe_ids": PROBES, "positions": rows, "greedy": out[0, len(ids):].tolist(),
}
with open("model/testdata/qwen2_gguf_golden.json", "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
print("wrote", len(rows), "positions; greedy", golden["greedy"], repr(tok.decode(golden["greedy"])))
