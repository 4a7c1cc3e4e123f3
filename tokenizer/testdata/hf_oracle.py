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
"""
import json
import sys

from tokenizers import Tokenizer, __version__


def main():
    req = json.load(sys.stdin)
    if "tokenizer_json" in req:
        tok = Tokenizer.from_str(req["tokenizer_json"])
    else:
        tok = Tokenizer.from_file(req["tokenizer_path"])
    tok.encode_special_tokens = bool(req.get("encode_special_tokens", False))
    add = bool(req.get("add_special_tokens", False))
    out = {"version": __version__}
    texts = req.get("texts") or []
    if texts:
        encs = tok.encode_batch(texts, add_special_tokens=add)
        out["ids"] = [e.ids for e in encs]
    if req.get("decode"):
        skip = bool(req.get("skip_special_tokens", False))
        out["decoded"] = [tok.decode(ids, skip_special_tokens=skip) for ids in req["decode"]]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
