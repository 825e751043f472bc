//! The proxy's token endpoint (`/token`, the realm of every challenge it sends).
//!
//! Clients never talk to the upstream's token service (auth.docker.io is unreachable from many
//! networks): they ask the proxy, which grants only whitelisted `pull` scopes. GET with Basic
//! auth (docker, skopeo) and the OAuth2 password-grant POST (containerd) are both accepted.
//!
//! Two modes:
//! - pass-through (default): the proxy asks the upstream's token service with the client's
//!   credentials, if any, and hands that token back; the client's later `Bearer` goes upstream.
//! - proxy tokens (`USER_WHITELIST` or the operator's account): the proxy issues its own signed
//!   token (`proxy_token`). With a user list, the user must be listed and their password is
//!   checked by the upstream token service; the upstream token they get rides inside, so pulls
//!   use their own account. The operator's upstream token never reaches a client.

use super::context::{Ctx, Flow};
use super::learned_auth::{learned_auth, UpstreamAuth};
use super::upstream_tokens::{
    fetch_token, forget_if_moved, TokenRefusal, DEFAULT_TOKEN_SECS, SMALL_BODY_LIMIT,
};
use crate::config::{AuthMode, Credentials, LogLevel, ProxyAuth};
use crate::credentials::{basic_header, parse_basic, subject_is};
use crate::errors::{ErrorCode, RegistryError};
use crate::http::{Headers, Method, Request, Response, UpstreamRequest};
use crate::platform::Platform;
use crate::proxy_token::{sign, Claims};
use crate::reference::quote_for_message;
use crate::scope::{grant, split_scopes, Grant};
use crate::token_answer::UpstreamToken;
use crate::upstream::Upstream;
use crate::url::parse_query;

/// Lifetime of a proxy token that carries no upstream token.
pub(super) const PROXY_TOKEN_SECS: u64 = 300;
/// Upper bound on any proxy token's lifetime.
pub(super) const MAX_PROXY_TOKEN_SECS: u64 = 3600;

impl<P: Platform> Flow<'_, P> {
    pub(super) async fn issue_token(
        &self,
        req: Request<P::Body>,
        query: &[(String, String)],
    ) -> Result<Response<P::Body>, RegistryError> {
        let (p, ctx) = (self.p, &self.ctx);

        let mut scope_values = values(query, "scope");
        let mut creds = req.headers.get("authorization").and_then(parse_basic);
        if req.method == Method::Post {
            let form = match req.body {
                Some(b) => p.read_text(b, SMALL_BODY_LIMIT).await.map_err(|_| {
                    RegistryError::bad_request("token form unreadable or too large")
                })?,
                None => String::new(),
            };
            let form = parse_query(&form);
            match values(&form, "grant_type").first().map(String::as_str) {
                Some("password") => {
                    creds = Some(Credentials {
                        user: values(&form, "username")
                            .into_iter()
                            .next()
                            .unwrap_or_default(),
                        password: values(&form, "password")
                            .into_iter()
                            .next()
                            .unwrap_or_default(),
                    });
                }
                Some("refresh_token") => {
                    return Err(RegistryError::unauthorized(
                        "this mirror issues no refresh tokens; log in again",
                    ))
                }
                _ => return Err(RegistryError::bad_request("grant_type must be password")),
            }
            scope_values.extend(values(&form, "scope"));
        }

        let scopes = split_scopes(scope_values.iter().map(String::as_str));
        let granted = grant(&scopes, ctx.reach(), &ctx.config.whitelist);
        // The token is for the registry its scopes name; a login without scopes (`docker login`)
        // is for the selected one, or the one registry a listed user is on.
        let registry = match (&creds, scopes.is_empty()) {
            (Some(c), true) => login_registry(ctx, &c.user),
            _ => granted.registry,
        };
        let flow = self.for_registry(registry);
        if !granted.refused.is_empty() && ctx.config.logs(LogLevel::Errors) {
            p.log(&format!(
                "token: scopes refused: {}",
                granted.refused.join("; ")
            ));
        }
        match &ctx.config.auth {
            AuthMode::ProxyTokens(auth) => flow.issue_proxy_token((creds, &granted), auth).await,
            AuthMode::PassThrough => flow.pass_through(creds, &granted).await,
        }
    }
}

