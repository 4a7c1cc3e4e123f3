"""Tabulates the control runs of bench/reference/run_controls.sh against their
unperturbed run (README "Control, starc side").

For every OUT/ctl-METHOD-BUDGET-KIND-sSEED directory with a meta.json, runs
compare.py against OUT/ctl-METHOD-BUDGET-base (the base is compare.py's second
argument, so quest's differences carry the base run's margins), writes
--json-dir/control-go-METHOD-BUDGET-KIND-sSEED.json, and prints a Markdown
table: perplexity, its relative difference to the base, the differing
selections, the roots and the first root (step, layer, head, margin), and
the spread (min and max relative difference) per method, budget and kind.
The -flip runs (OUT/ctl-METHOD-BUDGET-flip-STEP.LAYER.HEAD) are listed too,
with the flipped (step, layer, head) as their seed; their sel.bin holds the
method's own selections, so the flipped one itself is not counted. Extra
pairs (e.g. the dump at another commit) are given as --pair NAME:DIR:BASE.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/peers/ref/runs")
    ap.add_argument("--json-dir", default=os.path.join(here, "results", "compare"))
    ap.add_argument("--pair", action="append", default=[], metavar="NAME:DIR:BASE")
    a = ap.parse_args()
    pairs = []
    for d in sorted(glob.glob(os.path.join(a.out, "ctl-*-*-*-s*"))):
        m = re.match(r"ctl-(\w+)-(\d+)-(\w+)-s(\d+)$", os.path.basename(d))
        if not m or not os.path.exists(os.path.join(d, "meta.json")):
            continue
        method, budget, kind, seed = m.groups()
        base = os.path.join(a.out, f"ctl-{method}-{budget}-base")
        pairs.append((f"{method} {budget}", kind, seed, d, base, f"control-go-{method}-{budget}-{kind}-s{seed}.json"))
    for d in sorted(glob.glob(os.path.join(a.out, "ctl-*-*-flip-*"))):
        m = re.match(r"ctl-(\w+)-(\d+)-flip-([\d.]+)$", os.path.basename(d))
        if not m or not os.path.exists(os.path.join(d, "meta.json")):
            continue
        method, budget, at = m.groups()
        base = os.path.join(a.out, f"ctl-{method}-{budget}-base")
        pairs.append((f"{method} {budget}", "flip", at.replace(".", ":"), d, base, f"control-go-{method}-{budget}-flip-{at}.json"))
    for p in a.pair:
        name, d, base = p.split(":")
        pairs.append((name, "other", "", d, base, f"control-go-{name}.json"))
    rows, spread = [], {}
    for group, kind, seed, d, base, jname in pairs:
        jpath = os.path.join(a.json_dir, jname)
        newest = max(os.path.getmtime(os.path.join(x, "meta.json")) for x in (d, base))
        if not (os.path.exists(jpath) and os.path.getmtime(jpath) > newest):  # else: made already
            subprocess.run([sys.executable, os.path.join(here, "compare.py"), d, base, "--json", jpath],
                           check=True, stdout=subprocess.DEVNULL)
        r = json.load(open(jpath))
        rel = r["ppl_rel_diff"]
        spread.setdefault((group, kind), []).append(rel)
        roots = r.get("root_list") or []
        first = roots[0] if roots else None
        fr = "—" if first is None else f"step {first[0]}, layer {first[1]}, head {first[2]}" + (
            f", margin {first[3]:.1e}" if first[3] is not None else "")
        diff = r.get("differences_count", 0)
        rows.append(f"| {group} | {kind} | {seed} | {r['ppl_ours']:.6f} | {rel:+.2e} | {diff:,} | "
                    f"{len(roots)} | {fr} | {r['nll_max_abs_diff']:.2g} |")
    print("| run | perturbation | seed / flipped | PPL | rel. to unperturbed | selections differing (of 257,796) | roots | first root | max NLL diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    for (group, kind), v in spread.items():
        print(f"{group} {kind}: n={len(v)} min {min(v):+.2e} max {max(v):+.2e} "
              f"range {max(v)-min(v):.2e} max|.| {max(abs(x) for x in v):.2e}")


if __name__ == "__main__":
    main()
