//! A registry request on its way upstream: the request built from the client's, the proxy's
//! access check, then the edge cache or the upstream with the right identity.

use super::context::{Ctx, Flow};
use super::learned_auth::UpstreamAuth;
use super::send::{challenge_response, ping_ok, respond, send, upstream_failed, Outgoing, Sent};
use super::state::State;
use crate::access;
use crate::config::BlobRedirect;
use crate::errors::RegistryError;
use crate::http::{bearer, Request, Response};
use crate::platform::Platform;
use crate::route::RegistryEndpoint;
use crate::url::with_query;

/// Headers of the client's request that may go upstream. Everything else (cookies, the edge's
/// own headers, Host) stays behind.
const FORWARDED_REQUEST_HEADERS: &[&str] =
    &["accept", "range", "if-range", "if-none-match", "user-agent"];

impl<P: Platform> Flow<'_, P> {
    pub(super) async fn forward(
        &self,
        endpoint: &RegistryEndpoint,
        req: &Request<P::Body>,
        query: &[(String, String)],
    ) -> Result<Response<P::Body>, RegistryError> {
        let (p, state, ctx) = (self.p, self.state, &self.ctx);

        let path = endpoint.upstream_path();
        let out = Outgoing {
            method: req.method.clone(),
            url: with_query(
                &format!("{}{path}", ctx.upstream.endpoint),
                &upstream_query(endpoint, query)?,
            ),
            headers: req
                .headers
                .iter()
                .filter(|(k, _)| FORWARDED_REQUEST_HEADERS.contains(k))
                .collect(),
            passthrough: matches!(endpoint, RegistryEndpoint::Blob { .. })
                && ctx.config.blob_redirect == BlobRedirect::Passthrough,
            scope: endpoint.repository().map(crate::scope::pull_scope),
        };
        let Some(auth) = ctx.config.proxy_auth() else {
            if let Some(local) = anonymous_ping(state, ctx, endpoint, req) {
                return Ok(local);
            }
            // Pass-through mode: the client's token came from the upstream's token service (via
            // the proxy's token endpoint); it goes to the upstream origin only.
            let sent = send(p, &out, req.headers.get("authorization")).await;
            return self.answer(endpoint, &out, sent).await;
        };
        let claims = match access::check(
            (ctx.config, auth),
            ctx.upstream,
            endpoint,
            req.headers.get("authorization"),
            ctx.now,
        ) {
            Ok(c) => c,
            Err(d) => {
                return Ok(challenge_response(
                    ctx,
                    endpoint
                        .repository()
                        .map(|r| ctx.client_scope(r))
                        .as_deref(),
                    d.error,
                    &d.message,
                ))
            }
        };
        if matches!(endpoint, RegistryEndpoint::Ping) {
            return Ok(ping_ok());
        }
        if let Some(settings) = ctx.config.cache {
            let asked = (endpoint, req, &out);
            if let Some(r) = self.cached(asked, (&claims, settings)).await? {
                return Ok(r);
            }
        }
        // The user's own upstream token when there is one (their rate limit), else the proxy's.
        let sent = match &claims.upstream_token {
            Some(t) => send(p, &out, Some(&bearer(t))).await,
            None => self.send_as_proxy(&out).await,
        };
        self.answer(endpoint, &out, sent).await
    }
}

impl<P: Platform> Flow<'_, P> {
    /// The client's answer to what the upstream said, or, where it could not answer a read, what a
    /// `FALLBACK` source says.
    async fn answer(
        &self,
        endpoint: &RegistryEndpoint,
        out: &Outgoing,
        sent: Result<Sent<P::Body>, RegistryError>,
    ) -> Result<Response<P::Body>, RegistryError> {
        self.observe(&sent);
        if upstream_failed(&sent) {
            if let Some(r) = self.fallback(endpoint, out).await {
                return Ok(r);
            }
        }
        Ok(respond(self.state, &self.ctx, endpoint, out, sent?))
    }
}

/// Every pull starts with a ping without credentials. Once the upstream's scheme is known (its
/// own `/v2/` check, made for the first token), the upstream's answer to it is too: a token
/// registry refuses it, an open one accepts it. The proxy gives that answer itself, saving each
/// pull an upstream request. A ping with credentials still goes upstream, which alone can check
/// them.
fn anonymous_ping<B>(
    state: &State,
    ctx: &Ctx<'_>,
    endpoint: &RegistryEndpoint,
    req: &Request<B>,
) -> Option<Response<B>> {
    if !matches!(endpoint, RegistryEndpoint::Ping) || req.headers.get("authorization").is_some() {
        return None;
    }
    match state.auth.known(ctx.upstream, ctx.now)? {
        UpstreamAuth::Bearer { .. } => Some(challenge_response(
            ctx,
            None,
            None,
            "authentication required",
        )),
        UpstreamAuth::Open => Some(ping_ok()),
        UpstreamAuth::Basic => None,
    }
}

/// Only the query parameters the endpoint defines go upstream, validated; `ns` never does.
fn upstream_query<'q>(
    endpoint: &RegistryEndpoint,
    query: &'q [(String, String)],
) -> Result<Vec<(&'q str, &'q str)>, RegistryError> {
    let mut out = Vec::new();
    for (k, v) in query {
        match (endpoint, k.as_str()) {
            (RegistryEndpoint::TagsList { .. }, "n") => {
                if v.is_empty() || v.len() > 6 || !v.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(RegistryError::bad_request("n must be a number"));
                }
                out.push(("n", v.as_str()));
            }
            (RegistryEndpoint::TagsList { .. }, "last") => {
                crate::reference::validate_tag(v)?;
                out.push(("last", v.as_str()));
            }
            (RegistryEndpoint::Referrers { .. }, "artifactType") => {
                let ok = v.len() <= 255 && v.bytes().all(|c| c.is_ascii_graphic());
                if !ok {
                    return Err(RegistryError::bad_request("invalid artifactType"));
                }
                out.push(("artifactType", v.as_str()));
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::FORWARDED_REQUEST_HEADERS;
    use crate::http::CLIENT_HEADERS;

    #[test]
    fn every_forwarded_header_is_one_the_pipeline_receives() {
        for h in FORWARDED_REQUEST_HEADERS {
            assert!(
                CLIENT_HEADERS.contains(h),
                "{h} is dropped before forwarding"
            );
        }
    }
}
