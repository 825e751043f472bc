//! Talking to upstream token services: which scheme an upstream wants (learned from its own
//! challenge), fetching a token from its realm, and caching the tokens the proxy itself holds
//! (anonymous or the operator's account) per (registry, scope, account) until shortly before
//! they expire, so a pull does not cost a token request per layer.

use std::cell::RefCell;

use base64::Engine;

use crate::challenge::{Challenge, Scheme};
use crate::config::Credentials;
use crate::errors::{ErrorCode, RegistryError};
use crate::fetch_url::FetchUrl;
use crate::http::{bearer, Headers, UpstreamRequest};
use crate::platform::Platform;
use crate::upstream::Upstream;
use crate::url::with_query;

/// What the isolate remembers between requests.
#[derive(Default)]
pub struct State {
    pub auth: AuthCache,
    pub tokens: TokenCache,
}

/// Bound on bodies the proxy reads itself: a token answer or a token form.
pub(super) const SMALL_BODY_LIMIT: usize = 64 * 1024;
/// Cached upstream tokens are dropped this long before they expire.
const EXPIRY_MARGIN_SECS: u64 = 30;
/// Lifetime assumed when a token answer gives none (the distribution spec's default).
pub(super) const DEFAULT_TOKEN_SECS: u64 = 60;
const TOKEN_CACHE_ENTRIES: usize = 128;

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

/// Per-isolate memory of each upstream's auth scheme, so a token request costs one fetch.
#[derive(Default)]
pub struct AuthCache {
    entries: RefCell<Vec<(String, UpstreamAuth)>>,
}

impl AuthCache {
    fn get(&self, upstream: &Upstream) -> Option<UpstreamAuth> {
        self.entries
            .borrow()
            .iter()
            .find(|(e, _)| *e == upstream.endpoint)
            .map(|(_, a)| a.clone())
    }

    /// What is remembered, without asking.
    pub(super) fn known(&self, upstream: &Upstream) -> Option<UpstreamAuth> {
        self.get(upstream)
    }

