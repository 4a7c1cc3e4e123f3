"""Reads the selections of a greedy passkey generation (dump -gen /
ref_stream.py --gen) and prints, for every decode step, what the sparse
layers' query heads attended to: the key's digits in the prompt, the tokens
generated so far, the current token, and the current (partial) 16-token
page; with a second run directory, the share of identical selections.

  passkey_report.py IDS RUN [RUN2] [--key 21841]
"""
import argparse
import json
import os

import numpy as np


def load(d, layers, heads):
    meta = json.load(open(os.path.join(d, "meta.json")))
    rec = (meta["ctx"] + 7) // 8
    x = np.fromfile(os.path.join(d, "sel.bin"), dtype=np.uint8).reshape(-1, layers - 2, heads, rec)
    return meta, np.unpackbits(x, axis=-1, bitorder="little").astype(bool)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ids")
    ap.add_argument("run")
    ap.add_argument("run2", nargs="?")
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--heads", type=int, default=9)
    ap.add_argument("--digits", default="34 33 40 36 33", help="token ids of the key's digits (SmolLM2: 2 1 8 4 1)")
    a = ap.parse_args()
    ids = [int(x) for x in open(a.ids).read().split()]
    L = len(ids)
    dig = [int(x) for x in a.digits.split()]
    key_pos = [i for i in range(L - len(dig) + 1) if ids[i:i + len(dig)] == dig]
    needle = sorted({p + j for p in key_pos for j in range(len(dig))})
    meta, S = load(a.run, a.layers, a.heads)
    gen = meta["generated"]
    print(f"{a.run}: prompt {L} tokens, key digits at {needle}, generated {gen}")
    if a.run2:
        meta2, S2 = load(a.run2, a.layers, a.heads)
        print(f"{a.run2}: generated {meta2['generated']}")
    print("step pos fed | key digits attended (share of layer×head) | each generated token so far | current token | current page | identical")
    for j in range(S.shape[0]):
        pos = L + j  # decode step j feeds generated token j at position L+j
        s = S[j]
        keys = s[..., needle].mean()
        gen_sh = [f"{s[..., L + i].mean():.2f}" for i in range(j + 1)]
        page = pos // 16
        cur_page = s[..., page * 16:pos + 1].all(axis=-1).mean()
        line = f"{j:4d} {pos:4d} {gen[j]:4d} | {keys:.2f} | {' '.join(gen_sh)} | {s[..., pos].mean():.2f} | {cur_page:.2f}"
        if a.run2:
            line += f" | {np.all(S[j] == S2[j], axis=-1).mean():.3f}"
        print(line)
    print("per key-digit position, share of layer×head attending it, by step:")
    for p in needle:
        print(f"  {p:5d} (id {ids[p]}): " + " ".join(f"{S[j][..., p].mean():.2f}" for j in range(S.shape[0])))


if __name__ == "__main__":
    main()
