#!/usr/bin/env python3
"""Checks a c2sp.org/tlog-proof bundle with implementations independent of ikrar: the
proof and signed-note formats parsed here from their specs, Ed25519 from `cryptography`,
SHA-256 from hashlib and the inclusion check of RFC 9162 section 2.1.3.2.

    python3 tests/vectors/check_proof.py PROOF_FILE RECORD_BASE32 LOG_VKEY
    # prints "ok <index> <size>" and exits 0 when the proof holds, exits 1 otherwise
"""
import base64
import binascii
import hashlib
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def b64(s):
    try:
        return base64.b64decode(s, validate=True)
    except binascii.Error:
        fail(f"not base64: {s!r}")


def sha(b):
    return hashlib.sha256(b).digest()


def parse_proof(text):
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        fail("no empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        fail("bad header")
    rest = lines[1:]
    if rest and rest[0].startswith("extra "):
        rest = rest[1:]
    if not rest or not rest[0].startswith("index "):
        fail("no index line")
    digits = rest[0][len("index "):]
    if not digits.isdigit() or (digits != "0" and digits.startswith("0")):
        fail("index is not canonical")
    hashes = [b64(h) for h in rest[1:]]
    if any(len(h) != 32 for h in hashes):
        fail("a hash is not 32 bytes")
    return int(digits), hashes, checkpoint


def open_note(note, vkey):
    """c2sp.org/signed-note: the text up to the last empty line, signed by the vkey's key."""
    name, key_id_hex, typed = vkey.split("+", 2)
    typed = b64(typed)
    if typed[0] != 0x01 or len(typed) != 33:
        fail("vkey is not Ed25519")
    key_id = sha(name.encode() + b"\n" + typed)[:4]
    if key_id.hex() != key_id_hex:
        fail("vkey's key id does not match")
    public = Ed25519PublicKey.from_public_bytes(typed[1:])
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        fail("checkpoint is not a signed note")
    text, signatures = note[: cut + 1], note[cut + 2 :].rstrip("\n").split("\n")
    for line in signatures:
        if not line.startswith("\u2014 "):
            fail("bad signature line")
        signer, sig = line[2:].split(" ", 1)
        blob = b64(sig)
        if signer == name and blob[:4] == key_id:
            try:
                public.verify(blob[4:], text.encode())
            except InvalidSignature:
                fail("the log's signature does not verify")
            return text
    fail("no signature by the log key")


def root_from_inclusion(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        fail("index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            fail("proof too long")
        if fn & 1 or fn == sn:
            r = sha(b"\x01" + p + r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = sha(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        fail("proof too short")
    return r


def main():
    proof_file, record_b32, vkey = sys.argv[1:4]
    with open(proof_file, encoding="utf-8", newline="") as f:
        index, hashes, checkpoint = parse_proof(f.read())
    record = base64.b32decode(record_b32.upper() + "=" * (-len(record_b32) % 8))
    if int.from_bytes(record[5:10], "big") != index:
        fail("the proof is for another index than the record's")
    text = open_note(checkpoint, vkey)
    origin, size, root = text.rstrip("\n").split("\n")[:3]
    if origin != vkey.split("+", 1)[0]:
        fail("the checkpoint is another log's")
    size = int(size)
    if root_from_inclusion(index, size, sha(b"\x00" + record), hashes) != b64(root):
        fail("the inclusion proof does not lead to the checkpoint's root")
    print(f"ok {index} {size}")


main()