    fn put(&self, upstream: &Upstream, auth: UpstreamAuth) {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|(e, _)| *e != upstream.endpoint);
        entries.push((upstream.endpoint.clone(), auth));
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

fn unavailable(message: String) -> RegistryError {
    RegistryError::new(ErrorCode::Unavailable, message)
}

/// The upstream's auth scheme: remembered, or learned now with one unauthenticated ping.
pub(super) async fn learned_auth<P: Platform>(
    p: &P,
    state: &State,
    upstream: &Upstream,
) -> Result<UpstreamAuth, RegistryError> {
    if let Some(a) = state.auth.get(upstream) {
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
    state.auth.put(upstream, auth.clone());
    Ok(auth)
}

pub(super) fn basic_header(c: &Credentials) -> String {
    let (user, pass) = (&c.user, &c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// A token from an upstream token service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UpstreamToken {
    pub token: String,
    pub expires_in: Option<u64>,
    /// The answer's own text when a client may have it as it is: it holds what the token
    /// endpoint writes (`token` and `access_token` alike, a lifetime within bounds), at most an
    /// RFC 3339 `issued_at` besides, and nothing else (no refresh token). Handing it on saves
    /// writing the ~1 KB token out again.
    pub answer: Option<String>,
}

/// What asking an upstream token service can end in, besides a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenRefusal {
    /// 401/403: the credentials (or anonymity) were refused.
    Refused,
    /// Anything else, as the error to show the client (429 kept as 429).
    Failed(RegistryError),
}

/// Asks `realm` for a token for `scopes`, with `basic` credentials if given.
pub(super) async fn fetch_token<P: Platform>(
    p: &P,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    account: Option<&str>,
    basic: Option<&str>,
) -> Result<UpstreamToken, TokenRefusal> {
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = service {
        params.push(("service", s));
    }
    for s in scopes {
        params.push(("scope", s));
    }
    if let (Some(a), Some(_)) = (account, basic) {
        params.push(("account", a));
    }
    let mut headers = Headers::new();
    if let Some(b) = basic {
        headers.set("authorization", b);
    }
    let resp = p
        .fetch(&UpstreamRequest::get(with_query(realm, &params), headers))
        .await
        .map_err(|e| {
            TokenRefusal::Failed(unavailable(format!(
                "upstream token service unreachable: {}",
                e.0
            )))
        })?;
    match resp.status {
        200 => {
            let text = p
                .read_text(resp.body, SMALL_BODY_LIMIT)
                .await
                .map_err(|e| {
                    TokenRefusal::Failed(unavailable(format!(
                        "upstream token answer unreadable: {}",
                        e.0
                    )))
                })?;
            parse_token_answer(text).map_err(TokenRefusal::Failed)
        }
        401 | 403 => Err(TokenRefusal::Refused),
        429 => {
            let mut e = RegistryError::new(
                ErrorCode::TooManyRequests,
                "upstream token service rate limit reached",
            );
            if let Some(ra) = resp.headers.get("retry-after") {
                e.retry_after = Some(ra.to_owned());
            }
            Err(TokenRefusal::Failed(e))
        }
        s => Err(TokenRefusal::Failed(unavailable(format!(
            "upstream token service answered {s}"
        )))),
    }
}

/// Longest upstream token lifetime believed: an absurd `expires_in` must not overflow expiry
/// arithmetic or keep a token cached for ever.
pub(super) const MAX_UPSTREAM_TOKEN_SECS: u64 = 24 * 3600;

/// `{"token"|"access_token": "...", "expires_in": n}`; everything else is ignored. Read through
/// serde_json::Value: a derived Deserialize here and for the proxy token and JWT `sub` cost
/// +12 % of the gzipped wasm (measured); answers are written with derived Serialize structs.
pub(super) fn parse_token_answer(json: String) -> Result<UpstreamToken, RegistryError> {
    let bad = || unavailable("upstream token answer is not a token".into());
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|_| bad())?;
    let token = v
        .get("token")
        .or_else(|| v.get("access_token"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(bad)?;
    let expires_in = v.get("expires_in").and_then(|e| e.as_u64());
    // Counted rather than iterated: walking the map measured +0.6 KB of wasm.
    let field = |k| v.get(k);
    // The field the token was read from is the token itself: no need to compare it.
    let is_token = |k| {
        field(k)
            .and_then(|t| t.as_str())
            .is_some_and(|t| std::ptr::eq(t, token) || same_text(t, token))
    };
    let lifetime_ok = field("expires_in")
        .is_none_or(|_| expires_in.is_some_and(|e| e <= MAX_UPSTREAM_TOKEN_SECS));
    let issued_ok = field("issued_at").is_none_or(|i| i.as_str().is_some_and(looks_like_rfc3339));
    let fields = v.as_object().map_or(0, |o| o.len());
    let as_is = is_token("token")
        && is_token("access_token")
        && lifetime_ok
        && issued_ok
        && fields
            == 2 + usize::from(field("expires_in").is_some())
                + usize::from(field("issued_at").is_some());
    Ok(UpstreamToken {
        token: token.to_owned(),
        expires_in: expires_in.map(|e| e.min(MAX_UPSTREAM_TOKEN_SECS)),
        answer: as_is.then_some(json),
    })
}

/// Equal texts, compared 8 bytes at a time: `==` ends in a byte-at-a-time `memcmp` on MVP wasm
/// (about 20 instructions a byte), and Docker Hub's tokens are ~1.4 KB; comparing a token
/// answer's two copies that way was 57 k instructions per token request (bench/instructions.mjs).
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or_default());
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    x.by_ref().zip(y.by_ref()).all(|(p, q)| word(p) == word(q)) && x.remainder() == y.remainder()
}

/// `2026-11-23T21:00:37.939Z` and the like: docker fails the whole token answer on an
/// `issued_at` it cannot parse as a time, so only that shape is handed on.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    (20..=35).contains(&b.len())
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[10] == b'T'
        && b.iter()
            .all(|c| c.is_ascii_digit() || b"-:.TZ+".contains(c))
}

struct CachedToken {
    endpoint: String,
    scope: String,
    /// The account's user name (never its password), or None when anonymous.
    account: Option<String>,
    token: String,
    expires_at: u64,
}

/// Upstream tokens the proxy holds for itself (anonymous or the operator's account).
#[derive(Default)]
pub struct TokenCache {
    entries: RefCell<Vec<CachedToken>>,
}

