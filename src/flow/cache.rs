//! The pipeline's cache steps (`CACHE=on`), run after the proxy authorized the request: look
//! up, serve a hit, or fetch with the proxy's own identity and store what `cache_policy`
//! allows. Answers fetched with a user's own upstream token are served but never stored.

use super::context::{Ctx, Flow};
use super::send::{client_headers, read_document, respond, send, upstream_failed, Outgoing, Sent};
use crate::cache_policy::{
    accepts, blob_key, blob_storable, commit_key, committed, manifest_key, manifest_verified,
    range_applies, single_range, tag_fresh, CacheKey, CacheStatus, Cacheable, FETCHED_AT_HEADER,
    MANIFEST_ACCEPT, PUT_ID_HEADER, SIZE_HEADER,
};
use crate::config::{CacheSettings, LogLevel};
use crate::errors::{ErrorCode, RegistryError};
use crate::http::{bearer, Answer, Body, Headers, Method, Request, Response, UpstreamResponse};
use crate::platform::Platform;
use crate::proxy_token::Claims;
use crate::reference::{Digest, Reference, RepoName};
use crate::route::RegistryEndpoint;

impl<P: Platform> Flow<'_, P> {
    /// Serves a manifest or blob request through the cache; None for endpoints it does not cache.
    pub(crate) async fn cached(
        &self,
        (endpoint, req, out): (&RegistryEndpoint, &Request<P::Body>, &Outgoing),
        (claims, settings): (&Claims, CacheSettings),
    ) -> Result<Option<Response<P::Body>>, RegistryError> {
        let ctx = &self.ctx;

        let step = CacheStep {
            flow: self,
            settings,
            endpoint,
            req,
            out,
            claims,
        };
        match endpoint {
            RegistryEndpoint::Manifest { name, reference } => {
                step.manifest(name, reference).await.map(Some)
            }
            RegistryEndpoint::Blob { name, digest } => step
                .blob(&blob_key(ctx.upstream, name, digest), digest)
                .await
                .map(Some),
            _ => Ok(None),
        }
    }
}

/// A manifest or blob request in flight through the cache: the platform, the isolate's memory,
/// where it goes, what the client asked and may read. Its steps are methods.
struct CacheStep<'a, P: Platform> {
    flow: &'a Flow<'a, P>,
    settings: CacheSettings,
    endpoint: &'a RegistryEndpoint,
    req: &'a Request<P::Body>,
    out: &'a Outgoing,
    claims: &'a Claims,
}

/// What the upstream says of a stored tag past its TTL.
enum Check {
    /// The same digest: the stored manifest is current.
    Same,
    /// Another digest, or no answer to compare: fetch it.
    Changed,
    /// 5xx, 429 or unreachable: the stored manifest is better than that.
    Failed,
}

