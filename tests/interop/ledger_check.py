"""Checks a Portcullis ledger's Merkle tree, proofs and signed checkpoint with third-party code.

Run by crates/portcullis-ledger/tests/interop_python.rs:

    python ledger_check.py CASE.json

CASE.json holds the entries (hex), the root of every prefix, inclusion and consistency
proofs, a signed checkpoint (C2SP tlog-checkpoint in a C2SP signed note) and the ledger's
vkey. The script checks, without any Portcullis code:

- roots: pymerkle's InmemoryTree (sha256, RFC 9162 hashing: leaf prefix 0x00, node prefix
  0x01) computes the same root for every size;
- inclusion: each of our audit paths is byte for byte the path pymerkle builds, and
  pymerkle's verifier accepts it against OUR root;
- consistency: pymerkle's consistency proofs are not RFC 9162's (it descends to other
  subtrees), so our proofs are checked with RFC 9162 section 2.1.4.2 written out below from
  the RFC's text; pymerkle's own proof between the same two roots is verified too, which ties
  our old and new roots together through an independent implementation;
- checkpoint: the vkey is decoded (name, key id = SHA-256(name || 0x0A || 0x01 || key)[:4],
  0x01 || Ed25519 key), the note's signature line is verified with the `cryptography`
  package's Ed25519PublicKey, and its origin, size and root are the tree's;
- negative checks: tampered proofs, roots, note text and signature are all rejected.

Each check prints one line; the last line is "ledger_check: OK". Any failure prints
"FAIL: ..." and exits 1.
"""

import base64
import hashlib
import json
import sys

import pymerkle
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pymerkle import InclusionProof, InmemoryTree, InvalidProof


class CheckFailed(Exception):
    """A check that must hold did not."""


def require(cond, what):
    if not cond:
        raise CheckFailed(what)


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def rfc9162_verify_inclusion(leaf_hash, index, size, path, root):
    """RFC 9162 section 2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc9162_verify_consistency(first, second, first_hash, second_hash, path):
    """RFC 9162 section 2.1.4.2, step by step (first == second: an empty proof, equal roots)."""
    if first > second or first == 0:
        return False
    if first == second:
        return not path and first_hash == second_hash
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def pymerkle_accepts_inclusion(tree, leaf, index, size, path, root):
    """Our audit path in pymerkle's form (leaf first, its rule for this index and size)."""
    rule = tree.prove_inclusion(index + 1, size).rule
    proof = InclusionProof("sha256", True, size, index + 1, rule, [leaf] + path)
    try:
        proof.verify(leaf, root, index=index + 1, size=size, algorithm="sha256")
        return True
    except InvalidProof:
        return False


