//! Unit tests of the keyring: the key file, envelope encryption, rotation and redaction.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::*;

const NOW: i64 = 1_700_000_000;

fn fresh() -> Keyring {
    Keyring::generate(NOW).unwrap()
}

fn key_file_strings(path: &Path) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let mut keys = vec![json["index_key"].as_str().unwrap().to_owned()];
    for master in json["masters"].as_array().unwrap() {
        keys.push(master["key"].as_str().unwrap().to_owned());
    }
    keys
}

#[test]
fn generate_then_load_gives_the_same_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/keyring.json");
    let (generated, created) = Keyring::load_or_generate(&path, NOW).unwrap();
    assert!(created);
    assert_eq!(generated.versions(), vec![1]);
    let (key, wrapped) = generated.new_data_key(b"account:1").unwrap();
    let blob = key
        .encrypt(b"alice@example.org", b"account:1:email")
        .unwrap();
    let secret = generated.seal_secret(b"pair secret", b"pair:7").unwrap();

    let (again, created) = Keyring::load_or_generate(&path, NOW + 1).unwrap();
    assert!(!created);
    let loaded = Keyring::load(&path).unwrap();
    for keyring in [&again, &loaded] {
        let key = keyring.unwrap_key(&wrapped, b"account:1").unwrap();
        assert_eq!(
            key.decrypt(&blob, b"account:1:email").unwrap(),
            b"alice@example.org"
        );
        assert_eq!(
            keyring.open_secret(&secret, b"pair:7").unwrap(),
            b"pair secret"
        );
        assert_eq!(
            keyring.blind_index("email", "a"),
            generated.blind_index("email", "a")
        );
    }
    assert!(
        !dir.path()
            .join("nested/dir")
            .read_dir()
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().ends_with(".tmp") })
    );
}

#[cfg(unix)]
#[test]
fn key_file_has_mode_0600_after_generate_and_save() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let (mut keyring, _) = Keyring::load_or_generate(&path, NOW).unwrap();
    assert_eq!(mode(&path), 0o600);

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut loaded = Keyring::load(&path).unwrap(); // warns, still loads
    loaded.add_master(NOW).unwrap();
    loaded.save(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    keyring.add_master(NOW).unwrap();
    assert_eq!(Keyring::load(&path).unwrap().versions(), vec![1, 2]);
}

#[test]
fn load_reports_missing_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let missing = Keyring::load(&path);
    assert!(
        matches!(&missing, Err(KeyringError::Io { error, .. }) if error.kind() == io::ErrorKind::NotFound),
        "{missing:?}"
    );

    let key = B64.encode([7u8; 32]);
    let short = B64.encode([7u8; 16]);
    let file = |format: u32, current: u32, masters: serde_json::Value| {
        serde_json::json!({"format": format, "current": current, "index_key": key, "masters": masters})
            .to_string()
    };
    let master = |version: serde_json::Value, key: &str| serde_json::json!({"version": version, "key": key, "created_at": 0});
    let cases = [
        "not json".to_owned(),
        file(2, 1, serde_json::json!([master(1.into(), &key)])),
        file(1, 2, serde_json::json!([master(1.into(), &key)])),
        file(1, 1, serde_json::json!([master(1.into(), &short)])),
        file(
            1,
            1,
            serde_json::json!([master(1.into(), &format!("{key}!"))]),
        ),
        file(1, 1, serde_json::json!([master(key.as_str().into(), &key)])),
        file(
            1,
            1,
            serde_json::json!([master(1.into(), &key), master(1.into(), &key)]),
        ),
        file(1, 0, serde_json::json!([master(0.into(), &key)])),
    ];
    for case in cases {
        fs::write(&path, &case).unwrap();
        let result = Keyring::load(&path);
        assert!(
            matches!(result, Err(KeyringError::Format(_))),
            "{case}: {result:?}"
        );
        let message = result.unwrap_err().to_string();
        assert!(
            !message.contains(&key) && !message.contains(&short),
            "{message}"
        );
    }
}

#[test]
fn field_round_trip_uses_fresh_nonces() {
    let (key, _) = fresh().new_data_key(b"account:1").unwrap();
    let a = key.encrypt(b"+33612345678", b"account:1:phone").unwrap();
    let b = key.encrypt(b"+33612345678", b"account:1:phone").unwrap();
    assert_ne!(a, b);
    assert_eq!(a.len(), 1 + NONCE_LEN + 12 + TAG_LEN);
    assert_eq!(
        key.decrypt(&a, b"account:1:phone").unwrap(),
        b"+33612345678"
    );
    assert_eq!(
        key.decrypt(&key.encrypt(b"", b"x").unwrap(), b"x").unwrap(),
        b""
    );
}

