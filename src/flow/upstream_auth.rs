//! Talking to upstream token services: which scheme an upstream wants (learned from its own
//! challenge), fetching a token from its realm, and caching the tokens the proxy itself holds
//! (anonymous or the operator's account) per (registry, scope, account) until shortly before
//! they expire, so a pull does not cost a token request per layer.

use std::cell::RefCell;

use crate::challenge::{Challenge, Scheme};
use crate::config::Credentials;
use crate::credentials::basic_header;
use crate::errors::{ErrorCode, RegistryError};
use crate::fetch_url::FetchUrl;
use crate::http::{bearer, Headers, UpstreamRequest};
use crate::platform::Platform;
use crate::token_answer::{parse_token_answer, UpstreamToken};
use crate::upstream::Upstream;
use crate::url::with_query;

/// What the isolate remembers between requests.
#[derive(Default)]
pub struct State {
    pub auth: AuthCache,
    pub tokens: TokenCache,
    pub accounts: super::accounts::AccountRests,
    pub observed: super::observed::Observed,
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

fn unavailable(message: String) -> RegistryError {
    RegistryError::new(ErrorCode::Unavailable, message)
}

/// The upstream's auth scheme: remembered, or learned now with one unauthenticated ping.
pub(super) async fn learned_auth<P: Platform>(
    p: &P,
    state: &State,
    upstream: &Upstream,
    now: u64,
) -> Result<UpstreamAuth, RegistryError> {
    if let Some(a) = state.auth.known(upstream, now) {
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
    state.auth.put(upstream, auth.clone(), now);
    Ok(auth)
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

/// A token service that fails (unreachable, 404, not a token) or refuses an anonymous request
/// may have moved or gone: forget what `/v2/` said, so the next request asks again. A refused
/// password or a rate limit says nothing about the upstream's auth.
pub(super) fn forget_if_moved(
    state: &State,
    upstream: &Upstream,
    result: &Result<UpstreamToken, TokenRefusal>,
    anonymous: bool,
) {
    let moved = match result {
        Ok(_) => false,
        Err(TokenRefusal::Refused) => anonymous,
        Err(TokenRefusal::Failed(e)) => e.code != ErrorCode::TooManyRequests,
    };
    if moved {
        state.auth.forget(upstream);
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
    let (realm, service) = match learned_auth(p, state, upstream, now).await? {
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
    let fetched = fetch_token(
        p,
        &realm,
        service.as_deref(),
        &scopes,
        user,
        basic.as_deref(),
    )
    .await;
    forget_if_moved(state, upstream, &fetched, basic.is_none());
    match fetched {
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
