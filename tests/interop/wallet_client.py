"""A third-party wallet client for Portcullis, built only on public libraries.

eth-account (EIP-191 `personal_sign`) signs the Sign-In with Ethereum message and the
session key delegation; `cryptography` makes the Ed25519 session key and PyJWT signs the
RFC 9449 DPoP proofs. Nothing here comes from Portcullis, so a login that succeeds proves
that the server speaks the standards, not just its own code.

    wallet_client.py login --base URL --email E --password-env VAR --key-env VAR
        password, wallet message, both signatures, then three DPoP calls of GET /v1/me;
        prints one JSON line {"session_id", "token_type", "cnf", "calls": [status...],
        "stolen": status of the access token sent as a bearer token}
    wallet_client.py recover --text T --signature 0x...
        prints the address eth-account recovers from a personal_sign signature
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from eth_account.messages import encode_defunct


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def personal_sign(key: str, text: str) -> str:
    signed = Account.sign_message(encode_defunct(text=text), private_key=key)
    return "0x" + signed.signature.hex().removeprefix("0x")


class Dpop:
    def __init__(self):
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        self.nonce = None

    def proof(self, method: str, url: str, token: str) -> str:
        claims = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            "htu": url.split("?")[0],
            "iat": int(time.time()),
            "ath": b64url(hashlib.sha256(token.encode()).digest()),
        }
        if self.nonce:
            claims["nonce"] = self.nonce
        return jwt.encode(
            claims,
            self.key,
            algorithm="EdDSA",
            headers={"typ": "dpop+jwt", "jwk": self.jwk},
        )

    def call(self, method: str, url: str, token: str) -> requests.Response:
        for _ in range(2):
            r = requests.request(
                method,
                url,
                headers={
                    "Authorization": f"DPoP {token}",
                    "DPoP": self.proof(method, url, token),
                },
                timeout=10,
            )
            if "DPoP-Nonce" in r.headers:
                self.nonce = r.headers["DPoP-Nonce"]
            if r.status_code == 401 and "use_dpop_nonce" in r.headers.get(
                "WWW-Authenticate", ""
            ):
                continue
            return r
        return r


def login(args) -> int:
    base = args.base.rstrip("/")
    key = os.environ[args.key_env]
    started = requests.post(
        f"{base}/v1/sessions",
        json={"email": args.email, "password": os.environ[args.password_env]},
        timeout=10,
    )
    started.raise_for_status()
    challenge = started.json()["challenge_id"]
    dpop = Dpop()
    texts = requests.post(
        f"{base}/v1/sessions/challenges/{challenge}/wallet-message",
        json={"session_key": dpop.jwk},
        timeout=10,
    )
    texts.raise_for_status()
    texts = texts.json()
    answered = requests.post(
        f"{base}/v1/sessions/challenges/{challenge}",
        json={
            "factor": "wallet",
            "signature": personal_sign(key, texts["message"]),
            "delegation_signature": personal_sign(key, texts["delegation"]),
        },
        timeout=10,
    )
    if answered.status_code != 201:
        print(answered.status_code, answered.text, file=sys.stderr)
        return 1
    tokens = answered.json()
    access = tokens["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    calls = [dpop.call("GET", f"{base}/v1/me", access).status_code for _ in range(3)]
    stolen = requests.get(
        f"{base}/v1/me", headers={"Authorization": f"Bearer {access}"}, timeout=10
    ).status_code
    print(
        json.dumps(
            {
                "session_id": tokens["session_id"],
                "token_type": tokens["token_type"],
                "cnf": claims.get("cnf"),
                "jkt": b64url(
                    hashlib.sha256(
                        json.dumps(
                            {k: dpop.jwk[k] for k in sorted(dpop.jwk)},
                            separators=(",", ":"),
                        ).encode()
                    ).digest()
                ),
                "calls": calls,
                "stolen": stolen,
            }
        )
    )
    return 0


def recover(args) -> int:
    print(Account.recover_message(encode_defunct(text=args.text), signature=args.signature))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("login")
    p.add_argument("--base", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--password-env", required=True)
    p.add_argument("--key-env", required=True)
    r = sub.add_parser("recover")
    r.add_argument("--text", required=True)
    r.add_argument("--signature", required=True)
    args = parser.parse_args()
    return login(args) if args.command == "login" else recover(args)


if __name__ == "__main__":
    sys.exit(main())
