//! The image whitelist (`WHITELIST`).
//!
//! Patterns, comma- or whitespace-separated:
//! - `library/nginx` or `nginx`: exactly that repository on Docker Hub (`nginx` means `library/nginx`);
//! - `jqknono/*`: every repository under `jqknono/`, at any depth, on a `/` boundary
//!   (`jqknono/*` does not match `jqknonox/a`, nor `jqknono` itself);
//! - `ghcr.io/org/app`, `ghcr.io/org/*`, `ghcr.io/*`: the same on another registry;
//! - `*`: everything on every configured registry.
//!
//! An empty whitelist allows everything. Matching runs on names that `reference` already
//! validated and normalised, so there is one spelling of each name to compare.

use crate::reference::RepoName;
use crate::reference::{normalize_name, validate_name};
use crate::upstream::{Upstream, DOCKER_HUB};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Names {
    All,
    Exact(String),
    /// Stored with its trailing '/', so matching is a plain prefix test on a boundary.
    Under(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// None: any registry (only for the bare `*`).
    registry: Option<String>,
    names: Names,
}

/// Why a pattern was refused (errors name the entry by position, never by text: they reach
/// every client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternProblem {
    Registry(crate::upstream::RegistryProblem),
    NotAName,
    Star,
}

impl std::fmt::Display for PatternProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatternProblem::Registry(p) => write!(f, "{p}"),
            PatternProblem::NotAName => f.write_str(
                "not a repository name (lowercase letters and digits, separated by '.', '_', '__', '-' or '/')",
            ),
            PatternProblem::Star => {
                f.write_str("'*' is only allowed as a whole pattern or as a final '/*'")
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Whitelist {
    patterns: Vec<Pattern>,
}

impl Whitelist {
    /// The patterns of `raw`; a refusal names the 1-based entry.
    pub fn parse(raw: &str) -> Result<Whitelist, (usize, PatternProblem)> {
        let patterns = crate::list::entries(raw)
            .enumerate()
            .map(|(i, p)| parse_pattern(p).map_err(|e| (i + 1, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Whitelist { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Empty, or holding the bare `*`.
    pub fn allows_everything(&self) -> bool {
        self.is_empty()
            || self
                .patterns
                .iter()
                .any(|p| p.registry.is_none() && p.names == Names::All)
    }

    /// Whether `repo` (a name normalised for `upstream`, so `nginx` is already `library/nginx`
    /// on Docker Hub) may be pulled from `upstream`.
    pub fn allows(&self, upstream: &Upstream, repo: &RepoName) -> bool {
        let (registry, repo) = (upstream.name.as_str(), repo.as_str());
        self.is_empty()
            || self.patterns.iter().any(|p| {
                p.registry.as_deref().is_none_or(|r| r == registry)
                    && match &p.names {
                        Names::All => true,
                        Names::Exact(n) => n == repo,
                        Names::Under(prefix) => repo.starts_with(prefix.as_str()),
                    }
            })
    }
}

fn parse_pattern(raw: &str) -> Result<Pattern, PatternProblem> {
    if raw == "*" {
        return Ok(Pattern {
            registry: None,
            names: Names::All,
        });
    }
    // Registry-qualified when the first component looks like a host, as in docker references.
    let (registry, rest) = match raw.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            let up = crate::upstream::Upstream::parse(first).map_err(PatternProblem::Registry)?;
            (up.name, rest)
        }
        _ => (DOCKER_HUB.to_owned(), raw),
    };
    let docker_hub = registry == DOCKER_HUB;
    let names = if rest == "*" {
        Names::All
    } else if let Some(ns) = rest.strip_suffix("/*") {
        validate_name(ns).map_err(|_| PatternProblem::NotAName)?;
        Names::Under(format!("{ns}/"))
    } else if rest.contains('*') {
        return Err(PatternProblem::Star);
    } else {
        let name = normalize_name(rest, docker_hub).map_err(|_| PatternProblem::NotAName)?;
        Names::Exact(name.as_str().to_owned())
    };
    Ok(Pattern {
        registry: Some(registry),
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wl(s: &str) -> Whitelist {
        Whitelist::parse(s).unwrap()
    }

    /// `w` allows `repo` (normalised first, as the pipeline does) on `registry`.
    fn allows(w: &Whitelist, registry: &str, repo: &str) -> bool {
        let up = Upstream::parse(registry).unwrap();
        w.allows(&up, &normalize_name(repo, up.is_docker_hub()).unwrap())
    }

    #[test]
    fn empty_allows_all() {
        assert!(allows(&wl(""), "docker.io", "library/nginx"));
        assert!(allows(&wl(" , "), "ghcr.io", "x/y"));
    }

    #[test]
    fn exact_and_short_names() {
        let w = wl("nginx, library/redis");
        assert!(allows(&w, "docker.io", "library/nginx"));
        assert!(allows(&w, "docker.io", "library/redis"));
        assert!(!allows(&w, "docker.io", "library/nginx2"));
        assert!(!allows(&w, "docker.io", "nginx/nginx"));
        assert!(!allows(&w, "ghcr.io", "library/nginx"));
    }

    #[test]
    fn prefix_needs_a_slash_boundary() {
        let w = wl("a/*");
        assert!(allows(&w, "docker.io", "a/x"));
        assert!(allows(&w, "docker.io", "a/x/y"));
        assert!(!allows(&w, "docker.io", "ab/x"));
        assert!(!allows(&w, "docker.io", "a"));
        assert!(!allows(&w, "docker.io", "library/a"));
    }

    #[test]
    fn registry_qualified() {
        let w = wl("ghcr.io/org/*\nquay.io/coreos/etcd docker.io/nginx");
        assert!(allows(&w, "ghcr.io", "org/app"));
        assert!(!allows(&w, "ghcr.io", "other/app"));
        assert!(!allows(&w, "docker.io", "org/app"));
        assert!(allows(&w, "quay.io", "coreos/etcd"));
        assert!(allows(&w, "docker.io", "library/nginx"));
        let all_ghcr = wl("ghcr.io/*");
        assert!(allows(&all_ghcr, "ghcr.io", "anything/here"));
        assert!(!allows(&all_ghcr, "docker.io", "library/nginx"));
        // Hub aliases name the same registry.
        assert!(allows(
            &wl("index.docker.io/library/nginx"),
            "docker.io",
            "library/nginx"
        ));
    }

    #[test]
    fn star_allows_everything() {
        let w = wl("*");
        assert!(allows(&w, "docker.io", "library/nginx"));
        assert!(allows(&w, "ghcr.io", "x"));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for bad in [
            "ngin*",
            "*/x",
            "a/*/b",
            "A/*",
            "a/../*",
            "a//b",
            "ghcr.io/Org/*",
            "a/**",
        ] {
            assert!(Whitelist::parse(bad).is_err(), "{bad:?}");
        }
    }
}
