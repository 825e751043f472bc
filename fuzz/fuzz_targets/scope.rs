//! Token scopes: only pull on whitelisted, normalised repositories is ever granted, and
//! granting what was granted grants the same again.
#![no_main]
use edge_registry_proxy::fuzzing::{grant, split_scopes, Reach, MAX_SCOPES};
use edge_registry_proxy::fuzzing::Upstream;
use edge_registry_proxy::fuzzing::Whitelist;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let hub = Upstream::parse("docker.io").unwrap();
    let wl = Whitelist::parse("nginx, jq/*").unwrap();
    let g = grant(&split_scopes(s.split('&')), Reach::only(&hub), &wl);
    assert!(g.repositories.len() <= MAX_SCOPES);
    for r in &g.repositories {
        assert!(wl.allows(&hub, r));
    }
    let strings = g.scope_strings();
    for scope in &strings {
        assert!(scope.starts_with("repository:") && scope.ends_with(":pull"));
    }
    let again = grant(&strings.iter().map(String::as_str).collect::<Vec<_>>(), Reach::only(&hub), &wl);
    assert_eq!(again.repositories, g.repositories);
    assert!(again.refused.is_empty());
});
