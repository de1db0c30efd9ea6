//! Vectors from EIP-55 and from a third-party signer (Python `eth-account` 0.14.0, hardhat's
//! well-known account #0), and every refusal of the SIWE, delegation and presence checks.

use super::delegation::{Delegation, DelegationError, Expected};
use super::siwe::{self, SiweChallenge, SiweError, SiweRules};
use super::*;

/// Hardhat's account #0: a published development key, never a real wallet.
const KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/// `Account.from_key(KEY_0).sign_message(encode_defunct(text="hello world"))` in eth-account.
const HELLO_WORLD_BY_0: &str = "0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf15fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b1b";

/// The SIWE text below signed by KEY_0 in eth-account.
const SIWE_BY_0: &str = "0x3c8b4706b305aa7ba2c0bb406c4b85cf566d92622917d0d6556b256e9155d976058d66ea893c53a640c87933e2f414cd097f15acae842660a07839f3f972fe8c1c";
const SIWE_TEXT: &str = "auth.example.com wants you to sign in with your Ethereum account:
0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266

Sign in to Portcullis.

URI: https://auth.example.com
Version: 1
Chain ID: 1
Nonce: 32891756abcd
Issued At: 2026-12-05T17:00:00Z
Expiration Time: 2026-12-05T17:05:00Z";
/// 2026-12-05T17:00:00Z.
const ISSUED: i64 = 1_796_490_000;

fn key(hex_key: &str) -> k256::ecdsa::SigningKey {
    let bytes = hex::decode(hex_key).expect("test key is hex");
    k256::ecdsa::SigningKey::from_slice(&bytes).expect("test key is a scalar")
}

fn other_key() -> k256::ecdsa::SigningKey {
    // Hardhat's account #1.
    key("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
}

fn rules() -> SiweRules {
    SiweRules {
        domain: "auth.example.com".into(),
        uri: "https://auth.example.com".into(),
        chain_id: 1,
        max_age: 600,
        skew: 60,
    }
}

fn address_0() -> Address {
    parse_address(ADDRESS_0).expect("vector address")
}

#[test]
fn eip55_vectors_round_trip_and_a_wrong_checksum_is_refused() {
    for vector in [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ] {
        let address = parse_address(vector).expect("EIP-55 vector parses");
        assert_eq!(checksummed(&address), vector);
        assert_eq!(parse_address(&vector.to_lowercase()), Ok(address));
    }
    assert_eq!(
        parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
        Err(EthError::MalformedAddress)
    );
    for bad in [
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0x12",
        "0xzz",
        "",
    ] {
        assert_eq!(parse_address(bad), Err(EthError::MalformedAddress), "{bad}");
    }
}

#[test]
fn our_eip191_signature_is_eth_accounts_byte_for_byte() {
    let key = key(KEY_0);
    assert_eq!(address_of(key.verifying_key()), address_0());
    let signature = sign(&key, b"hello world").expect("signs");
    assert_eq!(signature.to_string(), HELLO_WORLD_BY_0);
    let theirs: WalletSignature = HELLO_WORLD_BY_0.parse().expect("vector parses");
    assert_eq!(theirs.recover(b"hello world"), Ok(address_0()));
    assert_eq!(
        theirs.verify(b"hello world!", address_0()),
        Err(EthError::WrongSigner)
    );
}

#[test]
fn malformed_signatures_are_refused_not_recovered() {
    for bad in ["0x", "0x00", &format!("{HELLO_WORLD_BY_0}00"), "zz"] {
        assert_eq!(
            bad.parse::<WalletSignature>(),
            Err(EthError::MalformedSignature),
            "{bad}"
        );
    }
    let mut bytes = HELLO_WORLD_BY_0
        .parse::<WalletSignature>()
        .expect("vector")
        .to_bytes();
    bytes[64] = 29;
    assert_eq!(
        WalletSignature::from_bytes(bytes).recover(b"hello world"),
        Err(EthError::MalformedSignature)
    );
    assert!(WalletSignature::from_bytes([0; 65]).recover(b"x").is_err());
}

#[test]
fn the_challenge_we_build_is_the_text_eth_account_signed() {
    let challenge = SiweChallenge {
        address: address_0(),
        statement: "Sign in to Portcullis.".into(),
        nonce: "32891756abcd".into(),
        issued_at: ISSUED,
        expires_at: ISSUED + 300,
    };
    assert_eq!(
        siwe::challenge_message(&rules(), &challenge).as_deref(),
        Ok(SIWE_TEXT)
    );
    let signature: WalletSignature = SIWE_BY_0.parse().expect("vector");
    let signed = siwe::verify(&rules(), SIWE_TEXT, &signature, "32891756abcd", ISSUED + 10)
        .expect("a third-party signature verifies");
    assert_eq!(signed.address, address_0());
    assert_eq!(signed.expires_at, ISSUED + 300);
    assert_eq!(sign(&key(KEY_0), SIWE_TEXT.as_bytes()), Ok(signature));
}

fn signed_siwe(text: &str) -> WalletSignature {
    sign(&key(KEY_0), text.as_bytes()).expect("signs")
}

fn verify_text(text: &str, now: i64) -> Result<siwe::SignedIn, SiweError> {
    siwe::verify(&rules(), text, &signed_siwe(text), "32891756abcd", now)
}

#[test]
fn each_siwe_rule_is_enforced() {
    let at = ISSUED + 10;
    let swap = |from: &str, to: &str| SIWE_TEXT.replace(from, to);
    assert_eq!(
        verify_text(&swap("auth.example.com wants", "evil.example wants"), at),
        Err(SiweError::Domain)
    );
    assert_eq!(
        verify_text(
            &swap(
                "URI: https://auth.example.com",
                "URI: https://auth.example.com.evil"
            ),
            at
        ),
        Err(SiweError::Uri)
    );
    assert!(
        verify_text(
            &swap(
                "URI: https://auth.example.com",
                "URI: https://auth.example.com/login"
            ),
            at
        )
        .is_ok()
    );
    assert_eq!(
        verify_text(&swap("Chain ID: 1", "Chain ID: 5"), at),
        Err(SiweError::ChainId(5))
    );
    assert_eq!(
        verify_text(&swap("32891756abcd", "32891756abce"), at),
        Err(SiweError::Nonce)
    );
    assert_eq!(
        verify_text(SIWE_TEXT, ISSUED + 300),
        Err(SiweError::Expired)
    );
    assert_eq!(
        verify_text(SIWE_TEXT, ISSUED - 61),
        Err(SiweError::NotYetValid)
    );
    assert!(
        verify_text(SIWE_TEXT, ISSUED - 59).is_ok(),
        "within the allowed skew"
    );
    let long_lived = swap(
        "Expiration Time: 2026-12-05T17:05:00Z",
        "Expiration Time: 2027-12-05T17:05:00Z",
    );
    assert_eq!(
        verify_text(&long_lived, ISSUED + 601),
        Err(SiweError::Expired),
        "max_age caps it"
    );
    assert!(matches!(
        verify_text(&format!("{SIWE_TEXT}\n"), at),
        Err(SiweError::Malformed(_))
    ));
    // The parser skips the line after a statement without reading it: what was signed
    // would not be what the parser saw.
    assert_eq!(
        verify_text(&swap("Portcullis.\n\n", "Portcullis.\nhidden\n"), at),
        Err(SiweError::NotCanonical)
    );
    assert!(matches!(
        verify_text("hello", at),
        Err(SiweError::Malformed(_))
    ));
    assert!(matches!(
        verify_text(&"a".repeat(5000), at),
        Err(SiweError::Malformed(_))
    ));
    let by_other = sign(&other_key(), SIWE_TEXT.as_bytes()).expect("signs");
    assert_eq!(
        siwe::verify(&rules(), SIWE_TEXT, &by_other, "32891756abcd", at),
        Err(SiweError::Signature(EthError::WrongSigner))
    );
}

#[test]
fn a_statement_with_a_newline_or_a_time_past_9999_is_not_written() {
    let mut challenge = SiweChallenge {
        address: address_0(),
        statement: "two\nlines".into(),
        nonce: "32891756abcd".into(),
        issued_at: ISSUED,
        expires_at: ISSUED + 300,
    };
    assert!(siwe::challenge_message(&rules(), &challenge).is_err());
    challenge.statement.clear();
    challenge.expires_at = i64::MAX;
    assert!(siwe::challenge_message(&rules(), &challenge).is_err());
}

fn delegation() -> Delegation {
    Delegation {
        domain: "auth.example.com".into(),
        wallet: address_0(),
        session_key: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
        nonce: "32891756abcd".into(),
        issued_at: ISSUED,
        expires_at: ISSUED + 3600,
    }
}

fn expected() -> Expected<'static> {
    Expected {
        domain: "auth.example.com",
        wallet: parse_address(ADDRESS_0).expect("vector"),
        session_key: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        nonce: "32891756abcd",
        skew: 60,
    }
}

