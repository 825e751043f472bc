//! The proxy's token endpoint (`/token`, the realm of every challenge it sends).
//!
//! Clients never talk to the upstream's token service (auth.docker.io is unreachable from many
//! networks): they ask the proxy, which grants only whitelisted `pull` scopes, asks the
//! upstream's own token service (learned from its challenge) with the client's credentials, if
//! any, and hands back the token. GET with Basic auth (docker, skopeo) and the OAuth2 POST form
//! (containerd with credentials) are both accepted.

use std::cell::RefCell;

use base64::Engine;

use crate::challenge::Challenge;
use crate::errors::{ErrorCode, RegistryError};
use crate::flow::{Ctx, State};
use crate::http::{Headers, Request, Response, UpstreamRequest};
use crate::platform::Platform;
use crate::scope::{grant, split_scopes};
use crate::upstream::Upstream;
use crate::url::{parse_query, with_query};

/// Bound on bodies the proxy reads itself: a token answer or a token form.
pub const SMALL_BODY_LIMIT: usize = 64 * 1024;

/// How an upstream wants to be authenticated, learned from its own challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamAuth {
    /// Answers without credentials.
    Open,
    /// `Basic`: clients send their credentials straight through.
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

    fn put(&self, upstream: &Upstream, auth: UpstreamAuth) {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|(e, _)| *e != upstream.endpoint);
        entries.push((upstream.endpoint.clone(), auth));
    }

    /// Remembers what a 401 from `upstream` said.
    pub fn learn(&self, upstream: &Upstream, c: &Challenge) {
        if let Some(auth) = auth_from_challenge(c) {
            self.put(upstream, auth);
        }
    }
}

fn auth_from_challenge(c: &Challenge) -> Option<UpstreamAuth> {
    match c.scheme.as_str() {
        "basic" => Some(UpstreamAuth::Basic),
        "bearer" => {
            let realm = c.param("realm")?;
            if !(realm.starts_with("https://") || realm.starts_with("http://")) {
                return None;
            }
            Some(UpstreamAuth::Bearer {
                realm: realm.to_owned(),
                service: c.param("service").map(str::to_owned),
            })
        }
        _ => None,
    }
}

/// The upstream's auth scheme: remembered, or learned now with one unauthenticated ping.
async fn upstream_auth<P: Platform>(
    p: &P,
    state: &State,
    upstream: &Upstream,
) -> Result<UpstreamAuth, RegistryError> {
    if let Some(a) = state.auth.get(upstream) {
        return Ok(a);
    }
    let resp = p
        .fetch(UpstreamRequest {
            method: "GET".into(),
            url: format!("{}/v2/", upstream.endpoint),
            headers: Headers::new(),
            body: None,
        })
        .await
        .map_err(|e| unavailable(format!("upstream unreachable: {}", e.0)))?;
    let auth = match resp.status {
        200 => UpstreamAuth::Open,
        401 => resp
            .headers
            .get("www-authenticate")
            .and_then(Challenge::parse)
            .and_then(|c| auth_from_challenge(&c))
            .ok_or_else(|| unavailable("upstream sent a 401 without a usable challenge".into()))?,
        s => return Err(unavailable(format!("upstream ping answered {s}"))),
    };
    state.auth.put(upstream, auth.clone());
    Ok(auth)
}

fn unavailable(message: String) -> RegistryError {
    RegistryError::new(ErrorCode::Unavailable, message)
}

