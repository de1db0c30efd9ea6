//! The structure-aware input of `token_mutate`: edits applied to a valid token, including
//! re-signing with the real key, so the header and claim checks are fuzzed behind a good
//! signature.

use super::*;

/// The input of `token_mutate`: one base token and the edits to make to it.
#[derive(Arbitrary, Debug)]
pub struct Mutation {
    base: u8,
    edits: Vec<Edit>,
}

/// One edit of a token; byte offsets wrap around the current length.
#[derive(Arbitrary, Debug)]
pub enum Edit {
    /// Overwrite one byte.
    Overwrite { at: u16, byte: u8 },
    /// Flip one bit.
    FlipBit { at: u16, bit: u8 },
    /// Insert bytes.
    Insert { at: u16, bytes: Vec<u8> },
    /// Remove up to `len` bytes.
    Remove { at: u16, len: u8 },
    /// Cut the token short.
    Truncate { at: u16 },
    /// Append `len` base64url characters to a segment (to cross the size bounds).
    Pad { segment: Segment, len: u16 },
    /// Replace a segment's text.
    SetSegment { segment: Segment, text: String },
    /// Replace the decoded header or payload with arbitrary text.
    SetDecoded { segment: Segment, text: String },
    /// Set a member of the decoded header object.
    SetHeader { name: HeaderName, value: Json },
    /// Remove a member of the decoded header object.
    RemoveHeader { name: HeaderName },
    /// Set a claim of the decoded payload object.
    SetClaim { name: ClaimName, value: Json },
    /// Remove a claim.
    RemoveClaim { name: ClaimName },
    /// Swap two segments.
    Swap { a: Segment, b: Segment },
    /// Re-sign the first two segments, as they are now.
    Sign { signer: SignWith },
}

/// A segment of a compact JWS.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Segment {
    Header,
    Payload,
    Signature,
    /// A fourth segment (compact JWS has three).
    Extra,
}

impl Segment {
    fn index(self) -> usize {
        match self {
            Self::Header => 0,
            Self::Payload => 1,
            Self::Signature => 2,
            Self::Extra => 3,
        }
    }
}

/// Header members worth setting.
#[derive(Arbitrary, Debug)]
pub enum HeaderName {
    Alg,
    Typ,
    Kid,
    Crit,
    Jku,
    Jwk,
    X5u,
    X5c,
    Cty,
    B64,
    Other(String),
}

impl HeaderName {
    fn name(&self) -> &str {
        match self {
            Self::Alg => "alg",
            Self::Typ => "typ",
            Self::Kid => "kid",
            Self::Crit => "crit",
            Self::Jku => "jku",
            Self::Jwk => "jwk",
            Self::X5u => "x5u",
            Self::X5c => "x5c",
            Self::Cty => "cty",
            Self::B64 => "b64",
            Self::Other(name) => name,
        }
    }
}

/// Claims worth setting.
#[derive(Arbitrary, Debug)]
pub enum ClaimName {
    Iss,
    Sub,
    Aud,
    Exp,
    Iat,
    Nbf,
    Jti,
    Sid,
    Acr,
    Amr,
    Roles,
    AuthTime,
    Scope,
    Other(String),
}

impl ClaimName {
    fn name(&self) -> &str {
        match self {
            Self::Iss => "iss",
            Self::Sub => "sub",
            Self::Aud => "aud",
            Self::Exp => "exp",
            Self::Iat => "iat",
            Self::Nbf => "nbf",
            Self::Jti => "jti",
            Self::Sid => "sid",
            Self::Acr => "acr",
            Self::Amr => "amr",
            Self::Roles => "roles",
            Self::AuthTime => "auth_time",
            Self::Scope => "scope",
            Self::Other(name) => name,
        }
    }
}

/// A JSON value, with the strings and numbers a random one would hardly hit.
#[derive(Arbitrary, Debug)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// `NOW + delta`: around the validity window and its leeway.
    NearNow(i16),
    Str(String),
    Known(Known),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Strings a verifier decides on.
#[derive(Arbitrary, Debug)]
pub enum Known {
    EdDsa,
    None,
    NoneUpper,
    Hs256,
    Rs256,
    Es256,
    AtJwt,
    AppAtJwt,
    Jwt,
    ActiveKid,
    RetiredKid,
    ForeignKid,
    Issuer,
    Audience,
}

