#!/usr/bin/env python3
"""qwen_long_speed_table.py SPEED.jsonl...: the markdown tables of bench/qwen_long_speed.sh's runs.

Per run: prefill and decode by wall clock (each side's own figures: starc --stats, llama.cpp's
llama_perf lines) and by process CPU time (bench/phase_cpu.py):
  prefill CPU ms/token = (CPU at the first generated token - the side's start-up CPU) / prompt tokens
  decode CPU ms/token  = (CPU at exit - CPU at the first generated token) / (tokens generated - 1)
the start-up CPU being the same side's 1-token run in the same file. Then the medians per side and
length and the ratios starc / llama.cpp (> 1: starc faster).
"""
import json
import statistics
import sys

SIDES = {"pim": "starc, KV in the device", "dense": "starc --kv dense", "llama": "llama.cpp"}


def rows(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    startup = {r["side"]: r["run"]["first_output_cpu_s"] for r in runs if r["rep"] == "startup"}
    for r in runs:
        if r["rep"] == "startup" or r["run"]["exit"] != 0:
            continue
        run, own = r["run"], r["own"]
        prompt = own["prompt_tokens"]
        generated = own.get("generated_tokens", own.get("decode_runs", 0) + 1)
        pre_cpu = run["first_output_cpu_s"] - startup.get(r["side"], 0.0)
        dec_cpu = run["cpu_s"] - run["first_output_cpu_s"]
        yield {
            "side": r["side"], "n": r["n"], "rep": r["rep"], "file": path, "prompt": prompt,
            "generated": generated, "locked": r.get("locked"), "nice": r.get("nice"),
            "start": run["start_utc"], "load": " ".join(run["load_start"][:1] + run["load_end"][:1]),
            "pre_wall": own["prefill_tok_s"], "dec_wall": own["decode_tok_s"],
            "pre_cpu_ms": pre_cpu / prompt * 1e3, "dec_cpu_ms": dec_cpu / max(generated - 1, 1) * 1e3,
            "rss": run["maxrss_mb"], "wall": run["wall_s"], "cpu": run["cpu_s"],
            "util": run["cpu_s"] / run["wall_s"] / 2,
        }


def fmt(x, d=1):
    return "—" if x is None else f"{x:.{d}f}"


def main():
    all_rows = [r for p in sys.argv[1:] for r in rows(p)]
    print("| side | prompt tokens | rep | start (UTC) | lock / nice | load start→end | prefill tok/s (wall) "
          "| prefill CPU ms/tok | decode tok/s (wall) | decode CPU ms/tok | generated | peak RSS MB | wall s | CPU s | CPU use of 2 cores |")
    print("|---|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(all_rows, key=lambda r: (r["n"], r["start"])):
        lock = ("lock" if r["locked"] else "no lock") + f", nice {r['nice']}"
        print(f"| {SIDES[r['side']]} | {r['prompt']} | {r['rep']} | {r['start'][11:19]} | {lock} | {r['load'].replace(' ', '→')} "
              f"| {fmt(r['pre_wall'])} | {fmt(r['pre_cpu_ms'])} | {fmt(r['dec_wall'], 2)} | {fmt(r['dec_cpu_ms'])} "
              f"| {r['generated']} | {fmt(r['rss'], 0)} | {fmt(r['wall'], 0)} | {fmt(r['cpu'], 0)} | {r['util']:.0%} |")
    print()
    print("Medians per side and length; ratios starc ÷ llama.cpp as speeds (> 1: starc faster), by CPU time per token "
          "(the steadier figure on this machine) and by wall clock.")
    print()
    print("| prompt tokens | side | runs | prefill CPU ms/tok | decode CPU ms/tok | prefill tok/s (wall) | decode tok/s (wall) | peak RSS MB "
          "| prefill speed ÷ llama.cpp, CPU (wall) | decode speed ÷ llama.cpp, CPU (wall) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    med = {}
    for r in all_rows:
        med.setdefault((r["n"], r["side"]), []).append(r)
    for (n, side) in sorted(med, key=lambda k: (k[0], list(SIDES).index(k[1]))):
        rs = med[(n, side)]
        m = {k: statistics.median(r[k] for r in rs) for k in ("pre_cpu_ms", "dec_cpu_ms", "pre_wall", "dec_wall", "rss")}
        med[(n, side)] = m | {"runs": len(rs)}
    for (n, side), m in sorted(med.items(), key=lambda kv: (kv[0][0], list(SIDES).index(kv[0][1]))):
        peer = med.get((n, "llama"))
        ratio_pre = ratio_dec = "—"
        if peer and side != "llama":
            ratio_pre = f"{peer['pre_cpu_ms'] / m['pre_cpu_ms']:.2f} ({m['pre_wall'] / peer['pre_wall']:.2f})"
            ratio_dec = f"{peer['dec_cpu_ms'] / m['dec_cpu_ms']:.2f} ({m['dec_wall'] / peer['dec_wall']:.2f})"
        print(f"| {n} | {SIDES[side]} | {m['runs']} | {fmt(m['pre_cpu_ms'])} | {fmt(m['dec_cpu_ms'])} | {fmt(m['pre_wall'])} "
              f"| {fmt(m['dec_wall'], 2)} | {fmt(m['rss'], 0)} | {ratio_pre} | {ratio_dec} |")


if __name__ == "__main__":
    main()