def parse_vkey(vkey):
    name, key_id_hex, key64 = vkey.split("+", 2)
    raw = base64.b64decode(key64, validate=True)
    require(len(key_id_hex) == 8, "vkey: the key id is not 8 hex digits")
    require(raw[0] == 0x01 and len(raw) == 33, "vkey: not 0x01 || 32-byte Ed25519 key")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    require(key_id.hex() == key_id_hex.lower(), "vkey: key id does not match name and key")
    return name, key_id, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_note(note, name, key_id, public_key):
    """The note's text if a signature line by (name, key id) verifies; None otherwise."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        return None
    text += "\n"
    verified = False
    for line in sigs[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            return None
        sig_name, _, sig64 = line[2:].partition(" ")
        try:
            sig = base64.b64decode(sig64, validate=True)
        except ValueError:
            return None
        if sig_name != name or sig[:4] != key_id:
            continue
        try:
            public_key.verify(sig[4:], text.encode())
        except InvalidSignature:
            return None
        verified = True
    return text if verified else None


def check(case):
    entries = [bytes.fromhex(e) for e in case["entries"]]
    roots = [bytes.fromhex(r) for r in case["roots"]]
    require(len(roots) == len(entries), "one root per size")

    tree = InmemoryTree(algorithm="sha256")
    require(tree.security and tree.leaf_prefix == b"\x00" and tree.node_prefix == b"\x01",
            "pymerkle is not hashing as RFC 9162 (prefixes 0x00/0x01)")
    tree.append_entries(entries)
    for size, root in enumerate(roots, start=1):
        require(tree.get_root(size) == root, f"root of size {size} differs from pymerkle's")
    require(tree.get_root(0) == hashlib.sha256(b"").digest(), "empty root")
    print(f"roots: {len(roots)} sizes equal pymerkle {pymerkle.__version__}'s")

    leaves = [tree.get_leaf(i + 1) for i in range(len(entries))]
    for i, entry in enumerate(entries):
        require(leaves[i] == hashlib.sha256(b"\x00" + entry).digest(), f"leaf {i}")

    for p in case["inclusion"]:
        index, size = p["index"], p["size"]
        path = [bytes.fromhex(x) for x in p["proof"]]
        root = roots[size - 1]
        theirs = tree.prove_inclusion(index + 1, size)
        require(theirs.path == [leaves[index]] + path,
                f"PATH({index}, {size}) differs from pymerkle's")
        require(pymerkle_accepts_inclusion(tree, leaves[index], index, size, path, root),
                f"pymerkle rejects our PATH({index}, {size})")
        require(rfc9162_verify_inclusion(leaves[index], index, size, path, root),
                f"RFC 9162 verifier rejects our PATH({index}, {size})")
    print(f"inclusion: {len(case['inclusion'])} proofs equal pymerkle's and verified by it")

    for p in case["consistency"]:
        old, new = p["old"], p["new"]
        path = [bytes.fromhex(x) for x in p["proof"]]
        old_root, new_root = roots[old - 1], roots[new - 1]
        require(rfc9162_verify_consistency(old, new, old_root, new_root, path),
                f"RFC 9162 verifier rejects our PROOF({old}, {new})")
        try:
            tree.prove_consistency(old, new).verify(old_root, new_root, prior_size=old,
                                                    later_size=new, algorithm="sha256")
        except InvalidProof as e:
            raise CheckFailed(f"pymerkle: our roots {old} -> {new} are not consistent: {e}")
    print(f"consistency: {len(case['consistency'])} proofs verified (RFC 9162 2.1.4.2), "
          "roots consistent for pymerkle")

    cp = case["checkpoint"]
    name, key_id, public_key = parse_vkey(cp["vkey"])
    text = open_note(cp["note"], name, key_id, public_key)
    require(text is not None, "the checkpoint's signature does not verify")
    lines = text.split("\n")
    origin, size, root64 = lines[0], int(lines[1]), lines[2]
    require(origin == name, "the checkpoint's origin is not the key's name")
    require(str(size) == lines[1] and 0 < size <= len(roots), "checkpoint size")
    require(base64.b64decode(root64, validate=True) == roots[size - 1] == tree.get_root(size),
            "the checkpoint's root is not the tree's")
    print(f"checkpoint: Ed25519 signature by {name} verified, size {size}, root matches")

    return tree, leaves, roots, (name, key_id, public_key)


def negative(case, tree, leaves, roots, key):
    """Every tampered input must be rejected; returns how many were tried."""
    rejected = 0

    def flip(h):
        return bytes([h[0] ^ 1]) + h[1:]

    for p in case["inclusion"]:
        index, size = p["index"], p["size"]
        path = [bytes.fromhex(x) for x in p["proof"]]
        root = roots[size - 1]
        tampered = []
        if path:
            tampered.append((leaves[index], [flip(path[0])] + path[1:], root))
            tampered.append((leaves[index], path[:-1], root))
        tampered.append((leaves[index], path, flip(root)))
        tampered.append((flip(leaves[index]), path, root))
        for leaf, bad_path, bad_root in tampered:
            require(not pymerkle_accepts_inclusion(tree, leaf, index, size, bad_path, bad_root),
                    f"pymerkle accepted a tampered PATH({index}, {size})")
            require(not rfc9162_verify_inclusion(leaf, index, size, bad_path, bad_root),
                    f"RFC 9162 verifier accepted a tampered PATH({index}, {size})")
            rejected += 1

    for p in case["consistency"]:
        old, new = p["old"], p["new"]
        path = [bytes.fromhex(x) for x in p["proof"]]
        old_root, new_root = roots[old - 1], roots[new - 1]
        tampered = [(old_root, flip(new_root), path), (flip(old_root), new_root, path)]
        if path:
            tampered.append((old_root, new_root, path[:-1] + [flip(path[-1])]))
            tampered.append((old_root, new_root, path[1:]))
        for a, b, bad_path in tampered:
            require(not rfc9162_verify_consistency(old, new, a, b, bad_path),
                    f"RFC 9162 verifier accepted a tampered PROOF({old}, {new})")
            rejected += 1

    name, key_id, public_key = key
    note = case["checkpoint"]["note"]
    text, _, sig_line = note.rpartition("\n\n")
    prefix, _, sig64 = sig_line.rstrip("\n").rpartition(" ")
    sig = base64.b64decode(sig64)
    bad_sig = base64.b64encode(sig[:-1] + bytes([sig[-1] ^ 1])).decode()
    lines = text.split("\n")
    grown = "\n".join([lines[0], str(int(lines[1]) + 1)] + lines[2:])
    for bad in [
        f"{text}\n\n{prefix} {bad_sig}\n",
        f"{grown}\n\n{sig_line}",
        note.replace(lines[2], base64.b64encode(flip(base64.b64decode(lines[2]))).decode()),
        f"{text}\n\n{sig_line}".replace(f"\u2014 {name} ", "\u2014 someone.else "),
    ]:
        require(open_note(bad, name, key_id, public_key) is None,
                "a tampered checkpoint note was accepted")
        rejected += 1
    print(f"negative: {rejected} tampered proofs, roots and notes rejected")


def main():
    if len(sys.argv) != 2:
        print("usage: ledger_check.py CASE.json", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        case = json.load(f)
    try:
        tree, leaves, roots, key = check(case)
        negative(case, tree, leaves, roots, key)
    except CheckFailed as e:
        print(f"FAIL: {e}")
        return 1
    print("ledger_check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
