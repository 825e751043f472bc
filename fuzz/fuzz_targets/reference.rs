//! Names, tags, digests: an accepted name is canonical (normalising it again changes nothing),
//! carries no way to smuggle a path, and fits the length limit.
#![no_main]
use edge_registry_proxy::fuzzing::{normalize_name, Reference, NAME_MAX_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for hub in [true, false] {
        if let Ok(name) = normalize_name(s, hub) {
            let n = name.as_str();
            assert!(n.len() <= NAME_MAX_LEN);
            assert!(!n.contains("..") && !n.contains("//") && !n.contains('%'));
            assert!(n.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-/".contains(&c)));
            assert_eq!(normalize_name(n, hub).unwrap().as_str(), n, "normalising is idempotent");
            if hub {
                assert!(n.contains('/'), "Docker Hub names always have a namespace");
            }
        }
    }
    if let Ok(r) = Reference::parse(s) {
        assert_eq!(r.as_str(), s);
        assert!(!s.contains('/') && !s.contains('%'));
        assert_eq!(Reference::parse(r.as_str()).unwrap(), r);
    }
});
