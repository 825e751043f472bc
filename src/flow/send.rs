//! Talking to the upstream: sending a request with an identity, following redirects without
//! leaking credentials, and turning what came back into the client's response (the proxy's
//! challenge on a 401, only the headers a client needs).

use super::context::Ctx;
use super::learned_auth::unavailable;
use super::state::State;
use crate::cache_policy::MANIFEST_MAX_BYTES;
use crate::challenge::{proxy_challenge, BearerError, Challenge, Scheme};
use crate::errors::{ErrorCode, RegistryError};
use crate::fetch_url::FetchUrl;
use crate::http::{Body, Headers, Method, Response, UpstreamRequest, UpstreamResponse};
use crate::platform::Platform;
use crate::route::RegistryEndpoint;

/// A manifest or image config read whole, within the spec's cap on manifests; a body that cannot
/// be read (cut, or over the cap) is the registry's failure.
pub(super) async fn read_document<P: Platform>(
    p: &P,
    body: P::Body,
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    p.read_bytes(body, MANIFEST_MAX_BYTES)
        .await
        .map_err(|e| unavailable(format!("{what} unreadable: {}", e.0)))
}

/// Redirect hops followed for one upstream request (ESA counts each hop as a subrequest).
pub const MAX_REDIRECTS: usize = 5;

/// Upstream response headers a registry client needs; the rest (cookies, the CDN's internals) is dropped.
const FORWARDED_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "docker-content-digest",
    "etag",
    "last-modified",
    "link",
    "retry-after",
    "oci-subject",
    "oci-filters-applied",
    "ratelimit-limit",
    "ratelimit-remaining",
    "docker-ratelimit-source",
    // What registries send with every answer; forwarded so that such an answer needs no copy.
    "docker-distribution-api-version",
    "date",
    "x-content-type-options",
];

/// A registry request on its way upstream: everything but its `Authorization`.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub method: Method,
    pub url: String,
    pub headers: Headers,
    /// BLOB_REDIRECT=passthrough applies (a blob request).
    pub passthrough: bool,
    /// `repository:<name>:pull`, for endpoints about a repository.
    pub scope: Option<String>,
}

pub(crate) async fn send<P: Platform>(
    p: &P,
    out: &Outgoing,
    authorization: Option<&str>,
) -> Result<Sent<P::Body>, RegistryError> {
    let mut headers = out.headers.clone();
    if let Some(a) = authorization {
        headers.set("authorization", a);
    }
    let req = UpstreamRequest {
        method: out.method.clone(),
        url: out.url.clone(),
        headers,
    };
    send_following_redirects(p, req, out.passthrough).await
}

/// The client's response for what the upstream said.
pub(crate) fn respond<B>(
    state: &State,
    ctx: &Ctx<'_>,
    endpoint: &RegistryEndpoint,
    out: &Outgoing,
    sent: Sent<B>,
) -> Response<B> {
    let resp = match sent {
        Sent::Response(r) => r,
        Sent::Redirect(location) => {
            let mut h = Headers::new();
            h.set("location", location);
            return Response::new(307, h, Body::Empty);
        }
    };
    if resp.status == 401 {
        state
            .auth
            .contradicted_by(ctx.upstream, resp.headers.get("www-authenticate"));
        if ctx.config.proxy_tokens() {
            // The token the proxy sent was refused (expired or revoked): start over.
            state.tokens.forget(&ctx.upstream.endpoint);
            return challenge_response(
                ctx,
                endpoint
                    .repository()
                    .map(|r| ctx.client_scope(r))
                    .as_deref(),
                Some(BearerError::InvalidToken),
                "upstream refused the token",
            );
        }
        return unauthorized(ctx, endpoint, &resp.headers);
    }
    if matches!(endpoint, RegistryEndpoint::Ping) && resp.status == 200 {
        return ping_ok();
    }
    let UpstreamResponse {
        status,
        mut headers,
        body,
    } = resp;
    // Nothing to drop or add: the client gets the upstream's own response object (a header set
    // later, e.g. the API version `flow::handle` puts on every answer, makes it a copy).
    let changed = make_client_headers(endpoint, status, &mut headers);
    if changed | page_link_by_path(ctx, endpoint, &mut headers) {
        Response::new(status, headers, Body::Stream(body))
    } else {
        Response::verbatim(status, headers, body, out.method == Method::Head)
    }
}

