//! `WWW-Authenticate` challenges: reading the upstream's, writing the proxy's.
//!
//! Clients must only ever see the proxy's own realm: containerd skips the `/v2/` ping and reads
//! the challenge of whatever request failed, and hosts behind the GFW cannot reach
//! auth.docker.io. So every challenge that reaches a client is built here.

/// The auth scheme a challenge names (case-insensitive on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Basic,
    /// Anything else, lowercased: the proxy neither writes nor follows it.
    Other(String),
}

/// RFC 6750's `error` codes: the only ones the proxy writes or passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
}

impl BearerError {
    pub fn as_str(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        }
    }

    /// An upstream's code, if it is one of RFC 6750's.
    pub fn parse(s: &str) -> Option<BearerError> {
        [
            BearerError::InvalidRequest,
            BearerError::InvalidToken,
            BearerError::InsufficientScope,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: Scheme,
    /// Parameter names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_bearer(&self) -> bool {
        self.scheme == Scheme::Bearer
    }

    /// Parses the first challenge of a header value (RFC 7235 auth-params, quoted or token).
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((header, ""));
        if scheme.is_empty() || !scheme.bytes().all(is_token_char) {
            return None;
        }
        let mut params = Vec::new();
        let b = rest.as_bytes();
        let mut i = 0;
        loop {
            while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            let start = i;
            while i < b.len() && is_token_char(b[i]) {
                i += 1;
            }
            let name = rest[start..i].to_ascii_lowercase();
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if name.is_empty() || i >= b.len() || b[i] != b'=' {
                // A second challenge (`Basic realm=..., Bearer ...`) or garbage: stop at the first.
                break;
            }
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut v = Vec::new();
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    v.push(b[i]);
                    i += 1;
                }
                if i >= b.len() {
                    return None; // unterminated quote
                }
                i += 1;
                String::from_utf8_lossy(&v).into_owned()
            } else {
                let s = i;
                while i < b.len() && is_token_char(b[i]) {
                    i += 1;
                }
                rest[s..i].to_owned()
            };
            params.push((name, value));
        }
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "bearer" => Scheme::Bearer,
            "basic" => Scheme::Basic,
            other => Scheme::Other(other.to_owned()),
        };
        Some(Challenge { scheme, params })
    }
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&c)
}

fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        if !c.is_control() {
            s.push(c);
        }
    }
    s.push('"');
    s
}

/// The proxy's Bearer challenge: realm is the proxy's token endpoint, service the proxy's name.
pub fn proxy_challenge(
    realm: &str,
    service: &str,
    scope: Option<&str>,
    error: Option<BearerError>,
) -> String {
    let mut out = format!("Bearer realm={},service={}", quote(realm), quote(service));
    if let Some(scope) = scope.filter(|s| !s.is_empty()) {
        out.push_str(",scope=");
        out.push_str(&quote(scope));
    }
    if let Some(error) = error {
        out.push_str(",error=");
        out.push_str(&quote(error.as_str()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_challenge() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        )
        .unwrap();
        assert!(c.is_bearer());
        assert_eq!(c.param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c.param("service"), Some("registry.docker.io"));
        assert_eq!(c.param("scope"), Some("repository:library/nginx:pull"));
    }

    #[test]
    fn parses_tokens_escapes_and_spacing() {
        let c =
            Challenge::parse(r#"bearer  Realm = "a\"b" , service=svc,error="insufficient_scope""#)
                .unwrap();
        assert_eq!(c.param("realm"), Some("a\"b"));
        assert_eq!(c.param("service"), Some("svc"));
        assert_eq!(c.param("error"), Some("insufficient_scope"));
        let basic = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(basic.scheme, Scheme::Basic);
        assert_eq!(
            Challenge::parse("Negotiate x=1").unwrap().scheme,
            Scheme::Other("negotiate".into())
        );
        assert_eq!(
            BearerError::parse("insufficient_scope"),
            Some(BearerError::InsufficientScope)
        );
        assert_eq!(BearerError::parse("x\",realm=\"evil"), None);
        assert!(Challenge::parse(r#"Bearer realm="unterminated"#).is_none());
        assert!(Challenge::parse("").is_none());
        assert!(Challenge::parse("Bearer").unwrap().params.is_empty());
    }

    #[test]
    fn proxy_challenge_round_trips() {
        let h = proxy_challenge(
            "https://m.example/token?ns=docker.io",
            "m.example",
            Some("repository:library/x:pull"),
            Some(BearerError::InsufficientScope),
        );
        let c = Challenge::parse(&h).unwrap();
        assert_eq!(
            c.param("realm"),
            Some("https://m.example/token?ns=docker.io")
        );
        assert_eq!(c.param("service"), Some("m.example"));
        assert_eq!(c.param("scope"), Some("repository:library/x:pull"));
        assert_eq!(c.param("error"), Some("insufficient_scope"));
        // Hostile scope text cannot break out of the quotes or add header lines.
        let evil = proxy_challenge("r", "s", Some("a\",realm=\"http://evil\r\nX: y"), None);
        let c = Challenge::parse(&evil).unwrap();
        assert_eq!(c.param("realm"), Some("r"));
        assert!(!evil.contains('\n'));
    }
}
