#!/usr/bin/env python3
"""Checks a cosignature/v1 line independently of ikrar (c2sp.org/tlog-cosignature), with
Ed25519 from `cryptography` and SHA-256 from hashlib.

    check_cosignature.py VKEY CHECKPOINT_FILE LINE    # exit 0 and print the timestamp
"""
import base64
import hashlib
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def main() -> int:
    vkey, checkpoint_file, line = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(checkpoint_file, "rb") as f:
        body = f.read()

    name, key_id_hex, typed_b64 = vkey.strip().split("+", 2)
    typed = base64.b64decode(typed_b64, validate=True)
    assert typed[0] == 0x04 and len(typed) == 33, "not a cosignature/v1 Ed25519 vkey"
    public = typed[1:]
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    assert key_id.hex() == key_id_hex, "vkey's key id does not match"

    prefix = "\u2014 " + name + " "
    line = line.rstrip("\n")
    assert line.startswith(prefix), "signature line of another name"
    blob = base64.b64decode(line[len(prefix):], validate=True)
    assert len(blob) == 4 + 8 + 64, "timestamped_signature has the wrong length"
    assert blob[:4] == key_id, "signature line of another key"
    (timestamp,) = struct.unpack(">Q", blob[4:12])
    assert 0 < timestamp < 2**63, "timestamp out of range"
    message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + body
    Ed25519PublicKey.from_public_bytes(public).verify(blob[12:], message)
    print(timestamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