impl<P: Platform> CacheStep<'_, P> {
    /// Whether the client's Accept admits a stored manifest (by digest the content is fixed:
    /// served whatever the Accept, as before the cache).
    fn admits(&self, key: &CacheKey, stored: &Headers) -> bool {
        key.kind == Cacheable::Immutable
            || accepts(
                self.req.headers.get("accept"),
                stored.get("content-type").unwrap_or(""),
            )
    }

    /// A manifest: HEAD and GET alike are answered from the one entry of the tag (or digest)
    /// when the client's Accept admits its type; a miss is filled with one GET for every
    /// manifest type, whatever the client asked, so the entry serves every client after it.
    async fn manifest(
        &self,
        name: &RepoName,
        reference: &Reference,
    ) -> Result<Response<P::Body>, RegistryError> {
        let key = manifest_key(self.flow.ctx.upstream, name, reference);
        let mut stale = None;
        if let Some(hit) = self.flow.p.cache_get(&key.url).await {
            let fresh = key.kind == Cacheable::Immutable
                || tag_fresh(
                    hit.headers.get(FETCHED_AT_HEADER),
                    self.flow.ctx.now,
                    self.settings.tag_ttl,
                );
            if fresh && self.admits(&key, &hit.headers) {
                return Ok(from_stored(self.endpoint, hit, CacheStatus::Hit));
            }
            if fresh {
                // Stored and current, but of a type this client refuses: its own answer.
                return self.not_stored(Some(&hit.headers)).await;
            }
            stale = Some(hit);
        }
        if let Some(hit) = stale.take() {
            match self.revalidate(&hit.headers).await {
                Check::Same => {
                    // Stored again as fetched now (same bytes, verified again).
                    let (r, _) = self.store_manifest(&key, reference, hit).await?;
                    return self.admitted(&key, labelled(r, CacheStatus::Hit)).await;
                }
                Check::Failed => return self.serve_stale(&key, hit),
                Check::Changed => stale = Some(hit),
            }
        }
        self.fill_manifest(name, reference, &key, stale).await
    }

    /// A tag or digest fetched with one GET for every manifest type and stored (a tag's
    /// manifest under its digest too); a stale entry answers if the upstream fails.
    async fn fill_manifest(
        &self,
        name: &RepoName,
        reference: &Reference,
        key: &CacheKey,
        stale: Option<UpstreamResponse<P::Body>>,
    ) -> Result<Response<P::Body>, RegistryError> {
        let mut fill = self.out.clone();
        fill.method = Method::Get;
        fill.headers.set("accept", MANIFEST_ACCEPT);
        let own = self.own_fetch(&fill).await;
        if let (true, Some(hit)) = (upstream_failed(&own), stale) {
            return self.serve_stale(key, hit);
        }
        if let Some(r) = self.fallback_answer(&own).await {
            return Ok(r);
        }
        let own = own?;
        if let Some(r) = self.bypass(&own).await? {
            return Ok(r);
        }
        let resp = match own {
            Sent::Response(r) if r.status == 200 => r,
            other => return Ok(self.relayed(&fill, other, CacheStatus::Miss)),
        };
        let (r, verified) = self.store_manifest(key, reference, resp).await?;
        // A verified tag's manifest is also its digest's: later by-digest requests hit.
        if let (true, Reference::Tag(_), Answer::Built(Body::Bytes(bytes))) =
            (verified, reference, r.answer())
        {
            if let Some(d) = r
                .headers()
                .get("docker-content-digest")
                .and_then(|d| Digest::parse(d).ok())
            {
                let by_digest = manifest_key(self.flow.ctx.upstream, name, &Reference::Digest(d));
                self.flow.p.cache_put_bytes(
                    &by_digest.url,
                    &stored_headers(
                        &self.flow.ctx,
                        self.settings.tag_ttl,
                        &by_digest,
                        r.headers(),
                    ),
                    bytes,
                );
            }
        }
        self.admitted(key, r).await
    }

    /// `r` if the client's Accept admits its type, else the client's own answer, unstored.
    async fn admitted(
        &self,
        key: &CacheKey,
        r: Response<P::Body>,
    ) -> Result<Response<P::Body>, RegistryError> {
        if self.admits(key, r.headers()) {
            return Ok(r);
        }
        self.not_stored(Some(r.headers())).await
    }

    /// Docker Hub counts a GET of a manifest as a pull and a HEAD not (its usage docs): a
    /// stored tag past its TTL is checked with a HEAD, and fetched with a GET only when its
    /// digest changed.
    async fn revalidate(&self, stored: &Headers) -> Check {
        let mut head = self.out.clone();
        head.method = Method::Head;
        head.headers.set("accept", MANIFEST_ACCEPT);
        let sent = self.own_fetch(&head).await;
        if upstream_failed(&sent) {
            return Check::Failed;
        }
        let stored_digest = stored.get("docker-content-digest");
        match &sent {
            Ok(Sent::Response(r))
                if r.status == 200
                    && stored_digest.is_some()
                    && r.headers.get("docker-content-digest") == stored_digest =>
            {
                Check::Same
            }
            _ => Check::Changed,
        }
    }

    /// The stored answer of a tag the upstream could not answer for, marked stale.
    fn serve_stale(
        &self,
        key: &CacheKey,
        hit: UpstreamResponse<P::Body>,
    ) -> Result<Response<P::Body>, RegistryError> {
        if !self.admits(key, &hit.headers) {
            return Err(unacceptable(&hit.headers, self.req.headers.get("accept")));
        }
        if self.flow.ctx.config.logs(LogLevel::Errors) {
            self.flow
                .p
                .log("cache: upstream failed, serving a stale tag");
        }
        let mut r = from_stored(self.endpoint, hit, CacheStatus::Stale);
        r.set_header("warning", "110 - \"Response is Stale\"");
        Ok(r)
    }

    /// The client's own request, with the proxy's identity, answered and not stored: for a
    /// client whose Accept refuses the stored type. If the upstream fails, the error says why
    /// the stored manifest was not served.
    async fn not_stored(
        &self,
        stored: Option<&Headers>,
    ) -> Result<Response<P::Body>, RegistryError> {
        let sent = self.own_fetch(self.out).await;
        if let (true, Some(stored)) = (upstream_failed(&sent), stored) {
            return Err(unacceptable(stored, self.out.headers.get("accept")));
        }
        Ok(self.relayed(self.out, sent?, CacheStatus::Miss))
    }

    /// A blob: a committed entry answers GET, HEAD and single ranges; a miss streams the
    /// upstream's GET to the client while storing it.
    async fn blob(
        &self,
        key: &CacheKey,
        digest: &Digest,
    ) -> Result<Response<P::Body>, RegistryError> {
        let (p, req) = (self.flow.p, self.req);
        let range = req.headers.get("range");
        if let Some(hit) = p.cache_get(&key.url).await {
            let digest_tag = format!("\"{}\"", digest.as_str());
            let stored_tag = hit.headers.get("etag").unwrap_or_default();
            let range = range
                .filter(|_| range_applies(req.headers.get("if-range"), &[&digest_tag, stored_tag]));
            let marker = match p.cache_get(&commit_key(key)).await {
                Some(m) => p.read_text(m.body, 256).await.ok(),
                None => None,
            };
            if !committed(hit.headers.get(PUT_ID_HEADER), marker.as_deref()) {
                if self.flow.ctx.config.logs(LogLevel::Errors) {
                    p.log(
                        "cache: stored layer was never committed (incomplete), fetching it again",
                    );
                }
            } else if let Some(r) = from_cache(p, self.endpoint, hit, range, CacheStatus::Hit) {
                return Ok(r);
            }
            // else: a range the cache does not answer itself goes upstream
        }
        let own = self.own_fetch(self.out).await;
        if let Some(r) = self.fallback_answer(&own).await {
            return Ok(r);
        }
        let own = own?;
        if let Some(r) = self.bypass(&own).await? {
            return Ok(r);
        }
        Ok(match own {
            Sent::Response(r)
                if r.status == 200 && req.method == Method::Get && range.is_none() =>
            {
                self.store_blob(key, r)
            }
            other => self.relayed(self.out, other, CacheStatus::Miss),
        })
    }

    /// Where the registry could not answer, a `FALLBACK` source's answer: served, never stored
    /// (a tag is the source's word for it).
    async fn fallback_answer(
        &self,
        own: &Result<Sent<P::Body>, RegistryError>,
    ) -> Option<Response<P::Body>> {
        if !upstream_failed(own) {
            return None;
        }
        self.flow.fallback(self.endpoint, self.out).await
    }

    /// What the upstream said to `out`, relayed as the client's answer (not from the cache).
    fn relayed(
        &self,
        out: &Outgoing,
        sent: Sent<P::Body>,
        status: CacheStatus,
    ) -> Response<P::Body> {
        labelled(
            respond(self.flow.state, &self.flow.ctx, self.endpoint, out, sent),
            status,
        )
    }

    /// `out` sent with the proxy's own identity: only what it fetches may be stored and shared.
    async fn own_fetch(&self, out: &Outgoing) -> Result<Sent<P::Body>, RegistryError> {
        let sent = self.flow.send_as_proxy(out).await;
        self.flow.observe(&sent);
        sent
    }

    /// Not readable by the proxy's identity, but perhaps by the user's own account: the
    /// client's request with the user's upstream token, served, never stored.
    async fn bypass(
        &self,
        own: &Sent<P::Body>,
    ) -> Result<Option<Response<P::Body>>, RegistryError> {
        let denied = matches!(own, Sent::Response(r) if matches!(r.status, 401 | 403 | 404));
        let (true, Some(t)) = (denied, &self.claims.upstream_token) else {
            return Ok(None);
        };
        let sent = send(self.flow.p, self.out, Some(&bearer(t))).await?;
        Ok(Some(self.relayed(self.out, sent, CacheStatus::Bypass)))
    }

    /// A manifest read (bounded), verified and, if it verified, stored; the client's answer.
    async fn store_manifest(
        &self,
        key: &CacheKey,
        reference: &Reference,
        resp: UpstreamResponse<P::Body>,
    ) -> Result<(Response<P::Body>, bool), RegistryError> {
        let (p, ctx) = (self.flow.p, &self.flow.ctx);
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
        let bytes = read_document(p, resp.body, "manifest").await?;
        headers.set("content-length", bytes.len().to_string());
        let verified = manifest_verified(reference, headers.get("docker-content-digest"), &bytes);
        if verified {
            p.cache_put_bytes(
                &key.url,
                &stored_headers(ctx, self.settings.tag_ttl, key, &headers),
                &bytes,
            );
        } else {
            if ctx.config.logs(LogLevel::Errors) {
                p.log("cache: manifest not stored (digest did not verify)");
            }
        }
        let mut r = Response::new(200, headers, Body::Bytes(bytes));
        r.set_cache(CacheStatus::Miss);
        Ok((r, verified))
    }

    /// A layer streamed to the client while it is stored (when `cache_policy` allows it).
    fn store_blob(&self, key: &CacheKey, resp: UpstreamResponse<P::Body>) -> Response<P::Body> {
        let (p, ctx, endpoint) = (self.flow.p, &self.flow.ctx, self.endpoint);
        let headers = client_headers(endpoint, 200, &resp.headers);
        let body = match blob_storable(200, &resp.headers, self.settings.max_blob_bytes) {
            Some(len) => {
                let id = p.random_id();
                let mut stored = stored_headers(ctx, self.settings.tag_ttl, key, &headers);
                stored.set(PUT_ID_HEADER, id.as_str());
                p.cache_put_stream(&key.url, &stored, resp.body, len, (&commit_key(key), &id))
            }
            None => resp.body,
        };
        let mut r = Response::new(200, headers, Body::Stream(body));
        r.set_cache(CacheStatus::Miss);
        r
    }
}

