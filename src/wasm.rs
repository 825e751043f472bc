//! The edge binding: the only code that knows wasm-bindgen. The web types are web-sys's: the
//! client's `Request` is read here, upstream requests are a `RequestInit` (redirect manual)
//! handed to the platform's fetch, answers are read as `web_sys::Response` and the client's
//! `Response` is built here. Bodies stay the runtime's streams, so image bytes never enter wasm
//! memory. A request is a future run by wasm-bindgen-futures (`future_to_promise`); each runtime
//! promise is awaited as a `JsFuture`. The JS shim keeps what must be JS: instantiation, the
//! cache adapter (tee, length checks, range cuts), bounded reads, panic recovery.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::config::{Config, ConfigError, ConfigValue};
use crate::flow::{self, State};
use crate::http::{
    Answer, Body, Headers, Method, Request, Response, UpstreamRequest, UpstreamResponse,
    CLIENT_HEADERS,
};
use crate::platform::{FetchError, Platform};

#[wasm_bindgen]
extern "C" {
    /// The shim's platform object (js-shim/platform.js).
    pub type JsPlatform;

    /// The runtime's fetch (or the ESA host's, or the warm-up's in-memory one).
    #[wasm_bindgen(method, catch)]
    fn fetch(this: &JsPlatform, url: &str, init: &web_sys::RequestInit)
        -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = readBytes)]
    fn read_bytes(this: &JsPlatform, body: &JsValue, limit: u32) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = readText)]
    fn read_text(this: &JsPlatform, body: &JsValue, limit: u32) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = cacheGet)]
    fn cache_get(this: &JsPlatform, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, js_name = cachePut)]
    fn cache_put(this: &JsPlatform, key: &str, response: &web_sys::Response);

    #[wasm_bindgen(method, js_name = cachePutStream)]
    fn cache_put_stream(
        this: &JsPlatform,
        key: &str,
        headers: &web_sys::Headers,
        body: &JsValue,
        expected_len: f64,
        commit_key: &str,
        commit_value: &str,
    ) -> JsValue;

    /// A body of parts: `Uint8Array`s, `{ handle, len }` and `{ url, len }` (fetched when reached).
    #[wasm_bindgen(method)]
    fn concat(this: &JsPlatform, parts: &Array, total: f64) -> JsValue;

    #[wasm_bindgen(method, js_name = randomId)]
    fn random_id(this: &JsPlatform) -> String;

    #[wasm_bindgen(method, catch)]
    fn slice(this: &JsPlatform, body: &JsValue, first: f64, last: f64) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method)]
    fn log(this: &JsPlatform, line: &str);

    #[wasm_bindgen(method, js_name = headerLines)]
    fn header_lines(this: &JsPlatform, headers: &web_sys::Headers) -> String;

    /// `promise` as the shim lets this instance see it settle: never once the instance is
    /// replaced (js-shim/proxy.js `newInstance`).
    #[wasm_bindgen(method)]
    fn settle(this: &JsPlatform, promise: &Promise) -> Promise;

    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);

    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(s: &str);

    /// Set by the JS shim: fails the requests in flight and drops the instance.
    #[wasm_bindgen(js_namespace = globalThis, js_name = __edgeRegistryProxyPanic)]
    fn notify_panic(s: &str);
}

struct Binding(JsPlatform);

impl Binding {
    /// One runtime promise as a future (`Err`: rejected). Every await goes through the shim's
    /// `settle`: a real Promise (a platform function may hand back a plain value), and one that
    /// never settles for an instance replaced after a panic, whose callbacks (wasm-bindgen
    /// closures) would otherwise run through the glue against the new instance's memory.
    fn wait(&self, promise: Promise) -> JsFuture {
        JsFuture::from(self.0.settle(&promise))
    }
}

fn js_error(e: JsValue) -> FetchError {
    FetchError(
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| "runtime error".to_owned()),
    )
}

/// Every header of a runtime `Headers`, read by the shim as one text (`name\nvalue\n` each: no
/// name or value holds a line break): one crossing, where iterating from here took about eight
/// per header (next, done, value, the pair, two strings).
fn headers_from_web(p: &JsPlatform, h: &web_sys::Headers) -> Headers {
    Headers::from_lines(&p.header_lines(h))
}

fn headers_to_web(h: &Headers) -> Result<web_sys::Headers, JsValue> {
    let out = web_sys::Headers::new()?;
    for (k, v) in h.iter() {
        out.append(k, v)?;
    }
    Ok(out)
}

/// A runtime `Response` (from fetch or the cache) as the core sees it; the object itself is the
/// body handle.
fn upstream_response(p: &JsPlatform, v: JsValue) -> UpstreamResponse<JsValue> {
    let r: &web_sys::Response = v.unchecked_ref();
    UpstreamResponse {
        status: r.status(),
        headers: headers_from_web(p, &r.headers()),
        body: v,
    }
}

impl Platform for Binding {
    type Body = JsValue;

