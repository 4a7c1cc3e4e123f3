#!/usr/bin/env python3
"""Write the scorer goldens for starc/eval/ruler/score from the reference code itself.

    python3 bench/ruler/goldens.py RULER_CHECKOUT STARC_CHECKOUT OUT_DIR

RULER_CHECKOUT is NVIDIA/RULER (c3f5e3b), STARC_CHECKOUT is EPIC-RPI/STARC (30d4ce9).
Nothing here re-implements a scorer: RULER's string_match_all/part are imported from
scripts/eval/synthetic/constants.py; postprocess_pred, get_pred_and_ref and
run_evaluation_per_task are taken out of scripts/eval/evaluate.py (which parses
arguments and imports NeMo at module level, so its function definitions are compiled
on their own, with NeMo's read_manifest replaced by an equivalent JSONL reader); the
STARC functions are taken the same way out of evaluation/LongBench/ruler_eval.py
(which imports torch). The STARC task mean is the expression ruler_eval.py uses,
np.array(scores, dtype=np.float32).mean().

Writes OUT_DIR/goldens.json (cases with both scorers' results) and OUT_DIR/pylower.json
(Python's str.lower and the Cased/Case_Ignorable classes it uses, for every assigned
code point whose behaviour is not the identity/neutral).
"""
import ast
import importlib.util
import json
import os
import re
import string
import sys
import tempfile
import unicodedata

import numpy as np

ruler_dir, starc_dir, out_dir = sys.argv[1:4]


def load_functions(path, names, namespace):
    """Compile only the named top-level functions of a source file into namespace."""
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    missing = set(names) - {n.name for n in found}
    if missing:
        sys.exit(f"{path}: functions not found: {sorted(missing)}")
    exec(compile(ast.Module(body=found, type_ignores=[]), path, "exec"), namespace)
    return namespace


def read_manifest(path):
    # NeMo's read_manifest: strip each line, skip blank ones, json.loads the rest.
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f.readlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


spec = importlib.util.spec_from_file_location("ruler_constants", os.path.join(ruler_dir, "scripts/eval/synthetic/constants.py"))
ruler_constants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ruler_constants)

ruler = load_functions(
    os.path.join(ruler_dir, "scripts/eval/evaluate.py"),
    ["postprocess_pred", "get_pred_and_ref", "run_evaluation_per_task"],
    {"re": re, "read_manifest": read_manifest, "tqdm": lambda x: x},
)
starc = load_functions(
    os.path.join(starc_dir, "evaluation/LongBench/ruler_eval.py"),
    ["_normalize_answer", "_postprocess_pred", "metric_multi_number", "metric_multi_words",
     "metric_needle_score", "metric_string_match_part", "choose_metric_fn"],
    {},
)

RULER_TASK_TYPE = {  # scripts/synthetic.yaml: task name -> generator, whose metric constants.py names
    "niah_single_1": "niah", "niah_single_2": "niah", "niah_single_3": "niah",
    "niah_multikey_1": "niah", "niah_multikey_2": "niah", "niah_multikey_3": "niah",
    "niah_multivalue": "niah", "niah_multiquery": "niah", "vt": "variable_tracking",
    "cwe": "common_words_extraction", "fwe": "freq_words_extraction", "qa_1": "qa", "qa_2": "qa",
}


def ruler_task(task, preds, refs):
    """evaluate.py's run_evaluation_per_task on a prediction file holding these lines."""
    config = dict(ruler_constants.TASKS[RULER_TASK_TYPE[task]])
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for i, (p, r) in enumerate(zip(preds, refs)):
            f.write(json.dumps({"index": i, "pred": p, "input": "", "outputs": r, "others": {}, "truncation": -1, "length": -1}) + "\n")
        name = f.name
    try:
        score, nulls, _, _ = ruler["run_evaluation_per_task"](config, name)
    finally:
        os.unlink(name)
    return {"score": score, "nulls": nulls}


def starc_task(task, preds, refs):
    """ruler_eval.py's per-sample metric choice and its float32 mean."""
    name = "ruler/" + task
    fn = starc["choose_metric_fn"](name)
    per = []
    for p, r in zip(preds, refs):
        if "multiquery" in name or "multivalue" in name:
            s = fn(p, r)
        elif "niah" in name:
            s = fn(p, r[0])
        else:
            s = fn(p, r)
        per.append(float(s))
    mean = float(np.array(per, dtype=np.float32).mean()) if per else 0.0
    return {"score": mean, "per_sample": per}


def case(name, task, preds, refs):
    out = {"name": name, "task": task, "preds": preds, "refs": refs, "ruler": ruler_task(task, preds, refs)}
    try:
        out["starc"] = starc_task(task, preds, refs)
    except ValueError:
        pass
    return out


