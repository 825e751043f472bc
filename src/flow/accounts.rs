//! The operator's accounts taking turns for the proxy's own reads (`UPSTREAM_USERNAME`,
//! `UPSTREAM_ACCOUNTS`): Docker Hub limits each account's pulls per window, so one that gets a
//! 429 rests until its window ends (`Retry-After`, else `ratelimit-reset`, else an hour) and the
//! same read goes out with the next. When every account rests, the client gets the last 429
//! with the earliest end as its `Retry-After`. Per isolate, like all the proxy's memory.

use super::context::Flow;
use super::learned_auth::{learned_auth, unavailable, UpstreamAuth};
use super::send::{send, Outgoing, Sent};
use super::state::State;
use super::upstream_tokens::{
    fetch_token, forget_if_moved, CachedToken, TokenRefusal, DEFAULT_TOKEN_SECS, EXPIRY_MARGIN_SECS,
};
use crate::config::Credentials;
use crate::credentials::basic_header;
use crate::errors::{ErrorCode, RegistryError};
use crate::http::{bearer, Headers};
use crate::platform::Platform;
use crate::upstream::Upstream;

/// Rest of an account whose 429 says nothing of its window.
const DEFAULT_REST_SECS: u64 = 3600;
/// Longest rest believed.
const MAX_REST_SECS: u64 = 24 * 3600;

/// When an account's window ends, from the 429 that said it is spent.
fn rest_until(headers: &Headers, now: u64) -> u64 {
    let secs = |v: &str| v.trim().parse::<u64>().ok();
    let rest = headers
        .get("retry-after")
        .and_then(secs)
        .or_else(|| {
            // Seconds, or a Unix time (as some registries send it).
            headers
                .get("ratelimit-reset")
                .and_then(secs)
                .map(|v| if v > now { v - now } else { v })
        })
        .unwrap_or(DEFAULT_REST_SECS);
    now + rest.clamp(1, MAX_REST_SECS)
}

impl<P: Platform> Flow<'_, P> {
    /// `out` sent with the proxy's own identity: anonymous, or the operator's accounts in turn.
    pub(crate) async fn send_as_proxy(
        &self,
        out: &Outgoing,
    ) -> Result<Sent<P::Body>, RegistryError> {
        let (p, state, ctx) = (self.p, self.state, &self.ctx);

        let scope = out.scope.as_deref();
        let accounts = ctx.config.operator_accounts(ctx.upstream);
        if accounts.is_empty() {
            let auth = proxy_authorization(p, state, ctx.upstream, scope, None, ctx.now).await?;
            return send(p, out, auth.as_deref()).await;
        }
        let endpoint = ctx.upstream.endpoint.as_str();
        let first = state.accounts.next_turn(accounts.len());
        let mut refused = None;
        for k in 0..accounts.len() {
            let account = &accounts[(first + k) % accounts.len()];
            if state
                .accounts
                .until(endpoint, &account.user, ctx.now)
                .is_some()
            {
                continue;
            }
            let auth =
                match proxy_authorization(p, state, ctx.upstream, scope, Some(account), ctx.now)
                    .await
                {
                    Ok(auth) => auth,
                    // The token service itself may limit an account: it rests as after a 429 on a read.
                    Err(e) if e.code == ErrorCode::TooManyRequests => {
                        let mut h = Headers::new();
                        if let Some(ra) = &e.retry_after {
                            h.set("retry-after", ra.as_str());
                        }
                        state
                            .accounts
                            .rest(endpoint, &account.user, rest_until(&h, ctx.now));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
            match send(p, out, auth.as_deref()).await? {
                Sent::Response(r) if r.status == 429 => {
                    let until = rest_until(&r.headers, ctx.now);
                    state.accounts.rest(endpoint, &account.user, until);
                    refused = Some(r);
                }
                sent => return Ok(sent),
            }
        }
        let earliest = accounts
            .iter()
            .filter_map(|a| state.accounts.until(endpoint, &a.user, ctx.now))
            .min()
            .unwrap_or(ctx.now + DEFAULT_REST_SECS);
        let retry_after = (earliest - ctx.now).max(1).to_string();
        match refused {
            // The upstream's own 429 (docker shows its message), with the earliest end.
            Some(mut r) => {
                r.headers.set("retry-after", retry_after);
                Ok(Sent::Response(r))
            }
            None => {
                let mut e = RegistryError::new(
                    ErrorCode::TooManyRequests,
                    "every upstream account of this mirror has reached its pull limit",
                );
                e.retry_after = Some(retry_after);
                Err(e)
            }
        }
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
    let (realm, service) = match learned_auth(p, &state.auth, upstream, now).await? {
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
    forget_if_moved(&state.auth, upstream, &fetched, basic.is_none());
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
    fn rests_until_the_window_ends() {
        let h = |pairs: &[(&str, &str)]| pairs.iter().copied().collect::<Headers>();
        let now = 1_000_000;
        assert_eq!(rest_until(&h(&[("retry-after", "60")]), now), now + 60);
        assert_eq!(rest_until(&h(&[("ratelimit-reset", "90")]), now), now + 90);
        assert_eq!(
            rest_until(&h(&[("ratelimit-reset", "1000300")]), now),
            now + 300
        );
        assert_eq!(rest_until(&h(&[]), now), now + 3600);
        assert_eq!(
            rest_until(&h(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]), now),
            now + 3600
        );
        assert_eq!(
            rest_until(&h(&[("retry-after", "99999999999")]), now),
            now + 24 * 3600
        );
        assert_eq!(rest_until(&h(&[("retry-after", "0")]), now), now + 1);
    }
}
