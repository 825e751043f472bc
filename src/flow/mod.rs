//! The request pipeline, written once over `Platform`:
//! route -> select upstream -> check -> forward (following redirects) -> rewrite -> respond.
//!
//! `handle` and `dispatch` live here; the steps are children: `forward` (the /v2/ requests),
//! `send` (upstream requests, redirects, responses), `cache` (CACHE=on), `fallback`,
//! `accounts` (the proxy's own identity), `token_service` (/token), `learned_auth` and
//! `upstream_tokens` (the upstreams' schemes and token services), `state` (what the isolate
//! remembers), `archive` (/archive/...), `search` (/v1/search), `landing` (/ and /version).
//! Children import only from siblings, never from here, and no import circles.

mod accounts;
mod archive;
mod cache;
mod context;
mod fallback;
mod forward;
mod landing;
mod learned_auth;
mod observed;
mod search;
mod send;
mod state;
mod token_service;
mod upstream_tokens;

pub use send::MAX_REDIRECTS;
pub use state::State;

use std::future::Future;
use std::pin::Pin;

use crate::cache_policy::CacheStatus;
use crate::config::{Config, LogLevel};
use crate::errors::{ErrorCode, RegistryError};
use crate::http::{Answer, Body, Method, Request, Response, API_VERSION, CLIENT_HEADERS};
use crate::path_form::Reach;
use crate::platform::Platform;
use crate::route::{route, Endpoint, Local};
use crate::url::RequestUrl;
use context::{Ctx, Flow};

pub async fn handle<P: Platform>(
    p: &P,
    state: &State,
    config: &Config,
    mut req: Request<P::Body>,
) -> Response<P::Body> {
    req.headers.keep_only(CLIENT_HEADERS);
    let method = req.method.clone();
    let path = RequestUrl::parse(&req.url)
        .map(|u| u.path.to_owned())
        .unwrap_or_default();
    let mut resp = match dispatch(p, state, config, req).await {
        Ok(r) => r,
        Err(e) => Response::error(&e),
    };
    resp.set_header(API_VERSION.0, API_VERSION.1);
    let cache_label = resp.cache();
    if let Some(label) = cache_label {
        resp.set_header(CacheStatus::HEADER, label.as_str());
    }
    if method == Method::Head && !matches!(resp.answer(), Answer::Verbatim { bodiless: true, .. }) {
        resp.set_body(Body::Empty);
    }
    // Every pull starts with a ping answered 401 (the challenge): expected, not an error.
    let ping_challenge = resp.status == 401 && (path == "/v2/" || path == "/v2");
    let notable =
        (resp.status >= 400 && !ping_challenge) || cache_label.is_some_and(CacheStatus::notable);
    let level = if notable {
        LogLevel::Errors
    } else {
        LogLevel::All
    };
    if config.logs(level) {
        let cache = cache_label
            .map(|c| format!(" cache={}", c.as_str()))
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
    r.set_header(API_VERSION.0, API_VERSION.1);
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
    let routed = route(
        &req.method,
        url.path,
        Reach::new(upstream, ns.is_some(), config),
    )?;
    let ctx = Ctx {
        config,
        upstream: routed.upstream,
        selected: upstream,
        by_path: routed.by_path,
        origin: url.origin(),
        service: url.authority.to_owned(),
        ns: ns.map(|_| upstream.name.clone()),
        now: p.now(),
    };
    if let Some(repo) = routed.endpoint.repository() {
        if !config.whitelist.allows(ctx.upstream, repo) {
            let shown = if ctx.upstream.is_docker_hub() {
                repo.to_string()
            } else {
                format!("{}/{repo}", ctx.upstream.name)
            };
            return Err(RegistryError::denied(format!(
                "image {shown} is not in the whitelist of this mirror"
            )));
        }
    }
    let flow = Flow { p, state, ctx };
    let ctx = &flow.ctx;
    match &routed.endpoint {
        Endpoint::Local(Local::Landing) => Ok(Response::text(
            200,
            "text/html; charset=utf-8",
            landing::render(ctx, state),
        )),
        Endpoint::Local(Local::Version) => Ok(Response::json(
            200,
            landing::version_json(config, state, p.now()),
        )),
        Endpoint::Local(Local::Token) => flow.issue_token(req, &query).await,
        Endpoint::Local(Local::Search) => {
            let authorization = req.headers.get("authorization");
            apart(search::search(p, ctx, authorization, &query)).await
        }
        Endpoint::Registry(r) => flow.forward(r, &req, &query).await,
        Endpoint::Archive { name, reference } => {
            apart(flow.archive(&req, (name, reference), &query)).await
        }
    }
}

/// A step no pull takes, behind a pointer: its code is then a function of its own, not inlined into
/// the one state machine every request runs (with search and the archive inlined it held 68 KB of
/// the 277 KB of wasm code). V8 compiles wasm lazily, a function at its first call, so the warm-up
/// at load and a pull's first requests no longer compile code they never run.
fn apart<'a, T>(step: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(step)
}
