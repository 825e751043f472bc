//! Upstream registries: the name a registry is known by (what `?ns=` and registry-qualified
//! whitelist patterns say) and the endpoint its API is served from.
//!
//! A spec is one of
//! - a known registry name: `docker.io`, `ghcr.io`, `quay.io`, ...;
//! - a URL: `https://registry.example.com:5000` (named by its host, `registry-1.docker.io` is docker.io);
//! - `NAME@URL`: registry NAME served at URL (a private pull-through cache, or a test registry
//!   standing in for Docker Hub: `docker.io@http://127.0.0.1:5000`).

/// Docker Hub's name; it alone gets the `library/` rule.
pub(crate) const DOCKER_HUB: &str = "docker.io";

/// Registries whose API endpoint is not simply `https://NAME`.
const KNOWN_ENDPOINTS: &[(&str, &str)] = &[
    (DOCKER_HUB, "https://registry-1.docker.io"),
    ("index.docker.io", "https://registry-1.docker.io"),
    ("registry-1.docker.io", "https://registry-1.docker.io"),
    ("registry.hub.docker.com", "https://registry-1.docker.io"),
];

/// Why a registry spec was refused: fixed texts, never the spec (it may hold credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryProblem {
    Empty,
    NotAHostName,
    Scheme,
    NotAnEndpoint,
    Unreachable,
}

impl std::fmt::Display for RegistryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegistryProblem::Empty => "empty registry",
            RegistryProblem::NotAHostName => "not a registry host name",
            RegistryProblem::Scheme => "only http:// and https:// registries",
            RegistryProblem::NotAnEndpoint => {
                "expected scheme://host[:port] with no path, query or credentials"
            }
            RegistryProblem::Unreachable => "not a host fetch can reach",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Canonical registry name, lowercase: `docker.io`, `ghcr.io`, `reg.example.com:5000`.
    pub name: String,
    /// `scheme://host[:port]`, no trailing slash.
    pub endpoint: String,
}

impl Upstream {
    /// The endpoint's host, without scheme or port.
    pub fn host(&self) -> &str {
        crate::url::strip_port(self.endpoint.split_once("://").map_or("", |(_, a)| a))
    }

    pub fn is_docker_hub(&self) -> bool {
        self.name == DOCKER_HUB
    }

    /// The registry as its clients know it, for client configuration: never an internal
    /// endpoint given after `@`.
    pub fn public_endpoint(&self) -> String {
        if self.is_docker_hub() {
            "https://registry-1.docker.io".into()
        } else {
            format!("https://{}", self.name)
        }
    }

    pub fn parse(spec: &str) -> Result<Upstream, RegistryProblem> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(RegistryProblem::Empty);
        }
        // NAME@URL: the '@' must come before any "://" so a URL's userinfo is never mistaken for it.
        if let Some((name, url)) = spec.split_once('@') {
            if !name.contains("://") && url.contains("://") {
                let name = canonical_name(name)?;
                let endpoint = parse_endpoint(url)?;
                return Ok(Upstream { name, endpoint });
            }
        }
        if spec.contains("://") {
            let endpoint = parse_endpoint(spec)?;
            let host = endpoint.split_once("://").map(|(_, h)| h).unwrap_or("");
            return Ok(Upstream {
                name: canonical_name(host)?,
                endpoint,
            });
        }
        let name = canonical_name(spec)?;
        let endpoint = KNOWN_ENDPOINTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| (*e).to_owned())
            .unwrap_or_else(|| format!("https://{name}"));
        Ok(Upstream { name, endpoint })
    }
}

/// Lowercases a registry host and folds Docker Hub's aliases into `docker.io`.
fn canonical_name(raw: &str) -> Result<String, RegistryProblem> {
    let name = raw.trim().to_ascii_lowercase();
    if !is_host_port(&name) {
        return Err(RegistryProblem::NotAHostName);
    }
    let is_hub_alias = KNOWN_ENDPOINTS
        .iter()
        .any(|(n, e)| *n == name && *e == KNOWN_ENDPOINTS[0].1);
    Ok(if is_hub_alias {
        DOCKER_HUB.to_owned()
    } else {
        name
    })
}

/// `http(s)://host[:port]` with an optional trailing `/`; nothing else (registries serve `/v2/`
/// at the root, and a path, query or userinfo here is a mistake worth reporting).
fn parse_endpoint(raw: &str) -> Result<String, RegistryProblem> {
    let raw = raw.trim();
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or(RegistryProblem::NotAnEndpoint)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(RegistryProblem::Scheme);
    }
    let host = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
    if !is_host_port(&host) {
        return Err(RegistryProblem::NotAnEndpoint);
    }
    // As fetch will read it (`127.1` is 127.0.0.1, `:443` on https is no port), so realms and
    // redirects are compared with the host requests really go to.
    crate::fetch_url::FetchUrl::parse(&format!("{scheme}://{host}/"))
        .map(|u| u.origin().to_owned())
        .ok_or(RegistryProblem::Unreachable)
}

