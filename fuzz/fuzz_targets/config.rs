//! Config strings (WHITELIST, ROUTES, USER_WHITELIST, ...): never a panic; a configuration that
//! loads only ever selects upstreams it was given, and has every list the operator wrote (no
//! value switches a whitelist off).
#![no_main]
use edge_registry_proxy::{Config, CONFIG_KEYS as KEYS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let pairs: Vec<(&str, &str)> = s
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (KEYS.iter().map(|(key, _)| *key).find(|key| key.eq_ignore_ascii_case(k)).unwrap_or(k), v))
        .collect();
    let Ok(c) = Config::from_pairs(pairs.iter().copied()) else { return };
    let written = |key: &str| {
        pairs.iter().any(|(k, v)| {
            *k == key && edge_registry_proxy::fuzzing::entries(v).next().is_some()
        })
    };
    if written("WHITELIST") {
        assert!(!c.whitelist.is_empty(), "a written WHITELIST loaded empty");
    }
    if written("USER_WHITELIST") || written("WHITE_LIST") {
        assert!(!c.users().is_empty(), "a written user list loaded empty");
    }
    for probe in ["evil.example", "127.0.0.1:1", "docker.io", "ghcr.io"] {
        if let Some(u) = c.upstream_named(probe) {
            assert!(c.served().any(|r| r == u));
        }
    }
});
