# Makes the third-party DPoP proof vectors of crates/portcullis-core/src/token/dpop/tests.rs.
import base64, json, jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
claims = {"jti": "pyjwt-1", "htm": "GET", "htu": "https://auth.example.com/v1/me", "iat": 1800000000,
          "nonce": "n-1", "ath": b64(__import__("hashlib").sha256(b"the-access-token").digest())}
ed = Ed25519PrivateKey.from_private_bytes(bytes([7]*32))
x = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(x)}
print("EDDSA", jwt.encode(claims, ed, algorithm="EdDSA", headers={"typ": "dpop+jwt", "jwk": jwk}))
k = ec.derive_private_key(int.from_bytes(bytes([9]*32), "big"), ec.SECP256K1())
n = k.public_key().public_numbers()
jwk = {"kty": "EC", "crv": "secp256k1", "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big"))}
print("ES256K", jwt.encode(claims, k, algorithm="ES256K", headers={"typ": "dpop+jwt", "jwk": jwk}))
