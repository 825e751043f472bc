//! Request paths: whatever routes to a repository round-trips through the upstream path, and a
//! path the whitelist allows names a repository the whitelist allows after normalisation.
#![no_main]
use edge_registry_proxy::fuzzing::{route, Endpoint};
use edge_registry_proxy::Method;
use edge_registry_proxy::fuzzing::Upstream;
use edge_registry_proxy::fuzzing::Whitelist;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else { return };
    let Ok(path) = std::str::from_utf8(rest) else { return };
    let method = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"][m as usize % 6];
    let hub = Upstream::parse("docker.io").unwrap();
    let ghcr = Upstream::parse("ghcr.io").unwrap();
    let wl = Whitelist::parse("nginx, jq/*, ghcr.io/org/*").unwrap();
    for up in [&hub, &ghcr] {
        let Ok(endpoint) = route(&method.into(), path, up) else { continue };
        assert!(method == "GET" || method == "HEAD" || path == "/token");
        let Endpoint::Registry(registry) = &endpoint else { continue };
        if let Some(repo) = registry.repository() {
            let up_path = registry.upstream_path();
            let again = route(&Method::Get, &up_path, up).expect("the upstream path routes");
            assert_eq!(again.repository(), Some(repo), "round trip");
            if wl.allows(up, repo) {
                let ok = repo.as_str() == "library/nginx"
                    || (up.name == "docker.io" && repo.as_str().starts_with("jq/"))
                    || (up.name == "ghcr.io" && repo.as_str().starts_with("org/"));
                assert!(ok, "whitelist allowed {repo} on {}", up.name);
            }
        }
    }
});