#[test]
fn a_delegation_round_trips_and_verifies_only_as_signed() {
    let text = delegation().message().expect("renders");
    assert_eq!(Delegation::parse(&text), Ok(delegation()));
    let signature = sign(&key(KEY_0), text.as_bytes()).expect("signs");
    assert_eq!(
        Delegation::verify(&text, &signature, &expected(), ISSUED + 5),
        Ok(delegation())
    );
    let mut other = expected();
    other.session_key = "another-key";
    assert_eq!(
        Delegation::verify(&text, &signature, &other, ISSUED + 5),
        Err(DelegationError::Mismatch("session key"))
    );
    assert_eq!(
        Delegation::verify(&text, &signature, &expected(), ISSUED + 3600),
        Err(DelegationError::Time)
    );
    let by_other = sign(&other_key(), text.as_bytes()).expect("signs");
    assert_eq!(
        Delegation::verify(&text, &by_other, &expected(), ISSUED + 5),
        Err(DelegationError::Signature(EthError::WrongSigner))
    );
    assert!(Delegation::parse(&format!("{text}\nExtra: 1")).is_err());
    assert!(
        Delegation::parse(&text.replace("2026-12-05T17:00:00Z", "2026-12-05T17:00:00.0Z")).is_err()
    );
}

#[test]
fn a_presence_answer_is_bound_to_its_session_and_challenge() {
    let text = presence::message("auth.example.com", "s-1", "c-1");
    let signature = sign(&key(KEY_0), text.as_bytes()).expect("signs");
    assert_eq!(
        presence::verify("auth.example.com", "s-1", "c-1", &signature, address_0()),
        Ok(())
    );
    assert!(presence::verify("auth.example.com", "s-2", "c-1", &signature, address_0()).is_err());
    assert!(presence::verify("auth.example.com", "s-1", "c-2", &signature, address_0()).is_err());
    assert_eq!(
        presence::parse(&text),
        Some(("auth.example.com", "s-1", "c-1"))
    );
    for bad in [
        format!("{text}\n"),
        text.replace("s-1", ""),
        text.replace("Session", "Sess"),
        "x".into(),
    ] {
        assert_eq!(presence::parse(&bad), None, "{bad}");
    }
}
