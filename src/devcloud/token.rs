//! Tokens and secrets.
//!
//! A token carries its own claims (user, project, methods, expiry, audit
//! id) signed with HMAC-SHA256, like Keystone's Fernet tokens: validating
//! one on every request needs no lookup, and tokens survive a restart
//! because the key is in the data file. Revocation is a set of audit ids.
//!
//! Passwords and application-credential secrets are stored salted and
//! hashed (SHA-256; a development cloud has no need for bcrypt's cost,
//! and tokens are meant to be cheap here).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub u: String,
    /// Project id, when the token is project-scoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// Authentication methods.
    pub m: Vec<String>,
    /// Issued at, Unix milliseconds.
    pub i: u64,
    /// Expires at, Unix milliseconds.
    pub e: u64,
    /// Audit id.
    pub a: String,
    /// Application credential id, when it authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<String>,
}

fn mac(key: &str, payload: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
    m.update(payload.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The token text for `claims`.
pub fn sign(key: &str, claims: &Claims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &payload));
    format!("{payload}.{signature}")
}

/// The claims of a token whose signature is good; `None` otherwise.
/// Expiry and revocation are the caller's to check.
pub fn verify(key: &str, token: &str) -> Option<Claims> {
    let (payload, signature) = token.split_once('.')?;
    let given = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).ok()?;
    m.update(payload.as_bytes());
    // Constant-time comparison.
    m.verify_slice(&given).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// A random hex string of `bytes` bytes.
pub fn random_hex(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(bytes * 2);
    out
}

/// `salt$hex(sha256(salt || secret))`.
pub fn hash_secret(secret: &str) -> String {
    let salt = random_hex(16);
    format!("{salt}${}", hex_digest(&salt, secret))
}

fn hex_digest(salt: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `secret` matches a stored hash, compared in constant time.
pub fn check_secret(stored: &str, secret: &str) -> bool {
    let Some((salt, digest)) = stored.split_once('$') else {
        return false;
    };
    let computed = hex_digest(salt, secret);
    computed.len() == digest.len()
        && computed
            .bytes()
            .zip(digest.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            u: "user".into(),
            p: Some("proj".into()),
            m: vec!["password".into()],
            i: 1,
            e: 2,
            a: "audit".into(),
            c: None,
        }
    }

    #[test]
    fn a_signed_token_verifies_only_with_its_key_and_unchanged() {
        let t = sign("key", &claims());
        assert_eq!(verify("key", &t), Some(claims()));
        assert_eq!(verify("other", &t), None);
        let (payload, sig) = t.split_once('.').unwrap();
        let forged = sign(
            "key",
            &Claims {
                u: "admin".into(),
                ..claims()
            },
        );
        let (forged_payload, _) = forged.split_once('.').unwrap();
        assert_eq!(verify("key", &format!("{forged_payload}.{sig}")), None);
        assert_eq!(verify("key", payload), None);
        assert_eq!(verify("key", "garbage"), None);
    }

    #[test]
    fn secrets_are_salted_and_checked() {
        let h1 = hash_secret("pw");
        let h2 = hash_secret("pw");
        assert_ne!(h1, h2);
        assert!(check_secret(&h1, "pw"));
        assert!(!check_secret(&h1, "pW"));
        assert!(!check_secret("nonsense", "pw"));
    }
}
