//! Requests and responses as the flow sees them: plain data, with bodies as opaque handles of
//! the platform (`B`) so a layer's bytes never pass through the core, nor through wasm memory.

use crate::cache_policy::CacheStatus;

/// An HTTP method. Only the ones a read-only registry mirror acts on have names; methods are
/// case-sensitive (RFC 9110), so `get` is `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Other(String),
}

impl Method {
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Other(m) => m,
        }
    }

    /// GET or HEAD: what a read-only mirror serves.
    pub fn is_read(&self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

impl From<&str> for Method {
    fn from(m: &str) -> Self {
        match m {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            other => Method::Other(other.to_owned()),
        }
    }
}

impl From<String> for Method {
    fn from(m: String) -> Self {
        Method::from(m.as_str())
    }
}

impl PartialEq<&str> for Method {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `Authorization` value carrying `token`.
pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The client request headers the pipeline reads; the rest never enters it (`flow::handle`
/// drops them), so the binding may hand over just these (cheaper than walking them all).
pub(crate) const CLIENT_HEADERS: &[&str] = &[
    "authorization",
    "accept",
    "range",
    "if-range",
    "if-none-match",
    "user-agent",
];

/// The header every registry answer carries (the proxy's own included).
pub(crate) const API_VERSION: (&str, &str) = ("docker-distribution-api-version", "registry/2.0");

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces any value of `name`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.0.push((name.to_ascii_lowercase(), value.into()));
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Keeps only the headers named in `names` (lowercase).
    pub fn keep_only(&mut self, names: &[&str]) {
        self.0
            .retain(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A runtime `Headers` read as one text by the shim (`headerLines`: `name\nvalue\n` for each,
    /// HTTP allows no line break in either): one crossing where iterating from wasm took about
    /// eight per header. A name without its value line is dropped.
    pub fn from_lines(text: &str) -> Headers {
        let mut lines = text.split('\n');
        let mut out = Vec::new();
        while let (Some(k), Some(v)) = (lines.next(), lines.next()) {
            out.push((k.to_ascii_lowercase(), v.to_owned()));
        }
        Headers(out)
    }

    /// The body was sent with a Content-Encoding, which the runtime's fetch decodes by itself:
    /// the bytes a client gets are the decoded ones, and the upstream's Content-Length (of the
    /// encoded bytes) says nothing about them.
    pub fn decoded_by_fetch(&self) -> bool {
        self.get("content-encoding").is_some_and(|e| {
            let e = e.trim();
            !e.is_empty() && !e.eq_ignore_ascii_case("identity")
        })
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut h = Headers::new();
        for (k, v) in iter {
            let mut k: String = k.into();
            k.make_ascii_lowercase();
            h.0.push((k, v.into()));
        }
        h
    }
}

/// The client's request. `body` is only read for `POST /token` (a small form).
#[derive(Debug)]
pub struct Request<B> {
    pub method: Method,
    /// Absolute URL as the runtime gives it (already normalised by its URL parser).
    pub url: String,
    pub headers: Headers,
    pub body: Option<B>,
}

/// A request the proxy sends to an upstream, token service or blob host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRequest {
    pub method: Method,
    pub url: String,
    pub headers: Headers,
}

impl UpstreamRequest {
    /// A GET of the proxy's own (a `/v2/` check, a token): never a client's request.
    pub(crate) fn get(url: String, headers: Headers) -> Self {
        UpstreamRequest {
            method: Method::Get,
            url,
            headers,
        }
    }
}

#[derive(Debug)]
pub struct UpstreamResponse<B> {
    pub status: u16,
    pub headers: Headers,
    pub body: B,
}

/// A body the proxy hands the client.
#[derive(Debug)]
pub enum Body<B> {
    Empty,
    Text(String),
    /// A small body the proxy read and verified (a manifest).
    Bytes(Vec<u8>),
    /// An upstream response's body, streamed through untouched.
    Stream(B),
}

/// What the client gets: an answer the proxy built, or the upstream's response object itself.
#[derive(Debug)]
pub enum Answer<B> {
    Built(Body<B>),
    /// The upstream's own response, returned as it came (no new response is built, as plain
    /// proxies do): its status and headers are exactly the `Response`'s. `bodiless`: it answers
    /// a HEAD, so it has no body to drop.
    Verbatim {
        response: B,
        bodiless: bool,
    },
}

/// The client's response. Headers change only through `set_header` (and the body through
/// `set_body`), which turn a verbatim answer into a built one: a header can never
/// be set where the binding, passing the upstream's object on, would drop it.
#[derive(Debug)]
pub struct Response<B> {
    pub status: u16,
    headers: Headers,
    answer: Answer<B>,
    /// What the edge cache did: `flow::handle` writes it as `X-Cache` and logs it.
    cache: Option<CacheStatus>,
}

impl<B> Response<B> {
    /// Statuses whose responses carry no body (a runtime's Response constructor refuses one).
    pub fn is_null_body_status(status: u16) -> bool {
        matches!(status, 101 | 204 | 205 | 304)
    }

    pub fn new(status: u16, headers: Headers, body: Body<B>) -> Self {
        Response {
            status,
            headers,
            answer: Answer::Built(body),
            cache: None,
        }
    }

    /// The upstream's response object as it came, with exactly these `headers`.
    pub(crate) fn verbatim(status: u16, headers: Headers, response: B, bodiless: bool) -> Self {
        Response {
            status,
            headers,
            answer: Answer::Verbatim { response, bodiless },
            cache: None,
        }
    }

    pub fn text(status: u16, content_type: &str, text: String) -> Self {
        let mut headers = Headers::new();
        headers.set("content-type", content_type);
        Response::new(status, headers, Body::Text(text))
    }

    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    pub fn answer(&self) -> &Answer<B> {
        &self.answer
    }

    pub fn into_parts(self) -> (u16, Headers, Answer<B>) {
        (self.status, self.headers, self.answer)
    }

    pub(crate) fn cache(&self) -> Option<CacheStatus> {
        self.cache
    }

    pub(crate) fn set_cache(&mut self, label: CacheStatus) {
        self.cache = Some(label);
    }

    /// A verbatim answer becomes a built one with the same body.
    fn built(&mut self) {
        let answer = std::mem::replace(&mut self.answer, Answer::Built(Body::Empty));
        self.answer = match answer {
            Answer::Verbatim { response, .. } => Answer::Built(Body::Stream(response)),
            built => built,
        };
    }

    /// Sets a header; a verbatim upstream response becomes a streamed copy unless the header
    /// already has that value.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if self.headers.get(name) == Some(value.as_str()) {
            return;
        }
        self.built();
        self.headers.set(name, value);
    }

    pub fn set_body(&mut self, body: Body<B>) {
        self.answer = Answer::Built(body);
    }

    pub fn json(status: u16, json: String) -> Self {
        Self::text(status, "application/json; charset=utf-8", json)
    }

    pub fn error(e: &crate::errors::RegistryError) -> Self {
        let mut r = Self::json(e.status, e.body());
        if let Some(ra) = &e.retry_after {
            r.set_header("retry-after", ra.as_str());
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_set_on_a_verbatim_answer_makes_it_a_built_copy() {
        let headers: Headers = [("x-api", "1")].into_iter().collect();
        let mut r: Response<String> = Response::verbatim(200, headers, "upstream".into(), false);
        r.set_header("x-api", "1");
        assert!(
            matches!(r.answer(), Answer::Verbatim { .. }),
            "same value: nothing changes"
        );
        r.set_header("x-api", "2");
        assert!(matches!(r.answer(), Answer::Built(Body::Stream(s)) if s == "upstream"));
        assert_eq!(r.headers().get("x-api"), Some("2"));
    }

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().copied().collect()
    }

    #[test]
    fn lines_carry_every_pair_in_order() {
        let text = "content-type\napplication/json\nlink\n</v2/x/tags/list?n=1&last=a>; rel=\"next\"\nx-empty\n\nset-cookie\na=1\nset-cookie\nb=2\n";
        assert_eq!(
            Headers::from_lines(text),
            headers(&[
                ("content-type", "application/json"),
                ("link", "</v2/x/tags/list?n=1&last=a>; rel=\"next\""),
                ("x-empty", ""),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
            ])
        );
        assert_eq!(Headers::from_lines(""), Headers::new());
    }

    #[test]
    fn lines_from_the_runtime_are_lowercased_and_a_lone_name_dropped() {
        let h = Headers::from_lines("Content-Type\ntext/plain\nx-cut");
        assert_eq!(h, headers(&[("content-type", "text/plain")]));
        assert_eq!(h.get("CONTENT-TYPE"), Some("text/plain"));
    }
}
