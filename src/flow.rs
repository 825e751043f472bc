//! The request pipeline, written once over `Platform`:
//! route -> select upstream -> check -> forward (following redirects) -> rewrite -> respond.

use crate::access;
use crate::challenge::{proxy_challenge, Challenge};
use crate::config::{BlobRedirect, Config, LogLevel};
use crate::errors::{ErrorCode, RegistryError};
use crate::http::{Body, Headers, Request, Response, UpstreamRequest, UpstreamResponse};
use crate::platform::Platform;
use crate::route::{route, Endpoint, TOKEN_PATH};
use crate::token_service;
use crate::upstream::Upstream;
use crate::upstream_auth::{proxy_authorization, AuthCache, TokenCache};
use crate::url::{resolve, with_query, RequestUrl};

/// Redirect hops followed for one upstream request (ESA counts each hop as a subrequest).
pub const MAX_REDIRECTS: usize = 5;

/// Headers of the client's request that may go upstream. Everything else (cookies, the edge's
/// own headers, Host) stays behind.
const FORWARDED_REQUEST_HEADERS: &[&str] =
    &["accept", "range", "if-range", "if-none-match", "user-agent"];

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
];

/// What the isolate remembers between requests.
#[derive(Default)]
pub struct State {
    pub auth: AuthCache,
    pub tokens: TokenCache,
}

/// Where a request comes from and goes to, once the upstream is chosen.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub upstream: &'a Upstream,
    /// `scheme://host[:port]` of the proxy as the client reached it.
    pub origin: String,
    /// The `service` of the proxy's challenges: its host.
    pub service: String,
    /// `?ns=` as given (containerd mirror mode): kept in the realm so token requests land on
    /// the same upstream.
    pub ns: Option<String>,
    /// Unix seconds, from the platform.
    pub now: u64,
}

impl Ctx<'_> {
    pub fn realm(&self) -> String {
        let base = format!("{}{TOKEN_PATH}", self.origin);
        match &self.ns {
            Some(ns) => with_query(&base, &[("ns", ns)]),
            None => base,
        }
    }
}

pub async fn handle<P: Platform>(
    p: &P,
    state: &State,
    config: &Config,
    req: Request<P::Body>,
) -> Response<P::Body> {
    let method = req.method.clone();
    let path = RequestUrl::parse(&req.url)
        .map(|u| u.path.to_owned())
        .unwrap_or_default();
    let mut resp = match dispatch(p, state, config, req).await {
        Ok(r) => r,
        Err(e) => Response::error(&e),
    };
    if method == "HEAD" {
        resp.body = Body::Empty;
    }
    resp.headers
        .set("docker-distribution-api-version", "registry/2.0");
    let cache_label = resp.headers.get(crate::cache_flow::X_CACHE);
    let notable = resp.status >= 400 || matches!(cache_label, Some("STALE" | "BYPASS"));
    let level = if notable {
        LogLevel::Errors
    } else {
        LogLevel::All
    };
    if config.logs(level) {
        let cache = cache_label
            .map(|c| format!(" cache={c}"))
            .unwrap_or_default();
        p.log(&format!(
            "{method} {} -> {}{cache}",
            crate::reference::quote_for_message(&path),
            resp.status
        ));
    }
    resp
}

/// A response for a configuration that failed to load: every request gets it, naming the key.
pub fn config_error_response<B>(e: &crate::config::ConfigError) -> Response<B> {
    let mut r = Response::error(&RegistryError::new(
        ErrorCode::ConfigInvalid,
        format!("proxy misconfigured: {e}"),
    ));
    r.headers
        .set("docker-distribution-api-version", "registry/2.0");
    r
}

async fn dispatch<P: Platform>(
    p: &P,
    state: &State,
    config: &Config,
    req: Request<P::Body>,
) -> Result<Response<P::Body>, RegistryError> {
    let url = RequestUrl::parse(&req.url)
        .ok_or_else(|| RegistryError::new(ErrorCode::NotFound, "request URL not understood"))?;
    if config.debug_panic && url.path == "/__panic" {
        panic!("DEBUG_PANIC: a panic asked for by GET /__panic");
    }
    let query = url.query_pairs();
    let mut ns_values = query
        .iter()
        .filter(|(k, _)| k == "ns")
        .map(|(_, v)| v.as_str());
    let ns = ns_values.next();
    if ns_values.next().is_some() {
        return Err(RegistryError::denied("ns may be given only once"));
    }
    let upstream = match ns {
        Some(ns) => config.upstream_named(ns).ok_or_else(|| {
            RegistryError::denied(format!(
                "registry {} is not served by this mirror",
                crate::reference::quote_for_message(ns)
            ))
        })?,
        None => config.upstream_for_host(url.authority),
    };
    let ctx = Ctx {
        config,
        upstream,
        origin: url.origin(),
        service: url.authority.to_owned(),
        ns: ns.map(|_| upstream.name.clone()),
        now: p.now(),
    };
    let endpoint = route(&req.method, url.path, upstream)?;
    if let Some(repo) = endpoint.repository() {
        if !config.whitelist.allows(&upstream.name, repo.as_str()) {
            let shown = if upstream.is_docker_hub() {
                repo.to_string()
            } else {
                format!("{}/{repo}", upstream.name)
            };
            return Err(RegistryError::denied(format!(
                "image {shown} is not in the whitelist of this mirror"
            )));
        }
    }
    match &endpoint {
        Endpoint::Landing => Ok(Response::text(
            200,
            "text/html; charset=utf-8",
            crate::landing::render(&ctx),
        )),
        Endpoint::Version => Ok(Response::json(200, crate::landing::version_json(config))),
        Endpoint::Token => token_service::issue(p, state, &ctx, req, &query).await,
        _ => forward(p, state, &ctx, &endpoint, &req, &query).await,
    }
}