fn unacceptable(stored: &Headers, accept: Option<&str>) -> RegistryError {
    let media_type = crate::reference::quote_for_message(stored.get("content-type").unwrap_or(""));
    let why = match accept {
        Some(a) if !a.trim().is_empty() => "this client's Accept header does not include that type",
        _ => {
            "this client sent no Accept header, which admits only a Docker schema 2 image manifest"
        }
    };
    RegistryError::new(
        ErrorCode::Unavailable,
        format!("upstream unavailable; the cached manifest of this tag is {media_type}, and {why}"),
    )
}

fn labelled<B>(mut r: Response<B>, label: CacheStatus) -> Response<B> {
    r.set_cache(label);
    r
}

/// What is stored with a body: the client headers, the storage lifetime, and for tags when
/// they were fetched.
fn stored_headers(ctx: &Ctx<'_>, tag_ttl: u32, key: &CacheKey, client: &Headers) -> Headers {
    let mut h = client.clone();
    if let Some(len) = client.get("content-length") {
        h.set(SIZE_HEADER, len.to_owned());
    }
    h.set("cache-control", key.storage_cache_control(tag_ttl));
    if key.kind == Cacheable::Tag {
        h.set(FETCHED_AT_HEADER, ctx.now.to_string());
    }
    h
}

