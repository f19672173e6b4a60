#!/usr/bin/env python3
"""Reads an ikrar log over HTTP as an independent c2sp.org/tlog-tiles client would, with
no code of ikrar: the checkpoint's signature is checked with `cryptography` (through the
`tlog-scales` package's signed-note code), the root is rebuilt from the tiles twice — by
`tlog-scales`' TilesReader and by the hashlib code below — and every tile of the tree is
authenticated.

    python3 tests/python/read_tiles.py URL VKEY [--token TOKEN]

URL is the server's base (the log is at URL/log), VKEY the log's signed-note verifier key.
With a log-auditor TOKEN the entry bundles are read too: each record must hash to its
leaf, SHA-256(0x00 || record), in the level-0 tiles.

Prints one JSON object (size, root, tiles read, entries checked) and exits 0 when every
check passes; otherwise names each failure on stderr and exits 1.
"""
import argparse
import base64
import hashlib
import json
import sys

import requests
from tlog_scales.backend import HttpBackend
from tlog_scales.reader import Tile as ScalesTile
from tlog_scales.reader import TilesReader
from tlog_scales.signing import Vkey
from tlog_scales.tlog import Checkpoint

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def sha(b):
    return hashlib.sha256(b).digest()


def node(left, right):
    return sha(b"\x01" + left + right)


def mth_of_hashes(hashes):
    """RFC 9162 MTH of a sequence whose items are already subtree hashes of equal height."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node(mth_of_hashes(hashes[:k]), mth_of_hashes(hashes[k:]))


def index_path(n, width):
    groups = [f"{n % 1000:03d}"]
    while n >= 1000:
        n //= 1000
        groups.insert(0, f"x{n % 1000:03d}")
    path = "/".join(groups)
    return path if width == 256 else f"{path}.p/{width}"


def tiles_of(size):
    """(level, index, width) of every tile a tree of `size` leaves consists of."""
    out = []
    level = 0
    while size >> (8 * level):
        items = size >> (8 * level)
        full, rest = divmod(items, 256)
        out += [(level, n, 256) for n in range(full)]
        if rest:
            out.append((level, full, rest))
        level += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("vkey")
    ap.add_argument("--token")
    args = ap.parse_args()
    log = args.url.rstrip("/") + "/log"
    http = requests.Session()

    # 1. The checkpoint, opened with the pinned log key.
    res = http.get(log + "/checkpoint")
    res.raise_for_status()
    cp = Checkpoint.from_text(res.text)
    vkey = Vkey.from_string(args.vkey)
    signed = [s for s in cp.signatures if vkey.match(s)]
    if not check(len(signed) == 1, "checkpoint: exactly one signature by the log key"):
        return
    vkey.get_verifier().verify_note(signed[0], cp)  # raises on a bad signature
    check(cp.origin == vkey.name, f"checkpoint: origin {cp.origin!r} is the key's name")
    size = cp.size

    # 2. The root as tlog-scales' reader computes it from the tiles.
    reader = TilesReader(HttpBackend(log))
    reader.set_size(size)
    check(reader.calculate_root_hash() == cp.root_hash, "tlog-scales: root from tiles")

    # 3. Every tile of the tree, read once.
    tiles = {}
    for level, n, width in tiles_of(size):
        r = http.get(f"{log}/tile/{level}/{index_path(n, width)}")
        if not check(r.status_code == 200, f"tile {level}/{n} width {width}: HTTP {r.status_code}"):
            continue
        data = r.content
        check(len(data) == 32 * width, f"tile {level}/{n}: {len(data)} bytes for width {width}")
        tiles[(level, n)] = [data[i : i + 32] for i in range(0, len(data), 32)]

    def hashes_at(level):
        out = []
        n = 0
        while (level, n) in tiles:
            out += tiles[(level, n)]
            n += 1
        return out

    # Level 0 is authenticated by the root over all its leaf hashes...
    leaves = hashes_at(0)
    check(len(leaves) == size, f"level 0: {len(leaves)} leaf hashes for size {size}")
    root = sha(b"") if size == 0 else mth_of_hashes(leaves)
    check(root == cp.root_hash, "root over every level-0 hash equals the checkpoint's")
    # ...and each higher level by its definition: hash i of level L+1 is the MTH of the
    # full level-L tile i.
    level = 1
    while any(key[0] == level for key in tiles):
        upper = hashes_at(level)
        for i, h in enumerate(upper):
            below = tiles.get((level - 1, i))
            if check(below is not None and len(below) == 256, f"tile {level - 1}/{i} is full"):
                check(mth_of_hashes(below) == h, f"tile {level}: hash {i} is the MTH of tile {level - 1}/{i}")
        level += 1

    # 4. The root rebuilt per tlog-tiles from the fewest tiles: for each level from the
    # top, the hashes not covered by a full tile above, combined right to left.
    def subtree(start, end):
        """MTH(D[start:end]) for a range that is perfect and aligned, read from one tile."""
        h = (end - start).bit_length() - 1
        level, r = divmod(h, 8)
        first = start >> (8 * level)
        n, i = divmod(first, 256)
        return mth_of_hashes(tiles[(level, n)][i : i + (1 << r)])

    def mth(start, end):
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            return subtree(start, end)
        k = 1
        while k * 2 < size:
            k *= 2
        return node(mth(start, start + k), mth(start + k, end))

    if size:
        check(mth(0, size) == cp.root_hash, "root from the top tiles equals the checkpoint's")

    # 5. Entry bundles: each record hashes to its leaf.
    entries = 0
    if args.token:
        auth = {"Authorization": f"Bearer {args.token}"}
        for (level, n), hashes in sorted(tiles.items()):
            if level != 0:
                continue
            r = http.get(f"{log}/tile/entries/{index_path(n, len(hashes))}", headers=auth)
            if not check(r.status_code == 200, f"bundle {n}: HTTP {r.status_code}"):
                continue
            records = ScalesTile.from_entries_bytes(r.content).entries
            check(len(records) == len(hashes), f"bundle {n}: {len(records)} records for {len(hashes)} leaves")
            for i, (record, leaf) in enumerate(zip(records, hashes)):
                check(sha(b"\x00" + record) == leaf, f"entry {n * 256 + i}: hashes to its leaf")
                entries += 1

    print(
        json.dumps(
            {
                "size": size,
                "root": base64.b64encode(cp.root_hash).decode(),
                "tiles": len(tiles),
                "entries_checked": entries,
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a signature or transport failure is a failed check too
        failures.append(f"{type(e).__name__}: {e}")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)
