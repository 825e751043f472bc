//! Credentials in and out: a client's `Basic` header read, the proxy's written, and the subject
//! an upstream token names. Untrusted input (fuzz target `credentials`).

use base64::Engine;

use crate::config::Credentials;

/// `Basic <base64 of user:password>` for an upstream.
pub fn basic_header(c: &Credentials) -> String {
    let (user, pass) = (&c.user, &c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Whether an upstream token says it is `user`'s: a JWT whose `sub` is that name (any case).
/// Tokens that name no subject, or name it by id (Docker Hub), say nothing either way.
pub fn subject_is(token: &str, user: &str) -> bool {
    let sub = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|v| v.get("sub").and_then(|s| s.as_str()).map(str::to_owned));
    sub.is_some_and(|s| s.eq_ignore_ascii_case(user))
}

/// `Basic <base64 of user:password>` as a client sends it; None for anything else.
pub fn parse_basic(header: &str) -> Option<Credentials> {
    let (scheme, b64) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (user, password) = raw.split_once(':')?;
    Some(Credentials {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials() {
        let c = parse_basic("Basic YWxpY2U6cHc6d2l0aDpjb2xvbnM=").unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.as_str()),
            ("alice", "pw:with:colons")
        );
        assert!(parse_basic("basic YWxpY2U6cHc=").is_some());
        for bad in ["Bearer x", "Basic !!!", "Basic YWxpY2U=", "Basic", ""] {
            assert!(parse_basic(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn subjects() {
        let jwt = |payload: &str| {
            format!(
                "h.{}.s",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
            )
        };
        assert!(subject_is(&jwt(r#"{"sub":"alice"}"#), "Alice"));
        assert!(!subject_is(&jwt(r#"{"sub":"ALICE2"}"#), "alice"));
        assert!(!subject_is(&jwt(r#"{"sub":"5b6e-uuid"}"#), "alice"));
        assert!(!subject_is("opaque-token", "alice"));
    }

    #[test]
    fn basic_header_encodes() {
        let c = Credentials {
            user: "alice".into(),
            password: "pw".into(),
        };
        assert_eq!(basic_header(&c), "Basic YWxpY2U6cHc=");
    }
}
