//! `docker search` (`GET /v1/search?q=&n=&page=`): Docker Hub's search (`SEARCH_UPSTREAM`) with
//! only the repositories the whitelist admits in its results (official images are `nginx`, that
//! is `library/nginx`). The same access rule as a pull: with `USER_WHITELIST`, a proxy token of a
//! listed user. Only the query parameters search defines go upstream, validated; with
//! `CACHE=on` an answer is stored for a few minutes.

use serde_json::Value;

use super::context::Ctx;
use super::send::challenge_response;
use crate::access;
use crate::errors::{ErrorCode, RegistryError};
use crate::http::{Headers, Method, Response, UpstreamRequest};
use crate::platform::Platform;
use crate::reference::normalize_name;
use crate::route::RegistryEndpoint;
use crate::upstream::Upstream;
use crate::url::{encode_component, with_query};

/// Largest search answer read.
const ANSWER_LIMIT: usize = 1024 * 1024;
/// How long a stored answer is reused (CACHE=on).
const STORED_SECS: u32 = 300;

/// The query parameters search takes, validated: the text, page size and page.
fn search_params(query: &[(String, String)]) -> Result<Vec<(&'static str, String)>, RegistryError> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (k, v) in query {
        let (key, ok) = match k.as_str() {
            "q" => (
                "q",
                !v.trim().is_empty()
                    && v.chars().count() <= 255
                    && !v.chars().any(char::is_control),
            ),
            "n" => (
                "n",
                v.parse::<u32>().is_ok_and(|n| (1..=100).contains(&n)) && v.len() <= 3,
            ),
            "page" => (
                "page",
                v.parse::<u32>().is_ok_and(|n| (1..=1000).contains(&n)) && v.len() <= 4,
            ),
            _ => continue,
        };
        if !ok {
            return Err(RegistryError::bad_request(format!(
                "invalid search parameter {key}"
            )));
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(RegistryError::bad_request(format!(
                "search parameter {key} given twice"
            )));
        }
        out.push((key, v.clone()));
    }
    if !out.iter().any(|(k, _)| *k == "q") {
        return Err(RegistryError::bad_request("search needs q"));
    }
    Ok(out)
}

pub(super) async fn search<P: Platform>(
    p: &P,
    ctx: &Ctx<'_>,
    authorization: Option<&str>,
    query: &[(String, String)],
) -> Result<Response<P::Body>, RegistryError> {
    let config = ctx.config;
    if let Some(auth) = config.proxy_auth().filter(|_| !config.users().is_empty()) {
        if let Err(d) = access::check(
            (config, auth),
            ctx.upstream,
            &RegistryEndpoint::Ping,
            authorization,
            ctx.now,
        ) {
            return Ok(challenge_response(ctx, None, d.error, &d.message));
        }
    }
    let params = search_params(query)?;
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = with_query(&format!("{}/v1/search", config.search_upstream), &pairs);
    let key = format!(
        "http://edge-registry-proxy.cache/search/{}",
        encode_component(url.split_once('?').map_or("", |(_, q)| q))
    );
    if config.cache.is_some() {
        if let Some(hit) = p.cache_get(&key).await {
            if let Ok(text) = p.read_text(hit.body, ANSWER_LIMIT).await {
                return Ok(Response::json(200, text));
            }
        }
    }
    let unavailable = |why: String| RegistryError::new(ErrorCode::Unavailable, why);
    let mut headers = Headers::new();
    headers.set("accept", "application/json");
    let resp = p
        .fetch(&UpstreamRequest {
            method: Method::Get,
            url,
            headers,
        })
        .await
        .map_err(|e| unavailable(format!("search upstream unreachable: {}", e.0)))?;
    if resp.status != 200 {
        return Err(unavailable(format!(
            "search upstream answered {}",
            resp.status
        )));
    }
    let text = p
        .read_text(resp.body, ANSWER_LIMIT)
        .await
        .map_err(|e| unavailable(format!("search answer unreadable: {}", e.0)))?;
    let answer = whitelisted(ctx, &text, &params)
        .ok_or_else(|| unavailable("search upstream sent no search results".into()))?;
    if config.cache.is_some() {
        let mut h = Headers::new();
        h.set("content-type", "application/json");
        h.set("cache-control", format!("max-age={STORED_SECS}"));
        p.cache_put_bytes(&key, &h, answer.as_bytes());
    }
    Ok(Response::json(200, answer))
}

/// One result as the client gets it: Docker Hub's fields, typed (written with a derived
/// Serialize: a `serde_json::Value` built and written here cost +21 KB of wasm).
#[derive(serde::Serialize)]
struct Found<'a> {
    name: &'a str,
    description: Option<&'a str>,
    star_count: Option<u64>,
    is_official: Option<bool>,
    is_automated: Option<bool>,
}

#[derive(serde::Serialize)]
struct Answer<'a> {
    num_results: usize,
    query: Option<&'a str>,
    results: Vec<Found<'a>>,
}

/// The answer with only whitelisted repositories in it; None if it is not a search answer.
fn whitelisted(ctx: &Ctx<'_>, text: &str, params: &[(&str, String)]) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    let hub = Upstream::parse(crate::upstream::DOCKER_HUB).ok()?;
    let results: Vec<Found<'_>> = v
        .get("results")?
        .as_array()?
        .iter()
        .filter_map(|r| {
            let name = r.get("name").and_then(Value::as_str)?;
            let repo = normalize_name(name, true).ok()?;
            ctx.config.whitelist.allows(&hub, &repo).then(|| Found {
                name,
                description: r.get("description").and_then(Value::as_str),
                star_count: r.get("star_count").and_then(Value::as_u64),
                is_official: r.get("is_official").and_then(Value::as_bool),
                is_automated: r.get("is_automated").and_then(Value::as_bool),
            })
        })
        .collect();
    let answer = Answer {
        num_results: results.len(),
        query: params
            .iter()
            .find(|(k, _)| *k == "q")
            .map(|(_, v)| v.as_str()),
        results,
    };
    serde_json::to_string(&answer).ok()
}
