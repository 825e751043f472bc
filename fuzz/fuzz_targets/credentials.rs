//! A client's Basic credentials and an upstream token's subject: reading never panics; what
//! parse_basic reads is what basic_header writes back (user without ':', password as given);
//! subject_is never says yes for a token without that subject.
#![no_main]
use edge_registry_proxy::fuzzing::{basic_header, parse_basic, subject_is, Credentials};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Some(c) = parse_basic(s) {
        assert!(!c.user.contains(':'), "{s:?}");
        let again = parse_basic(&basic_header(&c)).expect("what the proxy writes reads back");
        assert!(again == c, "{s:?}");
    }
    let (user, password) = s.split_once('\0').unwrap_or((s, ""));
    if !user.contains(':') {
        let c = Credentials { user: user.to_owned(), password: password.to_owned() };
        assert!(parse_basic(&basic_header(&c)) == Some(c));
    }
    if subject_is(s, user) {
        assert!(s.split('.').count() >= 2, "{s:?}");
    }
});
