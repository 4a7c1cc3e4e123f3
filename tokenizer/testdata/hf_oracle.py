#!/usr/bin/env python3
"""Oracle for the starc tokenizer tests: runs the HF `tokenizers` library (PyPI wheel).

Reads one JSON request from stdin and writes one JSON answer to stdout.

Request fields:
  tokenizer_path        path of a tokenizer.json (or tokenizer_json: its text inline)
  texts                 list of strings to encode (optional)
  add_special_tokens    bool, post-processor template on/off (default false)
  encode_special_tokens bool, true = do NOT split special added tokens out of the text (default false)
  decode                list of id lists to decode (optional)
  skip_special_tokens   bool for decode (default false)

Answer: {"version": ..., "ids": [[...], ...], "decoded": [...]}.

A batch {"requests": [request, ...]} is answered by {"responses": [answer, ...]}; each
tokenizer file is loaded once per batch.
"""
import json
import sys

from tokenizers import Tokenizer, __version__

_cache = {}


def load(req):
    key = ("json", req["tokenizer_json"]) if "tokenizer_json" in req else ("path", req["tokenizer_path"])
    if key not in _cache:
        if key[0] == "json":
            _cache[key] = Tokenizer.from_str(key[1])
        else:
            _cache[key] = Tokenizer.from_file(key[1])
    return _cache[key]


def answer(req):
    tok = load(req)
    tok.encode_special_tokens = bool(req.get("encode_special_tokens", False))
    add = bool(req.get("add_special_tokens", False))
    out = {"version": __version__, "ids": [], "decoded": []}
    texts = req.get("texts") or []
    if texts:
        encs = tok.encode_batch(texts, add_special_tokens=add)
        out["ids"] = [e.ids for e in encs]
    skip = bool(req.get("skip_special_tokens", False))
    out["decoded"] = [tok.decode(ids, skip_special_tokens=skip) for ids in req.get("decode") or []]
    return out


def main():
    req = json.load(sys.stdin)
    if "requests" in req:
        responses = []
        for i, r in enumerate(req["requests"]):
            try:
                responses.append(answer(r))
            except Exception as e:
                sys.exit(f"request {i}: {e}")
        json.dump({"responses": responses}, sys.stdout)
    else:
        json.dump(answer(req), sys.stdout)


if __name__ == "__main__":
    main()
