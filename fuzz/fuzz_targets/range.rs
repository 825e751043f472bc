//! Range headers answered from the cache: always inside the body.
#![no_main]
use edge_registry_proxy::fuzzing::single_range;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let size = u64::from_le_bytes(data[..8].try_into().unwrap()) >> (data[0] % 64);
    let Ok(h) = std::str::from_utf8(&data[8..]) else { return };
    if let Some((first, last)) = single_range(h, size) {
        assert!(first <= last && last < size);
    }
});
