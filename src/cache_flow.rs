//! The pipeline's cache steps (`CACHE=on`), run after the proxy authorized the request: look
//! up, serve a hit, or fetch with the proxy's own identity and store what `cache_policy`
//! allows. Answers fetched with a user's own upstream token are served but never stored.

use crate::cache_policy::{
    blob_key, blob_storable, commit_key, committed, manifest_key, manifest_verified, single_range,
    tag_fresh, CacheKey, Cacheable, FETCHED_AT_HEADER, MANIFEST_MAX_BYTES, PUT_ID_HEADER,
    SIZE_HEADER,
};
use crate::config::LogLevel;
use crate::errors::{ErrorCode, RegistryError};
use crate::flow::{client_headers, proxy_identity, respond, send, Ctx, Outgoing, Sent, State};
use crate::http::{Body, Headers, Request, Response, UpstreamResponse};
use crate::platform::Platform;
use crate::proxy_token::Claims;
use crate::reference::{Digest, Reference};
use crate::route::Endpoint;

pub const X_CACHE: &str = "x-cache";

/// Serves a manifest or blob request through the cache; None for endpoints it does not cache.
pub(crate) async fn serve<P: Platform>(
    p: &P,
    state: &State,
    ctx: &Ctx<'_>,
    endpoint: &Endpoint,
    req: &Request<P::Body>,
    out: &Outgoing,
    claims: &Claims,
) -> Result<Option<Response<P::Body>>, RegistryError> {
    let key = match endpoint {
        Endpoint::Manifest { name, reference } => {
            manifest_key(ctx.upstream, name, reference, req.headers.get("accept"))
        }
        Endpoint::Blob { name, digest } => blob_key(ctx.upstream, name, digest),
        _ => return Ok(None),
    };
    let range = match endpoint {
        Endpoint::Blob { .. } => req.headers.get("range"),
        _ => None,
    };
    let mut stale = None;
    let mut hit = p.cache_get(&key.url).await;
    if let (Some(h), Endpoint::Blob { .. }) = (&hit, endpoint) {
        let marker = match p.cache_get(&commit_key(&key)).await {
            Some(m) => p.read_text(m.body, 256).await.ok(),
            None => None,
        };
        if !committed(h.headers.get(PUT_ID_HEADER), marker.as_deref()) {
            if ctx.config.logs(LogLevel::Errors) {
                p.log("cache: stored layer was never committed (incomplete), fetching it again");
            }
            hit = None;
        }
    }
    if let Some(hit) = hit {
        let fresh = key.kind == Cacheable::Immutable
            || tag_fresh(
                hit.headers.get(FETCHED_AT_HEADER),
                ctx.now,
                ctx.config.cache_tag_ttl,
            );
        if !fresh {
            stale = Some(hit);
        } else if let Some(r) = from_cache(p, endpoint, hit, range, "HIT") {
            return Ok(Some(r));
        }
        // else: a range the cache does not answer itself goes upstream
    }

    // The proxy's own identity first: only what it fetches may be stored and shared.
    let own = match proxy_identity(p, state, ctx, out.scope.as_deref()).await {
        Ok(auth) => send(p, out, auth.as_deref()).await,
        Err(e) => Err(e),
    };
    let failed = match &own {
        Err(_) => true,
        Ok(Sent::Response(r)) => r.status >= 500 || r.status == 429,
        Ok(Sent::Redirect(_)) => false,
    };
    if failed {
        if let Some(hit) = stale {
            if ctx.config.logs(LogLevel::Errors) {
                p.log("cache: upstream failed, serving a stale tag");
            }
            if let Some(mut r) = from_cache(p, endpoint, hit, None, "STALE") {
                r.headers.set("warning", "110 - \"Response is Stale\"");
                return Ok(Some(r));
            }
        }
    }
    let own = own?;
    let denied = matches!(&own, Sent::Response(r) if matches!(r.status, 401 | 403 | 404));
    if denied {
        if let Some(t) = &claims.upstream_token {
            // Not readable by the proxy's identity, but perhaps by the user's own account:
            // served, never stored.
            let sent = send(p, out, Some(&format!("Bearer {t}"))).await?;
            return Ok(Some(labelled(
                respond(state, ctx, endpoint, out, sent),
                "BYPASS",
            )));
        }
    }
    let resp = match own {
        Sent::Response(r) if r.status == 200 && req.method == "GET" && range.is_none() => r,
        other => {
            return Ok(Some(labelled(
                respond(state, ctx, endpoint, out, other),
                "MISS",
            )))
        }
    };
    Ok(Some(match endpoint {
        Endpoint::Manifest { reference, name } => {
            let (r, verified) = store_manifest(p, ctx, &key, reference, resp).await?;
            // A verified tag's manifest is also its digest's: later by-digest requests hit.
            if let (true, Reference::Tag(_), Body::Bytes(bytes)) = (verified, reference, &r.body) {
                if let Some(d) = r
                    .headers
                    .get("docker-content-digest")
                    .and_then(|d| Digest::parse(d).ok())
                {
                    let by_digest = manifest_key(ctx.upstream, name, &Reference::Digest(d), None);
                    p.cache_put_bytes(
                        &by_digest.url,
                        &stored_headers(ctx, &by_digest, &r.headers),
                        bytes,
                    );
                }
            }
            r
        }
        _ => store_blob(p, ctx, endpoint, &key, resp),
    }))
}

