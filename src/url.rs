//! Just enough URL handling for a proxy whose runtime already parsed and normalised the request
//! URL: split it, decode its query, encode ours. (The `url` crate would triple the wasm size.)

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrl<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// `host[:port]` as received.
    pub authority: &'a str,
    /// Starts with '/'; still percent-encoded.
    pub path: &'a str,
    pub query: &'a str,
}

impl<'a> RequestUrl<'a> {
    pub fn parse(url: &'a str) -> Option<RequestUrl<'a>> {
        let (scheme, rest) = url.split_once("://")?;
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, path_query) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        Some(RequestUrl {
            scheme,
            authority,
            path,
            query,
        })
    }

    /// The host alone: no user-info, no port, lowercase is the caller's business.
    pub fn host(&self) -> &'a str {
        strip_port(
            self.authority
                .rsplit_once('@')
                .map_or(self.authority, |(_, h)| h),
        )
    }

    /// `scheme://authority`, the origin clients must be sent back to.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(self.query)
    }
}

/// `host[:port]` -> `host`: only a trailing `:digits` is a port.
pub(crate) fn strip_port(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    }
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space: Go clients encode the spaces
/// between several scopes that way). Invalid escapes are kept literally.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

pub(crate) fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for query values.
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// `base?k=v&k2=v2`, appending to a query `base` may already have.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return base.to_owned();
    }
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    let sep = if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    format!("{base}{sep}{}", encoded.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let u = RequestUrl::parse("https://m.example.com:8443/v2/x/manifests/1?ns=docker.io#f")
            .unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.authority, "m.example.com:8443");
        assert_eq!(u.path, "/v2/x/manifests/1");
        assert_eq!(u.query, "ns=docker.io");
        assert_eq!(u.origin(), "https://m.example.com:8443");
        let bare = RequestUrl::parse("http://h").unwrap();
        assert_eq!(bare.path, "/");
        assert!(RequestUrl::parse("no-scheme").is_none());
    }

    #[test]
    fn form_decoding() {
        let q = parse_query(
            "scope=repository%3Alibrary%2Fx%3Apull+repository:y:pull&scope=a&&e&bad=%zz%4",
        );
        assert_eq!(
            q[0],
            (
                "scope".into(),
                "repository:library/x:pull repository:y:pull".into()
            )
        );
        assert_eq!(q[1], ("scope".into(), "a".into()));
        assert_eq!(q[2], ("e".into(), "".into()));
        assert_eq!(q[3], ("bad".into(), "%zz%4".into()));
        assert_eq!(form_decode("%"), "%");
        assert_eq!(form_decode("%4"), "%4");
        assert_eq!(form_decode("%41"), "A");
    }

    #[test]
    fn encoding_round_trips() {
        let s = "repository:library/x:pull&evil=1 +%";
        assert_eq!(form_decode(&encode_component(s)), s);
        assert_eq!(
            with_query("https://a/token", &[("service", "s v"), ("scope", "a:b")]),
            "https://a/token?service=s%20v&scope=a%3Ab"
        );
        assert_eq!(
            with_query("https://a/token?x=1", &[("k", "v")]),
            "https://a/token?x=1&k=v"
        );
        assert_eq!(with_query("https://a/t", &[]), "https://a/t");
    }
}
