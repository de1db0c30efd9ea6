"""Checks a custodial wallet's output with eth-account alone (run by
crates/portcullis-server/tests/interop_custody.rs).

Reads one JSON object on stdin:
  {"address": "0x…", "message": "…", "signature": "0x…",
   "transactions": [{"raw": "0x…", "to": "0x…", "value": "<wei>", "nonce": n,
                     "chain_id": n, "data": "0x…"}]}
and checks that eth-account recovers the EIP-191 signature to the address, and that each raw
transaction decodes as an EIP-1559 transaction with those fields, signed by the address.
Prints one JSON line {"ok": true, "checked": n} or exits 1 with the first mismatch.
"""

import json
import sys

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes


def fail(why):
    print(json.dumps({"ok": False, "error": why}))
    sys.exit(1)


def main():
    job = json.load(sys.stdin)
    address = job["address"]
    signer = Account.recover_message(
        encode_defunct(text=job["message"]), signature=HexBytes(job["signature"])
    )
    if signer != address:
        fail(f"the EIP-191 signature recovers to {signer}, not {address}")
    for tx in job["transactions"]:
        raw = HexBytes(tx["raw"])
        if raw[0] != 2:
            fail(f"not an EIP-1559 (type 2) transaction: type {raw[0]}")
        fields = TypedTransaction.from_bytes(raw).as_dict()
        sender = Account.recover_transaction(raw)
        if sender != address:
            fail(f"transaction signed by {sender}, not {address}")
        expected = {
            "to": HexBytes(tx["to"]),
            "value": int(tx["value"]),
            "nonce": tx["nonce"],
            "chainId": tx["chain_id"],
            "data": HexBytes(tx.get("data", "0x")),
        }
        for name, want in expected.items():
            have = fields[name]
            if isinstance(want, HexBytes):
                have = HexBytes(have)
            if have != want:
                fail(f"transaction {name} is {have!r}, expected {want!r}")
        if fields["maxFeePerGas"] < fields["maxPriorityFeePerGas"]:
            fail("maxFeePerGas below maxPriorityFeePerGas")
    print(json.dumps({"ok": True, "checked": len(job["transactions"])}))


if __name__ == "__main__":
    main()
