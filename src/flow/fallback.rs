//! `FALLBACK` sources: when a registry cannot answer a manifest or blob read (429, 5xx,
//! unreachable), the same read from each of its fallback sources in order, anonymously (a user's
//! own credentials never go there) and with the source's own challenge. A manifest must be the
//! one its digest names (the one asked for, or the one the source says it sent); the answer
//! names its source (`X-Registry-Source`). None when no source answered: the client then gets
//! the registry's own answer.

use super::accounts::proxy_authorization;
use super::context::Flow;
use super::send::{client_headers, respond, send, Outgoing, Sent};
use crate::cache_policy::{manifest_verified, MANIFEST_MAX_BYTES};
use crate::config::LogLevel;
use crate::http::{Body, Method, Response, UpstreamResponse};
use crate::platform::Platform;
use crate::route::RegistryEndpoint;

/// Names the source that answered, on answers a fallback gave.
pub(super) const SOURCE_HEADER: &str = "x-registry-source";

impl<P: Platform> Flow<'_, P> {
    pub(super) async fn fallback(
        &self,
        endpoint: &RegistryEndpoint,
        out: &Outgoing,
    ) -> Option<Response<P::Body>> {
        let (p, state, ctx) = (self.p, self.state, &self.ctx);

        let reads = matches!(out.method, Method::Get | Method::Head);
        let kind = match endpoint {
            RegistryEndpoint::Manifest { .. } if reads => "manifest",
            RegistryEndpoint::Blob { .. } if reads => "blob",
            _ => return None,
        };
        let path_and_query = out.url.strip_prefix(ctx.upstream.endpoint.as_str())?;
        for source in ctx.config.fallbacks_of(&ctx.upstream.name) {
            let mut read = out.clone();
            read.url = format!("{}{path_and_query}", source.endpoint);
            let scope = read.scope.as_deref();
            let Ok(auth) = proxy_authorization(p, state, source, scope, None, ctx.now).await else {
                continue;
            };
            let answer = match send(p, &read, auth.as_deref()).await {
                Ok(Sent::Response(r)) if (200..300).contains(&r.status) => {
                    match checked(p, endpoint, &read, r).await {
                        Some(r) => r,
                        None => continue,
                    }
                }
                Ok(redirect @ Sent::Redirect(_)) => respond(state, ctx, endpoint, &read, redirect),
                _ => continue,
            };
            if ctx.config.logs(LogLevel::Errors) {
                p.log(&format!(
                    "fallback: {} could not answer; {kind} served by {}",
                    ctx.upstream.name, source.name
                ));
            }
            state.observed.fallback_answered();
            let mut answer = answer;
            answer.set_header(SOURCE_HEADER, source.name.as_str());
            return Some(answer);
        }
        None
    }
}

/// A source's answer as the client's: a manifest read whole and checked against its digest
/// (a HEAD: the digest it names must be the one asked for), a blob streamed as it is (the
/// client checks a layer's digest itself).
async fn checked<P: Platform>(
    p: &P,
    endpoint: &RegistryEndpoint,
    read: &Outgoing,
    r: UpstreamResponse<P::Body>,
) -> Option<Response<P::Body>> {
    let RegistryEndpoint::Manifest { reference, .. } = endpoint else {
        let headers = client_headers(endpoint, r.status, &r.headers);
        return Some(Response::new(r.status, headers, Body::Stream(r.body)));
    };
    let digest = r.headers.get("docker-content-digest").map(str::to_owned);
    let mut headers = client_headers(endpoint, r.status, &r.headers);
    if read.method == Method::Head {
        let names_it = match reference {
            crate::reference::Reference::Digest(d) => digest.as_deref() == Some(d.as_str()),
            crate::reference::Reference::Tag(_) => digest.is_some(),
        };
        return names_it.then_some(Response::new(r.status, headers, Body::Empty));
    }
    let bytes = p.read_bytes(r.body, MANIFEST_MAX_BYTES).await.ok()?;
    if !manifest_verified(reference, digest.as_deref(), &bytes) {
        return None;
    }
    headers.set("content-length", bytes.len().to_string());
    Some(Response::new(r.status, headers, Body::Bytes(bytes)))
}