#[test]
fn wrong_aad_tampering_and_truncation_fail_without_panic() {
    let keyring = fresh();
    let (key, wrapped) = keyring.new_data_key(b"account:1").unwrap();
    let blob = key
        .encrypt(b"alice@example.org", b"account:1:email")
        .unwrap();

    assert!(matches!(
        key.decrypt(&blob, b"account:2:email"),
        Err(KeyringError::Decrypt)
    ));
    for i in 0..blob.len() {
        let mut tampered = blob.clone();
        tampered[i] ^= 0x01;
        assert!(
            key.decrypt(&tampered, b"account:1:email").is_err(),
            "byte {i}"
        );
        assert!(
            key.decrypt(&blob[..i], b"account:1:email").is_err(),
            "length {i}"
        );
    }
    let (other, _) = keyring.new_data_key(b"account:1").unwrap();
    assert!(matches!(
        other.decrypt(&blob, b"account:1:email"),
        Err(KeyringError::Decrypt)
    ));

    assert!(matches!(
        keyring.unwrap_key(&wrapped, b"account:2"),
        Err(KeyringError::Decrypt)
    ));
    for i in 0..wrapped.bytes.len() {
        let mut tampered = wrapped.clone();
        tampered.bytes[i] ^= 0x80;
        assert!(matches!(
            keyring.unwrap_key(&tampered, b"account:1"),
            Err(KeyringError::Decrypt)
        ));
        let truncated = WrappedKey {
            master_version: 1,
            bytes: wrapped.bytes[..i].to_vec(),
        };
        assert!(matches!(
            keyring.unwrap_key(&truncated, b"account:1"),
            Err(KeyringError::Format(_))
        ));
    }

    let sealed = keyring.seal_secret(b"s3cret", b"jwt").unwrap();
    assert!(matches!(
        keyring.open_secret(&sealed, b"other"),
        Err(KeyringError::Decrypt)
    ));
    for i in 0..sealed.len() {
        let mut tampered = sealed.clone();
        tampered[i] ^= 0x01;
        assert!(keyring.open_secret(&tampered, b"jwt").is_err(), "byte {i}");
        assert!(
            keyring.open_secret(&sealed[..i], b"jwt").is_err(),
            "length {i}"
        );
    }
}

#[test]
fn wrapped_key_is_not_a_field_ciphertext() {
    let keyring = fresh();
    let (key, wrapped) = keyring.new_data_key(b"account:1").unwrap();
    let mut as_field = vec![FIELD_FORMAT];
    as_field.extend_from_slice(&wrapped.bytes);
    assert!(matches!(
        key.decrypt(&as_field, b"account:1"),
        Err(KeyringError::Decrypt)
    ));
}

#[test]
fn rotation_rewraps_without_reencrypting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let (mut keyring, _) = Keyring::load_or_generate(&path, NOW).unwrap();
    let (key, wrapped_v1) = keyring.new_data_key(b"account:1").unwrap();
    let blob = key
        .encrypt(b"alice@example.org", b"account:1:email")
        .unwrap();
    assert_eq!(wrapped_v1.master_version, 1);

    assert_eq!(keyring.add_master(NOW + 10).unwrap(), 2);
    assert_eq!(keyring.current_version(), 2);
    assert_eq!(keyring.versions(), vec![1, 2]);
    let wrapped_v2 = keyring.rewrap(&wrapped_v1, b"account:1").unwrap();
    assert_eq!(wrapped_v2.master_version, 2);
    assert_ne!(wrapped_v2.bytes, wrapped_v1.bytes);
    assert!(matches!(
        keyring.rewrap(&wrapped_v1, b"account:9"),
        Err(KeyringError::Decrypt)
    ));

    keyring.save(&path).unwrap();
    let loaded = Keyring::load(&path).unwrap();
    assert_eq!(loaded.current_version(), 2);
    for wrapped in [&wrapped_v1, &wrapped_v2] {
        let key = loaded.unwrap_key(wrapped, b"account:1").unwrap();
        assert_eq!(
            key.decrypt(&blob, b"account:1:email").unwrap(),
            b"alice@example.org"
        );
    }
    let (_, fresh_wrap) = loaded.new_data_key(b"account:2").unwrap();
    assert_eq!(fresh_wrap.master_version, 2);

    // The version is authenticated: relabelling a v2 wrap as v1 does not unwrap.
    let relabelled = WrappedKey {
        master_version: 1,
        ..wrapped_v2
    };
    assert!(matches!(
        loaded.unwrap_key(&relabelled, b"account:1"),
        Err(KeyringError::Decrypt)
    ));
}

