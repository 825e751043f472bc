//! Upstream token answers: reading one never panics; an answer handed on verbatim is a JSON
//! object of the four known keys only, whose `token` and `access_token` are the token read,
//! and whose `issued_at` (if any) is an RFC 3339 time; the lifetime believed is bounded.
#![no_main]
use edge_registry_proxy::fuzzing::{is_rfc3339, parse_token_answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = is_rfc3339(s);
    let Ok(t) = parse_token_answer(s.to_owned()) else { return };
    assert!(!t.token.is_empty());
    assert!(t.expires_in.is_none_or(|e| e <= 24 * 3600));
    if let Some(answer) = &t.answer {
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(answer).unwrap();
        assert_eq!(v.get("token").and_then(|x| x.as_str()), Some(t.token.as_str()));
        assert_eq!(v.get("access_token").and_then(|x| x.as_str()), Some(t.token.as_str()));
        if let Some(i) = v.get("issued_at") {
            assert!(is_rfc3339(i.as_str().unwrap()));
        }
        assert!(v.keys().all(|k| ["token", "access_token", "expires_in", "issued_at"].contains(&k.as_str())));
    }
});
