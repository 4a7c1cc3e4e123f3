"""Writes the token ids of a passkey prompt (plain completion): a stretch of
a book with one sentence holding a 5-digit key inserted at a given depth,
then the question. Used by the Quest passkey comparison (README.md, part 3).

  passkey_ids.py --text BOOK --tokens 2000 --depth 50 --key 21841 --out FILE
"""
import argparse

from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default="models/smollm2-135m-instruct/tokenizer.json")
    ap.add_argument("--text", required=True)
    ap.add_argument("--tokens", type=int, default=2000, help="tokens of book text around the key")
    ap.add_argument("--depth", type=int, default=50, help="percent of the book text before the key")
    ap.add_argument("--key", default="21841")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tok = Tokenizer.from_file(a.tokenizer)
    book = tok.encode(open(a.text, encoding="utf-8").read()).ids[: a.tokens]
    cut = len(book) * a.depth // 100
    head = tok.decode(book[:cut])
    tail = tok.decode(book[cut:])
    needle = f"\n\nThe secret passkey is {a.key}. Keep it in mind: the secret passkey is {a.key}.\n\n"
    prompt = head + needle + tail + "\n\nWhat is the secret passkey? The secret passkey is"
    ids = tok.encode(prompt).ids
    open(a.out, "w").write(" ".join(map(str, ids)) + "\n")
    print(len(ids), "tokens; key tokens:", [tok.id_to_token(i) for i in tok.encode(" " + a.key).ids])


if __name__ == "__main__":
    main()