    async fn fetch(&self, req: &UpstreamRequest) -> Result<UpstreamResponse<JsValue>, FetchError> {
        let init = web_sys::RequestInit::new();
        init.set_method(req.method.as_str());
        init.set_headers(&headers_to_web(&req.headers).map_err(js_error)?.into());
        init.set_redirect(web_sys::RequestRedirect::Manual);
        let promise = self.0.fetch(&req.url, &init).map_err(js_error)?;
        let v = self.wait(promise).await.map_err(js_error)?;
        Ok(upstream_response(&self.0, v))
    }

    async fn read_bytes(&self, body: JsValue, limit: usize) -> Result<Vec<u8>, FetchError> {
        let promise = self
            .0
            .read_bytes(&body, limit.min(u32::MAX as usize) as u32)
            .map_err(js_error)?;
        let v = self.wait(promise).await.map_err(js_error)?;
        Ok(js_sys::Uint8Array::new(&v).to_vec())
    }

    /// Decoded by the runtime (strict UTF-8): the text crosses once, with the runtime's encoder,
    /// where bytes then `from_utf8` walked it twice more in wasm.
    async fn read_text(&self, body: JsValue, limit: usize) -> Result<String, FetchError> {
        let promise = self
            .0
            .read_text(&body, limit.min(u32::MAX as usize) as u32)
            .map_err(js_error)?;
        let v = self.wait(promise).await.map_err(js_error)?;
        v.as_string()
            .ok_or_else(|| FetchError("body is not text".into()))
    }

    async fn cache_get(&self, key: &str) -> Option<UpstreamResponse<JsValue>> {
        let v = self.wait(self.0.cache_get(key).ok()?).await.ok()?;
        if v.is_null() || v.is_undefined() {
            return None;
        }
        Some(upstream_response(&self.0, v))
    }

    fn cache_put_bytes(&self, key: &str, headers: &Headers, body: &[u8]) {
        // One copy, out of wasm memory into a JS array the Response keeps.
        let made = response_init(200, headers).and_then(|init| {
            let bytes = js_sys::Uint8Array::from(body);
            web_sys::Response::new_with_opt_js_u8_array_and_init(Some(&bytes), &init)
        });
        match made {
            Ok(r) => self.0.cache_put(key, &r),
            Err(e) => self.log(&format!("cache: put failed: {}", js_error(e).0)),
        }
    }

    fn cache_put_stream(
        &self,
        key: &str,
        headers: &Headers,
        body: JsValue,
        expected_len: u64,
        commit: (&str, &str),
    ) -> JsValue {
        let Ok(web_headers) = headers_to_web(headers) else {
            return body; // not stored; the client still gets the body
        };
        self.0.cache_put_stream(
            key,
            &web_headers,
            &body,
            expected_len as f64,
            commit.0,
            commit.1,
        )
    }

    fn concat(&self, parts: Vec<crate::platform::Part<JsValue>>, total: u64) -> JsValue {
        use crate::platform::Part;
        let list = Array::new();
        let object = |key: &str, v: &JsValue, len: u64| {
            let o = js_sys::Object::new();
            let _ = Reflect::set(&o, &JsValue::from_str(key), v);
            let _ = Reflect::set(
                &o,
                &JsValue::from_str("len"),
                &JsValue::from_f64(len as f64),
            );
            JsValue::from(o)
        };
        for part in parts {
            list.push(&match part {
                Part::Bytes(b) => js_sys::Uint8Array::from(&b[..]).into(),
                Part::Body { body, len } => object("handle", &body, len),
                Part::Later { url, len } => object("url", &JsValue::from_str(&url), len),
            });
        }
        self.0.concat(&list, total as f64)
    }

    fn random_id(&self) -> String {
        self.0.random_id()
    }

    fn slice(&self, body: JsValue, first: u64, last: u64) -> Option<JsValue> {
        let cut = self.0.slice(&body, first as f64, last as f64).ok()?;
        (!cut.is_null()).then_some(cut)
    }

    fn log(&self, line: &str) {
        self.0.log(line);
    }

    fn now(&self) -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
}

/// `[[key, value], ...]` from the config sources, values as the platform holds them: text,
/// numbers and booleans as text, arrays as lists; null/undefined is "not set".
fn config_values(v: &JsValue) -> Vec<(String, ConfigValue)> {
    // Numbers are formatted by JS: Rust's float formatting would add ~12 KB of wasm.
    let text = |v: &JsValue| {
        v.as_string()
            .or_else(|| {
                v.as_f64()?;
                let s = v
                    .unchecked_ref::<js_sys::Number>()
                    .to_string_with_radix(10)
                    .ok()?;
                Some(String::from(s))
            })
            .or_else(|| v.as_bool().map(|b| b.to_string()))
    };
    Array::from(v)
        .iter()
        .filter_map(|pair| {
            let pair = Array::from(&pair);
            let key = pair.get(0).as_string()?;
            let v = pair.get(1);
            let value = if v.is_null() || v.is_undefined() {
                return None;
            } else if let Some(t) = text(&v) {
                ConfigValue::Text(t)
            } else if Array::is_array(&v) {
                let items: Option<Vec<String>> = Array::from(&v).iter().map(|i| text(&i)).collect();
                items.map_or(
                    ConfigValue::Unusable("a list holding non-text"),
                    ConfigValue::List,
                )
            } else if v.is_function() {
                ConfigValue::Unusable("a function")
            } else {
                ConfigValue::Unusable("an object")
            };
            Some((key, value))
        })
        .collect()
}

