//! `fetch_url` against a WHATWG URL implementation (the `url` crate, what browsers and fetch
//! follow): wherever the proxy accepts a URL, the standard reads the same host, port, path and
//! query, and the proxy's canonical text reads back the same. Inputs are the forms that decide
//! where a request goes: delimiters before an `@`, IPv4 shorthands, IPv6, ports, dot segments,
//! percent-encoding, trailing dots, and relative Locations.

use edge_registry_proxy::fuzzing::FetchUrl;

const SCHEMES: &[&str] = &[
    "http://",
    "HTTPS://",
    "http:",
    "http:/",
    "http:\\\\",
    "https:\\/",
    " http://",
    "",
    "//",
    "ftp://",
];
const HOSTS: &[&str] = &[
    "r.test",
    "127.0.0.1",
    "127.1",
    "0x7f.1",
    "0177.0.0.01",
    "2130706433",
    "4294967296",
    "1.2.3.4.5",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[1:0:0:2:0:0:0:3]",
    "[::1",
    "R.Test.",
    "a..b",
    "_a.test",
    "évil.test",
    "ev%69l.test",
    "xn--nxasmq6b",
    "",
    "a\tb.test",
    "09.1",
    "1.2.3.0x",
];
const DELIMS: &[&str] = &[
    "", "\\", "?", "#", "/", ";", "%2F", "%5C", " ", "\\\\", ":1@",
];
const TAILS: &[&str] = &["", "@evil.test", "@evil.test/token"];
const PORTS: &[&str] = &["", ":", ":80", ":0443", ":5000", ":65536", ":5x"];
const PATHS: &[&str] = &[
    "",
    "/",
    "/token?service=a b&scope=x:y",
    "/a/./b/../c",
    "/a/%2e%2E/b",
    "\\a\\b",
    "/é\"<>^`{}",
    "/x?q='#frag",
    "/..",
];

#[derive(Debug, PartialEq)]
struct Read {
    scheme: String,
    host: String,
    port: Option<u16>,
    path_and_query: String,
}

fn theirs(u: &url::Url) -> Read {
    Read {
        scheme: u.scheme().to_owned(),
        host: u.host_str().unwrap_or("").to_owned(),
        port: u.port(),
        path_and_query: match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
    }
}

fn ours(u: &FetchUrl) -> Read {
    Read {
        scheme: u.scheme().to_owned(),
        host: u.host().to_owned(),
        port: u.port(),
        path_and_query: u.path_and_query().to_owned(),
    }
}

/// Whether the proxy's reading of `input` (absolute, or relative to `base`) is the standard's.
fn agrees(input: &str, base: Option<&str>) -> Option<bool> {
    let (ours_parsed, theirs_parsed) = match base {
        None => (FetchUrl::parse(input), url::Url::parse(input)),
        Some(b) => (
            FetchUrl::parse(b).and_then(|u| u.join(input)),
            url::Url::parse(b).and_then(|u| u.join(input)),
        ),
    };
    let o = ours_parsed?;
    let Ok(t) = theirs_parsed else {
        // The url crate refuses a relative `///host`, which the standard (and Node's URL)
        // reads as `//host`: its one known deviation from the standard among these inputs.
        let slashes = input
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .take_while(|c| *c == '/' || *c == '\\');
        assert!(
            base.is_some() && slashes.count() >= 3,
            "{input:?} (base {base:?}): we read {o:?}, the standard refuses it"
        );
        return None;
    };
    let canonical = url::Url::parse(o.as_str()).expect("our canonical text parses");
    assert_eq!(
        theirs(&canonical),
        ours(&o),
        "{input:?}: our text reads back differently"
    );
    Some(theirs(&t) == ours(&o))
}

#[test]
fn absolute_urls_read_as_the_standard_reads_them() {
    let (mut accepted, mut total) = (0, 0);
    for scheme in SCHEMES {
        for host in HOSTS {
            for delim in DELIMS {
                for tail in TAILS {
                    for port in PORTS {
                        for path in PATHS {
                            // The port after the host, or after a tail's host.
                            let input = if tail.is_empty() {
                                format!("{scheme}{host}{delim}{port}{path}")
                            } else {
                                format!("{scheme}{host}{port}{delim}{tail}{path}")
                            };
                            total += 1;
                            if let Some(same) = agrees(&input, None) {
                                assert!(same, "{input:?}: {:?}", url::Url::parse(&input));
                                accepted += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    // Not a test that passes by refusing everything.
    assert!(accepted * 10 > total, "accepted {accepted} of {total}");
}

#[test]
fn relative_locations_resolve_as_the_standard_resolves_them() {
    let bases = [
        "http://r.test:5000/v2/x/blobs/sha256:1?a=b",
        "https://r.test/",
        "https://r.test/a/b/",
    ];
    let locations = [
        "",
        "#f",
        "?q=1 2",
        "d",
        "../d",
        "./d/",
        "..",
        "/b",
        "\\b",
        "//cdn.test/c",
        "\\\\cdn.test",
        "/\\cdn.test/c",
        "\\/cdn.test",
        "///cdn.test",
        "http:e",
        "http:/e",
        "http://e.test",
        "https:e.test/x",
        "HTTP:\\\\e.test",
        "a/b:c",
        "//127.1:80/x",
        "//[::1]/x",
        "%2e%2e/x",
        "//u@cdn.test/",
        "gopher://x/",
        "file:///etc/passwd",
        " /x\n",
    ];
    let mut accepted = 0;
    for base in bases {
        for loc in locations {
            if let Some(same) = agrees(loc, Some(base)) {
                assert!(same, "{loc:?} against {base}");
                accepted += 1;
            }
        }
    }
    assert!(accepted > 60, "accepted {accepted}");
}
