"""Saves the inputs of one call of the released cluster_heavy_hitter_mask
(the N-th call of a ref_stream.py-style run: call = step*(layers-2) +
layer-2) and prints, for one query head, the ranked cluster scores around
the budget boundary and the tokens of the clusters there. Used to explain
the few selections that differ from starc's in the stream runs.

  probe_starc.py --ref DIR/starc-stable --budget 1024 --ids IDS --step 5 --layer 17 --head 4
"""
import argparse
import math
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
    import evaluation.starc_attention as sa

    enable_tuple_kv_cache_for_llama()
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    L = model.config.num_hidden_layers
    want = a.step * (L - 2) + a.layer - 2
    calls = [0]
    saved = {}
    inner = sa.cluster_heavy_hitter_mask

    def wrapped(**kw):
        if calls[0] == want:
            saved.update({k: (v.clone() if torch.is_tensor(v) else v) for k, v in kw.items()})
        calls[0] += 1
        return inner(**kw)

    sa.cluster_heavy_hitter_mask = wrapped
    sa.layer_id = L

    class Args:
        token_budget = a.budget
        chunk_size = 16

    sa.enable_starc_attention_eval(model, Args)
    ids = [int(x) for x in open(a.ids).read().split()][: a.prefill + a.step + 1]
    x = torch.tensor([ids])
    with torch.no_grad():
        out = model(x[:, : a.prefill], use_cache=True)
        pkv = out.past_key_values
        for i in range(a.prefill, a.prefill + a.step + 1):
            out = model(x[:, i:i + 1], past_key_values=pkv, use_cache=True)
            pkv = out.past_key_values
    q = saved["query_states"][0, a.head, 0].double()
    g = a.head // saved["num_groups"]
    cen = saved["centroids"][0, g].double()
    lab = saved["labels"][0, g]
    rmap = saved["reorder_map"][0, g]
    scores = (cen @ q) / math.sqrt(q.numel())
    order = torch.argsort(scores, descending=True)
    nbuf = int((lab == -1).sum())
    left = a.budget - nbuf
    print(f"step {a.step} layer {a.layer} head {a.head}: {cen.shape[0]} clusters, buffer {nbuf}, budget for clusters {left}")
    cum = 0
    for r, c in enumerate(order.tolist()):
        members = rmap[lab == c].tolist()
        size = len(members)
        before = cum
        cum += size
        if cum >= left - 64 and before <= left + 64:
            print(f"  rank {r:3d} cluster {c:4d} score {scores[c].item():.9f} size {size:2d} cum {cum:5d} "
                  f"tokens {members[:4]}..{members[-1:] if members else ''}")
        if before > left + 64:
            break


if __name__ == "__main__":
    main()