impl Json {
    fn to_value(&self, f: &Fixture, depth: usize) -> Value {
        if depth > 8 {
            return Value::Null;
        }
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::UInt(u) => Value::from(*u),
            Self::Float(x) => Value::from(*x),
            Self::NearNow(d) => Value::from(NOW + i64::from(*d)),
            Self::Str(s) => Value::from(s.as_str()),
            Self::Known(k) => Value::from(match k {
                Known::EdDsa => "EdDSA",
                Known::None => "none",
                Known::NoneUpper => "NONE",
                Known::Hs256 => "HS256",
                Known::Rs256 => "RS256",
                Known::Es256 => "ES256",
                Known::AtJwt => "at+jwt",
                Known::AppAtJwt => "application/at+jwt",
                Known::Jwt => "JWT",
                Known::ActiveKid => f.active_kid.as_str(),
                Known::RetiredKid => f.retired_kid.as_str(),
                Known::ForeignKid => f.foreign_kid.as_str(),
                Known::Issuer => ISS,
                Known::Audience => AUD,
            }),
            Self::Array(items) => {
                Value::Array(items.iter().map(|j| j.to_value(f, depth + 1)).collect())
            }
            Self::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, j)| (k.clone(), j.to_value(f, depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// Who signs the first two segments in [`Edit::Sign`].
#[derive(Arbitrary, Debug)]
pub enum SignWith {
    /// The active key: a genuine signature over whatever the segments now say.
    Active,
    /// The retired key, still published.
    Retired,
    /// A key that is not published.
    Foreign,
    /// HMAC-SHA256 keyed with the active public key (`x` as text, or its 32 raw bytes).
    HmacWithPublicKey { raw: bool },
    /// No signature at all (`header.payload.`).
    Unsigned,
    /// These bytes as the signature.
    Bytes(Vec<u8>),
}

pub(crate) fn wrap(at: u16, len: usize) -> usize {
    usize::from(at) % (len + 1)
}

pub(crate) fn split(token: &[u8]) -> Vec<Vec<u8>> {
    token.split(|&b| b == b'.').map(<[u8]>::to_vec).collect()
}

pub(crate) fn join(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.join(&b'.')
}

/// The decoded JSON object of a segment; anything else becomes an empty object.
pub(crate) fn decoded_object(segment: &[u8]) -> Map<String, Value> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .ok()
        .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

pub(crate) fn encode_object(map: Map<String, Value>) -> Vec<u8> {
    let json = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
    b64(json).into_bytes()
}

impl Mutation {
    /// The token this input stands for.
    pub fn apply(&self, f: &Fixture) -> String {
        let base = &f.bases[usize::from(self.base) % f.bases.len()].1;
        let mut token = base.as_bytes().to_vec();
        for edit in self.edits.iter().take(MAX_EDITS) {
            edit.apply(f, &mut token);
            token.truncate(MAX_MUTATED_LEN);
        }
        String::from_utf8_lossy(&token).into_owned()
    }
}

impl Edit {
    fn apply(&self, f: &Fixture, token: &mut Vec<u8>) {
        let len = token.len();
        match self {
            Self::Overwrite { at, byte } => {
                if len > 0 {
                    token[usize::from(*at) % len] = *byte;
                }
            }
            Self::FlipBit { at, bit } => {
                if len > 0 {
                    token[usize::from(*at) % len] ^= 1 << (bit % 8);
                }
            }
            Self::Insert { at, bytes } => {
                let at = wrap(*at, len);
                token.splice(at..at, bytes.iter().copied());
            }
            Self::Remove { at, len: n } => {
                let at = wrap(*at, len);
                let end = (at + usize::from(*n)).min(len);
                token.drain(at..end);
            }
            Self::Truncate { at } => token.truncate(wrap(*at, len)),
            Self::Pad { segment, len: n } => {
                let mut parts = split(token);
                let i = segment.index();
                parts.resize(parts.len().max(i + 1), Vec::new());
                let n = usize::from(*n).min(MAX_MUTATED_LEN);
                parts[i].extend(std::iter::repeat_n(b'A', n));
                *token = join(&parts);
            }
            Self::SetSegment { segment, text } => {
                set_segment(token, *segment, text.as_bytes().to_vec());
            }
            Self::SetDecoded { segment, text } => {
                set_segment(token, *segment, b64(text).into_bytes());
            }
            Self::SetHeader { name, value } => {
                edit_object(token, Segment::Header, |map| {
                    map.insert(name.name().to_owned(), value.to_value(f, 0));
                });
            }
            Self::RemoveHeader { name } => {
                edit_object(token, Segment::Header, |map| {
                    map.remove(name.name());
                });
            }
            Self::SetClaim { name, value } => {
                edit_object(token, Segment::Payload, |map| {
                    map.insert(name.name().to_owned(), value.to_value(f, 0));
                });
            }
            Self::RemoveClaim { name } => {
                edit_object(token, Segment::Payload, |map| {
                    map.remove(name.name());
                });
            }
            Self::Swap { a, b } => {
                let mut parts = split(token);
                let (a, b) = (a.index(), b.index());
                parts.resize(parts.len().max(a.max(b) + 1), Vec::new());
                parts.swap(a, b);
                *token = join(&parts);
            }
            Self::Sign { signer } => {
                let mut parts = split(token);
                parts.resize(parts.len().max(2), Vec::new());
                let input = join(&parts[..2]);
                let sig = match signer {
                    SignWith::Active => f.active.sign(&input).to_bytes().to_vec(),
                    SignWith::Retired => f.retired.sign(&input).to_bytes().to_vec(),
                    SignWith::Foreign => f.foreign.sign(&input).to_bytes().to_vec(),
                    SignWith::HmacWithPublicKey { raw: false } => {
                        hmac_sha256(f.active_x.as_bytes(), &input)
                    }
                    SignWith::HmacWithPublicKey { raw: true } => {
                        hmac_sha256(f.active.verifying_key().as_bytes(), &input)
                    }
                    SignWith::Unsigned => Vec::new(),
                    SignWith::Bytes(bytes) => bytes.clone(),
                };
                let mut signed = input;
                signed.push(b'.');
                signed.extend_from_slice(b64(sig).as_bytes());
                *token = signed;
            }
        }
    }
}

pub(crate) fn set_segment(token: &mut Vec<u8>, segment: Segment, text: Vec<u8>) {
    let mut parts = split(token);
    let i = segment.index();
    parts.resize(parts.len().max(i + 1), Vec::new());
    parts[i] = text;
    *token = join(&parts);
}

pub(crate) fn edit_object(
    token: &mut Vec<u8>,
    segment: Segment,
    edit: impl FnOnce(&mut Map<String, Value>),
) {
    let mut parts = split(token);
    let i = segment.index();
    parts.resize(parts.len().max(i + 1), Vec::new());
    let mut map = decoded_object(&parts[i]);
    edit(&mut map);
    parts[i] = encode_object(map);
    *token = join(&parts);
}