/// A registry request on its way upstream: everything but its `Authorization`.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub method: String,
    pub url: String,
    pub headers: Headers,
    /// BLOB_REDIRECT=passthrough applies (a blob request).
    pub passthrough: bool,
    /// `repository:<name>:pull`, for endpoints about a repository.
    pub scope: Option<String>,
}

async fn forward<P: Platform>(
    p: &P,
    state: &State,
    ctx: &Ctx<'_>,
    endpoint: &Endpoint,
    req: &Request<P::Body>,
    query: &[(String, String)],
) -> Result<Response<P::Body>, RegistryError> {
    let path = endpoint.upstream_path().expect("registry endpoint");
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
        passthrough: matches!(endpoint, Endpoint::Blob { .. })
            && ctx.config.blob_redirect == BlobRedirect::Passthrough,
        scope: endpoint.repository().map(crate::scope::pull_scope),
    };
    if !ctx.config.proxy_tokens() {
        // Pass-through mode: the client's token came from the upstream's token service (via
        // the proxy's token endpoint); it goes to the upstream origin only.
        let sent = send(p, &out, req.headers.get("authorization")).await?;
        return Ok(respond(state, ctx, endpoint, &out, sent));
    }
    let claims = match access::check(
        ctx.config,
        ctx.upstream,
        endpoint,
        req.headers.get("authorization"),
        ctx.now,
    ) {
        Ok(c) => c,
        Err(d) => return Ok(challenge(ctx, out.scope.as_deref(), d.error, &d.message)),
    };
    if matches!(endpoint, Endpoint::Ping) {
        return Ok(ping_ok());
    }
    if ctx.config.cache {
        if let Some(r) =
            crate::cache_flow::serve(p, state, ctx, endpoint, req, &out, &claims).await?
        {
            return Ok(r);
        }
    }
    // The user's own upstream token when there is one (their rate limit), else the proxy's.
    let auth = match &claims.upstream_token {
        Some(t) => Some(format!("Bearer {t}")),
        None => proxy_identity(p, state, ctx, out.scope.as_deref()).await?,
    };
    let sent = send(p, &out, auth.as_deref()).await?;
    Ok(respond(state, ctx, endpoint, &out, sent))
}

/// The `Authorization` of the proxy's own identity: the operator's account where it may be used
/// (`Config::operator_account`), anonymous elsewhere.
pub(crate) async fn proxy_identity<P: Platform>(
    p: &P,
    state: &State,
    ctx: &Ctx<'_>,
    scope: Option<&str>,
) -> Result<Option<String>, RegistryError> {
    let account = ctx.config.operator_account(ctx.upstream);
    proxy_authorization(p, state, ctx.upstream, scope, account, ctx.now).await
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
        body: None,
    };
    send_following_redirects(p, req, out.passthrough).await
}

/// The client's response for what the upstream said.
pub(crate) fn respond<B>(
    state: &State,
    ctx: &Ctx<'_>,
    endpoint: &Endpoint,
    out: &Outgoing,
    sent: Sent<B>,
) -> Response<B> {
    let resp = match sent {
        Sent::Response(r) => r,
        Sent::Redirect(location) => {
            let mut h = Headers::new();
            h.set("location", location);
            return Response {
                status: 307,
                headers: h,
                body: Body::Empty,
            };
        }
    };
    if resp.status == 401 {
        if ctx.config.proxy_tokens() {
            // The token the proxy sent was refused (expired or revoked): start over.
            state.tokens.forget(&ctx.upstream.endpoint);
            return challenge(
                ctx,
                out.scope.as_deref(),
                Some("invalid_token"),
                "upstream refused the token",
            );
        }
        return unauthorized(ctx, &resp.headers);
    }
    if matches!(endpoint, Endpoint::Ping) && resp.status == 200 {
        return ping_ok();
    }
    Response {
        status: resp.status,
        headers: client_headers(endpoint, resp.status, &resp.headers),
        body: Body::Stream(resp.body),
    }
}