impl TokenCache {
    fn get(&self, endpoint: &str, scope: &str, account: Option<&str>, now: u64) -> Option<String> {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|e| e.expires_at > now);
        entries
            .iter()
            .find(|e| e.endpoint == endpoint && e.scope == scope && e.account.as_deref() == account)
            .map(|e| e.token.clone())
    }

    fn put(&self, entry: CachedToken) {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|e| {
            !(e.endpoint == entry.endpoint && e.scope == entry.scope && e.account == entry.account)
        });
        if entries.len() >= TOKEN_CACHE_ENTRIES {
            entries.remove(0);
        }
        entries.push(entry);
    }

    /// Drops every token for `endpoint` (the upstream refused one).
    pub fn forget(&self, endpoint: &str) {
        self.entries.borrow_mut().retain(|e| e.endpoint != endpoint);
    }

    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `Authorization` the proxy itself sends upstream for `scope`: none for open registries,
/// the operator's Basic credentials for Basic registries, a (cached) Bearer token otherwise.
pub(super) async fn proxy_authorization<P: Platform>(
    p: &P,
    state: &State,
    upstream: &Upstream,
    scope: Option<&str>,
    account: Option<&Credentials>,
    now: u64,
) -> Result<Option<String>, RegistryError> {
    let (realm, service) = match learned_auth(p, state, upstream).await? {
        UpstreamAuth::Open => return Ok(None),
        UpstreamAuth::Basic => return Ok(account.map(basic_header)),
        UpstreamAuth::Bearer { realm, service } => (realm, service),
    };
    let scope_key = scope.unwrap_or("");
    let user = account.map(|c| c.user.as_str());
    if let Some(t) = state.tokens.get(&upstream.endpoint, scope_key, user, now) {
        return Ok(Some(bearer(&t)));
    }
    let basic = account.map(basic_header);
    let scopes: Vec<String> = scope.map(|s| vec![s.to_owned()]).unwrap_or_default();
    match fetch_token(
        p,
        &realm,
        service.as_deref(),
        &scopes,
        user,
        basic.as_deref(),
    )
    .await
    {
        Ok(t) => {
            let lifetime = t.expires_in.unwrap_or(DEFAULT_TOKEN_SECS);
            if lifetime > EXPIRY_MARGIN_SECS {
                state.tokens.put(CachedToken {
                    endpoint: upstream.endpoint.clone(),
                    scope: scope_key.to_owned(),
                    account: user.map(str::to_owned),
                    token: t.token.clone(),
                    expires_at: now + lifetime - EXPIRY_MARGIN_SECS,
                });
            }
            Ok(Some(bearer(&t.token)))
        }
        Err(TokenRefusal::Refused) => Err(unavailable(if account.is_some() {
            "the upstream refused the mirror's account (check UPSTREAM_USERNAME/UPSTREAM_PASSWORD)"
                .into()
        } else {
            "the upstream token service refused anonymous access".into()
        })),
        Err(TokenRefusal::Failed(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers() {
        let t = parse_token_answer(r#"{"token":"T","expires_in":300,"refresh_token":"R"}"#.into())
            .unwrap();
        assert_eq!(
            t,
            UpstreamToken {
                token: "T".into(),
                expires_in: Some(300),
                answer: None,
            }
        );
        assert_eq!(
            parse_token_answer(r#"{"access_token":"A"}"#.into())
                .unwrap()
                .token,
            "A"
        );
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"token":""}"#,
            r#"{"token":5}"#,
            "<html>",
        ] {
            assert!(parse_token_answer(bad.into()).is_err(), "{bad}");
        }
    }

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

    #[test]
    fn absurd_token_lifetimes_are_clamped() {
        let t = parse_token_answer(
            r#"{"token":"T","access_token":"T","expires_in":18446744073709551615}"#.into(),
        )
        .unwrap();
        assert_eq!(t.expires_in, Some(MAX_UPSTREAM_TOKEN_SECS));
        assert_eq!(
            t.answer, None,
            "handed on, it would keep the absurd lifetime"
        );
    }

    #[test]
    fn token_answers_handed_on_only_when_nothing_in_them_changes() {
        let hub = r#"{"token":"T","access_token":"T","expires_in":300,"issued_at":"2026-11-23T21:00:37.939Z"}"#;
        assert_eq!(
            parse_token_answer(hub.into()).unwrap().answer.as_deref(),
            Some(hub)
        );
        let day = MAX_UPSTREAM_TOKEN_SECS;
        for kept in [
            r#"{"access_token":"T","token":"T"}"#.to_owned(),
            format!(r#"{{"token":"T","access_token":"T","expires_in":{day}}}"#),
            r#"{"token":"T","access_token":"T","issued_at":"2026-11-23T21:00:37+08:00"}"#.into(),
        ] {
            let t = parse_token_answer(kept.clone()).unwrap();
            assert_eq!(t.answer.as_deref(), Some(kept.as_str()));
        }
        for rebuilt in [
            r#"{"token":"T"}"#.to_owned(),
            r#"{"access_token":"T"}"#.into(),
            r#"{"token":"T","access_token":"U"}"#.into(),
            r#"{"token":"T","access_token":"T","refresh_token":"R"}"#.into(),
            r#"{"token":"T","access_token":"T","expires_in":"300"}"#.into(),
            r#"{"token":"T","access_token":"T","expires_in":-1}"#.into(),
            format!(
                r#"{{"token":"T","access_token":"T","expires_in":{}}}"#,
                day + 1
            ),
            r#"{"token":"T","access_token":"T","issued_at":"yesterday"}"#.into(),
            r#"{"token":"T","access_token":"T","issued_at":"2026-11-23T21:00:37Z<script>"}"#.into(),
            r#"{"token":"T","access_token":"T","issued_at":1700000000}"#.into(),
        ] {
            let t = parse_token_answer(rebuilt.clone()).unwrap();
            assert_eq!((t.token.as_str(), t.answer), ("T", None), "{rebuilt}");
        }
    }

    #[test]
    fn long_tokens_compared_to_the_last_byte() {
        // Docker Hub's tokens are ~1.4 KB: compared a word at a time, and a tail of 0-7 bytes.
        for len in [1400, 1401, 1407, 1408] {
            let t: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            assert!(same_text(&t, &t.clone()));
            for at in [0, 7, 8, 700, len - 1] {
                let mut u = t.clone().into_bytes();
                u[at] = b'-';
                let u = String::from_utf8(u).unwrap();
                assert!(!same_text(&t, &u), "{len} {at}");
                let answer = format!(r#"{{"token":"{t}","access_token":"{u}"}}"#);
                assert_eq!(
                    parse_token_answer(answer).unwrap().answer,
                    None,
                    "{len} {at}"
                );
            }
            assert!(!same_text(&t, &t[..len - 1]));
            let same = format!(r#"{{"token":"{t}","access_token":"{t}"}}"#);
            assert_eq!(parse_token_answer(same.clone()).unwrap().answer, Some(same));
        }
    }

    #[test]
    fn basic_header_encodes() {
        let c = Credentials {
            user: "alice".into(),
            password: "pw".into(),
        };
        assert_eq!(basic_header(&c), "Basic YWxpY2U6cHc=");
    }

    #[test]
    fn cache_is_keyed_by_endpoint_scope_account_and_expires() {
        let c = TokenCache::default();
        let entry = |scope: &str, account: Option<&str>, exp| CachedToken {
            endpoint: "https://r".into(),
            scope: scope.into(),
            account: account.map(str::to_owned),
            token: format!("{scope}-{account:?}"),
            expires_at: exp,
        };
        c.put(entry("s1", None, 100));
        c.put(entry("s1", Some("op"), 100));
        assert_eq!(c.get("https://r", "s1", None, 50).unwrap(), "s1-None");
        assert_eq!(
            c.get("https://r", "s1", Some("op"), 50).unwrap(),
            "s1-Some(\"op\")"
        );
        assert!(c.get("https://r", "s2", None, 50).is_none());
        assert!(c.get("https://other", "s1", None, 50).is_none());
        assert!(c.get("https://r", "s1", None, 100).is_none());
        for i in 0..(TOKEN_CACHE_ENTRIES + 10) {
            c.put(entry(&format!("x{i}"), None, 1000));
        }
        assert!(c.len() <= TOKEN_CACHE_ENTRIES);
        c.forget("https://r");
        assert!(c.is_empty());
    }
}
