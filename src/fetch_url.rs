//! URLs the proxy judges before it fetches them (token realms, redirect `Location`s, upstream
//! endpoints), read as the runtime's `fetch` reads them: the WHATWG URL standard's parser for
//! `http` and `https`.
//!
//! Two parsers that disagree about where a host ends are how a password reaches another host
//! (`http://evil\@registry/token` is evil's to WHATWG). So this parser follows the standard for
//! what the proxy accepts, refuses (None) what it never needs and would have to get subtly right
//! (userinfo, percent-encoded, non-ASCII or punctuated hosts, other schemes), and hands out its
//! own serialization, which is canonical: the proxy fetches exactly the string it judged, and any
//! WHATWG parser reads that string back to the same host, port and path.

/// An absolute `http`/`https` URL, fragment dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchUrl {
    href: String,
    /// Byte offsets into `href`: `scheme://host[:port]` ends at `origin_end`, the host is
    /// `href[host_start..host_end]`.
    host_start: usize,
    host_end: usize,
    origin_end: usize,
    /// `None` when the scheme's default port.
    port: Option<u16>,
}

impl FetchUrl {
    /// An absolute URL.
    pub fn parse(input: &str) -> Option<FetchUrl> {
        parse(input, None)
    }

    /// `input` (a redirect `Location`, maybe relative) resolved against this URL.
    pub fn join(&self, input: &str) -> Option<FetchUrl> {
        parse(input, Some(self))
    }

    /// The canonical serialization: what to fetch.
    pub fn as_str(&self) -> &str {
        &self.href
    }

    pub fn scheme(&self) -> &str {
        &self.href[..self.host_start - 3]
    }

    /// A lowercase DNS name, a dotted-decimal IPv4 address or a bracketed IPv6 address.
    pub fn host(&self) -> &str {
        &self.href[self.host_start..self.host_end]
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> &str {
        &self.href[..self.origin_end]
    }

    /// Path and query, as sent in the request line.
    pub fn path_and_query(&self) -> &str {
        &self.href[self.origin_end..]
    }
}

/// Where a URL's parts come from once the scheme is known.
struct Parts {
    scheme: &'static str,
    host: String,
    port: Option<u16>,
    path: Vec<String>,
    query: Option<String>,
}

fn parse(input: &str, base: Option<&FetchUrl>) -> Option<FetchUrl> {
    // Leading and trailing C0 controls and spaces are stripped, tabs and newlines anywhere removed.
    let trimmed = input.trim_matches(|c: char| c <= ' ');
    let cleaned: String = trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let s = cleaned.as_str();
    let parts = match split_scheme(s) {
        Some((scheme, rest)) => {
            let scheme = special_scheme(scheme)?;
            match base {
                // `http:path` against an http base is relative; two slashes start an authority.
                Some(b) if b.scheme() == scheme && !starts_with_two_slashes(rest) => {
                    relative(rest, b)?
                }
                _ => authority_and_rest(scheme, rest.trim_start_matches(['/', '\\']))?,
            }
        }
        None => relative(s, base?)?,
    };
    Some(serialize(parts))
}

/// `scheme:rest` when `s` starts with a scheme (a letter, then letters, digits, `+-.`).
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let b = scheme.as_bytes();
    let valid = b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c));
    valid.then_some((scheme, rest))
}

fn special_scheme(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("http") {
        Some("http")
    } else if scheme.eq_ignore_ascii_case("https") {
        Some("https")
    } else {
        None
    }
}

fn is_slash(c: char) -> bool {
    c == '/' || c == '\\'
}

fn starts_with_two_slashes(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(is_slash) && c.next().is_some_and(is_slash)
}