/// The upstream (or stored) headers a client gets.
pub(crate) fn client_headers(endpoint: &Endpoint, status: u16, upstream: &Headers) -> Headers {
    let mut headers: Headers = upstream
        .iter()
        .filter(|(k, _)| FORWARDED_RESPONSE_HEADERS.contains(k))
        .collect();
    if upstream.decoded_by_fetch() {
        headers.remove("content-length");
    }
    if let Endpoint::Blob { digest, .. } = endpoint {
        if (status == 200 || status == 206) && headers.get("docker-content-digest").is_none() {
            headers.set("docker-content-digest", digest.as_str());
        }
    }
    headers
}

/// Only the query parameters the endpoint defines go upstream, validated; `ns` never does.
fn upstream_query<'q>(
    endpoint: &Endpoint,
    query: &'q [(String, String)],
) -> Result<Vec<(&'q str, &'q str)>, RegistryError> {
    let mut out = Vec::new();
    for (k, v) in query {
        match (endpoint, k.as_str()) {
            (Endpoint::TagsList { .. }, "n") => {
                if v.is_empty() || v.len() > 6 || !v.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(
                        RegistryError::new(ErrorCode::Unsupported, "n must be a number")
                            .with_status(400),
                    );
                }
                out.push(("n", v.as_str()));
            }
            (Endpoint::TagsList { .. }, "last") => {
                crate::reference::validate_tag(v)?;
                out.push(("last", v.as_str()));
            }
            (Endpoint::Referrers { .. }, "artifactType") => {
                let ok = v.len() <= 255 && v.bytes().all(|c| c.is_ascii_graphic());
                if !ok {
                    return Err(
                        RegistryError::new(ErrorCode::Unsupported, "invalid artifactType")
                            .with_status(400),
                    );
                }
                out.push(("artifactType", v.as_str()));
            }
            _ => {}
        }
    }
    Ok(out)
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
        let resp = p.fetch(req.clone()).await.map_err(|e| {
            RegistryError::new(
                ErrorCode::Unavailable,
                format!("upstream unreachable: {}", e.0),
            )
        })?;
        if !is_redirect(resp.status) {
            return Ok(Sent::Response(resp));
        }
        let next = resp
            .headers
            .get("location")
            .and_then(|loc| resolve(&req.url, loc))
            .filter(|u| {
                let u = u.to_ascii_lowercase();
                u.starts_with("https://") || u.starts_with("http://")
            })
            .ok_or_else(|| {
                RegistryError::new(
                    ErrorCode::Unavailable,
                    "upstream sent a redirect without a usable Location",
                )
            })?;
        if passthrough {
            return Ok(Sent::Redirect(next));
        }
        let same_origin = RequestUrl::parse(&next).map(|u| u.origin())
            == RequestUrl::parse(&req.url).map(|u| u.origin());
        if !same_origin {
            req.headers.remove("authorization");
        }
        if resp.status == 303 {
            req.method = "GET".into();
        }
        req.url = next;
    }
    Err(RegistryError::new(
        ErrorCode::Unavailable,
        format!("upstream redirected more than {MAX_REDIRECTS} times"),
    ))
}

fn ping_ok<B>() -> Response<B> {
    let mut r = Response::json(200, "{}".to_owned());
    r.headers.set("content-length", "2");
    r
}

/// A 401 with the proxy's challenge: the proxy's realm and service, the scope to ask for.
fn challenge<B>(
    ctx: &Ctx<'_>,
    scope: Option<&str>,
    error: Option<&str>,
    message: &str,
) -> Response<B> {
    let mut resp = Response::error(&RegistryError::unauthorized(message));
    resp.headers.set(
        "www-authenticate",
        proxy_challenge(&ctx.realm(), &ctx.service, scope, error),
    );
    resp
}

/// Turns an upstream 401 into the proxy's: same scope and error, the proxy's realm and service.
///
/// Nothing is learnt from it: it may come from a host a blob was redirected to, and only the
/// upstream's own `/v2/` check says where users' credentials may go.
fn unauthorized<B>(ctx: &Ctx<'_>, upstream_headers: &Headers) -> Response<B> {
    let upstream_challenge = upstream_headers
        .get("www-authenticate")
        .and_then(Challenge::parse);
    match &upstream_challenge {
        Some(c) if c.is_bearer() => challenge(
            ctx,
            c.param("scope"),
            c.param("error"),
            "authentication required",
        ),
        // A Basic-auth registry: the client's credentials are for it; pass its challenge on.
        Some(c) if c.scheme == "basic" => {
            let mut resp = Response::error(&RegistryError::unauthorized("authentication required"));
            resp.headers.set(
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
        _ => challenge(ctx, None, None, "authentication required"),
    }
}