cases = [
    case("exact answer", "niah_single_1", [" 1234567."], [["1234567"]]),
    case("case differences", "niah_multikey_3", ["The UUID is ABCDEF01-2345", "abc"], [["abcdef01-2345"], ["ABC"]]),
    case("control characters cleaned", "vt", ["\x00\x01 VAR ABCDE\x1fVAR FGHIJ\x7f\n", "a\x07b", "x\tY"], [["VAR ABCDE", "FGHIJ"], ["a\nb"], ["x\ny"]]),
    case("only whitespace and controls is a null", "niah_single_1", ["\t\r\n\x0b\x0c\x1c\x1d\x1e\x1f ", "", "\x00", " 7"], [["7"], ["7"], ["7"], ["7"]]),
    case("partial matches, several references", "niah_multivalue", ["1111111, 2222222 and 3333333", "4444444", "nothing"],
         [["1111111", "2222222", "3333333", "9999999"], ["4444444", "5555555", "6666666"], ["1", "2"]]),
    case("one of three", "cwe", ["alpha beta"], [["alpha", "gamma", "delta"]]),
    case("two of three", "fwe", ["ab cd"], [["ab", "cd", "ef"]]),
    case("qa any reference", "qa_1", ["It was Paris, France", "London", "", "the Eiffel tower"],
         [["paris", "Lyon"], ["Berlin", "Rome"], ["x"], ["Eiffel Tower", "The Eiffel Tower"]]),
    case("qa_2 partial credit is all or nothing", "qa_2", ["alpha and beta"], [["alpha gamma", "beta"]]),
    case("empty reference matches anything", "niah_single_1", ["abc"], [[""]]),
    case("unicode dotted capital I", "niah_single_3", ["İSTANBUL", "İstanbul"], [["istanbul"], ["İSTANBUL"]]),
    case("unicode final sigma", "niah_single_2", ["ΟΔΟΣ", "ΟΔΟΣ", "ΟΔΟΣ Α", "Σ"], [["ΟΔΟΣ"], ["οδοσ"], ["οδος α"], ["σ"]]),
    case("unicode no case folding", "niah_single_2", ["STRASSE", "straße", "\u212a"], [["straße"], ["STRASSE"], ["k"]]),
    case("unicode digits and spaces", "niah_multiquery", ["\u3000١٢٣ and 456\u00a0", "٤٥٦"], [["١٢٣", "456"], ["456"]]),
    case("starc normalisation: articles, punctuation, eot", "niah_multikey_1", ["The answer: 12,345<|eot_id|>", "an apple_pie", "THE-END"],
         [["12345"], ["apple_pie"], ["end"]]),
    case("starc needle prefix", "niah_single_2", ["1234567890", "number 123", "x 9 y"], [["12345"], ["123"], ["9"]]),
    case("starc words", "vt", ["VAR abcde, var FGHIJ; xyz_1", "one-two"], [["ABCDE", "fghij", "xyz", "xyz_1"], ["one-two", "two"]]),
    case("nothing found", "niah_multikey_2", ["no", "no", "no"], [["1"], ["2"], ["3"]]),
]

# Rounding: scores whose unrounded value sits on or near a 2-decimal boundary.
for n, k in [(8, 1), (16, 3), (40, 1), (80, 9), (200, 1), (400, 3), (400, 9), (800, 9), (3, 1), (3, 2), (6, 1), (7, 3), (11, 5), (160, 1), (320, 7)]:
    cases.append(case(f"rounding {k} of {n}", "niah_single_1", ["x 1"] * k + ["x"] * (n - k), [["1"]] * n))
# Fractions per sample that do not add exactly, and more than 128 samples (NumPy's
# pairwise sum recurses there).
frac_preds, frac_refs = [], []
for i in range(300):
    refs = [str(j) for j in range(1, 2 + i % 6)]
    frac_preds.append(" ".join(refs[: (i * 7) % len(refs) + (i % 2)]))
    frac_refs.append(refs)
cases.append(case("300 samples of fractions", "niah_multivalue", frac_preds, frac_refs))
cases.append(case("130 samples of fractions, words", "cwe", frac_preds[:130], frac_refs[:130]))
cases.append(case("9 samples of thirds", "vt", ["a"] * 9, [["a", "b", "c"]] * 9))

clean = [{"in": s, "out": ruler["postprocess_pred"](s, {})} for s in
         ["  plain  ", "\x00a\x1fb\x7f", "\u3000 x \u2028", "\x1c\x1dy\x1e\x1f", "a\r\nb", "\x85z\xa0", "\u200bq\u200b"]]
rounding = [{"in": x, "out": round(x, 2)} for x in
            [0.125, 0.375, 2.675, 1.005, 1.125, 12.345, 33.33333333333333, 66.66666666666667, 99.995, 0.005, 0.015, 45.675, 1e-9]]

with open(os.path.join(out_dir, "goldens.json"), "w", encoding="utf-8") as f:
    json.dump({
        "python": sys.version.split()[0], "numpy": np.__version__, "unicode": unicodedata.unidata_version,
        "ruler_commit": "c3f5e3b", "starc_commit": "30d4ce9",
        "clean": clean, "round": rounding, "cases": cases,
    }, f, ensure_ascii=True, indent=1)
    f.write("\n")


# Python's str.lower per code point, and the classes its final-sigma rule reads:
# "C" cased and not case-ignorable, "I" case-ignorable (see the Go test for how
# the class follows from lower()). Only assigned code points, non-neutral entries.
def ranges(cps):
    out = []
    for c in cps:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


lower, cased, ignorable, assigned = {}, [], [], []
for c in range(0x110000):
    ch = chr(c)
    if unicodedata.category(ch) in ("Cn", "Cs"):
        continue
    assigned.append(c)
    if ch.lower() != ch:
        lower[str(c)] = ch.lower()
    if (ch + "\u03a3").lower().endswith("\u03c2"):
        cased.append(c)  # a cased letter before sigma makes it final: cased, not ignorable
    elif ("A" + ch + "\u03a3").lower().endswith("\u03c2"):
        ignorable.append(c)  # skipped on the way back to "A"
with open(os.path.join(out_dir, "pylower.json"), "w", encoding="utf-8") as f:
    json.dump({"python": sys.version.split()[0], "unicode": unicodedata.unidata_version,
               "assigned": ranges(assigned), "lower": lower, "cased": ranges(cased), "ignorable": ranges(ignorable)},
              f, ensure_ascii=True)
    f.write("\n")
print(f"wrote {len(cases)} cases, {len(lower)} lower mappings, {len(cased)} cased, {len(ignorable)} ignorable code points")
