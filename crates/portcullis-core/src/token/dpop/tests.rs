#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const NOW: i64 = 1_800_000_000;
const URI: &str = "https://auth.example.com/v1/me";
const TOKEN: &str = "the-access-token";

// RFC 8037 Appendix A.1 (public key) and A.3 (its RFC 7638 thumbprint).
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

// Made by PyJWT 2.15.1 with `cryptography` (tests/interop/make_dpop_vectors.py): an
// Ed25519 key of seed [7; 32] and a secp256k1 key of scalar [9; 32], iat = NOW, for GET on
// URI with the ath of TOKEN and the nonce "n-1".
const PYJWT_EDDSA: &str = "eyJhbGciOiJFZERTQSIsImp3ayI6eyJjcnYiOiJFZDI1NTE5Iiwia3R5IjoiT0tQIiwieCI6IjZrcHNZLUtjVWdxLTlWQjdFeTdGLVpWSGRxNi12bnVTUWg3cWFSUkcwaXcifSwidHlwIjoiZHBvcCtqd3QifQ.eyJqdGkiOiJweWp3dC0xIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuY29tL3YxL21lIiwiaWF0IjoxODAwMDAwMDAwLCJub25jZSI6Im4tMSIsImF0aCI6InVieTlaOEdiX0hfeDRmUGp3TnpndTc5NGI4NjBpZndQc2J3bmxmTmlDRnMifQ.Bg3sGs6inmoTTpfdvaW18q4mfYSCjEGeSzZvQcHmFPDb3GPetgjP2Gqq88VrNJOpXRNCJGKPANb-TICoJIFYDQ";
const PYJWT_ES256K: &str = "eyJhbGciOiJFUzI1NksiLCJqd2siOnsiY3J2Ijoic2VjcDI1NmsxIiwia3R5IjoiRUMiLCJ4IjoiVnJNb3N3eUw5WU9lSkFXSFI0ZVVDTDJ6WWtIY25DNThZWi1xRXJLU0NXYyIsInkiOiJxM3paXzQ2bl9VOUNHeDRaOVM2VlhVbDZMSU1vV21xUDl5eFhmV3d2MUpBIn0sInR5cCI6ImRwb3Arand0In0.eyJqdGkiOiJweWp3dC0xIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuY29tL3YxL21lIiwiaWF0IjoxODAwMDAwMDAwLCJub25jZSI6Im4tMSIsImF0aCI6InVieTlaOEdiX0hfeDRmUGp3TnpndTc5NGI4NjBpZndQc2J3bmxmTmlDRnMifQ.TD_SljP3w_rUI4kkk-P9xXEosypW9Kk9k2X4_xUAwiqb9BR8VdRPjlUYHVFmDwfcdlJIblRxxYYNlRhjO-FrlA";

fn check<'a>(nonces: Option<&'a NonceKey>, jkt: Option<&'a str>) -> ProofCheck<'a> {
    ProofCheck {
        method: "GET",
        uri: URI,
        now: NOW,
        max_age_secs: 60,
        skew_secs: 5,
        access_token: Some(TOKEN),
        jkt,
        nonces,
        keys: None,
    }
}

fn claims(nonce: Option<String>) -> ProofClaims {
    ProofClaims {
        jti: "j-1".into(),
        htm: "GET".into(),
        htu: URI.into(),
        iat: NOW,
        nonce,
        ath: Some(ath(TOKEN)),
    }
}

fn signers() -> [SessionSigner; 2] {
    [
        SessionSigner::ed25519_from_bytes(&[7; 32]),
        SessionSigner::secp256k1_from_bytes(&[9; 32]).unwrap(),
    ]
}

#[test]
fn rfc8037_thumbprint() {
    let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X});
    let key = SessionKey::from_jwk(&jwk).unwrap();
    assert_eq!(key.thumbprint(), RFC8037_THUMBPRINT);
    assert_eq!(key.to_jwk(), jwk);
    assert_eq!(key.alg(), "EdDSA");
}

#[test]
fn pyjwt_proofs_verify_with_the_keys_they_carry() {
    for (proof, signer) in [PYJWT_EDDSA, PYJWT_ES256K].into_iter().zip(signers()) {
        let jkt = signer.public().thumbprint();
        let verified = verify(proof, &check(None, Some(&jkt))).unwrap();
        assert_eq!(verified.jti, "pyjwt-1");
        assert_eq!(verified.iat, NOW);
        assert_eq!(verified.jkt, jkt);
        // Another key's token refuses it.
        let other = SessionSigner::ed25519_from_bytes(&[1; 32])
            .public()
            .thumbprint();
        assert_eq!(
            verify(proof, &check(None, Some(&other))),
            Err(DpopError::KeyMismatch)
        );
    }
}

