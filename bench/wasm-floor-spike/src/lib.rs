//! The least a registry proxy does with wasm-bindgen and web-sys, as the proxy's own binding
//! does it: read the registry headers the core reads, fetch the upstream (redirect manual) and
//! hand its Response back as it is. No names, tokens, whitelist, challenge rewriting or cache:
//! whatever `handle` costs per request, a wasm proxy built on these crates costs at least that.
//! `plan` is the same work without a future: wasm makes the request, the entry fetches.
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with(url: &str, init: &web_sys::RequestInit) -> Promise;
}

const HEADERS: &[&str] = &["accept", "authorization", "range", "user-agent"];

/// The same work without a future: `[url, init]` for the entry's own `fetch`, whose Response
/// goes back to the client untouched (entry-sync.js).
#[wasm_bindgen]
pub fn plan(request: web_sys::Request, upstream: String) -> Result<js_sys::Array, JsValue> {
    let (url, init) = outgoing(&request, &upstream)?;
    Ok(js_sys::Array::of2(&url.into(), &init))
}

fn outgoing(
    request: &web_sys::Request,
    upstream: &str,
) -> Result<(String, web_sys::RequestInit), JsValue> {
    let upstream = upstream.split_once('@').map_or(upstream, |(_, u)| u);
    let url = request.url();
    let rest = &url[url.find("//").map_or(0, |i| i + 2)..];
    let path_and_query = rest.find('/').map_or("/", |i| &rest[i..]);
    let from = request.headers();
    let headers = web_sys::Headers::new()?;
    for name in HEADERS {
        if let Some(v) = from.get(name)? {
            headers.set(name, &v)?;
        }
    }
    let init = web_sys::RequestInit::new();
    init.set_method(&request.method());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    Ok((format!("{upstream}{path_and_query}"), init))
}

/// `upstream`: the registry's URL (the bench's `UPSTREAM=docker.io@http://127.0.0.1:port`).
#[wasm_bindgen]
pub async fn handle(
    request: web_sys::Request,
    upstream: String,
) -> Result<web_sys::Response, JsValue> {
    let (url, init) = outgoing(&request, &upstream)?;
    let resp = JsFuture::from(fetch_with(&url, &init)).await?;
    Ok(resp.unchecked_into())
}