/// A tag list's next page (`Link: </v2/org/app/tags/list?...>`) under the name the client used:
/// in the path form the page is `/v2/ghcr.io/org/app/tags/list?...`, on this proxy.
fn page_link_by_path(ctx: &Ctx<'_>, endpoint: &RegistryEndpoint, headers: &mut Headers) -> bool {
    let (true, RegistryEndpoint::TagsList { name }) = (ctx.by_path, endpoint) else {
        return false;
    };
    let Some(link) = headers.get("link") else {
        return false;
    };
    let theirs = format!("</v2/{name}/tags/list");
    let Some(rest) = link.strip_prefix(&theirs) else {
        // A page elsewhere (absolute, another name) is not the proxy's to give.
        headers.remove("link");
        return true;
    };
    let ours = format!("</v2/{}/{name}/tags/list{rest}", ctx.upstream.name);
    headers.set("link", ours);
    true
}

/// The upstream (or stored) headers a client gets.
pub(crate) fn client_headers(
    endpoint: &RegistryEndpoint,
    status: u16,
    upstream: &Headers,
) -> Headers {
    let mut headers = upstream.clone();
    make_client_headers(endpoint, status, &mut headers);
    headers
}

/// Turns upstream (or stored) headers into the ones a client gets, in place (no copy of an
/// answer's headers per request); true if that changed any.
fn make_client_headers(endpoint: &RegistryEndpoint, status: u16, headers: &mut Headers) -> bool {
    let decoded = headers.decoded_by_fetch();
    let before = headers.len();
    headers.keep_only(FORWARDED_RESPONSE_HEADERS);
    let mut changed = headers.len() != before;
    for h in FRAMING_HEADERS {
        if let Some((one, _)) = headers.get(h).and_then(|v| v.split_once(',')) {
            let one = one.trim().to_owned();
            headers.set(h, one);
            changed = true;
        }
    }
    if decoded && headers.get("content-length").is_some() {
        headers.remove("content-length");
        changed = true;
    }
    if let RegistryEndpoint::Blob { digest, .. } = endpoint {
        if (status == 200 || status == 206) && headers.get("docker-content-digest").is_none() {
            headers.set("docker-content-digest", digest.as_str());
            changed = true;
        }
    }
    changed
}

/// Headers that frame a body. Sent twice, fetch hands them on merged (`10, 20`): conflicting
/// copies are refused (the client could read either length), equal ones become one.
const FRAMING_HEADERS: [&str; 2] = ["content-length", "content-range"];

fn conflicting_framing(headers: &Headers) -> bool {
    FRAMING_HEADERS.iter().any(|h| {
        headers.get(h).is_some_and(|v| {
            let mut copies = v.split(',').map(str::trim);
            let first = copies.next();
            copies.any(|c| Some(c) != first)
        })
    })
}

/// Unreachable, 5xx or rate-limited: a stale entry or a fallback source is better than that.
pub(crate) fn upstream_failed<B, E>(sent: &Result<Sent<B>, E>) -> bool {
    match sent {
        Err(_) => true,
        Ok(Sent::Response(r)) => r.status >= 500 || r.status == 429,
        Ok(Sent::Redirect(_)) => false,
    }
}

/// The headers of the upstream's answer, if it answered (not a redirect handed on).
pub(crate) fn answered<B, E>(sent: &Result<Sent<B>, E>) -> Option<&Headers> {
    match sent {
        Ok(Sent::Response(r)) => Some(&r.headers),
        _ => None,
    }
}