/// The registry a scopeless login checks the password on: the selected one, unless a user list
/// names the user only on others (`docker login my.domain` by `ghcr.io/carol`, who then pulls
/// `my.domain/ghcr.io/...`): then the first of those.
fn login_registry<'a>(ctx: &Ctx<'a>, user: &str) -> &'a Upstream {
    let config = ctx.config;
    if config.users().is_empty() || config.listed_user(&ctx.selected.name, user).is_some() {
        return ctx.selected;
    }
    config
        .served()
        .find(|u| config.listed_user(&u.name, user).is_some())
        .unwrap_or(ctx.selected)
}

impl<P: Platform> Flow<'_, P> {
    async fn pass_through(
        &self,
        creds: Option<Credentials>,
        granted: &Grant<'_>,
    ) -> Result<Response<P::Body>, RegistryError> {
        let (p, state, ctx) = (self.p, self.state, &self.ctx);

        let (realm, service) = self.bearer_realm().await?;
        let basic = creds.as_ref().map(basic_header);
        let account = creds.as_ref().map(|c| c.user.as_str());
        let fetched = fetch_token(
            p,
            &realm,
            service.as_deref(),
            &granted.scope_strings(),
            account,
            basic.as_deref(),
        )
        .await;
        forget_if_moved(&state.auth, ctx.upstream, &fetched, basic.is_none());
        match fetched {
            Ok(t) => Ok(match t.answer {
                Some(text) => Response::json(200, text),
                None => token_response(&t.token, t.expires_in),
            }),
            Err(TokenRefusal::Refused) if basic.is_some() => Err(RegistryError::unauthorized(
                "incorrect username or password",
            )),
            Err(TokenRefusal::Refused) => Err(RegistryError::unauthorized(
                "the upstream token service refused anonymous access",
            )),
            Err(TokenRefusal::Failed(e)) => Err(e),
        }
    }
}

impl<P: Platform> Flow<'_, P> {
    async fn issue_proxy_token(
        &self,
        (creds, granted): (Option<Credentials>, &Grant<'_>),
        auth: &ProxyAuth,
    ) -> Result<Response<P::Body>, RegistryError> {
        let (p, ctx) = (self.p, &self.ctx);

        let config = ctx.config;
        let mut claims = Claims {
            user: None,
            registry: ctx.upstream.name.clone(),
            repositories: granted.repositories.iter().map(|r| r.to_string()).collect(),
            issued_at: ctx.now,
            expires_at: ctx.now + PROXY_TOKEN_SECS,
            upstream_token: None,
        };
        if !config.users().is_empty() {
            self.log_in(creds, granted, &mut claims).await?;
        }
        if config.logs(LogLevel::All) {
            p.log(&format!(
                "token: issued to {} for [{}]",
                claims.user.as_deref().unwrap_or("anonymous"),
                claims.repositories.join(", ")
            ));
        }
        let lifetime = claims.expires_at - claims.issued_at;
        Ok(token_response(
            &sign(&claims, auth.secret.as_bytes()),
            Some(lifetime),
        ))
    }
}

impl<P: Platform> Flow<'_, P> {
    /// With a user list: the client's credentials, for a listed user, checked by the upstream
    /// under the listed spelling; the user and their own upstream token go into `claims`.
    pub(super) async fn log_in(
        &self,
        creds: Option<Credentials>,
        granted: &Grant<'_>,
        claims: &mut Claims,
    ) -> Result<(), RegistryError> {
        let (p, state, ctx) = (self.p, self.state, &self.ctx);

        let config = ctx.config;
        let c = creds.ok_or_else(|| {
            RegistryError::unauthorized(format!(
                "this mirror requires login: docker login {}",
                ctx.service
            ))
        })?;
        let Some(listed) = config.listed_user(&ctx.upstream.name, &c.user) else {
            if config.logs(LogLevel::Errors) {
                p.log(&format!(
                    "token: user {} is not on the user whitelist for {}",
                    quote_for_message(&c.user),
                    ctx.upstream.name
                ));
            }
            return Err(RegistryError::unauthorized(format!(
                "user {} may not pull from this mirror",
                quote_for_message(&c.user)
            )));
        };
        // The listed spelling goes upstream: on a registry with case-sensitive names `ALICE` is
        // another account, whose password must not pass for alice's.
        let typed_exactly = listed.name == c.user;
        let c = Credentials {
            user: listed.name.clone(),
            password: c.password,
        };
        let basic = basic_header(&c);
        match learned_auth(p, &state.auth, ctx.upstream, ctx.now).await? {
            UpstreamAuth::Bearer { realm, service } => {
                let scopes = granted.scope_strings();
                let fetched = fetch_token(
                    p,
                    &realm,
                    service.as_deref(),
                    &scopes,
                    Some(&c.user),
                    Some(&basic),
                )
                .await;
                forget_if_moved(&state.auth, ctx.upstream, &fetched, false);
                user_token(p, ctx, fetched, (&c.user, typed_exactly), claims)?;
            }
            UpstreamAuth::Basic => verify_basic(p, ctx, &basic).await?,
            UpstreamAuth::Open => {
                return Err(RegistryError::new(
                    ErrorCode::Unauthorized,
                    format!(
                        "{} has no accounts to check passwords against",
                        ctx.upstream.name
                    ),
                ))
            }
        }
        claims.user = Some(c.user);
        Ok(())
    }
}

