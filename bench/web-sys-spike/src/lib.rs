//! The proxy's core (`edge_registry_proxy::handle`) over a web-sys binding: the incoming
//! `web_sys::Request` read from Rust, upstream requests built as `web_sys::Request` with
//! `RequestInit` (redirect manual), response headers read from `web_sys::Headers`, the client's
//! `web_sys::Response` built from Rust; bodies stay `ReadableStream`s. No cache (CACHE=off),
//! config parsed once per isolate: what a manifest GET or a pull costs, nothing more.
use std::cell::OnceCell;
use std::rc::Rc;

use edge_registry_proxy::{
    handle as core_handle, Body, Config, ConfigValue, FetchError, Headers, Method, Platform,
    Request, Response, State, UpstreamRequest, UpstreamResponse,
};
use js_sys::{Array, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> Promise;
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(s: &str);
}

const CLIENT_HEADERS: &[&str] = &[
    "authorization",
    "accept",
    "range",
    "if-range",
    "if-none-match",
    "user-agent",
];

fn err(e: JsValue) -> FetchError {
    FetchError(format!("{e:?}"))
}

fn headers_from(h: &web_sys::Headers) -> Headers {
    let mut out = Vec::new();
    if let Ok(Some(iter)) = js_sys::try_iter(h) {
        for entry in iter.flatten() {
            let pair = Array::from(&entry);
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                out.push((k, v));
            }
        }
    }
    out.into_iter().collect()
}

fn headers_to(h: &Headers) -> Result<web_sys::Headers, JsValue> {
    let out = web_sys::Headers::new()?;
    for (k, v) in h.iter() {
        out.append(k, v)?;
    }
    Ok(out)
}

struct WebSys;

impl Platform for WebSys {
    type Body = JsValue;

    async fn fetch(&self, req: UpstreamRequest) -> Result<UpstreamResponse<JsValue>, FetchError> {
        let init = web_sys::RequestInit::new();
        init.set_method(req.method.as_str());
        init.set_headers(&headers_to(&req.headers).map_err(err)?.into());
        init.set_redirect(web_sys::RequestRedirect::Manual);
        let request = web_sys::Request::new_with_str_and_init(&req.url, &init).map_err(err)?;
        let resp: web_sys::Response = JsFuture::from(global_fetch(&request))
            .await
            .map_err(err)?
            .unchecked_into();
        Ok(UpstreamResponse {
            status: resp.status(),
            headers: headers_from(&resp.headers()),
            body: resp.into(),
        })
    }

    async fn read_bytes(&self, body: JsValue, limit: usize) -> Result<Vec<u8>, FetchError> {
        let resp: web_sys::Response = body.unchecked_into();
        let buf = JsFuture::from(resp.array_buffer().map_err(err)?)
            .await
            .map_err(err)?;
        let bytes = Uint8Array::new(&buf);
        if bytes.length() as usize > limit {
            return Err(FetchError("body too large".into()));
        }
        Ok(bytes.to_vec())
    }

    async fn cache_get(&self, _key: &str) -> Option<UpstreamResponse<JsValue>> {
        None
    }

    fn cache_put_bytes(&self, _key: &str, _headers: &Headers, _body: &[u8]) {}

    fn cache_put_stream(
        &self,
        _: &str,
        _: &Headers,
        body: JsValue,
        _: u64,
        _: (&str, &str),
    ) -> JsValue {
        body
    }

    fn random_id(&self) -> String {
        format!("{:x}", (js_sys::Math::random() * 1e15) as u64)
    }

    fn slice(&self, _body: JsValue, _first: u64, _last: u64) -> Option<JsValue> {
        None
    }

    fn log(&self, line: &str) {
        console_log(line);
    }

    fn now(&self) -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
}

thread_local! {
    static STATE: Rc<State> = Rc::new(State::default());
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

fn config_from(env: &JsValue) -> Config {
    let pairs = Object::entries(&Object::from(env.clone()))
        .iter()
        .filter_map(|e| {
            let e = Array::from(&e);
            Some((
                e.get(0).as_string()?,
                ConfigValue::Text(e.get(1).as_string()?),
            ))
        })
        .collect::<Vec<_>>();
    Config::from_values(pairs).expect("the bench's config is valid")
}

fn to_web(resp: Response<JsValue>) -> Result<web_sys::Response, JsValue> {
    let init = web_sys::ResponseInit::new();
    init.set_status(resp.status);
    init.set_headers(&headers_to(&resp.headers)?.into());
    match resp.body {
        Body::Empty => web_sys::Response::new_with_opt_str_and_init(None, &init),
        Body::Text(t) => web_sys::Response::new_with_opt_str_and_init(Some(&t), &init),
        Body::Bytes(mut b) => {
            web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut b), &init)
        }
        Body::Stream(handle) => {
            let upstream: web_sys::Response = handle.unchecked_into();
            web_sys::Response::new_with_opt_readable_stream_and_init(
                upstream.body().as_ref(),
                &init,
            )
        }
    }
}

/// The Workers fetch handler: `fetch(request, env, ctx)`.
#[wasm_bindgen]
pub async fn fetch(
    request: web_sys::Request,
    env: JsValue,
    _ctx: JsValue,
) -> Result<web_sys::Response, JsValue> {
    let headers = request.headers();
    let mut pairs = Vec::new();
    for name in CLIENT_HEADERS {
        if let Ok(Some(v)) = headers.get(name) {
            pairs.push((*name, v));
        }
    }
    let req = Request {
        method: Method::from(request.method()),
        url: request.url(),
        headers: pairs.into_iter().collect(),
        body: None,
    };
    let config = CONFIG.with(|c| c.get_or_init(|| Rc::new(config_from(&env))).clone());
    let state = STATE.with(Rc::clone);
    let resp = core_handle(&WebSys, &state, &config, req).await;
    to_web(resp)
}