#[test]
fn our_proofs_round_trip_for_both_algorithms() {
    let nonces = NonceKey::new([3; 32], 60);
    for signer in signers() {
        let jkt = signer.public().thumbprint();
        let proof = signer.proof(&claims(Some(nonces.issue(NOW))));
        let verified = verify(&proof, &check(Some(&nonces), Some(&jkt))).unwrap();
        assert_eq!(verified.jkt, jkt);
        // The query and the default port do not change the URI; the host's case neither.
        let mut c = check(Some(&nonces), Some(&jkt));
        c.uri = "HTTPS://Auth.Example.com:443/v1/me?page=2";
        assert!(verify(&proof, &c).is_ok());
    }
}

#[test]
fn each_mismatch_is_refused_for_its_reason() {
    let nonces = NonceKey::new([3; 32], 60);
    let signer = SessionSigner::ed25519_from_bytes(&[7; 32]);
    let jkt = signer.public().thumbprint();
    let good = || claims(Some(nonces.issue(NOW)));
    let refused = |c: ProofClaims| verify(&signer.proof(&c), &check(Some(&nonces), Some(&jkt)));
    let mut c = good();
    c.htm = "POST".into();
    assert_eq!(refused(c), Err(DpopError::Method));
    let mut c = good();
    c.htu = "https://auth.example.com/v1/me/factors".into();
    assert_eq!(refused(c), Err(DpopError::Uri));
    let mut c = good();
    c.htu = "https://evil.example.com/v1/me".into();
    assert_eq!(refused(c), Err(DpopError::Uri));
    let mut c = good();
    c.iat = NOW - 61;
    assert_eq!(refused(c), Err(DpopError::Time));
    let mut c = good();
    c.iat = NOW + 6;
    assert_eq!(refused(c), Err(DpopError::Time));
    let mut c = good();
    c.ath = Some(ath("another-token"));
    assert_eq!(refused(c), Err(DpopError::AccessTokenHash));
    let mut c = good();
    c.ath = None;
    assert_eq!(refused(c), Err(DpopError::AccessTokenHash));
    let mut c = good();
    c.nonce = None;
    assert_eq!(refused(c), Err(DpopError::UseNonce));
    let mut c = good();
    c.nonce = Some(nonces.issue(NOW - 120));
    assert_eq!(refused(c), Err(DpopError::UseNonce));
    let mut c = good();
    c.nonce = Some(NonceKey::new([4; 32], 60).issue(NOW));
    assert_eq!(refused(c), Err(DpopError::UseNonce));
    // A stolen token with a proof by the thief's own key.
    let thief = SessionSigner::ed25519_from_bytes(&[8; 32]);
    assert_eq!(
        verify(&thief.proof(&good()), &check(Some(&nonces), Some(&jkt))),
        Err(DpopError::KeyMismatch)
    );
}

/// A proof with `header` (JSON) and the good claims, signed by `signer` over what it says.
fn forged(signer: &SessionSigner, header: &serde_json::Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(None)).unwrap());
    let input = format!("{h}.{c}");
    let sig = URL_SAFE_NO_PAD.encode(signer.sign(input.as_bytes()));
    format!("{input}.{sig}")
}