pub async fn issue<P: Platform>(
    p: &P,
    state: &State,
    ctx: &Ctx<'_>,
    req: Request<P::Body>,
    query: &[(String, String)],
) -> Result<Response<P::Body>, RegistryError> {
    let mut scope_values: Vec<String> = values(query, "scope");
    let mut account = values(query, "account").into_iter().next();
    let mut basic = req
        .headers
        .get("authorization")
        .filter(|a| a.len() > 6 && a[..6].eq_ignore_ascii_case("basic "))
        .map(str::to_owned);
    if req.method == "POST" {
        let form = match req.body {
            Some(b) => p
                .read_text(b, SMALL_BODY_LIMIT)
                .await
                .map_err(|_| bad_request("token form unreadable or too large"))?,
            None => String::new(),
        };
        let form = parse_query(&form);
        match values(&form, "grant_type").first().map(String::as_str) {
            Some("password") => {
                let user = values(&form, "username")
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let pass = values(&form, "password")
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                basic = Some(basic_header(&user, &pass));
                account = Some(user);
            }
            Some("refresh_token") => {
                return Err(RegistryError::unauthorized(
                    "this mirror issues no refresh tokens; log in again",
                ))
            }
            _ => return Err(bad_request("grant_type must be password")),
        }
        scope_values.extend(values(&form, "scope"));
    }

    let granted = grant(
        &split_scopes(scope_values.iter().map(String::as_str)),
        ctx.upstream,
        &ctx.config.whitelist,
    );
    if !granted.refused.is_empty() {
        p.log(&format!(
            "token: scopes refused: {}",
            granted.refused.join("; ")
        ));
    }

    let (realm, service) = match upstream_auth(p, state, ctx.upstream).await? {
        UpstreamAuth::Bearer { realm, service } => (realm, service),
        UpstreamAuth::Open | UpstreamAuth::Basic => {
            return Err(RegistryError::new(
                ErrorCode::NotFound,
                format!("{} does not use token authentication", ctx.upstream.name),
            ))
        }
    };
    let scopes = granted.scope_strings();
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = &service {
        params.push(("service", s));
    }
    for s in &scopes {
        params.push(("scope", s));
    }
    if let (Some(a), Some(_)) = (&account, &basic) {
        params.push(("account", a));
    }
    let mut headers = Headers::new();
    if let Some(b) = &basic {
        headers.set("authorization", b.as_str());
    }
    let resp = p
        .fetch(UpstreamRequest {
            method: "GET".into(),
            url: with_query(&realm, &params),
            headers,
            body: None,
        })
        .await
        .map_err(|e| unavailable(format!("upstream token service unreachable: {}", e.0)))?;
    match resp.status {
        200 => {
            let text = p
                .read_text(resp.body, SMALL_BODY_LIMIT)
                .await
                .map_err(|e| unavailable(format!("upstream token answer unreadable: {}", e.0)))?;
            Ok(Response::json(200, reissue(&text)?))
        }
        401 | 403 if basic.is_some() => Err(RegistryError::unauthorized(
            "incorrect username or password",
        )),
        401 | 403 => Err(RegistryError::unauthorized(
            "the upstream token service refused anonymous access",
        )),
        429 => {
            let mut r = Response::error(&RegistryError::new(
                ErrorCode::TooManyRequests,
                "upstream token service rate limit reached",
            ));
            if let Some(ra) = resp.headers.get("retry-after") {
                r.headers.set("retry-after", ra);
            }
            Ok(r)
        }
        s => Err(unavailable(format!("upstream token service answered {s}"))),
    }
}

/// The client gets the upstream token and its lifetime, nothing else the upstream said
/// (no refresh token: this mirror never takes one back).
fn reissue(upstream_json: &str) -> Result<String, RegistryError> {
    let bad = || unavailable("upstream token answer is not a token".into());
    let v: serde_json::Value = serde_json::from_str(upstream_json).map_err(|_| bad())?;
    let token = v
        .get("token")
        .or_else(|| v.get("access_token"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(bad)?;
    let mut out = serde_json::Map::new();
    out.insert("token".into(), token.into());
    out.insert("access_token".into(), token.into());
    if let Some(e) = v.get("expires_in").and_then(|e| e.as_u64()) {
        out.insert("expires_in".into(), e.into());
    }
    if let Some(i) = v.get("issued_at").and_then(|i| i.as_str()) {
        out.insert("issued_at".into(), i.into());
    }
    Ok(serde_json::Value::Object(out).to_string())
}

fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

fn basic_header(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn bad_request(message: &str) -> RegistryError {
    RegistryError::new(ErrorCode::Unsupported, message).with_status(400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reissue_keeps_token_and_lifetime_only() {
        let out = reissue(r#"{"token":"T","expires_in":300,"issued_at":"2026-01-01T00:00:00Z","refresh_token":"R"}"#).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["token"], "T");
        assert_eq!(v["access_token"], "T");
        assert_eq!(v["expires_in"], 300);
        assert!(v.get("refresh_token").is_none());
        let oauth = reissue(r#"{"access_token":"A"}"#).unwrap();
        assert!(oauth.contains("\"token\":\"A\""));
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"token":""}"#,
            r#"{"token":5}"#,
            "<html>",
        ] {
            assert!(reissue(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn challenge_to_auth() {
        let c =
            Challenge::parse(r#"Bearer realm="https://auth.example/token",service="reg""#).unwrap();
        assert_eq!(
            auth_from_challenge(&c),
            Some(UpstreamAuth::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("reg".into())
            })
        );
        let no_realm = Challenge::parse(r#"Bearer service="reg""#).unwrap();
        assert_eq!(auth_from_challenge(&no_realm), None);
        let file = Challenge::parse(r#"Bearer realm="file:///etc/passwd""#).unwrap();
        assert_eq!(auth_from_challenge(&file), None);
        assert_eq!(
            auth_from_challenge(&Challenge::parse("Basic realm=x").unwrap()),
            Some(UpstreamAuth::Basic)
        );
    }

    #[test]
    fn basic_header_encodes() {
        assert_eq!(basic_header("alice", "pw"), "Basic YWxpY2U6cHc=");
    }
}