/// What the upstream's token service said of a listed user's password: their own token into
/// `claims`, or the refusal. A login that matched the list only by case passes only when the
/// upstream token names the listed user.
fn user_token<P: Platform>(
    p: &P,
    ctx: &Ctx<'_>,
    fetched: Result<UpstreamToken, TokenRefusal>,
    (user, typed_exactly): (&str, bool),
    claims: &mut Claims,
) -> Result<(), RegistryError> {
    match fetched {
        Ok(t) if !typed_exactly && !subject_is(&t.token, user) => {
            if ctx.config.logs(LogLevel::Errors) {
                p.log("token: a login matched a listed user only by case and the upstream token names another subject");
            }
            Err(RegistryError::unauthorized(format!(
                "log in as {} (the spelling on this mirror's user list)",
                quote_for_message(user)
            )))
        }
        Ok(t) => {
            let lifetime = t
                .expires_in
                .unwrap_or(DEFAULT_TOKEN_SECS)
                .min(MAX_PROXY_TOKEN_SECS);
            claims.expires_at = ctx.now + lifetime;
            claims.upstream_token = Some(t.token);
            Ok(())
        }
        Err(TokenRefusal::Refused) => Err(RegistryError::unauthorized(
            "incorrect username or password",
        )),
        Err(TokenRefusal::Failed(e)) => Err(e),
    }
}

/// A Basic-auth upstream has no token service: the credentials are checked on its `/v2/`.
async fn verify_basic<P: Platform>(p: &P, ctx: &Ctx<'_>, basic: &str) -> Result<(), RegistryError> {
    let mut headers = Headers::new();
    headers.set("authorization", basic);
    let resp = p
        .fetch(&UpstreamRequest::get(
            format!("{}/v2/", ctx.upstream.endpoint),
            headers,
        ))
        .await
        .map_err(|e| e.unreachable())?;
    match resp.status {
        200 => Ok(()),
        401 | 403 => Err(RegistryError::unauthorized(
            "incorrect username or password",
        )),
        s => Err(RegistryError::new(
            ErrorCode::Unavailable,
            format!("upstream answered {s}"),
        )),
    }
}

impl<P: Platform> Flow<'_, P> {
    async fn bearer_realm(&self) -> Result<(String, Option<String>), RegistryError> {
        let (p, state, ctx) = (self.p, self.state, &self.ctx);

        match learned_auth(p, &state.auth, ctx.upstream, ctx.now).await? {
            UpstreamAuth::Bearer { realm, service } => Ok((realm, service)),
            UpstreamAuth::Open | UpstreamAuth::Basic => Err(RegistryError::new(
                ErrorCode::NotFound,
                format!("{} does not use token authentication", ctx.upstream.name),
            )),
        }
    }
}

/// The client gets a token and its lifetime, nothing else (no refresh token: this mirror never
/// takes one back).
fn token_response<B>(token: &str, expires_in: Option<u64>) -> Response<B> {
    let answer = TokenAnswer {
        token,
        access_token: token,
        expires_in,
    };
    Response::json(
        200,
        serde_json::to_string(&answer).expect("strings serialize"),
    )
}

/// The token service's answer: `token` for docker, `access_token` for OAuth2 clients.
#[derive(serde::Serialize)]
struct TokenAnswer<'a> {
    token: &'a str,
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
}

fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_shape() {
        let r: Response<()> = token_response("T", Some(300));
        let (_, _, crate::http::Answer::Built(crate::http::Body::Text(t))) = r.into_parts() else {
            panic!()
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            (
                v["token"].as_str(),
                v["access_token"].as_str(),
                v["expires_in"].as_u64()
            ),
            (Some("T"), Some("T"), Some(300))
        );
    }
}
