//! Header text from the shim (`name\nvalue\n` per header): reading never panics, names come out
//! lowercase, nothing holds a line break, and lines written from headers read back the same.
#![no_main]
use edge_registry_proxy::Headers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let h = Headers::from_lines(s);
    let mut text = String::new();
    for (k, v) in h.iter() {
        assert_eq!(k, k.to_ascii_lowercase());
        assert!(!k.contains('\n') && !v.contains('\n'));
        text.push_str(&format!("{k}\n{v}\n"));
    }
    let again = Headers::from_lines(&text);
    assert!(again.iter().eq(h.iter()), "{s:?}");
});