/// A whole stored answer as the client's response.
fn from_stored<B>(
    endpoint: &RegistryEndpoint,
    hit: UpstreamResponse<B>,
    label: CacheStatus,
) -> Response<B> {
    let mut headers = client_headers(endpoint, hit.status, &hit.headers);
    if headers.get("content-length").is_none() {
        if let Some(len) = hit.headers.get(SIZE_HEADER) {
            headers.set("content-length", len.to_owned());
        }
    }
    let mut r = Response::new(hit.status, headers, Body::Stream(hit.body));
    r.set_cache(label);
    r
}

/// A stored answer as the client's response; None when `range` is one the cache leaves to
/// the upstream.
fn from_cache<P: Platform>(
    p: &P,
    endpoint: &RegistryEndpoint,
    hit: UpstreamResponse<P::Body>,
    range: Option<&str>,
    label: CacheStatus,
) -> Option<Response<P::Body>> {
    let r = from_stored(endpoint, hit, label);
    let Some(range) = range else {
        return Some(r);
    };
    let (_, mut headers, answer) = r.into_parts();
    let size: u64 = headers.get("content-length")?.parse().ok()?;
    let (first, last) = single_range(range, size)?;
    let Answer::Built(Body::Stream(whole)) = answer else {
        return None;
    };
    let body = p.slice(whole, first, last)?;
    headers.set("content-range", format!("bytes {first}-{last}/{size}"));
    headers.set("content-length", (last - first + 1).to_string());
    let mut r = Response::new(206, headers, Body::Stream(body));
    r.set_cache(label);
    Some(r)
}
