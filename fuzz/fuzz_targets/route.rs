//! Request paths: whatever routes to a repository round-trips through the upstream path, a path
//! the whitelist allows names a repository the whitelist allows after normalisation, and a path
//! form reaches only a configured registry.
#![no_main]
use edge_registry_proxy::fuzzing::{route, Endpoint, Reach};
use edge_registry_proxy::fuzzing::Upstream;
use edge_registry_proxy::fuzzing::Whitelist;
use edge_registry_proxy::{Config, Method};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else { return };
    let Ok(path) = std::str::from_utf8(rest) else { return };
    let method = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"][m as usize % 6];
    let hub = Upstream::parse("docker.io").unwrap();
    let ghcr = Upstream::parse("ghcr.io").unwrap();
    let config = Config::from_pairs([("REGISTRIES", "ghcr.io, quay.io")]).unwrap();
    let wl = Whitelist::parse("nginx, jq/*, ghcr.io/org/*").unwrap();
    let reaches = [
        Reach::only(&hub),
        Reach::only(&ghcr),
        Reach::new(&config.upstream, false, &config),
        Reach::new(config.upstream_named("ghcr.io").unwrap(), true, &config),
    ];
    for reach in reaches {
        let Ok(routed) = route(&method.into(), path, reach) else { continue };
        assert!(method == "GET" || method == "HEAD" || path == "/token");
        let up = routed.upstream;
        assert!(
            up == reach.selected() || config.upstream_named(&up.name) == Some(up),
            "reached {} which is not configured",
            up.name
        );
        let Endpoint::Registry(registry) = &routed.endpoint else { continue };
        if let Some(repo) = registry.repository() {
            let up_path = registry.upstream_path();
            let again = route(&Method::Get, &up_path, Reach::only(up)).expect("the upstream path routes");
            assert_eq!(again.endpoint.repository(), Some(repo), "round trip");
            if wl.allows(up, repo) {
                let ok = repo.as_str() == "library/nginx"
                    || (up.name == "docker.io" && repo.as_str().starts_with("jq/"))
                    || (up.name == "ghcr.io" && repo.as_str().starts_with("org/"));
                assert!(ok, "whitelist allowed {repo} on {}", up.name);
            }
        }
    }
});