#[test]
fn unknown_master_version_is_reported() {
    let keyring = fresh();
    let (_, wrapped) = keyring.new_data_key(b"account:1").unwrap();
    let unknown = WrappedKey {
        master_version: 9,
        ..wrapped
    };
    assert!(matches!(
        keyring.unwrap_key(&unknown, b"account:1"),
        Err(KeyringError::UnknownMasterVersion(9))
    ));
    let mut sealed = keyring.seal_secret(b"s", b"").unwrap();
    sealed[1..5].copy_from_slice(&9u32.to_be_bytes());
    assert!(matches!(
        keyring.open_secret(&sealed, b""),
        Err(KeyringError::UnknownMasterVersion(9))
    ));
}

#[test]
fn blind_index_is_keyed_and_domain_separated() {
    let keyring = fresh();
    let index = keyring.blind_index("email", "alice@example.org");
    assert_eq!(index, keyring.blind_index("email", "alice@example.org"));
    assert_ne!(index, keyring.blind_index("phone", "alice@example.org"));
    assert_ne!(index, keyring.blind_index("email", "bob@example.org"));
    assert_ne!(index, fresh().blind_index("email", "alice@example.org"));
    assert_ne!(
        keyring.blind_index("ab", "c"),
        keyring.blind_index("a", "bc")
    );

    let mut mac = hmac_sha256(&keyring.index_key);
    mac.update(b"email\0alice@example.org");
    assert_eq!(index, <[u8; 32]>::from(mac.finalize().into_bytes()));
}

#[test]
fn secrets_open_across_rotation() {
    let mut keyring = fresh();
    let v1 = keyring.seal_secret(b"totp pair secret", b"pair:7").unwrap();
    assert_eq!(
        keyring.open_secret(&v1, b"pair:7").unwrap(),
        b"totp pair secret"
    );
    keyring.add_master(NOW).unwrap();
    let v2 = keyring.seal_secret(b"totp pair secret", b"pair:7").unwrap();
    assert_eq!(v1[1..5], 1u32.to_be_bytes());
    assert_eq!(v2[1..5], 2u32.to_be_bytes());
    for blob in [&v1, &v2] {
        assert_eq!(
            keyring.open_secret(blob, b"pair:7").unwrap(),
            b"totp pair secret"
        );
    }
}

#[test]
fn debug_output_holds_no_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let (mut keyring, _) = Keyring::load_or_generate(&path, NOW).unwrap();
    keyring.add_master(NOW).unwrap();
    keyring.save(&path).unwrap();
    let (key, wrapped) = keyring.new_data_key(b"account:1").unwrap();
    let printed = format!(
        "{keyring:?} {key:?} {wrapped:?} {:#?}",
        Keyring::load(&path)
    );
    assert!(printed.contains("versions: [1, 2]"), "{printed}");
    let secrets = key_file_strings(&path);
    assert_eq!(secrets.len(), 3);
    for secret in secrets {
        assert!(!printed.contains(&secret), "{printed}");
        let hex_key = hex::encode(B64.decode(&secret).unwrap());
        assert!(!printed.to_lowercase().contains(&hex_key), "{printed}");
    }
    assert!(!printed.contains(&B64.encode(key.0.as_slice())));
}

#[test]
fn a_bound_key_needs_both_the_data_key_and_the_second_secret() {
    let ring = fresh();
    let (key, wrapped) = ring.new_data_key(b"wallet:1").unwrap();
    let second = [7u8; 32];
    let blob = key
        .bound_with(&second, b"custodial wallet")
        .encrypt(b"private", b"wallet:1")
        .unwrap();
    // The same data key (unwrapped again) and secret open it.
    let again = ring.unwrap_key(&wrapped, b"wallet:1").unwrap();
    assert_eq!(
        again
            .bound_with(&second, b"custodial wallet")
            .decrypt(&blob, b"wallet:1")
            .unwrap(),
        b"private"
    );
    // The keyring alone (the data key without the secret, or with another) does not.
    assert!(again.decrypt(&blob, b"wallet:1").is_err());
    assert!(
        again
            .bound_with(&[8u8; 32], b"custodial wallet")
            .decrypt(&blob, b"wallet:1")
            .is_err()
    );
    // Nor does the secret with another data key, or for another purpose.
    let (other, _) = ring.new_data_key(b"wallet:1").unwrap();
    assert!(
        other
            .bound_with(&second, b"custodial wallet")
            .decrypt(&blob, b"wallet:1")
            .is_err()
    );
    assert!(
        again
            .bound_with(&second, b"other purpose")
            .decrypt(&blob, b"wallet:1")
            .is_err()
    );
}