fn labelled<B>(mut r: Response<B>, label: &str) -> Response<B> {
    r.headers.set(X_CACHE, label);
    r
}

/// What is stored with a body: the client headers, the storage lifetime, and for tags when
/// they were fetched.
fn stored_headers(ctx: &Ctx<'_>, key: &CacheKey, client: &Headers) -> Headers {
    let mut h = client.clone();
    h.remove(X_CACHE);
    if let Some(len) = client.get("content-length") {
        h.set(SIZE_HEADER, len.to_owned());
    }
    h.set(
        "cache-control",
        key.storage_cache_control(ctx.config.cache_tag_ttl),
    );
    if key.kind == Cacheable::Tag {
        h.set(FETCHED_AT_HEADER, ctx.now.to_string());
    }
    h
}

async fn store_manifest<P: Platform>(
    p: &P,
    ctx: &Ctx<'_>,
    key: &CacheKey,
    reference: &Reference,
    resp: UpstreamResponse<P::Body>,
) -> Result<(Response<P::Body>, bool), RegistryError> {
    // The manifest's own headers; its length is the bytes read, set below.
    let mut headers: Headers = resp
        .headers
        .iter()
        .filter(|(k, _)| {
            matches!(
                *k,
                "content-type" | "docker-content-digest" | "etag" | "last-modified"
            )
        })
        .collect();
    let bytes = p
        .read_bytes(resp.body, MANIFEST_MAX_BYTES)
        .await
        .map_err(|e| {
            RegistryError::new(
                ErrorCode::Unavailable,
                format!("manifest unreadable: {}", e.0),
            )
        })?;
    headers.set("content-length", bytes.len().to_string());
    let verified = manifest_verified(reference, headers.get("docker-content-digest"), &bytes);
    if verified {
        p.cache_put_bytes(&key.url, &stored_headers(ctx, key, &headers), &bytes);
    } else {
        if ctx.config.logs(LogLevel::Errors) {
            p.log("cache: manifest not stored (digest did not verify)");
        }
    }
    headers.set(X_CACHE, "MISS");
    let r = Response {
        status: 200,
        headers,
        body: Body::Bytes(bytes),
    };
    Ok((r, verified))
}

fn store_blob<P: Platform>(
    p: &P,
    ctx: &Ctx<'_>,
    endpoint: &Endpoint,
    key: &CacheKey,
    resp: UpstreamResponse<P::Body>,
) -> Response<P::Body> {
    let mut headers = client_headers(endpoint, 200, &resp.headers);
    let body = match blob_storable(
        200,
        resp.headers.get("content-length"),
        ctx.config.cache_max_blob_bytes,
    ) {
        Some(len) => {
            let id = p.random_id();
            let mut stored = stored_headers(ctx, key, &headers);
            stored.set(PUT_ID_HEADER, id.as_str());
            p.cache_put_stream(&key.url, &stored, resp.body, len, (&commit_key(key), &id))
        }
        None => resp.body,
    };
    headers.set(X_CACHE, "MISS");
    Response {
        status: 200,
        headers,
        body: Body::Stream(body),
    }
}

/// A stored answer as the client's response; None when `range` is one the cache leaves to
/// the upstream.
fn from_cache<P: Platform>(
    p: &P,
    endpoint: &Endpoint,
    hit: UpstreamResponse<P::Body>,
    range: Option<&str>,
    label: &str,
) -> Option<Response<P::Body>> {
    let mut headers = client_headers(endpoint, hit.status, &hit.headers);
    headers.set(X_CACHE, label);
    if headers.get("content-length").is_none() {
        if let Some(len) = hit.headers.get(SIZE_HEADER) {
            headers.set("content-length", len.to_owned());
        }
    }
    let Some(range) = range else {
        return Some(Response {
            status: hit.status,
            headers,
            body: Body::Stream(hit.body),
        });
    };
    let size: u64 = headers.get("content-length")?.parse().ok()?;
    let (first, last) = single_range(range, size)?;
    let body = p.slice(hit.body, first, last)?;
    headers.set("content-range", format!("bytes {first}-{last}/{size}"));
    headers.set("content-length", (last - first + 1).to_string());
    Some(Response {
        status: 206,
        headers,
        body: Body::Stream(body),
    })
}