thread_local! {
    static STATE: Rc<State> = Rc::new(State::default());
    /// The last configuration seen and what it parsed to: config objects rarely change within
    /// an isolate, so parsing is paid once.
    static CONFIG: RefCell<Option<(Vec<(String, ConfigValue)>, Rc<Result<Config, ConfigError>>)>> =
        const { RefCell::new(None) };
}

fn config_from(values: Vec<(String, ConfigValue)>) -> Rc<Result<Config, ConfigError>> {
    CONFIG.with(|c| {
        if let Some((seen, parsed)) = &*c.borrow() {
            if *seen == values {
                return parsed.clone();
            }
        }
        let parsed = Rc::new(Config::from_values(values.iter().cloned()));
        if let Ok(config) = &*parsed {
            for w in config.warnings() {
                console_warn(&format!("edge-registry-proxy: warning: {w}"));
            }
        }
        *c.borrow_mut() = Some((values, parsed.clone()));
        parsed
    })
}

fn response_init(status: u16, headers: &Headers) -> Result<web_sys::ResponseInit, JsValue> {
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers_to_web(headers)?.into());
    Ok(init)
}

/// The client's `Response`: the upstream's own object when the core passes it on verbatim;
/// otherwise a new one, whose stream body is the handle's `body` (a runtime Response, or the
/// `{ body }` the cache adapter made); statuses that carry no body get none.
fn response_to_web(r: Response<JsValue>) -> Result<web_sys::Response, JsValue> {
    let (status, headers, answer) = r.into_parts();
    let body = match answer {
        Answer::Verbatim { response, .. } => return Ok(response.unchecked_into()),
        _ if Response::<JsValue>::is_null_body_status(status) => Body::Empty,
        Answer::Built(b) => b,
    };
    let init = response_init(status, &headers)?;
    match body {
        Body::Empty => web_sys::Response::new_with_opt_str_and_init(None, &init),
        Body::Text(t) => web_sys::Response::new_with_opt_str_and_init(Some(&t), &init),
        Body::Bytes(mut b) => {
            web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut b), &init)
        }
        Body::Stream(handle) => {
            let stream = Reflect::get(&handle, &"body".into()).unwrap_or(JsValue::NULL);
            let stream: Option<&web_sys::ReadableStream> =
                (!stream.is_null() && !stream.is_undefined()).then(|| stream.unchecked_ref());
            web_sys::Response::new_with_opt_readable_stream_and_init(stream, &init)
        }
    }
}

/// Starts one request: the runtime's `Request` (its body read only for `POST /token`), `config`
/// as `[[key, value], ...]` (`config_values`) or null for "the same as last time" (the shim sends
/// it only when its sources change). Returns a promise of the client's `Response`.
#[wasm_bindgen]
#[allow(unreachable_pub)] // exported to JS, not to Rust
pub fn handle(
    request: web_sys::Request,
    config: JsValue,
    platform: JsPlatform,
) -> Result<Promise, JsValue> {
    let config = if config.is_null() || config.is_undefined() {
        match CONFIG.with(|c| c.borrow().as_ref().map(|(_, parsed)| parsed.clone())) {
            Some(parsed) => parsed,
            // The shim resends after a fresh instance; failing makes it start over.
            None => return Err("no configuration yet".into()),
        }
    } else {
        config_from(config_values(&config))
    };
    let state = STATE.with(Rc::clone);
    // Only the headers the core reads cross: one runtime call each (http.rs CLIENT_HEADERS).
    let client_headers = request.headers();
    let headers = CLIENT_HEADERS
        .iter()
        .filter_map(|name| Some((*name, client_headers.get(name).ok()??)))
        .collect();
    let method = Method::from(request.method());
    let req = Request {
        url: request.url(),
        headers,
        body: (method == Method::Post).then(|| request.into()),
        method,
    };
    let binding = Binding(platform);
    let task = async move {
        let resp = match &*config {
            Ok(c) => flow::handle(&binding, &state, c, req).await,
            Err(e) => {
                binding.log(&format!("config error: {e}"));
                flow::config_error_response(e)
            }
        };
        response_to_web(resp).map(JsValue::from)
    };
    Ok(future_to_promise(task))
}

/// Installed once at instantiation. A panic aborts: the trap leaves the instance unusable, and it
/// happens in a poll, which wasm-bindgen-futures runs from a microtask the shim schedules
/// (js-shim/proxy.js `guardedImports`), so the shim catches it. Before that, the hook logs and
/// tells the shim, which answers every request in flight on this instance with a 500 and makes a
/// fresh instance for the next one.
#[wasm_bindgen(start)]
#[allow(unreachable_pub)] // exported to JS, not to Rust
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("edge-registry-proxy panicked: {info}");
        console_error(&message);
        notify_panic(&message);
    }));
}