/// A reference without a scheme of its own, resolved against `base`.
fn relative(s: &str, base: &FetchUrl) -> Option<Parts> {
    let scheme = special_scheme(base.scheme())?;
    if starts_with_two_slashes(s) {
        return authority_and_rest(scheme, s.trim_start_matches(['/', '\\']));
    }
    let base_parts = reparse(base);
    let (before_fragment, _) = s.split_once('#').unwrap_or((s, ""));
    let (path_part, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    let mut parts = Parts {
        query: query.map(encode_query),
        ..base_parts
    };
    if s.starts_with(is_slash) {
        parts.path.clear();
        push_segments(&mut parts.path, &path_part[1..]);
    } else if !path_part.is_empty() {
        parts.path.pop();
        push_segments(&mut parts.path, path_part);
    } else if query.is_none() {
        // Empty or fragment-only: the base itself.
        parts.query = reparse(base).query;
    }
    Some(parts)
}

/// The parts of a URL this module made (its serialization is canonical, so this cannot fail).
fn reparse(u: &FetchUrl) -> Parts {
    let pq = u.path_and_query();
    let (path, query) = match pq.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (pq, None),
    };
    Parts {
        scheme: special_scheme(u.scheme()).unwrap_or("https"),
        host: u.host().to_owned(),
        port: u.port,
        path: path[1..].split('/').map(str::to_owned).collect(),
        query,
    }
}

/// `host[:port][/path][?query][#fragment]` after the slashes.
fn authority_and_rest(scheme: &'static str, s: &str) -> Option<Parts> {
    let end = s.find(['/', '\\', '?', '#']).unwrap_or(s.len());
    let (authority, rest) = s.split_at(end);
    if authority.contains('@') {
        return None; // userinfo: never needed, and fetch refuses credentials in URLs
    }
    let (host, port) = split_host_port(authority)?;
    let host = parse_host(host)?;
    let port = parse_port(port, scheme)?;
    let (before_fragment, _) = rest.split_once('#').unwrap_or((rest, ""));
    let (path_part, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(encode_query(q))),
        None => (before_fragment, None),
    };
    let mut path = Vec::new();
    push_segments(
        &mut path,
        path_part.strip_prefix(is_slash).unwrap_or(path_part),
    );
    Some(Parts {
        scheme,
        host,
        port,
        path,
        query,
    })
}

fn split_host_port(authority: &str) -> Option<(&str, &str)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        return match after.strip_prefix(':') {
            Some(port) => Some((host, port)),
            None if after.is_empty() => Some((host, "")),
            None => None,
        };
    }
    Some(authority.split_once(':').unwrap_or((authority, "")))
}

fn parse_port(port: &str, scheme: &str) -> Option<Option<u16>> {
    if port.is_empty() {
        return Some(None);
    }
    if !port.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits = port.trim_start_matches('0');
    if digits.len() > 5 {
        return None;
    }
    let n: u32 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let n = u16::try_from(n).ok()?;
    let default = if scheme == "http" { 80 } else { 443 };
    Some((n != default).then_some(n))
}

/// The host as WHATWG serializes it, or None for hosts this proxy does not accept.
fn parse_host(host: &str) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[') {
        let v6 = parse_ipv6(inner.strip_suffix(']')?)?;
        return Some(format!("[{}]", format_ipv6(&v6)));
    }
    if host.is_empty() {
        return None;
    }
    // Only DNS-name characters: no percent-decoding, IDNA or punctuation to get right.
    let valid = host
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if !valid {
        return None;
    }
    let host = host.to_ascii_lowercase();
    if ends_in_a_number(&host) {
        let v4 = parse_ipv4(&host)?;
        let [a, b, c, d] = v4.to_be_bytes();
        return Some(format!("{a}.{b}.{c}.{d}"));
    }
    Some(host)
}

/// Whether WHATWG reads `host` as an IPv4 address (`127.1`, `0x7f.1`, `2130706433`).
fn ends_in_a_number(host: &str) -> bool {
    let mut labels: Vec<&str> = host.split('.').collect();
    if labels.last() == Some(&"") {
        if labels.len() == 1 {
            return false;
        }
        labels.pop();
    }
    let last = labels.last().copied().unwrap_or("");
    (!last.is_empty() && last.bytes().all(|c| c.is_ascii_digit())) || ipv4_number(last).is_some()
}

fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }
    let mut n: u64 = 0;
    for c in digits.chars() {
        n = n
            .checked_mul(radix)?
            .checked_add(u64::from(c.to_digit(radix as u32)?))?;
        if n > u64::from(u32::MAX) + 1 {
            n = u64::from(u32::MAX) + 1; // already too large for any position; keep it bounded
        }
    }
    Some(n)
}

fn parse_ipv4(host: &str) -> Option<u32> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| ipv4_number(p))
        .collect::<Option<_>>()?;
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let mut v4 = *last;
    for (i, &n) in init.iter().enumerate() {
        v4 += n << (8 * (3 - i));
    }
    u32::try_from(v4).ok()
}

