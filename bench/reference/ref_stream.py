"""Reference side of the differential runs (bench/reference/README.md).

Runs the released STARC (EPIC-RPI/STARC 30d4ce9, evaluation/starc_attention.py)
or Quest (mit-han-lab/Quest 01c1623, evaluation/quest_attention.py) attention,
or the released dense path ("full"), on SmolLM2 in float32 on the CPU, over
starc's stream perplexity protocol (eval.StreamPerplexity): prefill ids[:P]
densely, score ids[P] from the prefill's last logits, then feed ids[P..P+M-2]
one at a time through the decode path, scoring ids[P+1..P+M-1].

Writes to --out: sel.bin (same layout as bench/reference/dump: one record of
ceil(ctx/8) bytes per (decode step, sparse layer, query head), bit p little-
endian = position p selected), margin.bin (one float64 per record: the
selection's margin, below), nll.txt, meta.json (perplexity and shape).

The margin is how close the released code's selection came to being
another: the smallest relative gap, |a - b| / max(|a|, |b|), between the
scores it ranked on either side of its cut, computed from the same inputs
with the same float32 operations. STARC: the cluster scores (max over the
query rows of q.centroid / sqrt(D)) of the last fully kept cluster, the
next one (the boundary cluster) and the one after it. Quest: the k-th and
(k+1)-th page bounds (inf when every page is taken). A selection that
differs from starc's with a margin of about 1e-6 is a float32 near-tie.

The selections are the masks the released selection functions return
(cluster_heavy_hitter_mask, local_heavy_hitter_mask), recorded by wrapping
the module-level function the released forward calls; nothing else of the
released code is altered here (see prepare_ref.sh for the file changes).

Resumable: every --checkpoint-every decode steps the run saves its whole
state (the cache tuples the released forwards return, which hold all of
their per-layer state; the NLLs so far; the length of sel.bin) to
ckpt.pt in --out (written to ckpt.pt.tmp, then renamed). Started again with
the same arguments, it resumes from that checkpoint: sel.bin is cut back to
the recorded length and the decode loop continues at the next step. A
checkpoint made with other arguments or ids is refused. ckpt.pt is removed
when the run completes. --stop-after N ends the run (with a checkpoint)
after N predictions, to test resumption.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flash_attn_cpu  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="dir holding the released evaluation/ package")
    ap.add_argument("--method", choices=["starc", "quest", "full"], required=True)
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--model", default="models/smollm2-135m-instruct")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--prefill", type=int, default=2048)
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--gen", type=int, default=0, help="instead of perplexity: prefill all of --ids, generate N tokens greedily")
    ap.add_argument("--out", required=True)
    ap.add_argument("--checkpoint-every", type=int, default=64, help="decode steps between checkpoints (0: none)")
    ap.add_argument("--stop-after", type=int, default=0, help="stop (with a checkpoint) after N predictions")
    ap.add_argument("--perturb-embeddings", type=float, default=0,
                    help="control run: scale each input embedding weight by 1 ± EPS (fixed random signs, seed 0); "
                         "2**-23 moves each by about one float32 ulp (the output head keeps the original weights)")
    ap.add_argument("--force", action="append", default=[], metavar="DIR:STEP:LAYER:HEAD",
                    help="experiment: at that decode step, layer and query head, attend to the selection recorded "
                         "in DIR/sel.bin (another run, e.g. starc's) instead of the released code's; sel.bin still "
                         "records the released code's own selection")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    flash_attn_cpu.install()
    sys.path.insert(0, a.ref)
    from transformers import AutoModelForCausalLM
    from evaluation.llama import enable_tuple_kv_cache_for_llama

    enable_tuple_kv_cache_for_llama()
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32)
    model.eval()
    if a.perturb_embeddings:
        emb = model.model.embed_tokens
        w = emb.weight.detach().clone()
        sign = torch.randint(0, 2, w.shape, generator=torch.Generator().manual_seed(0)).float() * 2 - 1
        emb.weight = torch.nn.Parameter(w * (1 + a.perturb_embeddings * sign), requires_grad=False)
    n_layers = model.config.num_hidden_layers
    if a.gen:
        a.prefill = len(open(a.ids).read().split())
        a.max_tokens = a.gen
    ctx = a.prefill + a.max_tokens
    rec_bytes = (ctx + 7) // 8
    os.makedirs(a.out, exist_ok=True)
    # The open sel.bin and margin.bin; opened once it is known whether the run resumes.
    sel = {"f": None, "margin": None}

    forced = {}  # (step, layer, head) -> bool array over positions, from another run's sel.bin
    for spec in a.force:
        d, st_, ly, hd = spec.rsplit(":", 3)
        forced[(int(st_), int(ly), int(hd))] = d

    def force(mask):
        """Replaces the heads of this call named by --force (call index from sel.bin's length)."""
        if not forced:
            return mask
        nh = mask.shape[1]
        call = sel["f"].tell() // (rec_bytes * nh) - 1  # record() has written this call already
        step, layer = divmod(call, n_layers - 2)
        for h in range(nh):
            d = forced.get((step, layer + 2, h))
            if d is None:
                continue
            meta = json.load(open(os.path.join(d, "meta.json")))
            orec = (meta["ctx"] + 7) // 8
            off = ((step * (n_layers - 2) + layer) * nh + h) * orec
            bits = np.unpackbits(np.fromfile(os.path.join(d, "sel.bin"), np.uint8, orec, offset=off), bitorder="little")
            mask = mask.clone()
            mask[0, h, 0, :] = torch.from_numpy(bits[: mask.shape[-1]].astype(bool))
            print(f"forced step {step} layer {layer + 2} head {h} from {d}", file=sys.stderr, flush=True)
        return mask

    def record(mask, margin):
        # mask: [1, H_q, 1, L] bool, L = tokens cached at this step; margin: [H_q]
        m = mask[0, :, 0, :].cpu().numpy()
        for h in range(m.shape[0]):
            b = np.packbits(m[h], bitorder="little")
            sel["f"].write(b.tobytes() + bytes(rec_bytes - b.size))
        sel["margin"].write(margin.astype("<f8").tobytes())

    class Args:
        token_budget = a.budget
        chunk_size = 16

    if a.method == "starc":
        import evaluation.starc_attention as sa
        inner = sa.cluster_heavy_hitter_mask

        def wrapped(*args, **kw):
            mask = inner(*args, **kw)
            record(mask, starc_margin(**kw))
            return force(mask)

        sa.cluster_heavy_hitter_mask = wrapped
        # The released code numbers layers 31..0 from a global counter that
        # assumes 32 layers; start it at this model's count so that layers 0
        # and 1 are the dense ones (README: "Changes", 3).
        sa.layer_id = n_layers
        sa.enable_starc_attention_eval(model, Args)
    elif a.method == "quest":
        import evaluation.quest_attention as qa
        inner = qa.local_heavy_hitter_mask

        def wrapped(*args, **kw):
            mask = inner(*args, **kw)
            record(mask, quest_margin(*args, **kw))
            return force(mask)

        qa.local_heavy_hitter_mask = wrapped
        qa.layer_id = n_layers
        qa.enable_quest_attention_eval(model, Args)

    ids = [int(x) for x in open(a.ids).read().split()]
    sel_path = os.path.join(a.out, "sel.bin")
    if a.gen:
        if a.method != "full":
            sel["f"], sel["margin"] = open(sel_path, "wb"), open(os.path.join(a.out, "margin.bin"), "wb")
        return generate(a, model, ids, sel)
    ids = ids[:ctx]
    assert len(ids) == ctx, f"{a.ids} has {len(ids)} ids, need {ctx}"
    run_key = {"ref": os.path.abspath(a.ref), "method": a.method, "budget": a.budget, "model": os.path.abspath(a.model),
               "prefill": a.prefill, "max_tokens": a.max_tokens, "threads": a.threads, "perturb": a.perturb_embeddings, "force": a.force,
               "ids_sha256": hashlib.sha256(" ".join(map(str, ids)).encode()).hexdigest()}
    x = torch.tensor([ids])

    def nll(logits, target):
        lp = torch.log_softmax(logits.double(), dim=-1)
        return -lp[target].item()

    ckpt_path = os.path.join(a.out, "ckpt.pt")
    margin_path = os.path.join(a.out, "margin.bin")

    def save_checkpoint(next_i, nlls, pkv, cpu):
        state = {"key": run_key, "next_i": next_i, "nlls": nlls, "pkv": pkv, "cpu_seconds": cpu}
        for k in ("f", "margin"):
            if sel[k]:
                sel[k].flush()
                os.fsync(sel[k].fileno())
            state[k + "_bytes"] = sel[k].tell() if sel[k] else 0
        torch.save(state, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    t0, c0 = time.time(), time.process_time()
    cpu_before = 0.0  # process CPU seconds of earlier segments of a resumed run
    resumed_at = None
    with torch.no_grad():
        if os.path.exists(ckpt_path):
            st = torch.load(ckpt_path)
            if st["key"] != run_key:
                sys.exit(f"{ckpt_path}: checkpoint of another run ({st['key']}), not {run_key}; remove it or use another --out")
            pkv, nlls, start, cpu_before = st["pkv"], st["nlls"], st["next_i"], st["cpu_seconds"]
            resumed_at = len(nlls)
            if a.method != "full":
                for k, path in (("f", sel_path), ("margin", margin_path)):
                    sel[k] = open(path, "r+b")
                    sel[k].truncate(st[k + "_bytes"])
                    sel[k].seek(st[k + "_bytes"])
            print(f"{a.method} {a.budget}: resuming at {len(nlls)}/{a.max_tokens} from {ckpt_path}", file=sys.stderr, flush=True)
        else:
            if a.method != "full":
                sel["f"], sel["margin"] = open(sel_path, "wb"), open(margin_path, "wb")
            out = model(x[:, : a.prefill], use_cache=True)
            pkv = out.past_key_values
            nlls = [nll(out.logits[0, -1], ids[a.prefill])]
            start = a.prefill
        for i in range(start, ctx - 1):
            out = model(x[:, i : i + 1], past_key_values=pkv, use_cache=True)
            pkv = out.past_key_values
            nlls.append(nll(out.logits[0, -1], ids[i + 1]))
            if len(nlls) % 128 == 0:
                print(f"{a.method} {a.budget}: {len(nlls)}/{a.max_tokens} ppl {math.exp(sum(nlls)/len(nlls)):.4f} "
                      f"{time.time()-t0:.0f}s cpu {cpu_before + time.process_time() - c0:.0f}s", file=sys.stderr, flush=True)
            done = i + 1 == ctx - 1
            if not done and a.stop_after and len(nlls) >= a.stop_after:
                save_checkpoint(i + 1, nlls, pkv, cpu_before + time.process_time() - c0)
                print(f"{a.method} {a.budget}: stopped at {len(nlls)}/{a.max_tokens}, checkpoint {ckpt_path}", file=sys.stderr)
                return
            if not done and a.checkpoint_every and (i + 1 - a.prefill) % a.checkpoint_every == 0:
                save_checkpoint(i + 1, nlls, pkv, cpu_before + time.process_time() - c0)
    for f in sel.values():
        if f:
            f.close()
    mean = sum(nlls) / len(nlls)
    import transformers
    meta = {"method": a.method, "budget": a.budget, "prefill": a.prefill, "max_tokens": a.max_tokens,
            "ctx": ctx, "layers": n_layers, "query_heads": model.config.num_attention_heads,
            "decode_steps": ctx - 1 - a.prefill, "ppl": math.exp(mean), "mean_nll": mean,
            "seconds_last_segment": time.time() - t0, "cpu_seconds": cpu_before + time.process_time() - c0,
            "resumed_at_prediction": resumed_at, "threads": a.threads, "perturb_embeddings": a.perturb_embeddings, "forced": a.force,
            "torch": torch.__version__, "transformers": transformers.__version__}
    json.dump(meta, open(os.path.join(a.out, "meta.json"), "w"), indent=2)
    with open(os.path.join(a.out, "nll.txt"), "w") as f:
        f.write("\n".join(f"{v:.9g}" for v in nlls) + "\n")
    if os.path.exists(ckpt_path):
        os.remove(ckpt_path)
    print(json.dumps(meta, indent=2))


def rel_gap(a, b):
    """Relative gap between two sorted score tensors, elementwise (inf where both are missing)."""
    return (a - b).abs() / torch.maximum(a.abs(), b.abs()).clamp_min(1e-30)


def starc_margin(query_states, centroids, labels, B, num_groups, **_):
    """Margin of the released cluster_heavy_hitter_mask (its ranking, recomputed the same way)."""
    _, _, _, D = query_states.shape
    cq = centroids.repeat_interleave(num_groups, dim=1)
    scores = (torch.einsum("bhqd,bhcd->bhqc", query_states.float(), cq.float()) / math.sqrt(D)).max(dim=2).values
    order = torch.argsort(scores, dim=-1, descending=True)
    ranked = scores.gather(-1, order)[0].double()  # [H_q, C]
    cnt = torch.zeros(labels.shape[0], labels.shape[1], centroids.shape[2], dtype=torch.int64)
    cnt.scatter_add_(-1, labels.clamp(min=0), (labels >= 0).long())
    cnt = cnt.repeat_interleave(num_groups, dim=1)
    budget = B - (labels == -1).sum(-1).repeat_interleave(num_groups, dim=1)  # [1, H_q]
    full = (cnt.gather(-1, order).cumsum(-1) <= budget.unsqueeze(-1)).sum(-1)[0]  # clusters fully kept
    C = ranked.shape[1]
    out = np.full(ranked.shape[0], np.inf)
    for h in range(ranked.shape[0]):
        k = int(full[h])
        gaps = [rel_gap(ranked[h, i], ranked[h, i + 1]).item() for i in (k - 1, k) if 0 <= i and i + 1 < C]
        if gaps:
            out[h] = min(gaps)
    return out


def quest_margin(attn_weights, token_budget, chunk_size):
    """Margin of the released local_heavy_hitter_mask: k-th against (k+1)-th page bound."""
    n = attn_weights.shape[-1]
    pad = chunk_size - ((n - 1) % chunk_size + 1)
    w = torch.cat([attn_weights, torch.full(attn_weights.shape[:-1] + (pad,), torch.finfo(attn_weights.dtype).min)], dim=-1)
    pages = w.reshape(*w.shape[:-1], w.shape[-1] // chunk_size, chunk_size).amax(dim=-1)[0, :, 0]  # [H_q, P]
    k = min(max(3, token_budget // chunk_size), pages.shape[-1])
    if k >= pages.shape[-1]:
        return np.full(pages.shape[0], np.inf)
    top = pages.double().topk(k + 1, dim=-1).values
    return rel_gap(top[:, k - 1], top[:, k]).numpy()


def generate(a, model, ids, sel):
    """Prefills ids and decodes a.gen tokens greedily (argmax: lowest id on ties)."""
    toks = []
    with torch.no_grad():
        out = model(torch.tensor([ids]), use_cache=True)
        pkv = out.past_key_values
        for i in range(a.gen):
            t = int(torch.argmax(out.logits[0, -1]))
            toks.append(t)
            if i == a.gen - 1:
                break
            out = model(torch.tensor([[t]]), past_key_values=pkv, use_cache=True)
            pkv = out.past_key_values
    for f in sel.values():
        if f:
            f.close()
    meta = {"method": a.method, "budget": a.budget, "prefill": len(ids), "ctx": len(ids) + a.gen,
            "layers": model.config.num_hidden_layers, "query_heads": model.config.num_attention_heads,
            "decode_steps": a.gen - 1, "generated": toks}
    json.dump(meta, open(os.path.join(a.out, "meta.json"), "w"), indent=2)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
