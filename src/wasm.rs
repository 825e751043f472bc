//! The edge binding: the only code that knows wasm-bindgen. It turns the JS shim's plain values
//! into core types and back; bodies stay JS handles (the runtime's `Response`), so image bytes
//! never enter wasm memory.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::config::{Config, ConfigError, ConfigValue};
use crate::flow::{self, State};
use crate::http::{
    Body, Headers, Request, Response, UpstreamRequest, UpstreamResponse, CLIENT_HEADERS,
};
use crate::platform::{FetchError, Platform};

#[wasm_bindgen]
extern "C" {
    /// The shim's platform object (js-shim/platform.js).
    pub type JsPlatform;

    #[wasm_bindgen(method, catch)]
    fn fetch(
        this: &JsPlatform,
        method: &str,
        url: &str,
        headers: String,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = readBytes)]
    fn read_bytes(this: &JsPlatform, body: &JsValue, limit: u32) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = cacheGet)]
    fn cache_get(this: &JsPlatform, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, js_name = cachePutBytes)]
    fn cache_put_bytes(this: &JsPlatform, key: &str, headers: String, body: &[u8]);

    #[wasm_bindgen(method, js_name = cachePutStream)]
    fn cache_put_stream(
        this: &JsPlatform,
        key: &str,
        headers: String,
        body: &JsValue,
        expected_len: f64,
        commit_key: &str,
        commit_value: &str,
    ) -> JsValue;

    #[wasm_bindgen(method, js_name = randomId)]
    fn random_id(this: &JsPlatform) -> String;

    #[wasm_bindgen(method, catch)]
    fn slice(this: &JsPlatform, body: &JsValue, first: f64, last: f64) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method)]
    fn log(this: &JsPlatform, line: &str);

    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);

    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(s: &str);

    /// Set by the JS shim: fails the requests in flight and drops the instance.
    #[wasm_bindgen(js_namespace = globalThis, js_name = __edgeRegistryProxyPanic)]
    fn notify_panic(s: &str);
}

struct Binding(JsPlatform);

fn js_error(e: JsValue) -> FetchError {
    FetchError(
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| "runtime error".to_owned()),
    )
}

/// Headers from the shim: one `name:value\n` text (`Headers::from_text`); not text = none.
fn headers_from_js(v: &JsValue) -> Headers {
    v.as_string()
        .map(|t| Headers::from_text(&t))
        .unwrap_or_default()
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `{status, headers, body}` from the JS platform (a fetch or a cache hit).
fn upstream_response(v: &JsValue) -> UpstreamResponse<JsValue> {
    UpstreamResponse {
        status: get(v, "status").as_f64().unwrap_or(0.0) as u16,
        headers: headers_from_js(&get(v, "headers")),
        body: get(v, "body"),
    }
}

impl Platform for Binding {
    type Body = JsValue;

    async fn fetch(&self, req: UpstreamRequest) -> Result<UpstreamResponse<JsValue>, FetchError> {
        let promise = self
            .0
            .fetch(req.method.as_str(), &req.url, req.headers.to_text())
            .map_err(js_error)?;
        let v = JsFuture::from(promise).await.map_err(js_error)?;
        Ok(upstream_response(&v))
    }

    async fn read_bytes(&self, body: JsValue, limit: usize) -> Result<Vec<u8>, FetchError> {
        let promise = self
            .0
            .read_bytes(&body, limit.min(u32::MAX as usize) as u32)
            .map_err(js_error)?;
        let v = JsFuture::from(promise).await.map_err(js_error)?;
        Ok(js_sys::Uint8Array::new(&v).to_vec())
    }

    async fn cache_get(&self, key: &str) -> Option<UpstreamResponse<JsValue>> {
        let v = JsFuture::from(self.0.cache_get(key).ok()?).await.ok()?;
        if v.is_null() || v.is_undefined() {
            return None;
        }
        Some(upstream_response(&v))
    }

    fn cache_put_bytes(&self, key: &str, headers: &Headers, body: &[u8]) {
        self.0.cache_put_bytes(key, headers.to_text(), body);
    }

    fn cache_put_stream(
        &self,
        key: &str,
        headers: &Headers,
        body: JsValue,
        expected_len: u64,
        commit: (&str, &str),
    ) -> JsValue {
        self.0.cache_put_stream(
            key,
            headers.to_text(),
            &body,
            expected_len as f64,
            commit.0,
            commit.1,
        )
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

fn response_to_js(r: Response<JsValue>) -> JsValue {
    let out = Object::new();
    let body = match r.body {
        Body::Empty => JsValue::NULL,
        Body::Text(t) => t.into(),
        Body::Bytes(b) => js_sys::Uint8Array::from(b.as_slice()).into(),
        Body::Stream(handle) => handle,
    };
    let _ = Reflect::set(&out, &"status".into(), &r.status.into());
    let _ = Reflect::set(&out, &"headers".into(), &r.headers.to_text().into());
    let _ = Reflect::set(&out, &"body".into(), &body);
    out.into()
}

/// Handles one request. `config` is `[[key, value], ...]` (`config_values`), or null for "the
/// same as last time" (the shim sends it only when its sources change); `body` is the runtime's
/// Request (read only for `POST /token`) or null. Resolves to `{status, headers, body}` where body
/// is null, a string, or a handle the platform returned from `fetch`.
#[wasm_bindgen]
#[allow(unreachable_pub)] // exported to JS, not to Rust
pub fn handle(
    method: String,
    url: String,
    headers: String,
    body: JsValue,
    config: JsValue,
    platform: JsPlatform,
) -> Promise {
    let config = if config.is_null() || config.is_undefined() {
        match CONFIG.with(|c| c.borrow().as_ref().map(|(_, parsed)| parsed.clone())) {
            Some(parsed) => parsed,
            // The shim resends after a fresh instance; failing makes it start over.
            None => return Promise::reject(&"no configuration yet".into()),
        }
    } else {
        config_from(config_values(&config))
    };
    let state = STATE.with(Rc::clone);
    let req = Request {
        method: method.into(),
        url,
        headers: Headers::from_text(&headers),
        body: if body.is_null() || body.is_undefined() {
            None
        } else {
            Some(body)
        },
    };
    future_to_promise(async move {
        let binding = Binding(platform);
        let resp = match &*config {
            Ok(c) => flow::handle(&binding, &state, c, req).await,
            Err(e) => {
                binding.log(&format!("config error: {e}"));
                flow::config_error_response(e)
            }
        };
        Ok(response_to_js(resp))
    })
}

/// `CLIENT_HEADERS`, comma-separated: the shim reads just these from the client's request.
#[wasm_bindgen(js_name = clientHeaderNames)]
#[allow(unreachable_pub)] // exported to JS, not to Rust
pub fn client_header_names() -> String {
    CLIENT_HEADERS.join(",")
}

/// Installed once at instantiation. A panic aborts: the trap unwinds a microtask, where no
/// caller can catch it, and leaves the instance unusable. So before that, the hook logs and
/// tells the shim, which answers the requests in flight with a 500 and makes a fresh instance.
#[wasm_bindgen(start)]
#[allow(unreachable_pub)] // exported to JS, not to Rust
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("edge-registry-proxy panicked: {info}");
        console_error(&message);
        notify_panic(&message);
    }));
}
