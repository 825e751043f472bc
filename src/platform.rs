//! What the flow needs from the runtime: send a request, read a small body, use the edge cache,
//! log, tell the time.
//!
//! Implemented by the edge binding over the runtime's `fetch` and Cache API (wasm) and by
//! in-memory fakes in the native tests. Upstream redirects are never followed by the platform:
//! the flow follows them itself, deciding per hop which headers may go along.

use crate::http::{Headers, UpstreamRequest, UpstreamResponse};

/// A transport failure (connection refused, DNS, TLS, runtime limit), as opposed to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError(pub String);

impl FetchError {
    /// What a client is told when the upstream could not be reached at all.
    pub(crate) fn unreachable(&self) -> crate::errors::RegistryError {
        crate::errors::RegistryError::new(
            crate::errors::ErrorCode::Unavailable,
            format!("upstream unreachable: {}", self.0),
        )
    }
}

/// A piece of a body made of several (`Platform::concat`).
pub enum Part<B> {
    /// Bytes the core made.
    Bytes(Vec<u8>),
    /// A body already open, of exactly `len` bytes.
    Body { body: B, len: u64 },
    /// Fetched when the reader reaches it: a GET without credentials (redirects followed by the
    /// runtime: there is nothing to leak), exactly `len` bytes in a 200.
    Later { url: String, len: u64 },
}

#[allow(async_fn_in_trait)] // single-threaded runtimes: no Send bound wanted
pub trait Platform {
    /// An opaque body handle: the runtime's stream, passed through without copying.
    type Body;

    async fn fetch(
        &self,
        req: &UpstreamRequest,
    ) -> Result<UpstreamResponse<Self::Body>, FetchError>;

    /// Reads a small body (a token answer, a form, a manifest) into memory; fails past `limit`
    /// bytes. Never used for layers.
    async fn read_bytes(&self, body: Self::Body, limit: usize) -> Result<Vec<u8>, FetchError>;

    async fn read_text(&self, body: Self::Body, limit: usize) -> Result<String, FetchError> {
        let bytes = self.read_bytes(body, limit).await?;
        String::from_utf8(bytes).map_err(|_| FetchError("body is not UTF-8".into()))
    }

    /// A stored answer for `key`, or None (missing, expired, or the cache failed: a cache is
    /// never a reason to fail a request).
    async fn cache_get(&self, key: &str) -> Option<UpstreamResponse<Self::Body>>;

    /// Stores a small, already verified body in the background.
    fn cache_put_bytes(&self, key: &str, headers: &Headers, body: &[u8]);

    /// Streams `body` to the client and to the cache together. Only if exactly `expected_len`
    /// bytes arrived is `commit` (a small marker entry: key, value) stored afterwards; a body that
    /// ended early is deleted where the cache allows. Returns the client's half.
    fn cache_put_stream(
        &self,
        key: &str,
        headers: &Headers,
        body: Self::Body,
        expected_len: u64,
        commit: (&str, &str),
    ) -> Self::Body;

    /// One body of `parts` in order, exactly `total` bytes. A part that fails or has another
    /// length errors the stream, so the client sees a cut transfer, never a shorter whole.
    fn concat(&self, parts: Vec<Part<Self::Body>>, total: u64) -> Self::Body;

    /// A fresh random id (commit markers).
    fn random_id(&self) -> String;

    /// Bytes `first..=last` of a stored body, streamed; None where the runtime cannot cut a
    /// stream (the range then goes upstream).
    fn slice(&self, body: Self::Body, first: u64, last: u64) -> Option<Self::Body>;

    /// One line per request; never given credentials or tokens.
    fn log(&self, line: &str);

    /// Unix time in seconds (token lifetimes, tag freshness).
    fn now(&self) -> u64;
}
