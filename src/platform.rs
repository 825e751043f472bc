//! What the flow needs from the runtime: send a request, read a small body, log, tell the time.
//!
//! Implemented by the edge binding over the runtime's `fetch` (wasm) and by in-memory fakes in
//! the native tests. Upstream redirects are never followed by the platform: the flow follows
//! them itself, deciding per hop which headers may go along.

use crate::http::{UpstreamRequest, UpstreamResponse};

/// A transport failure (connection refused, DNS, TLS, runtime limit), as opposed to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError(pub String);

#[allow(async_fn_in_trait)] // single-threaded runtimes: no Send bound wanted
pub trait Platform {
    /// An opaque body handle: the runtime's stream, passed through without copying.
    type Body;

    async fn fetch(&self, req: UpstreamRequest)
        -> Result<UpstreamResponse<Self::Body>, FetchError>;

    /// Reads a small body (token JSON, a form) as text; fails past `limit` bytes.
    async fn read_text(&self, body: Self::Body, limit: usize) -> Result<String, FetchError>;

    /// One line per request; never given credentials or tokens.
    fn log(&self, line: &str);

    /// Unix time in seconds (token lifetimes).
    fn now(&self) -> u64;
}