/// Second-level labels under which country TLDs register names (`example.co.uk`). Not the
/// full public suffix list: an approximation that errs towards refusing.
const SECOND_LEVEL: &[&str] = &["co", "com", "net", "org", "gov", "edu", "ac"];

/// The registrable domain of a DNS name (`auth.docker.io` -> `docker.io`); an IP literal is its
/// own.
fn registrable_domain(host: &str) -> &str {
    if host.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return host;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let keep = match labels.as_slice() {
        [.., sld, tld] if tld.len() == 2 && SECOND_LEVEL.contains(sld) => 3,
        _ => 2,
    };
    if labels.len() <= keep {
        return host;
    }
    let start = labels[..labels.len() - keep]
        .iter()
        .map(|l| l.len() + 1)
        .sum::<usize>();
    &host[start..]
}

/// Whether `host` may receive credentials meant for the registry at `registry_host`: the same
/// host or the same registrable domain (`auth.docker.io` for `registry-1.docker.io`).
pub(crate) fn same_site(host: &str, registry_host: &str) -> bool {
    let (h, r) = (
        host.to_ascii_lowercase(),
        registry_host.to_ascii_lowercase(),
    );
    !h.is_empty() && (h == r || registrable_domain(&h) == registrable_domain(&r))
}

/// A DNS name or IPv4 literal with an optional port: letters, digits, '-', '.', one ':port'.
pub(crate) fn is_host_port(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()));
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        });
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names() {
        let hub = Upstream::parse("docker.io").unwrap();
        assert_eq!(hub.endpoint, "https://registry-1.docker.io");
        assert!(hub.is_docker_hub());
        let ghcr = Upstream::parse("ghcr.io").unwrap();
        assert_eq!(ghcr.endpoint, "https://ghcr.io");
        assert!(!ghcr.is_docker_hub());
        assert_eq!(Upstream::parse("Quay.IO").unwrap().name, "quay.io");
    }

    #[test]
    fn urls_are_named_by_host_and_hub_aliases_fold() {
        let u = Upstream::parse("https://registry-1.docker.io").unwrap();
        assert_eq!(u.name, "docker.io");
        let p = Upstream::parse("http://127.0.0.1:5000/").unwrap();
        assert_eq!(p.name, "127.0.0.1:5000");
        assert_eq!(p.endpoint, "http://127.0.0.1:5000");
        assert_eq!(
            Upstream::parse("index.docker.io").unwrap().name,
            "docker.io"
        );
        let short = Upstream::parse("x@http://127.1:0080").unwrap();
        assert_eq!(short.endpoint, "http://127.0.0.1");
        assert_eq!(short.host(), "127.0.0.1");
        assert_eq!(
            Upstream::parse("https://r.test:443").unwrap().endpoint,
            "https://r.test"
        );
    }

    #[test]
    fn name_at_url() {
        let u = Upstream::parse("docker.io@http://127.0.0.1:5000").unwrap();
        assert_eq!(u.name, "docker.io");
        assert_eq!(u.endpoint, "http://127.0.0.1:5000");
        assert!(u.is_docker_hub());
    }

    #[test]
    fn realms_only_on_the_registrys_own_site() {
        for (realm, registry) in [
            ("auth.docker.io", "registry-1.docker.io"),
            ("ghcr.io", "ghcr.io"),
            ("quay.io", "quay.io"),
            ("Auth.Example.co.uk", "reg.example.co.uk"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            assert!(same_site(realm, registry), "{realm} for {registry}");
        }
        for (realm, registry) in [
            ("s3.amazonaws.com", "registry-1.docker.io"),
            ("evil.io", "docker.io"),
            ("docker.io.evil.com", "registry-1.docker.io"),
            ("other.co.uk", "reg.example.co.uk"),
            ("127.0.0.2", "127.0.0.1"),
            ("", "ghcr.io"),
            ("io", "ghcr.io"),
        ] {
            assert!(!same_site(realm, registry), "{realm} for {registry}");
        }
        assert_eq!(
            Upstream::parse("docker.io@http://127.0.0.1:5000")
                .unwrap()
                .host(),
            "127.0.0.1"
        );
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https://x/v2",
            "https://user:pw@x",
            "https://x?y",
            "a b",
            "https://x:99999999",
            "@http://x",
            "x@y",
            "https://-x",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad:?}");
        }
    }
}
