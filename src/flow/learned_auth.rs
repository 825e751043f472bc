//! Which scheme each upstream wants, learned from its own `/v2/` challenge and believed for a
//! while: open, Basic, or a token service whose realm is on the registry's own domain.

use std::cell::RefCell;

use crate::challenge::{Challenge, Scheme};
use crate::errors::{ErrorCode, RegistryError};
use crate::fetch_url::FetchUrl;
use crate::http::{Headers, UpstreamRequest};
use crate::platform::Platform;
use crate::upstream::Upstream;

/// How an upstream wants to be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UpstreamAuth {
    /// Answers without credentials.
    Open,
    /// `Basic`: credentials on every request.
    Basic,
    /// `Bearer`: a token service at `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// How long what an upstream's `/v2/` said is believed: an upstream may change its auth (token
/// service moved, token auth turned on or off) and an instance lives for hours.
const LEARNED_AUTH_SECS: u64 = 120;

/// Per-isolate memory of each upstream's auth scheme, so a token request costs one fetch.
/// Forgotten when it expires or the upstream contradicts it; the next request asks again.
#[derive(Default)]
pub struct AuthCache {
    entries: RefCell<Vec<LearnedAuth>>,
}

struct LearnedAuth {
    endpoint: String,
    auth: UpstreamAuth,
    learned_at: u64,
}

impl AuthCache {
    /// What is remembered and still fresh, without asking.
    pub(super) fn known(&self, upstream: &Upstream, now: u64) -> Option<UpstreamAuth> {
        self.entries
            .borrow()
            .iter()
            .find(|e| e.endpoint == upstream.endpoint)
            .filter(|e| now < e.learned_at + LEARNED_AUTH_SECS)
            .map(|e| e.auth.clone())
    }

    fn put(&self, upstream: &Upstream, auth: UpstreamAuth, now: u64) {
        self.forget(upstream);
        self.entries.borrow_mut().push(LearnedAuth {
            endpoint: upstream.endpoint.clone(),
            auth,
            learned_at: now,
        });
    }

    pub(super) fn forget(&self, upstream: &Upstream) {
        self.entries
            .borrow_mut()
            .retain(|e| e.endpoint != upstream.endpoint);
    }

    /// An upstream 401 whose challenge is not what was learned (another scheme or realm, or
    /// any challenge from a registry believed open) means the upstream changed: forget it.
    /// Nothing is learned from the 401 itself (it may come from a host a blob was redirected
    /// to); the next request asks the upstream's own `/v2/`.
    pub(super) fn contradicted_by(&self, upstream: &Upstream, challenge: Option<&str>) {
        let Some(known) = self.any(upstream) else {
            return;
        };
        let said = challenge
            .and_then(Challenge::parse)
            .and_then(|c| auth_from_challenge(&c, upstream));
        if said.as_ref() != Some(&known) {
            self.forget(upstream);
        }
    }

    /// Fresh or not.
    fn any(&self, upstream: &Upstream) -> Option<UpstreamAuth> {
        self.entries
            .borrow()
            .iter()
            .find(|e| e.endpoint == upstream.endpoint)
            .map(|e| e.auth.clone())
    }
}

/// What `upstream`'s own challenge says. Learnt only from its `/v2/` check, never from a 401 of
/// a host a request was redirected to: the realm receives users' passwords, so it must be on the
/// upstream's host or its registrable domain (as distribution's proxy requires).
pub(super) fn auth_from_challenge(c: &Challenge, upstream: &Upstream) -> Option<UpstreamAuth> {
    match c.scheme {
        Scheme::Basic => Some(UpstreamAuth::Basic),
        Scheme::Bearer => {
            // Judged on the parse fetch will make, and kept as its canonical text, so the
            // host checked is the host the password goes to.
            let realm = FetchUrl::parse(c.param("realm")?)?;
            if !crate::upstream::same_site(realm.host(), upstream.host()) {
                return None;
            }
            Some(UpstreamAuth::Bearer {
                realm: realm.as_str().to_owned(),
                service: c.param("service").map(str::to_owned),
            })
        }
        Scheme::Other(_) => None,
    }
}

pub(super) fn unavailable(message: String) -> RegistryError {
    RegistryError::new(ErrorCode::Unavailable, message)
}

/// The upstream's auth scheme: remembered, or learned now with one unauthenticated ping.
pub(super) async fn learned_auth<P: Platform>(
    p: &P,
    cache: &AuthCache,
    upstream: &Upstream,
    now: u64,
) -> Result<UpstreamAuth, RegistryError> {
    if let Some(a) = cache.known(upstream, now) {
        return Ok(a);
    }
    let resp = p
        .fetch(&UpstreamRequest::get(
            format!("{}/v2/", upstream.endpoint),
            Headers::new(),
        ))
        .await
        .map_err(|e| e.unreachable())?;
    let auth = match resp.status {
        200 => UpstreamAuth::Open,
        401 => resp
            .headers
            .get("www-authenticate")
            .and_then(Challenge::parse)
            .and_then(|c| auth_from_challenge(&c, upstream))
            .ok_or_else(|| {
                unavailable(
                    "upstream sent a 401 without a usable challenge (a token realm must be on \
                     the registry's own domain)"
                        .into(),
                )
            })?,
        s => return Err(unavailable(format!("upstream ping answered {s}"))),
    };
    cache.put(upstream, auth.clone(), now);
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_to_auth() {
        let up = Upstream::parse("https://registry.example.com").unwrap();
        let parse = |h: &str| auth_from_challenge(&Challenge::parse(h).unwrap(), &up);
        assert_eq!(
            parse(r#"Bearer realm="https://auth.example.com/token",service="reg""#),
            Some(UpstreamAuth::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("reg".into())
            })
        );
        assert_eq!(parse(r#"Bearer service="reg""#), None);
        assert_eq!(parse(r#"Bearer realm="file:///etc/passwd""#), None);
        // A realm elsewhere would receive users' passwords.
        assert_eq!(
            parse(r#"Bearer realm="https://evil.example.net/token""#),
            None
        );
        assert_eq!(
            parse(r#"Bearer realm="https://registry.example.com@evil.com/t""#),
            None
        );
        // Where a naive split and WHATWG disagree on where the host ends, WHATWG (what fetch
        // does) decides: each of these goes to evil.com.
        for realm in [
            r"https://evil.com\@registry.example.com/token",
            "https://evil.com?@registry.example.com/token",
            "https://evil.com#@registry.example.com/token",
            "https:evil.com/token",
            r"https:\\evil.com/token",
        ] {
            assert_eq!(parse(&format!("Bearer realm=\"{realm}\"")), None, "{realm}");
        }
        // What is kept is what fetch will ask: canonical, the same host.
        assert_eq!(
            parse(r#"Bearer realm="HTTPS://Auth.Example.com:443/a/../token""#),
            Some(UpstreamAuth::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: None
            })
        );
        let local = Upstream::parse("http://127.0.0.1:5000").unwrap();
        for (realm, ok) in [
            ("http://127.1:5001/token", true),
            ("http://2130706433:5001/token", true),
            ("http://127.0.0.2:5001/token", false),
            ("http://0x7f.0.0.2:5001/token", false),
            ("http://127.0.0.2:5001\\@127.0.0.1:5001/token", false),
        ] {
            let c = Challenge::parse(&format!("Bearer realm=\"{realm}\"")).unwrap();
            assert_eq!(auth_from_challenge(&c, &local).is_some(), ok, "{realm}");
        }
        assert_eq!(parse("Basic realm=x"), Some(UpstreamAuth::Basic));
    }
}
