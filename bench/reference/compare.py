"""Compares two run directories (bench/reference/dump and ref_stream.py
output): perplexity, per-prediction NLL, and the selected token sets per
(decode step, sparse layer, query head).

Prints: both perplexities and their relative difference; the share of
selections that are identical; the first decode step with a difference (and
in which layers/heads); the mean Jaccard similarity and mean count of
positions only one side selected, overall and before/after the first
difference. --json FILE writes the same figures.

When the reference directory has margin.bin (ref_stream.py: per selection,
the relative score gap at the released code's cut), every differing
selection is listed with its margin, its count on each side and whether the
same (layer, head) agrees again at the next step, and the margins of the
differing selections are set against those of all selections (the share of
all selections whose margin is at most the largest differing one). Without
margin.bin (two Go dumps of starc's STARC, say) the differences, roots and
downstream counts are listed all the same, with margin null. bench/reference/
dump writes margin.bin for quest, so two Go quest dumps compare with the
second one's margins.
"""
import argparse
import json
import math
import os

import numpy as np


def load(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    nll = np.loadtxt(os.path.join(d, "nll.txt"))
    return meta, nll


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("ref")
    ap.add_argument("--dense-layers", type=int, default=2)
    ap.add_argument("--predictions", type=int, default=0,
                    help="compare only the first N predictions (N-1 decode steps); 0 = as many as both have")
    ap.add_argument("--json")
    ap.add_argument("--all-differences", action="store_true",
                    help="list every differing selection (default: the roots and the first 20)")
    a = ap.parse_args()
    mo, no = load(a.ours)
    mr, nr = load(a.ref)
    npred = min(len(no), len(nr))
    if a.predictions:
        npred = min(npred, a.predictions)
    no, nr = no[:npred], nr[:npred]
    po, pr = math.exp(no.mean()), math.exp(nr.mean())
    res = {"ours": a.ours, "ref": a.ref, "predictions": npred, "ppl_ours": po, "ppl_ref": pr,
           "ppl_rel_diff": po / pr - 1, "nll_max_abs_diff": float(np.max(np.abs(no - nr))),
           "ppl_prefixes": {str(n): [math.exp(no[:n].mean()), math.exp(nr[:n].mean())]
                            for n in (128, 256, 512, 768, 1024) if n <= npred}}
    so, sr = os.path.join(a.ours, "sel.bin"), os.path.join(a.ref, "sel.bin")
    if os.path.exists(so) and os.path.exists(sr):
        layers = mo["layers"] - a.dense_layers
        heads = mo["query_heads"]

        def sel(path, meta):
            rec = (meta["ctx"] + 7) // 8
            x = np.fromfile(path, dtype=np.uint8)
            return x.reshape(-1, layers, heads, rec)

        A, B = sel(so, mo), sel(sr, mr)
        steps = min(A.shape[0], B.shape[0], npred - 1)
        rec = min(A.shape[-1], B.shape[-1])  # positions beyond the shorter context are never selected
        A, B = A[:steps, ..., :rec], B[:steps, ..., :rec]
        same = np.all(A == B, axis=-1)  # [steps, layers, heads]
        ua = np.unpackbits(A, axis=-1, bitorder="little").astype(bool)
        ub = np.unpackbits(B, axis=-1, bitorder="little").astype(bool)
        inter = np.logical_and(ua, ub).sum(-1)
        union = np.logical_or(ua, ub).sum(-1)
        jac = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        only = np.logical_xor(ua, ub).sum(-1)
        step_same = same.all(axis=(1, 2))
        first = int(np.argmin(step_same)) if not step_same.all() else None
        res.update({"decode_steps": steps, "selections": int(same.size),
                    "identical_share": float(same.mean()),
                    "identical_steps": int(step_same.sum()),
                    "first_diff_step": first,
                    "jaccard_mean": float(jac.mean()),
                    "only_one_side_mean": float(only.mean()),
                    "selected_ours_mean": float(ua.sum(-1).mean()), "selected_ref_mean": float(ub.sum(-1).mean())})
        if first is not None:
            l, h = np.nonzero(~same[first])
            res["first_diff"] = [{"layer": int(x) + a.dense_layers, "head": int(y),
                                  "only_ours": np.nonzero(ua[first, x, y] & ~ub[first, x, y])[0].tolist()[:20],
                                  "only_ref": np.nonzero(ub[first, x, y] & ~ua[first, x, y])[0].tolist()[:20]}
                                 for x, y in list(zip(l, h))[:6]]
            res["identical_share_before_first_diff"] = 1.0
            res["identical_share_after_first_diff"] = float(same[first:].mean())
            res["identical_share_per_layer"] = [round(float(v), 4) for v in same.mean(axis=(0, 2))]
        mpath = os.path.join(a.ref, "margin.bin")
        if first is not None:
            M = None
            if os.path.exists(mpath):
                M = np.fromfile(mpath, dtype="<f8")
                M = M[: (M.size // (layers * heads)) * layers * heads].reshape(-1, layers, heads)[:steps]
            diffs = []
            for s_, l, h in zip(*np.nonzero(~same[: M.shape[0]] if M is not None else ~same)):
                nxt = bool(same[s_ + 1, l, h]) if s_ + 1 < steps else None
                diffs.append({"step": int(s_), "layer": int(l) + a.dense_layers, "head": int(h),
                              "margin": float(M[s_, l, h]) if M is not None else None,
                              "only_ours": int((ua[s_, l, h] & ~ub[s_, l, h]).sum()),
                              "only_ref": int((ub[s_, l, h] & ~ua[s_, l, h]).sum()),
                              "count_ours": int(ua[s_, l, h].sum()), "count_ref": int(ub[s_, l, h].sum()),
                              "same_next_step": nxt})
            # A difference at (step s, layer l) changes that layer's attention output, so the
            # hidden state, queries and cached keys of every later layer, at this step and (through
            # the cache and later K-means) all later ones. A difference is "downstream" when some
            # difference at a step <= s lies in a layer < l; otherwise it is a "root", and only a
            # near-tie of the reference's own scores can explain it.
            diff_layers = [np.nonzero(~same[t].all(axis=1))[0] for t in range(steps)]
            lowest = np.array([d.min() if d.size else layers for d in diff_layers])
            lowest_upto = np.minimum.accumulate(lowest)
            for d in diffs:
                d["root"] = not (lowest_upto[d["step"]] < d["layer"] - a.dense_layers)
            roots = [d for d in diffs if d["root"]]
            res["roots"] = len(roots)
            res["downstream"] = len(diffs) - len(roots)
            res["root_list"] = [(d["step"], d["layer"], d["head"], d["margin"]) for d in roots]
            res["differences"] = diffs if a.all_differences else diffs[:20]
            res["differences_count"] = len(diffs)
            res["differences_same_count_both_sides"] = sum(d["count_ours"] == d["count_ref"] for d in diffs)
            if M is not None:
                res["root_margin_max"] = max(d["margin"] for d in roots)
                dm = max(d["margin"] for d in diffs)
                res["margin_max_of_differences"] = dm
                res["margin_median_all"] = float(np.median(M))
                res["share_of_all_with_margin_at_most_max_diff"] = float((M <= dm).mean())
                res["selections_with_margin_at_most_max_diff"] = int((M <= dm).sum())
    print(json.dumps(res, indent=2))
    if a.json:
        json.dump(res, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
