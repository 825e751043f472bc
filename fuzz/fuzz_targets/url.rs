//! The URLs the proxy splits, builds and judges: splitting never panics and keeps the origin it
//! was given; a query it writes reads back as the pairs it wrote; and wherever `FetchUrl` accepts
//! a URL (absolute, or a Location resolved against one), a WHATWG implementation reads the same
//! host, port, path and query, and our canonical text reads back the same.
#![no_main]
use edge_registry_proxy::fuzzing::{with_query, FetchUrl, RequestUrl};
use libfuzzer_sys::fuzz_target;

fn same(ours: &FetchUrl, theirs: &url::Url, what: &str) {
    let pq = match theirs.query() {
        Some(q) => format!("{}?{q}", theirs.path()),
        None => theirs.path().to_owned(),
    };
    assert_eq!(ours.scheme(), theirs.scheme(), "{what}");
    assert_eq!(ours.host(), theirs.host_str().unwrap_or(""), "{what}");
    assert_eq!(ours.port(), theirs.port(), "{what}");
    assert_eq!(ours.path_and_query(), pq, "{what}");
}

/// The url crate refuses a relative `///host` that the standard reads as `//host` (after it
/// strips C0 controls and spaces at the ends and drops tabs and newlines, as the standard does).
fn url_crate_deviation(input: &str) -> bool {
    input
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take_while(|c| *c == '/' || *c == '\\')
        .count()
        >= 3
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let mid = s.char_indices().nth(s.chars().count() / 2).map_or(s.len(), |(i, _)| i);
    let (a, b) = s.split_at(mid);

    if let Some(u) = RequestUrl::parse(a) {
        assert!(u.path.starts_with('/'), "{a:?}");
        assert!(a.starts_with(&u.origin()), "{a:?}");
        let _ = (u.host(), u.query_pairs());
    }

    let built = with_query("https://proxy.example/token", &[(a, b)]);
    let u = RequestUrl::parse(&built).expect("a URL the proxy built parses");
    assert_eq!(u.origin(), "https://proxy.example");
    assert_eq!(u.path, "/token");
    assert_eq!(u.query_pairs(), vec![(a.to_owned(), b.to_owned())], "{built}");

    for input in [s, a] {
        if let Some(ours) = FetchUrl::parse(input) {
            let theirs = url::Url::parse(input).expect("the standard accepts what we accept");
            same(&ours, &theirs, input);
            same(&ours, &url::Url::parse(ours.as_str()).unwrap(), ours.as_str());
            assert_eq!(FetchUrl::parse(ours.as_str()).as_ref(), Some(&ours));
        }
    }
    if let Some(base) = FetchUrl::parse(a) {
        if let Some(ours) = base.join(b) {
            match url::Url::parse(a).unwrap().join(b) {
                Ok(theirs) => same(&ours, &theirs, b),
                Err(_) => assert!(url_crate_deviation(b), "{b:?} against {a:?}"),
            }
        }
    }
});
