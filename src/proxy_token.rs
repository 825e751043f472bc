//! Proxy-signed tokens: what the proxy's token endpoint issues when users are restricted or the
//! operator's upstream account is used, and what every `/v2/` request must then carry.
//!
//! Format: `erp1.<payload>.<mac>`, both parts base64url without padding; `mac` is
//! HMAC-SHA256(TOKEN_SECRET, "erp1." + payload). There is no algorithm field to negotiate and
//! nothing in the token is trusted before the MAC is checked in constant time. The payload is
//! JSON: `sub` (user, absent when anonymous), `reg` (registry name), `acc` (repositories granted
//! `pull`), `iat`/`exp` (unix seconds) and `up` (the user's own upstream token, when there is one).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PREFIX: &str = "erp1.";
/// Longer tokens are refused unread (an upstream token inside is a few KB at most).
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Clock skew tolerated between isolates for `iat`.
const SKEW_SECS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub user: Option<String>,
    pub registry: String,
    pub repositories: Vec<String>,
    pub issued_at: u64,
    pub expires_at: u64,
    pub upstream_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
    NotYetValid,
}

impl TokenError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            TokenError::Malformed => "token is not a token of this mirror",
            TokenError::BadSignature => "token signature is invalid",
            TokenError::Expired => "token has expired",
            TokenError::NotYetValid => "token is not valid yet",
        }
    }
}

fn mac(secret: &[u8], signed_part: &str) -> Hmac<Sha256> {
    let mut m =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(signed_part.as_bytes());
    m
}

/// The payload on the wire: short names, absent optional fields.
#[derive(serde::Serialize)]
struct Payload<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    reg: &'a str,
    acc: &'a [String],
    iat: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    up: Option<&'a str>,
}

pub fn sign(claims: &Claims, secret: &[u8]) -> String {
    let payload = Payload {
        sub: claims.user.as_deref(),
        reg: &claims.registry,
        acc: &claims.repositories,
        iat: claims.issued_at,
        exp: claims.expires_at,
        up: claims.upstream_token.as_deref(),
    };
    let json = serde_json::to_string(&payload).expect("strings and numbers serialize");
    let body = URL_SAFE_NO_PAD.encode(json);
    let signed_part = format!("{PREFIX}{body}");
    let tag = URL_SAFE_NO_PAD.encode(mac(secret, &signed_part).finalize().into_bytes());
    format!("{signed_part}.{tag}")
}

pub fn verify(token: &str, secret: &[u8], now: u64) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let rest = token.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
    let (body, tag) = rest.split_once('.').ok_or(TokenError::Malformed)?;
    if tag.contains('.') {
        return Err(TokenError::Malformed);
    }
    let signed_part = &token[..PREFIX.len() + body.len()];
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| TokenError::Malformed)?;
    mac(secret, signed_part)
        .verify_slice(&tag)
        .map_err(|_| TokenError::BadSignature)?;
    // Only a token this proxy signed gets here.
    let json = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed)?;
    // Read back through serde_json::Value (see token_answer::parse_token_answer: a derived
    // Deserialize costs 12 % of the gzipped wasm, measured).
    let v: serde_json::Value = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    let str_field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let num = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_u64())
            .ok_or(TokenError::Malformed)
    };
    let claims = Claims {
        user: str_field("sub"),
        registry: str_field("reg").ok_or(TokenError::Malformed)?,
        repositories: v
            .get("acc")
            .and_then(|a| a.as_array())
            .ok_or(TokenError::Malformed)?
            .iter()
            .map(|r| r.as_str().map(str::to_owned).ok_or(TokenError::Malformed))
            .collect::<Result<_, _>>()?,
        issued_at: num("iat")?,
        expires_at: num("exp")?,
        upstream_token: str_field("up"),
    };
    if claims.expires_at <= now {
        return Err(TokenError::Expired);
    }
    if claims.issued_at > now + SKEW_SECS {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims() -> Claims {
        Claims {
            user: Some("alice".into()),
            registry: "docker.io".into(),
            repositories: vec!["library/tiny".into()],
            issued_at: 1000,
            expires_at: 1300,
            upstream_token: Some("upstream.jwt.token".into()),
        }
    }

    #[test]
    fn round_trips() {
        let t = sign(&claims(), SECRET);
        assert!(t.starts_with("erp1."));
        assert_eq!(verify(&t, SECRET, 1100).unwrap(), claims());
        let anon = Claims {
            user: None,
            upstream_token: None,
            ..claims()
        };
        assert_eq!(verify(&sign(&anon, SECRET), SECRET, 1100).unwrap(), anon);
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let t = sign(&claims(), SECRET);
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let Ok(flipped) = String::from_utf8(b) else {
                continue;
            };
            if flipped == t {
                continue;
            }
            assert!(verify(&flipped, SECRET, 1100).is_err(), "byte {i}");
        }
    }

    #[test]
    fn wrong_secret_time_and_format_are_refused() {
        let t = sign(&claims(), SECRET);
        assert_eq!(
            verify(&t, b"another secret, same length....!", 1100),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(&t, SECRET, 1300), Err(TokenError::Expired));
        assert_eq!(verify(&t, SECRET, 100), Err(TokenError::NotYetValid));
        for bad in [
            "",
            "erp1.",
            "erp1..",
            "erp1.e30.",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", // alg=none JWT
            "erp2.e30.AAAA",
            &format!("{t}.extra"),
            &"erp1.".repeat(5000),
        ] {
            assert!(verify(bad, SECRET, 1100).is_err(), "{bad:.40}");
        }
    }

    #[test]
    fn a_correctly_signed_but_incomplete_payload_is_malformed() {
        for payload in [
            r#"{}"#,
            r#"{"reg":"docker.io","acc":"x","iat":1,"exp":9999}"#,
            "not json",
        ] {
            let body = URL_SAFE_NO_PAD.encode(payload);
            let signed = format!("{PREFIX}{body}");
            let tag = URL_SAFE_NO_PAD.encode(mac(SECRET, &signed).finalize().into_bytes());
            assert_eq!(
                verify(&format!("{signed}.{tag}"), SECRET, 1100),
                Err(TokenError::Malformed)
            );
        }
    }
}