#[test]
fn headers_algorithms_and_keys_are_strict() {
    let signer = SessionSigner::ed25519_from_bytes(&[7; 32]);
    let jwk = signer.public().to_jwk();
    let c = check(None, None);
    let with = |typ: Option<&str>, alg: &str, jwk: &serde_json::Value| {
        let mut h = serde_json::json!({"alg": alg, "jwk": jwk});
        if let Some(t) = typ {
            h["typ"] = t.into();
        }
        verify(&forged(&signer, &h), &c)
    };
    assert!(with(Some("dpop+jwt"), "EdDSA", &jwk).is_ok());
    assert_eq!(with(None, "EdDSA", &jwk), Err(DpopError::Type));
    assert_eq!(with(Some("JWT"), "EdDSA", &jwk), Err(DpopError::Type));
    for alg in ["none", "HS256", "ES256K", "RS256"] {
        assert_eq!(
            with(Some("dpop+jwt"), alg, &jwk),
            Err(DpopError::Algorithm),
            "{alg}"
        );
    }
    let mut private = jwk.clone();
    private["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into();
    assert_eq!(
        with(Some("dpop+jwt"), "EdDSA", &private),
        Err(DpopError::PrivateKey)
    );
    let oct = serde_json::json!({"kty": "oct", "k": "AAAA"});
    assert_eq!(
        with(Some("dpop+jwt"), "HS256", &oct),
        Err(DpopError::InvalidKey)
    );
    let short = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
    assert_eq!(
        with(Some("dpop+jwt"), "EdDSA", &short),
        Err(DpopError::InvalidKey)
    );
    // secp256k1 point off the curve.
    let off = serde_json::json!({"kty": "EC", "crv": "secp256k1",
        "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])});
    assert_eq!(
        with(Some("dpop+jwt"), "ES256K", &off),
        Err(DpopError::InvalidKey)
    );
    // Another key's jwk over this key's signature.
    let other = SessionSigner::ed25519_from_bytes(&[8; 32])
        .public()
        .to_jwk();
    assert_eq!(
        with(Some("dpop+jwt"), "EdDSA", &other),
        Err(DpopError::Signature)
    );
}

#[test]
fn garbage_never_verifies() {
    let c = check(None, None);
    for proof in [
        "",
        ".",
        "..",
        "a.b.c",
        "a.b.c.d",
        &"x".repeat(5000),
        "e30.e30.AAAA",
    ] {
        assert!(verify(proof, &c).is_err(), "{proof}");
    }
    // A valid proof with one byte of its signature changed.
    let mut proof = PYJWT_EDDSA.to_owned();
    let last = proof.pop().unwrap();
    proof.push(if last == 'A' { 'B' } else { 'A' });
    assert!(verify(&proof, &c).is_err());
}

#[test]
fn nonces_are_good_for_their_window_and_the_next() {
    let key = NonceKey::new([5; 32], 60);
    let n = key.issue(NOW);
    assert_eq!(key.issue(NOW + 1), n, "one nonce per window");
    assert!(key.check(&n, NOW));
    assert!(key.check(&n, NOW + 60));
    assert!(!key.check(&n, NOW + 180));
    assert!(!key.check(&n, NOW - 120));
    assert!(!NonceKey::new([6; 32], 60).check(&n, NOW));
    assert!(!key.check("garbage", NOW));
    assert!(!format!("{key:?}").contains("5, 5"));
}

#[test]
fn htu_normalises_what_does_not_change_the_target() {
    assert_eq!(
        htu("HTTP://A.example:80/x?y#z").as_deref(),
        Some("http://a.example/x")
    );
    assert_eq!(
        htu("https://a.example:8443").as_deref(),
        Some("https://a.example:8443/")
    );
    assert_eq!(htu("ftp://a.example/x"), None);
    assert_eq!(htu("/relative"), None);
    assert_eq!(htu("https:///x"), None);
}

#[test]
fn signers_do_not_print_their_secret() {
    for signer in signers() {
        let shown = format!("{signer:?}");
        assert!(shown.contains("jkt"), "{shown}");
        assert!(!shown.contains("[7") && !shown.contains("[9") && !shown.contains("secret"));
    }
}

#[test]
fn the_key_cache_finds_a_key_only_by_its_own_members() {
    let cache = KeyCache::new(2);
    let nonces = NonceKey::new([3; 32], 60);
    for signer in signers() {
        let jkt = signer.public().thumbprint();
        for n in 0..3 {
            let mut c = claims(Some(nonces.issue(NOW)));
            c.jti = format!("j-{n}");
            let mut check = check(Some(&nonces), Some(&jkt));
            check.keys = Some(&cache);
            assert_eq!(verify(&signer.proof(&c), &check).unwrap().jkt, jkt);
        }
        // The JWK's thumbprint as written is the decoded key's.
        assert_eq!(
            SessionKey::thumbprint_of_jwk(&signer.public().to_jwk()),
            Some(jkt.clone())
        );
    }
    // A cached key is no way around the refusals: another key's signature, a private jwk.
    let mut check = check(None, None);
    check.keys = Some(&cache);
    let thief = SessionSigner::ed25519_from_bytes(&[8; 32]);
    let mut header = serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA",
        "jwk": SessionSigner::ed25519_from_bytes(&[7; 32]).public().to_jwk()});
    assert_eq!(
        verify(&forged(&thief, &header), &check),
        Err(DpopError::Signature)
    );
    header["jwk"]["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into();
    assert_eq!(
        verify(&forged(&thief, &header), &check),
        Err(DpopError::PrivateKey)
    );
}