/// The WHATWG IPv6 parser (compression, embedded IPv4).
fn parse_ipv6(input: &str) -> Option<[u16; 8]> {
    let c: Vec<u8> = input.bytes().collect();
    let at = |i: usize| c.get(i).copied();
    let mut addr = [0u16; 8];
    let (mut piece, mut compress, mut i) = (0usize, None, 0usize);
    if at(0) == Some(b':') {
        if at(1) != Some(b':') {
            return None;
        }
        i = 2;
        piece = 1;
        compress = Some(1);
    }
    while i < c.len() {
        if piece == 8 {
            return None;
        }
        if c[i] == b':' {
            if compress.is_some() {
                return None;
            }
            i += 1;
            piece += 1;
            compress = Some(piece);
            continue;
        }
        let (mut value, mut len) = (0u16, 0);
        while len < 4 && at(i).is_some_and(|b| b.is_ascii_hexdigit()) {
            value = value * 16 + (c[i] as char).to_digit(16)? as u16;
            i += 1;
            len += 1;
        }
        if at(i) == Some(b'.') {
            if len == 0 || piece > 6 {
                return None;
            }
            // The last 32 bits as dotted decimal, from where this piece started.
            let v4 = parse_embedded_ipv4(&c[i - len..])?;
            addr[piece] = (v4 >> 16) as u16;
            addr[piece + 1] = v4 as u16;
            piece += 2;
            break;
        } else if at(i) == Some(b':') {
            i += 1;
            if i == c.len() {
                return None;
            }
        } else if i < c.len() {
            return None;
        }
        addr[piece] = value;
        piece += 1;
    }
    match compress {
        Some(start) => {
            let mut swaps = piece - start;
            piece = 7;
            while piece != 0 && swaps > 0 {
                addr.swap(piece, start + swaps - 1);
                piece -= 1;
                swaps -= 1;
            }
        }
        None if piece != 8 => return None,
        None => {}
    }
    Some(addr)
}

/// `a.b.c.d` at the end of an IPv6 address, as the standard's IPv6 parser reads it: four
/// decimal parts without leading zeros, each at most 255, nothing after.
fn parse_embedded_ipv4(c: &[u8]) -> Option<u32> {
    let mut v4: u32 = 0;
    let mut parts = 0;
    for part in c.split(|b| *b == b'.') {
        parts += 1;
        let ok = !part.is_empty()
            && part.iter().all(u8::is_ascii_digit)
            && (part.len() == 1 || part[0] != b'0')
            && part.len() <= 3;
        let n = part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        if !ok || n > 255 || parts > 4 {
            return None;
        }
        v4 = v4 << 8 | n;
    }
    (parts == 4).then_some(v4)
}

fn format_ipv6(addr: &[u16; 8]) -> String {
    // The first longest run of two or more zero pieces becomes `::`.
    let (mut best, mut best_len, mut i) = (None, 1, 0);
    while i < 8 {
        let run = addr[i..].iter().take_while(|&&p| p == 0).count();
        if run > best_len {
            (best, best_len) = (Some(i), run);
        }
        i += run.max(1);
    }
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if Some(i) == best {
            out.push_str(if i == 0 { "::" } else { ":" });
            i += best_len;
            continue;
        }
        out.push_str(&format!("{:x}", addr[i]));
        if i < 7 {
            out.push(':');
        }
        i += 1;
    }
    out
}

/// Path segments of `s` (separated by `/` or `\`) onto `path`, with dot segments applied.
fn push_segments(path: &mut Vec<String>, s: &str) {
    let segments: Vec<&str> = s.split(is_slash).collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.into_iter().enumerate() {
        let at_end = i == last;
        if is_double_dot(seg) {
            path.pop();
            if at_end {
                path.push(String::new());
            }
        } else if is_single_dot(seg) {
            if at_end {
                path.push(String::new());
            }
        } else {
            path.push(percent_encode(seg, PATH_SET));
        }
    }
}

fn is_single_dot(s: &str) -> bool {
    s == "." || s.eq_ignore_ascii_case("%2e")
}

