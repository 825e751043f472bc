//! WWW-Authenticate: parsing never panics, and a challenge the proxy writes from any parsed
//! values parses back to those values (nothing in them can break out of the quotes).
#![no_main]
use edge_registry_proxy::fuzzing::{proxy_challenge, BearerError};
use edge_registry_proxy::Challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Some(c) = Challenge::parse(s) else { return };
    let clean = |v: Option<&str>| v.map(|v| v.chars().filter(|c| !c.is_control()).collect::<String>());
    let realm = clean(c.param("realm")).unwrap_or_default();
    let service = clean(c.param("service")).unwrap_or_default();
    let scope = clean(c.param("scope")).filter(|v| !v.is_empty());
    let error = c.param("error").and_then(BearerError::parse);
    let written = proxy_challenge(&realm, &service, scope.as_deref(), error);
    assert!(!written.contains('\n') && !written.contains('\r'));
    let back = Challenge::parse(&written).expect("our own challenge parses");
    assert_eq!(back.param("realm"), Some(realm.as_str()));
    assert_eq!(back.param("service"), Some(service.as_str()));
    assert_eq!(back.param("scope"), scope.as_deref());
    assert_eq!(back.param("error"), error.map(BearerError::as_str));
});
