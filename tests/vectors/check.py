#!/usr/bin/env python3
"""Checks tests/vectors/known-answers.json with implementations independent of ikrar:
Ed25519 from `cryptography`, SHA-256 and the RFC 9162 tree from hashlib, base32 from the
standard library, and the shipped template texts from their TOML files.

    python3 tests/vectors/check.py        # exit 0 when every check passes
"""
import base64
import hashlib
import json
import pathlib
import sys
import tomllib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
V = json.loads((HERE / "known-answers.json").read_text(encoding="utf-8"))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def sha(b):
    return hashlib.sha256(b).digest()


def mth(leaves):
    """RFC 9162 section 2.1.1 Merkle tree hash."""
    if len(leaves) == 0:
        return sha(b"")
    if len(leaves) == 1:
        return sha(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def key(entry):
    priv = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(entry["seed_hex"]))
    pub = priv.public_key().public_bytes_raw()
    check(base64.b64encode(pub).decode() == entry["public_key_base64"], f"{entry['name']}: public key")
    key_id = sha(entry["name"].encode() + b"\n" + b"\x01" + pub)[:4]
    check(key_id.hex() == entry["key_id_hex"], f"{entry['name']}: key id")
    encoded = base64.b64encode(b"\x01" + pub).decode()
    vkey = f"{entry['name']}+{key_id.hex()}+{encoded}"
    check(vkey == entry["vkey"], f"{entry['name']}: vkey")
    return Ed25519PublicKey.from_public_bytes(pub), key_id


def canonical(t):
    lines = [t["title"], "", t["preamble"]]
    lines += [f"{i}. {p}" for i, p in enumerate(t["points"], 1)]
    lines += ["", t["closing"]]
    return "".join(line + "\n" for line in lines)


def verify_record(raw, pub, key_id, text):
    body, sig = raw[:-64], raw[-64:]
    check(body[1:5] == key_id, "record key id")
    pub.verify(sig, b"ikrar/record/v1\n" + body)  # raises on a bad signature
    check(body[25:41] == sha(text.encode())[:16], "statement hash")
    name_len = body[41]
    check(len(body) == 42 + name_len and name_len <= 24, "name length")
    return body


pledge_pub, pledge_id = key(V["pledge_key"])
log_pub, log_id = key(V["log_key"])

for t in V["templates"]:
    code, version = t["reference"].split("@")
    toml = tomllib.loads((ROOT / "templates" / "pledge" / f"{code}.v{version}.toml").read_text(encoding="utf-8"))
    check(canonical(toml) == t["canonical_text"], f"{t['reference']}: canonical text")
    check(sha(t["canonical_text"].encode()).hex() == t["sha256"], f"{t['reference']}: sha256")

leaves = []
for p in V["pledges"]:
    raw = bytes.fromhex(p["record_hex"])
    check(base64.b32encode(raw).decode().rstrip("=") == p["record_base32"], "base32")
    body = verify_record(raw, pledge_pub, pledge_id, p["statement"])
    check(int.from_bytes(body[5:10], "big") == p["log_index"], "log index")
    check(int.from_bytes(body[10:15], "big") == p["sequenced_at"], "sequenced_at")
    check(int.from_bytes(body[23:25], "big") == p["template_no"], "template_no")
    check(sha(p["statement"].encode()).hex() == p["statement_sha256"], "statement sha256")
    lines = p["statement"].split("\n")
    check(len(lines) == 12 and lines[-1] == "" and lines[0] == "ikrar-statement/v1", "11 LF-terminated lines")
    nip_line = lines[4].split(": ", 1)[1]
    nip = int.from_bytes(body[15:23], "big")
    check((nip == 0 and nip_line.startswith("staff:")) or f"{nip:018d}" == nip_line, "record nip")
    mark_line = lines[10].split(": ", 1)[1]
    if p["mark"] is None:
        check(mark_line == "none", "mark none")
    else:
        check(mark_line == "sha256:" + sha(p["mark"].encode()).hex(), "mark hash")
    leaf = sha(b"\x00" + raw)
    check(leaf.hex() == p["leaf_hash_hex"], "leaf hash")
    leaves.append(raw)

a = V["annulment"]
raw = bytes.fromhex(a["record_hex"])
check(raw[0] == 2, "annulment format")
verify_record(raw, pledge_pub, pledge_id, a["text"])
check(f"sha256:{V['pledges'][0]['leaf_hash_hex']}" in a["text"], "annulment names the pledge leaf")
check(f"reason: sha256:{sha(a['reason'].encode()).hex()}\n" in a["text"], "reason hash")
leaves.append(raw)

tree = V["tree"]
root = mth(leaves)
check(root.hex() == tree["root_hex"] and len(leaves) == tree["size"], "RFC 9162 root")
note = tree["checkpoint_note"]
text, sigs = note.split("\n\n", 1)
text += "\n"
check(text == f"{V['log_key']['name']}\n{len(leaves)}\n{base64.b64encode(root).decode()}\n", "checkpoint body")
for line in sigs.splitlines():
    prefix = "\u2014 " + V["log_key"]["name"] + " "
    check(line.startswith(prefix), "signature line")
    blob = base64.b64decode(line[len(prefix):])
    check(blob[:4] == log_id, "note key id")
    log_pub.verify(blob[4:], text.encode())

if failures:
    print("FAILED:", *failures, sep="\n  ")
    sys.exit(1)
print(f"ok: {len(V['pledges'])} pledges, 1 annulment, tree of {tree['size']}, checkpoint verified independently")