fn is_double_dot(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        ".." | ".%2e" | "%2e." | "%2e%2e"
    )
}

/// Besides C0 controls, DEL and non-ASCII: what the standard's path and special-query
/// percent-encode sets add.
const PATH_SET: &[u8] = b" \"#<>?^`{}";
const QUERY_SET: &[u8] = b" \"#<>'";

fn encode_query(q: &str) -> String {
    percent_encode(q, QUERY_SET)
}

fn percent_encode(s: &str, set: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if !(0x20..0x7f).contains(&b) || set.contains(&b) {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        } else {
            out.push(b as char);
        }
    }
    out
}

fn serialize(p: Parts) -> FetchUrl {
    let mut href = format!("{}://", p.scheme);
    let host_start = href.len();
    href.push_str(&p.host);
    let host_end = href.len();
    if let Some(port) = p.port {
        href.push_str(&format!(":{port}"));
    }
    let origin_end = href.len();
    if p.path.is_empty() {
        href.push('/');
    }
    for seg in &p.path {
        href.push('/');
        href.push_str(seg);
    }
    if let Some(q) = &p.query {
        href.push('?');
        href.push_str(q);
    }
    FetchUrl {
        href,
        host_start,
        host_end,
        origin_end,
        port: p.port,
    }
}

/// Resolves a redirect `Location` against the URL that produced it; None unless the result is
/// an http(s) URL this module accepts.
pub fn resolve(base: &str, location: &str) -> Option<String> {
    Some(FetchUrl::parse(base)?.join(location)?.href)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn href(s: &str) -> Option<String> {
        FetchUrl::parse(s).map(|u| u.href)
    }

    #[test]
    fn the_host_ends_where_whatwg_says() {
        // Backslash, `?` and `#` end the authority for http(s): what follows an `@` there is
        // path, query or fragment, and the host is the part before.
        for (input, host) in [
            ("http://evil.test\\@registry.test/token", Some("evil.test")),
            ("http://evil.test?@registry.test/token", Some("evil.test")),
            ("http://evil.test#@registry.test/token", Some("evil.test")),
            ("http://evil.test/@registry.test/token", Some("evil.test")),
            ("http:\\\\evil.test/token", Some("evil.test")),
            ("http:evil.test/token", Some("evil.test")),
            ("http:/\\evil.test", Some("evil.test")),
            ("HTTP://Registry.TEST:80/x", Some("registry.test")),
            (" \thttp://ev\nil.test/\r", Some("evil.test")),
            ("http://registry.test@evil.test/", None),
            ("http://user:pw@registry.test/", None),
        ] {
            let u = FetchUrl::parse(input);
            assert_eq!(u.as_ref().map(FetchUrl::host), host, "{input:?}");
        }
        assert_eq!(
            href("http://evil.test\\token").as_deref(),
            Some("http://evil.test/token")
        );
    }

    #[test]
    fn ipv4_shorthands_are_addresses() {
        for (input, host) in [
            ("http://127.1/", "127.0.0.1"),
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f.0.0.1/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://127.0.0.1./", "127.0.0.1"),
            ("http://0x7F000001/", "127.0.0.1"),
            ("http://1.2.3.4/", "1.2.3.4"),
            ("http://0x/", "0.0.0.0"),
        ] {
            assert_eq!(FetchUrl::parse(input).unwrap().host(), host, "{input}");
        }
        for bad in [
            "http://256.0.0.1/",
            "http://1.2.3.4.5/",
            "http://4294967296/",
            "http://evil.0.0.1/",
            "http://09.1/",
            "http://1.2.3.0x100/",
        ] {
            assert_eq!(href(bad), None, "{bad}");
        }
        // Not numbers: names.
        assert_eq!(
            FetchUrl::parse("http://1.2.3.4x/").unwrap().host(),
            "1.2.3.4x"
        );
        assert_eq!(
            FetchUrl::parse("http://registry.test./").unwrap().host(),
            "registry.test."
        );
    }

    #[test]
    fn ipv6() {
        for (input, host) in [
            ("http://[::1]:5000/", "[::1]"),
            ("http://[0:0:0:0:0:0:0:1]/", "[::1]"),
            ("http://[1:0:0:2:0:0:0:3]/", "[1:0:0:2::3]"),
            ("http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"),
            ("http://[ABCD::]/", "[abcd::]"),
            ("http://[1:2:3:4:5:6:7:8]/", "[1:2:3:4:5:6:7:8]"),
        ] {
            assert_eq!(FetchUrl::parse(input).unwrap().host(), host, "{input}");
        }
        for bad in [
            "http://[::1/",
            "http://[::1]x/",
            "http://[1:2:3:4:5:6:7:8:9]/",
            "http://[1::2::3]/",
            "http://[::1.2.3]/",
            "http://[:1]/",
            "http://[1:]/",
        ] {
            assert_eq!(href(bad), None, "{bad}");
        }
    }

    #[test]
    fn ports() {
        assert_eq!(FetchUrl::parse("https://r.test:443/").unwrap().port(), None);
        assert_eq!(
            href("https://r.test:0080/v2/").as_deref(),
            Some("https://r.test:80/v2/")
        );
        assert_eq!(href("http://r.test:/").as_deref(), Some("http://r.test/"));
        for bad in [
            "http://r.test:65536/",
            "http://r.test:8a/",
            "http://r.test:-1/",
        ] {
            assert_eq!(href(bad), None, "{bad}");
        }
    }

    #[test]
    fn refuses_hosts_it_would_have_to_decode() {
        for bad in [
            "http://ev%69l.test/",
            "http://évil.test/",
            "http://evil test/",
            "http://evil!.test/",
            "http:///",
            "http://",
            "ftp://r.test/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "//r.test/",
        ] {
            assert_eq!(href(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_and_queries_are_encoded_and_dot_segments_applied() {
        assert_eq!(
            href("http://r.test/a/./b/../c/%2e%2E/d?x=1 2#frag").as_deref(),
            Some("http://r.test/a/d?x=1%202")
        );
        assert_eq!(
            href("http://r.test/a b/\"é\"/..").as_deref(),
            Some("http://r.test/a%20b/")
        );
        assert_eq!(
            href("http://r.test/a\\b?q=\\'").as_deref(),
            Some("http://r.test/a/b?q=\\%27")
        );
        assert_eq!(href("http://r.test").as_deref(), Some("http://r.test/"));
        assert_eq!(
            href("http://r.test/../..").as_deref(),
            Some("http://r.test/")
        );
    }

    #[test]
    fn resolves_locations() {
        let base = "http://r.test:5000/v2/x/blobs/sha256:1?a=b";
        for (loc, want) in [
            ("https://cdn.test/a", Some("https://cdn.test/a")),
            ("/b", Some("http://r.test:5000/b")),
            ("//cdn.test/c", Some("http://cdn.test/c")),
            ("\\\\cdn.test/c", Some("http://cdn.test/c")),
            ("/\\cdn.test/c", Some("http://cdn.test/c")),
            ("\\b", Some("http://r.test:5000/b")),
            ("d", Some("http://r.test:5000/v2/x/blobs/d")),
            ("../d", Some("http://r.test:5000/v2/x/d")),
            ("?q", Some("http://r.test:5000/v2/x/blobs/sha256:1?q")),
            ("", Some("http://r.test:5000/v2/x/blobs/sha256:1?a=b")),
            ("#f", Some("http://r.test:5000/v2/x/blobs/sha256:1?a=b")),
            ("http:e", Some("http://r.test:5000/v2/x/blobs/e")),
            ("http://e.test", Some("http://e.test/")),
            ("https:e.test/x", Some("https://e.test/x")),
            ("a/b:c", Some("http://r.test:5000/v2/x/blobs/a/b:c")),
            ("HTTPS://cdn.test/x", Some("https://cdn.test/x")),
            ("file:///etc/passwd", None),
            ("gopher://x/", None),
            ("//user@cdn.test/", None),
        ] {
            assert_eq!(resolve(base, loc).as_deref(), want, "{loc:?}");
        }
    }

    #[test]
    fn serialization_is_a_fixed_point() {
        for s in [
            "http://evil.test?@registry.test/token",
            "http://127.1:0080/a/../b?c d",
            "http://[::ffff:1.2.3.4]/x",
            "https://r.test/%zz/é",
        ] {
            let once = FetchUrl::parse(s).unwrap();
            assert_eq!(FetchUrl::parse(once.as_str()).unwrap(), once, "{s}");
        }
    }
}
