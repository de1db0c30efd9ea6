//! Unit tests of argon2id hashing and verification.

use super::*;

/// Cheap parameters so the tests run fast.
const FAST: Argon2Params = Argon2Params {
    memory_kib: 1024,
    iterations: 1,
    parallelism: 1,
};
const SALT: [u8; 16] = *b"somesaltsomesalt";

fn pw(s: &str) -> Password {
    Password::new(s.to_owned())
}

fn fast_hasher() -> PasswordHasher {
    PasswordHasher::new(FAST).unwrap()
}

const STRONG: &str = "correct horse battery staple under violet rain";

#[test]
fn argon2_params_defaults_are_owasp() {
    assert_eq!(
        Argon2Params::default(),
        Argon2Params {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1
        }
    );
    let parsed: Argon2Params = serde_json::from_str(r#"{"iterations": 3}"#).unwrap();
    assert_eq!(
        parsed,
        Argon2Params {
            iterations: 3,
            ..Argon2Params::default()
        }
    );
}

#[test]
fn known_answer_at_default_params() {
    // Computed independently with a from-scratch RFC 9106 implementation (Python,
    // hashlib.blake2b) that reproduces the reference vectors below.
    let hasher = PasswordHasher::new(Argon2Params::default()).unwrap();
    assert_eq!(hasher.params(), Argon2Params::default());
    let hash = hasher.hash(&pw("password"), SALT).unwrap();
    assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(
        hash.as_phc(),
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
         K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE"
    );
}

#[test]
fn known_answer_at_small_params() {
    let params = Argon2Params {
        memory_kib: 256,
        iterations: 2,
        parallelism: 1,
    };
    let hash = PasswordHasher::new(params)
        .unwrap()
        .hash(&pw("password"), SALT)
        .unwrap();
    assert_eq!(
        hash.as_phc(),
        "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
         yrdGtGIZk/3JHsUHh5gLQUqQppLwvGjf4Z+cJbPLqew"
    );
}

#[test]
fn verifies_reference_vectors() {
    // Argon2 reference implementation (phc-winner-argon2) vectors, 8-byte salt "somesalt".
    let hasher = PasswordHasher::new(Argon2Params {
        memory_kib: 256,
        iterations: 2,
        parallelism: 1,
    })
    .unwrap();
    for phc in [
        "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
        "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
    ] {
        let hash = PasswordHash::from_phc(phc.to_owned());
        // Short salt (and, for the second, other lanes): a rehash is due.
        assert_eq!(
            hasher.verify(&pw("password"), &hash),
            Ok(Verification::Match { needs_rehash: true })
        );
        assert_eq!(
            hasher.verify(&pw("Password"), &hash),
            Ok(Verification::Mismatch)
        );
    }
}

#[test]
fn round_trip() {
    let hasher = fast_hasher();
    let hash = hasher.hash(&pw(STRONG), [7; 16]).unwrap();
    assert!(hash.as_phc().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
    assert_eq!(
        hasher.verify(&pw(STRONG), &hash),
        Ok(Verification::Match {
            needs_rehash: false
        })
    );
    let stored = PasswordHash::from_phc(hash.as_phc().to_owned());
    assert_eq!(
        hasher.verify(&pw(STRONG), &stored),
        Ok(Verification::Match {
            needs_rehash: false
        })
    );
}

#[test]
fn different_salts_give_different_hashes() {
    let hasher = fast_hasher();
    let a = hasher.hash(&pw(STRONG), [1; 16]).unwrap();
    let b = hasher.hash(&pw(STRONG), [2; 16]).unwrap();
    assert_ne!(a.as_phc(), b.as_phc());
}

#[test]
fn mismatch() {
    let hasher = fast_hasher();
    let hash = hasher.hash(&pw(STRONG), SALT).unwrap();
    assert_eq!(
        hasher.verify(&pw("wrong password"), &hash),
        Ok(Verification::Mismatch)
    );
    assert_eq!(hasher.verify(&pw(""), &hash), Ok(Verification::Mismatch));
}

#[test]
fn needs_rehash_when_params_change() {
    let old = fast_hasher().hash(&pw(STRONG), SALT).unwrap();
    for params in [
        Argon2Params {
            memory_kib: 2048,
            ..FAST
        },
        Argon2Params {
            iterations: 2,
            ..FAST
        },
        Argon2Params {
            parallelism: 2,
            ..FAST
        },
    ] {
        let hasher = PasswordHasher::new(params).unwrap();
        assert_eq!(
            hasher.verify(&pw(STRONG), &old),
            Ok(Verification::Match { needs_rehash: true }),
            "{params:?}"
        );
        assert_eq!(hasher.verify(&pw("nope"), &old), Ok(Verification::Mismatch));
    }
}

#[test]
fn needs_rehash_for_other_argon2_variant() {
    let argon2i = Argon2::new(
        Algorithm::Argon2i,
        Version::V0x13,
        Params::new(FAST.memory_kib, FAST.iterations, FAST.parallelism, Some(32)).unwrap(),
    );
    let salt = SaltString::encode_b64(&SALT).unwrap();
    let phc = argon2i
        .hash_password(STRONG.as_bytes(), &salt)
        .unwrap()
        .to_string();
    assert!(phc.starts_with("$argon2i$"));
    let hasher = fast_hasher();
    let hash = PasswordHash::from_phc(phc);
    assert_eq!(
        hasher.verify(&pw(STRONG), &hash),
        Ok(Verification::Match { needs_rehash: true })
    );
    assert_eq!(
        hasher.verify(&pw("nope"), &hash),
        Ok(Verification::Mismatch)
    );
}

#[test]
fn malformed_hash() {
    let hasher = fast_hasher();
    for bad in [
        "",
        "not a hash",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
        "$argon2id$v=19$m=1024,t=1,p=1,x=3$c29tZXNhbHRzb21lc2FsdA$yrdGtGIZk/3JHsUHh5gLQUqQppLwvGjf4Z+cJbPLqew",
        "$argon2id$v=19$m=1,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$yrdGtGIZk/3JHsUHh5gLQUqQppLwvGjf4Z+cJbPLqew",
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        "$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m",
    ] {
        assert_eq!(
            hasher.verify(&pw(STRONG), &PasswordHash::from_phc(bad.to_owned())),
            Err(PasswordError::MalformedHash),
            "{bad}"
        );
    }
    assert_eq!(
        PasswordError::MalformedHash.to_string(),
        "malformed password hash"
    );
}

#[test]
fn invalid_params() {
    for params in [
        Argon2Params {
            memory_kib: 0,
            ..FAST
        },
        Argon2Params {
            iterations: 0,
            ..FAST
        },
        Argon2Params {
            parallelism: 0,
            ..FAST
        },
    ] {
        assert!(
            matches!(
                PasswordHasher::new(params),
                Err(PasswordError::InvalidParams(_))
            ),
            "{params:?}"
        );
    }
}

#[test]
fn dummy_verify_runs() {
    let hasher = fast_hasher();
    assert!(
        hasher
            .dummy
            .as_phc()
            .starts_with("$argon2id$v=19$m=1024,t=1,p=1$")
    );
    assert_eq!(
        hasher.verify(&pw(DUMMY_PASSWORD), &hasher.dummy),
        Ok(Verification::Match {
            needs_rehash: false
        })
    );
    hasher.dummy_verify(&pw(STRONG));
    hasher.clone().dummy_verify(&pw(""));
}

#[test]
fn debug_output_is_redacted() {
    let hasher = fast_hasher();
    let hash = hasher.hash(&pw(STRONG), SALT).unwrap();
    assert_eq!(format!("{hash:?}"), "PasswordHash(..)");
    let shown = format!("{hasher:?}");
    assert!(!shown.contains("argon2id$"), "{shown}");
    assert!(shown.contains("memory_kib: 1024"), "{shown}");
    let err = hasher
        .verify(&pw(STRONG), &PasswordHash::from_phc("x".into()))
        .unwrap_err();
    assert!(!format!("{err:?} {err}").contains("horse"));
}

#[test]
fn derived_keys_depend_on_password_salt_and_cost() {
    let params = Argon2Params {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    let key = PasswordHasher::derive_key(&pw(STRONG), &SALT, params).unwrap();
    let again = PasswordHasher::derive_key(&pw(STRONG), &SALT, params).unwrap();
    assert_eq!(*key, *again);
    let other_pw = PasswordHasher::derive_key(&pw("another password"), &SALT, params).unwrap();
    assert_ne!(*key, *other_pw);
    let other_salt = PasswordHasher::derive_key(&pw(STRONG), &[9u8; 16], params).unwrap();
    assert_ne!(*key, *other_salt);
    let costlier = Argon2Params {
        iterations: 2,
        ..params
    };
    let other_cost = PasswordHasher::derive_key(&pw(STRONG), &SALT, costlier).unwrap();
    assert_ne!(*key, *other_cost);
    let refused = Argon2Params {
        memory_kib: 1,
        ..params
    };
    assert!(matches!(
        PasswordHasher::derive_key(&pw(STRONG), &SALT, refused),
        Err(PasswordError::InvalidParams(_))
    ));
}
