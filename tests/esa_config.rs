//! The ESA bundle's CONFIG block (esa/config.js) lists exactly the proxy's configuration keys,
//! and its defaults load.

use edge_registry_proxy::Config;

#[test]
fn esa_config_block_lists_exactly_the_config_keys() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/esa/config.js")).unwrap();
    let block: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (key, _) = l.split_once(':')?;
            (!key.is_empty() && key.bytes().all(|c| c.is_ascii_uppercase() || c == b'_'))
                .then_some(key)
        })
        .collect();
    let mut want: Vec<&str> = edge_registry_proxy::CONFIG_KEYS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| *k != "WHITE_LIST") // alias of USER_WHITELIST, not listed twice
        .collect();
    let mut got = block.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want);
    // And the block's defaults are a valid configuration.
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter_map(|l| {
            let (k, v) = l.trim_start().split_once(": '")?;
            Some((k.to_owned(), v.trim_end_matches("',").to_owned()))
        })
        .collect();
    assert_eq!(pairs.len(), want.len());
    Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
}

/// The README's configuration table documents exactly the keys the core accepts (its first
/// column: `KEY`, `A` / `B`, or `KEY` (alias `OTHER`)).
#[test]
fn readme_config_table_lists_exactly_the_config_keys() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = text
        .find("| key | default |")
        .expect("the configuration table");
    let mut documented: Vec<String> = text[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            let first = l.split('|').nth(1).unwrap_or("");
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut want: Vec<String> = edge_registry_proxy::CONFIG_KEYS
        .iter()
        .map(|(k, _)| (*k).to_owned())
        .collect();
    documented.sort_unstable();
    want.sort_unstable();
    assert_eq!(documented, want);
}
