#!/usr/bin/env python3
"""Compare this package's samples with RULER's own, made by RULER's prepare.py.

Usage (not part of CI; RULER and its data live outside the repository):
    STARC_RULER_DUMP=/tmp/ours go test ./eval/ruler/ -run DumpForComparison
    python3 eval/ruler/testdata/compare_with_ruler.py RULER_DATA_DIR /tmp/ours

RULER_DATA_DIR holds <length>/data/<task>/validation.jsonl as prepare.py writes it
(--tokenizer_type hf with SmolLM2's tokenizer, --model_template_type base). For each
task and length present in both, it prints whether the prompts have the same
skeleton (the text with values masked and runs of haystack lines, needle lines,
list items and coded words collapsed), the haystack sizes and the lengths.
"""
import collections, json, os, re, sys

NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."


def skeleton(task, s):
    x = s["input"] + "\x00" + s["answer_prefix"]
    x = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<U>", x)
    x = re.sub(r"\b\d+\b", "<N>", x)
    if task == "vt":
        x = re.sub(r"\b[A-Z]{3,5}\b", "<V>", x)
    if task.startswith("niah"):
        x = re.sub(r"for [^\n]+? (is:|mentioned)", r"for <K> \1", x)
    if task == "fwe":
        x = re.sub(r"\b[a-z]{6}\b", "<W>", x)
    if task == "cwe":
        x = re.sub(r"<N>\. [^<\n]+?(?= <N>\.|\n|$)", "<N>. <W>", x)
    x = re.sub(r"(?:" + re.escape(NOISE) + r"\n?)+", "<NOISE*>", x)
    x = re.sub(r"(?:One of the special magic \w+ for <[KU]> is: <[NU]>\.\n?)+", "<NEEDLES*>", x)
    x = re.sub(r"(?:<N>\. <W> ?)+", "<LIST*>", x)
    x = re.sub(r"(?:(?:<W>|\.\.\.) ?)+", "<WORDS*> ", x)
    return x


def haystack(task, s):
    i = s["input"]
    if task == "vt":
        return [p.count(NOISE) for p in i.split("Memorize and track")[1:]]
    if task.startswith("niah"):
        return i.count(NOISE) + i.count("One of the special magic")
    if task == "cwe":
        return [len(set(re.split(r" ?\d+\. ", l)[1:])) for l in re.findall(r"\n(1\. [^\n]*)\nQuestion", i)]
    if task == "fwe":
        words = re.search(r"coded words\. (.*)\nQuestion", i, re.S).group(1).split(" ")
        return (len(words), collections.Counter(words).most_common(1)[0][0])


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f]


def main(ruler_dir, ours_dir):
    for length in sorted(os.listdir(ruler_dir), key=int):
        for task in sorted(os.listdir(os.path.join(ruler_dir, length, "data"))):
            rp = os.path.join(ruler_dir, length, "data", task, "validation.jsonl")
            op = os.path.join(ours_dir, length, "data", task, "validation.jsonl")
            if not os.path.exists(op):
                continue
            r, o = load(rp), load(op)
            rs, os_ = {skeleton(task, s) for s in r}, {skeleton(task, s) for s in o}
            print(f"{task} {length}: skeleton {'same' if rs <= os_ or os_ <= rs else 'DIFFERENT'}")
            for extra in rs - os_:
                print("  only RULER:", repr(extra[:400]))
            for extra in os_ - rs:
                print("  only ours: ", repr(extra[:400]))
            print("  haystack RULER", [haystack(task, s) for s in r])
            print("  haystack ours ", [haystack(task, s) for s in o])
            print("  length   RULER", [s["length"] for s in r])
            print("  length   ours ", [s["length"] for s in o])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
