#!/usr/bin/env python3
"""ruler_pack.py: carry a `starc eval` run directory across machines in a small archive.

    python3 bench/ruler_pack.py pack RUN_DIR ARCHIVE.tar.gz
    python3 bench/ruler_pack.py unpack ARCHIVE.tar.gz RUN_DIR

A run directory's prediction files repeat each sample's prompt on every line ("input", RULER's
call_api.py format), once per cell: tens of MB for a grid. `pack` keeps config.json, the data files
(each prompt once) and the prediction files with "input" emptied, and only their complete lines (a
line being written is left out: that sample is answered again on resumption). `unpack` writes the
run directory back with each prediction's "input" restored from its sample (input + answer_prefix,
as starc eval writes it): the lines the run wrote, byte for byte (Go's encoder also escapes U+2028
and U+2029, which this writes unescaped: the same JSON), so `starc eval --out RUN_DIR` with the
same flags resumes where the archived run stopped, and `starc eval report` and RULER's evaluate.py
read it as before. unpack refuses a RUN_DIR that already holds prediction files.

Standard library only; the archive's members are written in sorted order with fixed metadata, so
packing the same run twice gives the same bytes.
"""
import gzip
import io
import json
import os
import sys
import tarfile


def complete_lines(data):
    """The bytes of data up to and including its last newline."""
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else b""


def dumps(obj):
    # starc writes predictions with Go's encoding/json (no spaces); the archive
    # only needs to round-trip the fields, and unpack re-serialises in the same style.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def run_files(run_dir):
    for root, _, files in os.walk(run_dir):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, run_dir)
            parts = rel.split(os.sep)
            if rel == "config.json" or (len(parts) == 4 and parts[1] == "data" and name.endswith(".jsonl")) or (
                len(parts) == 4 and parts[1] == "pred" and name.endswith(".jsonl")
            ):
                yield rel, path


def pack(run_dir, archive):
    if not os.path.isfile(os.path.join(run_dir, "config.json")):
        sys.exit(f"ruler_pack: {run_dir}: no config.json, not a starc eval run directory")
    members = []
    lines_kept = 0
    for rel, path in sorted(run_files(run_dir)):
        with open(path, "rb") as f:
            data = f.read()
        if os.sep + "pred" + os.sep in os.sep + rel:
            out = io.BytesIO()
            for n, line in enumerate(complete_lines(data).splitlines(), 1):
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"ruler_pack: {path}:{n}: {e}")
                if "input" not in obj:
                    sys.exit(f"ruler_pack: {path}:{n}: no \"input\" field: not a starc eval prediction file")
                obj["input"] = ""
                out.write(dumps(obj).encode() + b"\n")
                lines_kept += 1
            data = out.getvalue()
        members.append((rel, data))
    tmp = archive + ".tmp"
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz, tarfile.open(
        fileobj=gz, mode="w", format=tarfile.PAX_FORMAT
    ) as tar:
        for rel, data in members:
            info = tarfile.TarInfo(rel.replace(os.sep, "/"))
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, archive)
    print(f"ruler_pack: {archive}: {len(members)} files, {lines_kept} predictions, {os.path.getsize(archive)} bytes")


def unpack(archive, run_dir):
    with tarfile.open(archive, "r:gz") as tar:
        members = {}
        for m in tar.getmembers():
            if not m.isfile() or m.name.startswith("/") or ".." in m.name.split("/"):
                sys.exit(f"ruler_pack: {archive}: unexpected member {m.name!r}")
            members[m.name] = tar.extractfile(m).read()
    if "config.json" not in members:
        sys.exit(f"ruler_pack: {archive}: no config.json")
    for rel in members:
        dst = os.path.join(run_dir, rel)
        if "/pred/" in "/" + rel and os.path.exists(dst):
            sys.exit(f"ruler_pack: {dst} exists: unpack into an empty run directory")
    prompts = {}  # (length, task) -> {index: prompt}
    for rel, data in members.items():
        parts = rel.split("/")
        if len(parts) == 4 and parts[1] == "data":
            table = prompts.setdefault((parts[0], parts[2]), {})
            for line in data.splitlines():
                s = json.loads(line)
                table[s["index"]] = s["input"] + s.get("answer_prefix", "")
    restored = 0
    for rel, data in sorted(members.items()):
        parts = rel.split("/")
        if len(parts) == 4 and parts[1] == "pred":
            table = prompts.get((parts[0], parts[3][: -len(".jsonl")]))
            out = io.BytesIO()
            for n, line in enumerate(data.splitlines(), 1):
                obj = json.loads(line)
                if table is None or obj["index"] not in table:
                    sys.exit(f"ruler_pack: {archive}: {rel}:{n}: index {obj['index']} has no sample in the archive's data")
                obj["input"] = table[obj["index"]]
                out.write(dumps(obj).encode() + b"\n")
                restored += 1
            data = out.getvalue()
        dst = os.path.join(run_dir, rel)
        os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
        tmp = dst + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dst)
    print(f"ruler_pack: {run_dir}: {len(members)} files, {restored} predictions restored")


def main(argv):
    if len(argv) != 4 or argv[1] not in ("pack", "unpack"):
        sys.exit(__doc__.split("\n\n")[1] if len(argv) > 1 else __doc__)
    (pack if argv[1] == "pack" else unpack)(argv[2], argv[3])


if __name__ == "__main__":
    main(sys.argv)
