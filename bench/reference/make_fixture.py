"""Builds attention/testdata/reference/: SmolLM2 queries and keys of a few
layers, and the token sets the released STARC and Quest selection code
chooses for them (read by attention/reference_test.go).

1. A dense float32 forward of ids[:P+S] through the HF model records the
   post-RoPE queries and keys of --layers (hooks on q_proj/k_proj, then
   the model's own rotary embedding). They are rounded to float16, which is
   what the fixture stores; both sides read those exact values.
2. For every method and budget, the released attention forward
   (starc_attention.forward, quest_attention.forward; unmodified) runs on a
   stand-in attention module whose projections slice a [q|k|v] input, whose
   rotary embedding is the identity (cos 1, sin 0) and whose o_proj is the
   identity: the released code then sees exactly the fixture's q and k. It
   starts from the prefill cache (K of positions 0..P-1, V zero) and decodes
   positions P..P+S-1; the masks its selection function returns are saved.

Layout (little-endian):
  qk.bin     per fixture layer: K [P+S][kv_heads][dim] then Q [S][heads][dim], float16
  sel-<method>-<budget>.bin.gz  per layer, step, query head: ceil((P+S)/8) bytes,
             bit p (LSB first) = position p selected at that step
  meta.json  shapes, layers, budgets, versions, commits
"""
import argparse
import gzip
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flash_attn_cpu  # noqa: E402


class Stand(nn.Module):
    """What the released forward reads from a LlamaAttention, with identity maps."""

    def __init__(self, heads, kv_heads, dim, budget, layer_id=2):
        super().__init__()
        self.num_heads, self.num_key_value_heads, self.head_dim = heads, kv_heads, dim
        self.num_key_value_groups = heads // kv_heads
        self.hidden_size = heads * dim
        qd, kd = heads * dim, kv_heads * dim
        self.q_proj = lambda h: h[..., :qd]
        self.k_proj = lambda h: h[..., qd:qd + kd]
        self.v_proj = lambda h: h[..., qd + kd:]
        self.o_proj = lambda h: h
        self.layer_id = layer_id
        self.token_budget, self.chunk_size = budget, 16
        self.prefill_cluster_interval, self.prefill_chunk_size = 64, 16  # the released defaults

    def rotary_emb(self, x, position_ids):
        shape = (x.shape[0], position_ids.shape[-1], self.head_dim)
        return torch.ones(shape, dtype=x.dtype), torch.zeros(shape, dtype=x.dtype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="dir with starc/evaluation and quest/evaluation (prepare_ref.sh)")
    ap.add_argument("--model", default="models/smollm2-135m-instruct")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--layers", default="2,20")
    ap.add_argument("--prefill", type=int, default=320)
    ap.add_argument("--steps", type=int, default=192)
    ap.add_argument("--budgets", default="32,64,200")
    ap.add_argument("--starc", default="starc-stable", help="STARC variant dir under --ref (prepare_ref.sh)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    flash_attn_cpu.install()
    from transformers import AutoModelForCausalLM
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
    import transformers

    layers = [int(x) for x in a.layers.split(",")]
    budgets = [int(x) for x in a.budgets.split(",")]
    P, S = a.prefill, a.steps
    n = P + S
    ids = [int(x) for x in open(a.ids).read().split()][:n]
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    cfg = model.config
    H, G, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
    got = {}

    def hook(name):
        def f(_m, _i, o):
            got[name] = o.detach()
        return f

    for l in layers:
        att = model.model.layers[l].self_attn
        att.q_proj.register_forward_hook(hook(("q", l)))
        att.k_proj.register_forward_hook(hook(("k", l)))
    x = torch.tensor([ids])
    pos = torch.arange(n).unsqueeze(0)
    with torch.no_grad():
        model(x, use_cache=False)
        cos, sin = model.model.rotary_emb(x.float(), pos)
    Q, K = {}, {}
    for l in layers:
        q = got[("q", l)].view(1, n, H, D).transpose(1, 2)
        k = got[("k", l)].view(1, n, G, D).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        Q[l] = q[0].transpose(0, 1).contiguous().to(torch.float16)  # [n][H][D]
        K[l] = k[0].transpose(0, 1).contiguous().to(torch.float16)  # [n][G][D]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "qk.bin"), "wb") as f:
        for l in layers:
            f.write(K[l].numpy().tobytes())
            f.write(Q[l][P:].numpy().tobytes())

    rec_bytes = (n + 7) // 8
    sys.path.insert(0, os.path.join(a.ref, a.starc))
    import evaluation.starc_attention as sa
    sys.path.pop(0)
    for m in [k for k in sys.modules if k == "evaluation" or k.startswith("evaluation.")]:
        del sys.modules[m]
    sys.path.insert(0, os.path.join(a.ref, "quest"))
    import evaluation.quest_attention as qa
    sys.path.pop(0)

    def run(mod, fn_name, budget):
        masks = []
        inner = getattr(mod, fn_name)

        def wrapped(*args, **kw):
            mk = inner(*args, **kw)
            masks.append(mk[0, :, 0, :].clone())
            return mk

        setattr(mod, fn_name, wrapped)
        out = bytearray()
        try:
            for l in layers:
                stand = Stand(H, G, D, budget)
                k32, q32 = K[l].float(), Q[l].float()
                kv = k32[:P].transpose(0, 1).unsqueeze(0)  # [1][G][P][D]
                pkv = (kv, torch.zeros_like(kv))
                masks.clear()
                for t in range(P, n):
                    h = torch.cat([q32[t].reshape(-1), k32[t].reshape(-1), torch.zeros(G * D)]).view(1, 1, -1)
                    with torch.no_grad():
                        _, _, pkv = mod.forward(stand, h, position_ids=torch.tensor([[t]]), past_key_value=pkv, use_cache=True)
                assert len(masks) == S, (len(masks), S)
                for mk in masks:
                    for hh in range(H):
                        b = np.packbits(mk[hh].numpy(), bitorder="little")
                        out += b.tobytes() + bytes(rec_bytes - b.size)
        finally:
            setattr(mod, fn_name, inner)
        return bytes(out)

    files = {}
    for b in budgets:
        for name, mod, fn in [("starc", sa, "cluster_heavy_hitter_mask"), ("quest", qa, "local_heavy_hitter_mask")]:
            data = run(mod, fn, b)
            fname = f"sel-{name}-{b}.bin.gz"
            with open(os.path.join(a.out, fname), "wb") as f:
                f.write(gzip.compress(data, compresslevel=9, mtime=0))
            files[fname] = {"method": name, "budget": b}
            print(fname, len(data), file=sys.stderr)
    meta = {
        "model": "SmolLM2-135M-Instruct (models/smollm2-135m-instruct, bf16 weights run in float32)",
        "text": "../shared/data/pg174_picture_of_dorian_gray.txt, HF tokenizers ids [0, prefill+steps)",
        "layers": layers, "prefill": P, "steps": S, "heads": H, "kv_heads": G, "head_dim": D,
        "budgets": budgets, "page_size": 16, "cluster_size": 16, "window": 64, "recluster": 64,
        "selections": files,
        "released": {"starc": "EPIC-RPI/STARC 30d4ce9 evaluation/starc_attention.py" + (
                         ", labels.argsort made stable (bench/reference/prepare_ref.sh)" if a.starc == "starc-stable" else ""),
                     "quest": "mit-han-lab/Quest 01c1623 evaluation/quest_attention.py"},
        "torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
        "made_by": "bench/reference/make_fixture.py",
    }
    json.dump(meta, open(os.path.join(a.out, "meta.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
