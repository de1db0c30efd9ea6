#!/usr/bin/env python3
"""Verify a Portcullis access token the way a third-party resource server would.

Usage:
  verify_jwt.py --jwks-url URL --token TOKEN --issuer ISS --audience AUD
                [--expect-typ at+jwt] [--require CLAIM ...] [--leeway SECONDS]

Fetches the JWKS over HTTP with PyJWT's PyJWKClient, picks the key by the
token header's "kid", and verifies the signature with algorithms=["EdDSA"]
(Ed25519, JWK kty "OKP", crv "Ed25519"), plus exp/nbf/iat, "iss" and "aud".
The claims "exp", "iss" and "aud" must be present; --require adds more.

On success: prints the verified claims as one JSON object on stdout, exit 0.
On any verification failure: prints the error on stderr, exit 1.
(Bad command-line usage exits 2, as argparse does.)
"""

from __future__ import annotations

import argparse
import json
import sys

import jwt
from jwt import PyJWKClient


def main() -> int:
    parser = argparse.ArgumentParser(description="Verify an EdDSA JWT against a JWKS URL.")
    parser.add_argument("--jwks-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument(
        "--expect-typ",
        default=None,
        help='also require this JOSE header "typ" (e.g. at+jwt); compared case-insensitively',
    )
    parser.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="CLAIM",
        help="claim that must be present (repeatable); exp, iss, aud always are",
    )
    parser.add_argument("--leeway", type=float, default=0.0, help="clock skew allowed, seconds")
    args = parser.parse_args()

    try:
        header = jwt.get_unverified_header(args.token)
        if header.get("alg") != "EdDSA":
            raise jwt.InvalidAlgorithmError(f"unexpected alg {header.get('alg')!r}, want 'EdDSA'")
        if args.expect_typ is not None:
            typ = header.get("typ")
            if not isinstance(typ, str) or typ.lower() != args.expect_typ.lower():
                raise jwt.InvalidTokenError(f"unexpected typ {typ!r}, want {args.expect_typ!r}")

        client = PyJWKClient(args.jwks_url, cache_keys=False, cache_jwk_set=False, timeout=10)
        signing_key = client.get_signing_key_from_jwt(args.token)

        required = ["exp", "iss", "aud"] + [c for c in args.require if c not in ("exp", "iss", "aud")]
        claims = jwt.decode(
            args.token,
            key=signing_key.key,
            algorithms=["EdDSA"],
            issuer=args.issuer,
            audience=args.audience,
            leeway=args.leeway,
            options={"require": required},
        )
    except Exception as exc:  # any failure is a verification failure
        print(f"verification failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    json.dump(claims, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
