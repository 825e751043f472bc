//! Proxy tokens: a token that verifies was produced by `sign` with the secret (re-signing its
//! claims gives a token that verifies to the same claims), and no other secret opens it.
#![no_main]
use edge_registry_proxy::fuzzing::{sign, verify};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-secret-0123456789";

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let now = 1_000_000;
    if let Ok(claims) = verify(s, SECRET, now) {
        let resigned = sign(&claims, SECRET);
        assert_eq!(verify(&resigned, SECRET, now).unwrap(), claims);
        assert!(verify(s, b"another-secret-0123456", now).is_err());
    }
});