pub(crate) enum Sent<B> {
    Response(UpstreamResponse<B>),
    /// BLOB_REDIRECT=passthrough: hand this absolute location to the client.
    Redirect(String),
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Sends `req`, following redirects itself. Credentials never leave the origin they were meant
/// for: S3, R2 and GCS reject (or log) an Authorization header that is not theirs.
async fn send_following_redirects<P: Platform>(
    p: &P,
    mut req: UpstreamRequest,
    passthrough: bool,
) -> Result<Sent<P::Body>, RegistryError> {
    for _ in 0..=MAX_REDIRECTS {
        let resp = p.fetch(&req).await.map_err(|e| e.unreachable())?;
        if conflicting_framing(&resp.headers) {
            return Err(RegistryError::new(
                ErrorCode::Unavailable,
                "upstream sent conflicting Content-Length or Content-Range headers",
            ));
        }
        if !is_redirect(resp.status) {
            return Ok(Sent::Response(resp));
        }
        // Judged and fetched as one parse: the canonical URL is what goes out.
        let next = resp
            .headers
            .get("location")
            .and_then(|loc| FetchUrl::parse(&req.url)?.join(loc))
            .ok_or_else(|| {
                RegistryError::new(
                    ErrorCode::Unavailable,
                    "upstream sent a redirect without a usable Location",
                )
            })?;
        if passthrough {
            return Ok(Sent::Redirect(next.as_str().to_owned()));
        }
        let same_origin = FetchUrl::parse(&req.url).is_some_and(|u| u.origin() == next.origin());
        if !same_origin {
            req.headers.remove("authorization");
        }
        if resp.status == 303 {
            req.method = Method::Get;
        }
        req.url = next.as_str().to_owned();
    }
    Err(RegistryError::new(
        ErrorCode::Unavailable,
        format!("upstream redirected more than {MAX_REDIRECTS} times"),
    ))
}

pub(super) fn ping_ok<B>() -> Response<B> {
    let mut r = Response::json(200, "{}".to_owned());
    r.set_header("content-length", "2");
    r
}

/// A 401 with the proxy's challenge: the proxy's realm and service, the scope to ask for.
pub(super) fn challenge_response<B>(
    ctx: &Ctx<'_>,
    scope: Option<&str>,
    error: Option<BearerError>,
    message: &str,
) -> Response<B> {
    let mut resp = Response::error(&RegistryError::unauthorized(message));
    resp.set_header(
        "www-authenticate",
        proxy_challenge(&ctx.realm(), &ctx.service, scope, error),
    );
    resp
}

/// Turns an upstream 401 into the proxy's: same error, the proxy's realm and service, and the
/// scope the client asks the proxy for (its own name for the repository: `ghcr.io/org/app` in
/// the path form, where ghcr.io said `org/app`).
///
/// Nothing is learnt from it: it may come from a host a blob was redirected to, and only the
/// upstream's own `/v2/` check says where users' credentials may go.
fn unauthorized<B>(
    ctx: &Ctx<'_>,
    endpoint: &RegistryEndpoint,
    upstream_headers: &Headers,
) -> Response<B> {
    let upstream_challenge = upstream_headers
        .get("www-authenticate")
        .and_then(Challenge::parse);
    match &upstream_challenge {
        Some(c) if c.is_bearer() => challenge_response(
            ctx,
            match endpoint.repository() {
                Some(r) => Some(ctx.client_scope(r)),
                None => c.param("scope").map(str::to_owned),
            }
            .as_deref(),
            c.param("error").and_then(BearerError::parse),
            "authentication required",
        ),
        // A Basic-auth registry: the client's credentials are for it; pass its challenge on.
        Some(c) if c.scheme == Scheme::Basic => {
            let mut resp = Response::error(&RegistryError::unauthorized("authentication required"));
            resp.set_header(
                "www-authenticate",
                format!(
                    "Basic realm=\"{}\"",
                    c.param("realm")
                        .unwrap_or("registry")
                        .replace(['"', '\\'], "")
                ),
            );
            resp
        }
        _ => challenge_response(ctx, None, None, "authentication required"),
    }
}
