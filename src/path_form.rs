//! Registries by path: `my.domain/ghcr.io/org/app` is ghcr.io's `org/app` when ghcr.io is a
//! registry this mirror serves. One rule for request paths and token scopes alike, so what a
//! token grants is what a request with that name reaches.
//!
//! Only a configured registry's exact name counts, and only with a repository after it: any
//! other first component is part of an ordinary repository name (Docker Hub's cannot hold a dot,
//! so no Hub repository is shadowed), and no path reaches a host the operator did not configure.

use crate::config::Config;
use crate::errors::RegistryError;
use crate::reference::{normalize_name, validate_name, RepoName};
use crate::upstream::Upstream;

/// The registries a request may name: the one its host or `?ns=` selected, and, with a
/// configuration, those its path may name.
#[derive(Clone, Copy)]
pub struct Reach<'a> {
    selected: &'a Upstream,
    /// `selected` is what `?ns=` asked for: a path may repeat it, never name another.
    by_ns: bool,
    /// None: one registry only, no path form.
    config: Option<&'a Config>,
}

/// A repository as the client named it, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named<'a> {
    pub upstream: &'a Upstream,
    /// The name on `upstream`, normalised (`library/` on Docker Hub).
    pub name: RepoName,
    /// The client's name began with the registry's (`ghcr.io/org/app`).
    pub by_path: bool,
}

impl<'a> Reach<'a> {
    pub fn new(selected: &'a Upstream, by_ns: bool, config: &'a Config) -> Reach<'a> {
        Reach {
            selected,
            by_ns,
            config: Some(config),
        }
    }

    /// `upstream` alone: names are that registry's, whatever their first component.
    pub fn only(upstream: &'a Upstream) -> Reach<'a> {
        Reach {
            selected: upstream,
            by_ns: false,
            config: None,
        }
    }

    pub fn selected(&self) -> &'a Upstream {
        self.selected
    }

    /// The registry and name `raw` (a repository name as the client sent it) stands for.
    pub fn resolve(&self, raw: &str) -> Result<Named<'a>, RegistryError> {
        // A name with a port or user info is no path component: such a registry is reached by
        // its host or `?ns=` only.
        let in_path = raw
            .split_once('/')
            .filter(|(first, _)| validate_name(first).is_ok())
            .and_then(|(first, rest)| Some((self.config?.registry_in_path(first)?, rest)));
        if let Some((upstream, rest)) = in_path {
            if self.by_ns && upstream.name != self.selected.name {
                // Both names are configured ones: nothing of the client's is echoed.
                return Err(RegistryError::denied(format!(
                    "the path names registry {} and ns names {}: name one registry",
                    upstream.name, self.selected.name
                )));
            }
            return Ok(Named {
                upstream,
                name: normalize_name(rest, upstream.is_docker_hub())?,
                by_path: true,
            });
        }
        Ok(Named {
            upstream: self.selected,
            name: normalize_name(raw, self.selected.is_docker_hub())?,
            by_path: false,
        })
    }
}

/// The name a client uses for `name` on `upstream`: with the registry in front in the path form.
pub(crate) fn client_name(upstream: &Upstream, name: &RepoName, by_path: bool) -> String {
    if by_path {
        format!("{}/{name}", upstream.name)
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorCode;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut pairs = vec![
            ("UPSTREAM", "docker.io"),
            ("ROUTES", "q.example.com=quay.io"),
            (
                "REGISTRIES",
                "ghcr.io, registry.k8s.io, corp.example.com:5000",
            ),
        ];
        pairs.extend_from_slice(extra);
        Config::from_pairs(pairs).unwrap()
    }

    fn resolved(r: &Reach<'_>, raw: &str) -> (String, String, bool) {
        let n = r.resolve(raw).unwrap();
        (n.upstream.name.clone(), n.name.to_string(), n.by_path)
    }

    #[test]
    fn a_configured_registry_in_front_selects_it() {
        let c = config(&[]);
        let r = Reach::new(&c.upstream, false, &c);
        let t = |a: &str, b: &str, p| (a.to_owned(), b.to_owned(), p);
        assert_eq!(
            resolved(&r, "ghcr.io/org/app"),
            t("ghcr.io", "org/app", true)
        );
        assert_eq!(
            resolved(&r, "registry.k8s.io/pause"),
            t("registry.k8s.io", "pause", true)
        );
        // A ROUTES target and UPSTREAM are served by path too; Hub's library/ rule follows the registry.
        assert_eq!(resolved(&r, "quay.io/a/b"), t("quay.io", "a/b", true));
        assert_eq!(
            resolved(&r, "docker.io/nginx"),
            t("docker.io", "library/nginx", true)
        );
        assert_eq!(
            resolved(&r, "docker.io/library/nginx"),
            t("docker.io", "library/nginx", true)
        );
        // Not configured, or nothing after it: an ordinary name on the selected registry.
        assert_eq!(
            resolved(&r, "gcr.io/org/app"),
            t("docker.io", "gcr.io/org/app", false)
        );
        assert_eq!(
            resolved(&r, "nginx"),
            t("docker.io", "library/nginx", false)
        );
        assert_eq!(
            resolved(&r, "ghcr.io"),
            t("docker.io", "library/ghcr.io", false)
        );
        // Exact names only: the grammar refuses what could only be a case or port variant.
        for bad in [
            "GHCR.IO/org/app",
            "corp.example.com:5000/app",
            "user@ghcr.io/org/app",
            "ghcr.io/../x",
            "ghcr.io//x",
            "ghcr.io/",
        ] {
            let e = r.resolve(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::NameInvalid, "{bad}");
        }
        assert_eq!(
            resolved(&r, "ghcr.io.evil.com/x"),
            t("docker.io", "ghcr.io.evil.com/x", false)
        );
    }

    #[test]
    fn ns_and_the_path_must_name_one_registry() {
        let c = config(&[]);
        let ghcr = c.upstream_named("ghcr.io").unwrap();
        let r = Reach::new(ghcr, true, &c);
        assert_eq!(resolved(&r, "ghcr.io/org/app").0, "ghcr.io");
        assert_eq!(resolved(&r, "ghcr.io/org/app").1, "org/app");
        assert_eq!(resolved(&r, "org/app").1, "org/app");
        let e = r.resolve("quay.io/org/app").unwrap_err();
        assert_eq!(e.code, ErrorCode::Denied);
        assert!(
            e.message.contains("quay.io") && e.message.contains("ghcr.io"),
            "{}",
            e.message
        );
        // A host's registry is a default, not a constraint.
        let by_host = Reach::new(ghcr, false, &c);
        assert_eq!(resolved(&by_host, "quay.io/org/app").0, "quay.io");
    }

    #[test]
    fn only_one_registry_has_no_path_form() {
        let c = config(&[]);
        let r = Reach::only(&c.upstream);
        assert_eq!(
            r.resolve("ghcr.io/org/app").unwrap().name.as_str(),
            "ghcr.io/org/app"
        );
        assert_eq!(
            r.resolve("ghcr.io/org/app").unwrap().upstream.name,
            "docker.io"
        );
    }

    #[test]
    fn client_names_put_the_registry_back() {
        let c = config(&[]);
        let r = Reach::new(&c.upstream, false, &c);
        let n = r.resolve("ghcr.io/org/app").unwrap();
        assert_eq!(
            client_name(n.upstream, &n.name, n.by_path),
            "ghcr.io/org/app"
        );
        let n = r.resolve("nginx").unwrap();
        assert_eq!(client_name(n.upstream, &n.name, n.by_path), "library/nginx");
    }
}
