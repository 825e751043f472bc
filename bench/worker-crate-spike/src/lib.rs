//! The least a registry proxy does, with the `worker` crate: forward the request's registry
//! headers to the upstream (redirects left to the client) and answer with the upstream's
//! status, headers (minus cookies) and streamed body. No names, tokens, whitelist or cache:
//! whatever this costs, a proxy built on the crate costs at least that.
use worker::*;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    // The bench gives every worker `UPSTREAM=docker.io@http://127.0.0.1:port`.
    let upstream = env
        .var("UPSTREAM")
        .map(|v| v.to_string())
        .unwrap_or_default();
    let upstream = match upstream.split_once('@') {
        Some((_, url)) => url.to_owned(),
        None => upstream,
    };
    let headers = Headers::new();
    for (k, v) in req.headers().entries() {
        if ["accept", "authorization", "range", "user-agent"].contains(&k.as_str()) {
            headers.set(&k, &v)?;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    // The raw URL string: req.url() parses with the url crate (+170 KB of wasm).
    let raw = req.inner().url();
    let rest = &raw[raw.find("//").map_or(0, |i| i + 2)..];
    let path_and_query = rest.find('/').map_or("/", |i| &rest[i..]);
    let out = Request::new_with_init(&format!("{upstream}{path_and_query}"), &init)?;
    let resp = Fetch::Request(out).send().await?;
    let body = match resp.body() {
        ResponseBody::Stream(s) => ResponseBody::Stream(s.clone()),
        _ => ResponseBody::Empty,
    };
    let answer_headers = Headers::new();
    for (k, v) in resp.headers().entries() {
        if k != "set-cookie" {
            answer_headers.append(&k, &v)?;
        }
    }
    Ok(Response::from_body(body)?
        .with_status(resp.status_code())
        .with_headers(answer_headers))
}
