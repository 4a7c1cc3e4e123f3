"""Prints, for one call of the released Quest local_heavy_hitter_mask
(call = step*(layers-2) + layer-2) and one query head, the page bounds
ranked around the k-th page. Explains the few Quest selections that differ
from starc's in the stream runs.

  probe_quest.py --ref DIR/quest --budget 1024 --ids IDS --step 42 --layer 5 --head 0
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flash_attn_cpu  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--model", default="models/smollm2-135m-instruct")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--prefill", type=int, default=2048)
    ap.add_argument("--budget", type=int, default=1024)
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--layer", type=int, required=True)
    ap.add_argument("--head", type=int, required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    flash_attn_cpu.install()
    sys.path.insert(0, a.ref)
    from transformers import AutoModelForCausalLM
    from evaluation.llama import enable_tuple_kv_cache_for_llama
    import evaluation.quest_attention as qa

    enable_tuple_kv_cache_for_llama()
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    L = model.config.num_hidden_layers
    want = a.step * (L - 2) + a.layer - 2
    calls, saved = [0], {}
    inner = qa.local_heavy_hitter_mask

    def wrapped(w, budget, chunk):
        if calls[0] == want:
            saved["w"] = w.clone()
        calls[0] += 1
        return inner(w, budget, chunk)

    qa.local_heavy_hitter_mask = wrapped
    qa.layer_id = L

    class Args:
        token_budget = a.budget
        chunk_size = 16

    qa.enable_quest_attention_eval(model, Args)
    ids = [int(x) for x in open(a.ids).read().split()][: a.prefill + a.step + 1]
    x = torch.tensor([ids])
    with torch.no_grad():
        out = model(x[:, : a.prefill], use_cache=True)
        pkv = out.past_key_values
        for i in range(a.prefill, a.prefill + a.step + 1):
            out = model(x[:, i:i + 1], past_key_values=pkv, use_cache=True)
            pkv = out.past_key_values
    w = saved["w"][0, a.head, 0]  # per-token copy of its page's bound
    n = w.numel()
    pages = torch.stack([w[p * 16:min(n, p * 16 + 16)].max() for p in range((n + 15) // 16)])
    k = min(max(3, min(n, a.budget) // 16), pages.numel())
    order = torch.argsort(pages, descending=True)
    print(f"step {a.step} layer {a.layer} head {a.head}: {n} tokens, {pages.numel()} pages, k = {k}")
    for r in range(max(0, k - 3), min(pages.numel(), k + 3)):
        p = int(order[r])
        print(f"  rank {r + 1:3d} page {p:3d} (tokens {p * 16}..{min(n, p * 16 + 16) - 1}) bound {pages[p].item():.9f}")


if __name__ == "__main__":
    main()
