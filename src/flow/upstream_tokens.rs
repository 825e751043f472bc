//! Upstream token services: asking a realm for a token, and the tokens the proxy holds for
//! itself (anonymous or the operator's accounts) per (registry, scope, account) until shortly
//! before they expire, so a pull does not cost a token request per layer.

use std::cell::RefCell;

use super::learned_auth::{unavailable, AuthCache};
use crate::errors::{ErrorCode, RegistryError};
use crate::http::{Headers, UpstreamRequest};
use crate::platform::Platform;
use crate::token_answer::{parse_token_answer, UpstreamToken};
use crate::upstream::Upstream;
use crate::url::with_query;

/// Bound on bodies the proxy reads itself: a token answer or a token form.
pub(super) const SMALL_BODY_LIMIT: usize = 64 * 1024;
/// Cached upstream tokens are dropped this long before they expire.
pub(super) const EXPIRY_MARGIN_SECS: u64 = 30;
/// Lifetime assumed when a token answer gives none (the distribution spec's default).
pub(super) const DEFAULT_TOKEN_SECS: u64 = 60;
const TOKEN_CACHE_ENTRIES: usize = 128;

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

pub(super) struct CachedToken {
    pub(super) endpoint: String,
    pub(super) scope: String,
    /// The account's user name (never its password), or None when anonymous.
    pub(super) account: Option<String>,
    pub(super) token: String,
    pub(super) expires_at: u64,
}

/// Upstream tokens the proxy holds for itself (anonymous or the operator's account).
#[derive(Default)]
pub struct TokenCache {
    entries: RefCell<Vec<CachedToken>>,
}

impl TokenCache {
    pub(super) fn get(
        &self,
        endpoint: &str,
        scope: &str,
        account: Option<&str>,
        now: u64,
    ) -> Option<String> {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|e| e.expires_at > now);
        entries
            .iter()
            .find(|e| e.endpoint == endpoint && e.scope == scope && e.account.as_deref() == account)
            .map(|e| e.token.clone())
    }

    pub(super) fn put(&self, entry: CachedToken) {
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
    learned: &AuthCache,
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
        learned.forget(upstream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
