//! The URLs the proxy splits and builds: splitting never panics and keeps the origin it was
//! given; a query it writes reads back as the pairs it wrote; a resolved redirect is absolute.
#![no_main]
use edge_registry_proxy::fuzzing::{resolve, with_query, RequestUrl};
use libfuzzer_sys::fuzz_target;

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

    if RequestUrl::parse(a).is_some() {
        if let Some(r) = resolve(a, b) {
            assert!(r.contains(':'), "resolved {b:?} against {a:?} to {r:?}");
        }
    }
});
