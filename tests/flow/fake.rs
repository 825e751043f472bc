//! A scripted in-memory upstream and edge cache (`Fake`), and helpers to run the pipeline
//! against it without a runtime.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use edge_registry_proxy::{
    handle, Answer, Body, Config, FetchError, Headers, Part, Platform, Request, Response, State,
    UpstreamRequest, UpstreamResponse,
};

pub type Script =
    Box<dyn Fn(&UpstreamRequest) -> Result<(u16, Vec<(&'static str, String)>, String), FetchError>>;

pub struct Fake {
    pub script: Script,
    pub seen: RefCell<Vec<UpstreamRequest>>,
    pub logs: RefCell<Vec<String>>,
    pub now: Cell<u64>,
    /// key -> (headers, body): what the edge cache holds.
    pub cache: RefCell<Vec<(String, Headers, String)>>,
    pub ids: Cell<u64>,
}

impl Fake {
    pub fn new(
        script: impl Fn(&UpstreamRequest) -> Result<(u16, Vec<(&'static str, String)>, String), FetchError>
            + 'static,
    ) -> Fake {
        Fake {
            script: Box::new(script),
            seen: RefCell::new(Vec::new()),
            logs: RefCell::new(Vec::new()),
            now: Cell::new(1_000_000),
            cache: RefCell::new(Vec::new()),
            ids: Cell::new(0),
        }
    }
}

impl Platform for Fake {
    type Body = String;

    async fn fetch(&self, req: &UpstreamRequest) -> Result<UpstreamResponse<String>, FetchError> {
        self.seen.borrow_mut().push(req.clone());
        let (status, headers, body) = (self.script)(req)?;
        Ok(UpstreamResponse {
            status,
            headers: headers.into_iter().collect(),
            body,
        })
    }

    async fn read_bytes(&self, body: String, limit: usize) -> Result<Vec<u8>, FetchError> {
        if body.len() > limit {
            return Err(FetchError("too large".into()));
        }
        Ok(body.into_bytes())
    }

    async fn cache_get(&self, key: &str) -> Option<UpstreamResponse<String>> {
        self.cache
            .borrow()
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, h, b)| UpstreamResponse {
                status: 200,
                headers: h.clone(),
                body: b.clone(),
            })
    }

    fn cache_put_bytes(&self, key: &str, headers: &Headers, body: &[u8]) {
        let mut c = self.cache.borrow_mut();
        c.retain(|(k, _, _)| k != key);
        c.push((
            key.to_owned(),
            headers.clone(),
            String::from_utf8(body.to_vec()).unwrap(),
        ));
    }

    fn cache_put_stream(
        &self,
        key: &str,
        headers: &Headers,
        body: String,
        expected_len: u64,
        commit: (&str, &str),
    ) -> String {
        // Like workerd's cache: whatever arrived is stored; like the JS platform: the commit
        // marker only when the whole body arrived.
        self.cache_put_bytes(key, headers, body.as_bytes());
        if body.len() as u64 == expected_len {
            self.cache_put_bytes(commit.0, &Headers::new(), commit.1.as_bytes());
        }
        body
    }

    /// Like the shim: parts in order, fetched when reached; a part of another length is marked
    /// `<<CUT>>` where the shim would error the stream.
    fn concat(&self, parts: Vec<Part<String>>, total: u64) -> String {
        let mut out = String::new();
        for part in parts {
            let (body, len) = match part {
                Part::Bytes(b) => (String::from_utf8(b).unwrap(), None),
                Part::Body { body, len } => (body, Some(len)),
                Part::Later { url, len } => {
                    let req = UpstreamRequest {
                        method: "GET".into(),
                        url,
                        headers: Headers::new(),
                    };
                    self.seen.borrow_mut().push(req.clone());
                    match (self.script)(&req) {
                        Ok((200, _, body)) => (body, Some(len)),
                        _ => (String::new(), Some(len + 1)),
                    }
                }
            };
            let whole = len.is_none_or(|l| l == body.len() as u64);
            out += &body;
            if !whole {
                out += "<<CUT>>";
                return out;
            }
        }
        assert_eq!(out.len() as u64, total, "the announced length");
        out
    }

    fn random_id(&self) -> String {
        self.ids.set(self.ids.get() + 1);
        format!("id-{}", self.ids.get())
    }

    fn slice(&self, body: String, first: u64, last: u64) -> Option<String> {
        Some(body[first as usize..=last as usize].to_owned())
    }

    fn log(&self, line: &str) {
        self.logs.borrow_mut().push(line.to_owned());
    }

    fn now(&self) -> u64 {
        self.now.get()
    }
}

/// The fakes never pend, so polling once with a no-op waker completes the flow.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("flow did not complete");
}

pub const HUB_CHALLENGE: &str =
    r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#;
pub const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

pub fn config(pairs: &[(&str, &str)]) -> Config {
    Config::from_pairs(pairs.iter().copied()).unwrap()
}

pub fn req(method: &str, url: &str, headers: &[(&str, &str)]) -> Request<String> {
    Request {
        method: method.into(),
        url: url.into(),
        headers: headers.iter().map(|(k, v)| (*k, *v)).collect(),
        body: None,
    }
}

pub fn run(fake: &Fake, state: &State, cfg: &Config, r: Request<String>) -> Response<String> {
    block_on(handle(fake, state, cfg, r))
}

pub fn body_text(r: &Response<String>) -> String {
    match r.answer() {
        Answer::Verbatim { response: t, .. } => t.clone(),
        Answer::Built(Body::Empty) => String::new(),
        Answer::Built(Body::Text(t) | Body::Stream(t)) => t.clone(),
        Answer::Built(Body::Bytes(b)) => String::from_utf8(b.clone()).unwrap(),
    }
}

pub fn error_code(r: &Response<String>) -> String {
    let v: serde_json::Value = serde_json::from_str(&body_text(r)).unwrap();
    v["errors"][0]["code"].as_str().unwrap().to_owned()
}
