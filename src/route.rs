//! What a request asks for: which endpoint, which repository, which reference.
//!
//! Paths are parsed as received (still percent-encoded): a valid name never contains '%', so an
//! encoded slash or dot can only fail the grammar, never reach the whitelist in disguise.

use crate::errors::{ErrorCode, RegistryError};
use crate::http::Method;
use crate::path_form::Reach;
use crate::reference::{Digest, Reference, RepoName};
use crate::upstream::Upstream;

/// The proxy's token endpoint; the realm of every challenge it sends.
pub(crate) const TOKEN_PATH: &str = "/token";

/// What a request asks for: something the proxy answers itself, or a registry request it
/// forwards (only those have a repository and an upstream path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Local(Local),
    Registry(RegistryEndpoint),
    /// `/archive/<name>[:<tag>|@<digest>]`: the image as a tar (`flow::archive`).
    Archive {
        name: RepoName,
        reference: Reference,
    },
}

/// Where offline image archives are served.
pub(crate) const ARCHIVE_PREFIX: &str = "/archive/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// `/`: the landing page.
    Landing,
    /// `/version`: health check.
    Version,
    /// `/token`: the proxy's token service.
    Token,
    /// `/v1/search`: `docker search`, answered from Docker Hub's search, whitelisted only.
    Search,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryEndpoint {
    /// `GET /v2/`.
    Ping,
    Manifest {
        name: RepoName,
        reference: Reference,
    },
    Blob {
        name: RepoName,
        digest: Digest,
    },
    TagsList {
        name: RepoName,
    },
    /// OCI 1.1 referrers API.
    Referrers {
        name: RepoName,
        digest: Digest,
    },
}

impl Endpoint {
    pub fn repository(&self) -> Option<&RepoName> {
        match self {
            Endpoint::Registry(r) => r.repository(),
            Endpoint::Archive { name, .. } => Some(name),
            Endpoint::Local(_) => None,
        }
    }
}

impl RegistryEndpoint {
    pub fn repository(&self) -> Option<&RepoName> {
        match self {
            RegistryEndpoint::Manifest { name, .. }
            | RegistryEndpoint::Blob { name, .. }
            | RegistryEndpoint::TagsList { name }
            | RegistryEndpoint::Referrers { name, .. } => Some(name),
            RegistryEndpoint::Ping => None,
        }
    }

    /// The path of the same request on the upstream.
    pub fn upstream_path(&self) -> String {
        match self {
            RegistryEndpoint::Ping => "/v2/".to_owned(),
            RegistryEndpoint::Manifest { name, reference } => {
                format!("/v2/{name}/manifests/{}", reference.as_str())
            }
            RegistryEndpoint::Blob { name, digest } => {
                format!("/v2/{name}/blobs/{}", digest.as_str())
            }
            RegistryEndpoint::TagsList { name } => format!("/v2/{name}/tags/list"),
            RegistryEndpoint::Referrers { name, digest } => {
                format!("/v2/{name}/referrers/{}", digest.as_str())
            }
        }
    }
}

/// A request's endpoint and the registry it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed<'a> {
    pub endpoint: Endpoint,
    /// The registry the path named (`/v2/ghcr.io/org/app/...`), else the selected one.
    pub upstream: &'a Upstream,
    /// The client's repository name began with the registry's name.
    pub by_path: bool,
}

/// Parses `method path` for the registries within `reach` (the registry decides the `library/`
/// rule).
pub fn route<'a>(
    method: &Method,
    path: &str,
    reach: Reach<'a>,
) -> Result<Routed<'a>, RegistryError> {
    let mut named = (reach.selected(), false);
    let endpoint = endpoint(method, path, |raw| {
        let n = reach.resolve(raw)?;
        named = (n.upstream, n.by_path);
        Ok(n.name)
    })?;
    Ok(Routed {
        endpoint,
        upstream: named.0,
        by_path: named.1,
    })
}

fn endpoint(
    method: &Method,
    path: &str,
    resolve: impl FnMut(&str) -> Result<RepoName, RegistryError>,
) -> Result<Endpoint, RegistryError> {
    let read = method.is_read();
    if path == TOKEN_PATH {
        return if read || *method == Method::Post {
            Ok(Endpoint::Local(Local::Token))
        } else {
            Err(RegistryError::new(
                ErrorCode::Unsupported,
                "the token endpoint takes GET or POST",
            ))
        };
    }
    if let Some(image) = path.strip_prefix(ARCHIVE_PREFIX) {
        if !read {
            return Err(RegistryError::read_only());
        }
        return archive(image, resolve);
    }
    let Some(rest) = path
        .strip_prefix("/v2/")
        .or(if path == "/v2" { Some("") } else { None })
    else {
        if !read {
            return Err(RegistryError::read_only());
        }
        return match path {
            "/" => Ok(Endpoint::Local(Local::Landing)),
            "/version" => Ok(Endpoint::Local(Local::Version)),
            "/v1/search" => Ok(Endpoint::Local(Local::Search)),
            _ => Err(not_found(path)),
        };
    };
    if !read {
        return Err(RegistryError::read_only());
    }
    registry(rest, path, resolve)
}

/// `/v2/<rest>`: the ping, or a repository's manifests, blobs, tags or referrers.
fn registry(
    rest: &str,
    path: &str,
    mut resolve: impl FnMut(&str) -> Result<RepoName, RegistryError>,
) -> Result<Endpoint, RegistryError> {
    if rest.is_empty() {
        return Ok(Endpoint::Registry(RegistryEndpoint::Ping));
    }
    if rest == "_catalog" {
        return Err(RegistryError::denied(
            "this mirror does not list its repositories",
        ));
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let n = parts.len();
    if n < 3 {
        return Err(not_found(path));
    }
    let mut name_of = |tail_parts: usize| resolve(&parts[..n - tail_parts].join("/"));
    let registry = match (parts[n - 2], parts[n - 1]) {
        ("manifests", r) => RegistryEndpoint::Manifest {
            name: name_of(2)?,
            reference: Reference::parse(r)?,
        },
        ("blobs", d) => RegistryEndpoint::Blob {
            name: name_of(2)?,
            digest: Digest::parse(d)?,
        },
        ("referrers", d) => RegistryEndpoint::Referrers {
            name: name_of(2)?,
            digest: Digest::parse(d)?,
        },
        ("tags", "list") => RegistryEndpoint::TagsList { name: name_of(2)? },
        _ if parts.contains(&"uploads") && parts.contains(&"blobs") => {
            return Err(RegistryError::read_only())
        }
        _ => return Err(not_found(path)),
    };
    Ok(Endpoint::Registry(registry))
}

fn not_found(path: &str) -> RegistryError {
    RegistryError::new(
        ErrorCode::NotFound,
        format!(
            "no such endpoint: {}",
            crate::reference::quote_for_message(path)
        ),
    )
}

/// `name@digest`, `name:tag`, or `name` (latest), as docker writes a reference.
fn archive(
    image: &str,
    mut resolve: impl FnMut(&str) -> Result<RepoName, RegistryError>,
) -> Result<Endpoint, RegistryError> {
    let (name, reference) = match image.split_once('@') {
        Some((n, d)) => (n, Reference::Digest(Digest::parse(d)?)),
        None => match image.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Reference::parse(t)?),
            _ => (image, Reference::parse("latest")?),
        },
    };
    Ok(Endpoint::Archive {
        name: resolve(name)?,
        reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One registry, no path form: the endpoint only.
    fn route(method: &Method, path: &str, up: &Upstream) -> Result<Endpoint, RegistryError> {
        super::route(method, path, Reach::only(up)).map(|r| r.endpoint)
    }

    fn hub() -> Upstream {
        Upstream::parse("docker.io").unwrap()
    }
    const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn registry(e: Endpoint) -> RegistryEndpoint {
        match e {
            Endpoint::Registry(r) => r,
            other => panic!("not a registry endpoint: {other:?}"),
        }
    }

    #[test]
    fn registry_endpoints() {
        assert_eq!(
            route(&"GET".into(), "/v2/", &hub()).unwrap(),
            Endpoint::Registry(RegistryEndpoint::Ping)
        );
        assert_eq!(
            route(&"HEAD".into(), "/v2", &hub()).unwrap(),
            Endpoint::Registry(RegistryEndpoint::Ping)
        );
        let m = registry(route(&"GET".into(), "/v2/nginx/manifests/latest", &hub()).unwrap());
        assert_eq!(m.upstream_path(), "/v2/library/nginx/manifests/latest");
        let b = registry(route(&"HEAD".into(), &format!("/v2/a/b/c/blobs/{D}"), &hub()).unwrap());
        assert_eq!(b.upstream_path(), format!("/v2/a/b/c/blobs/{D}"));
        assert_eq!(b.repository().unwrap().as_str(), "a/b/c");
        let t = registry(route(&"GET".into(), "/v2/x/tags/list", &hub()).unwrap());
        assert_eq!(t.upstream_path(), "/v2/library/x/tags/list");
        let r = route(&"GET".into(), &format!("/v2/x/referrers/{D}"), &hub()).unwrap();
        assert_eq!(r.repository().unwrap().as_str(), "library/x");
        // A repository may have a component named like an endpoint keyword.
        let odd = route(&"GET".into(), "/v2/manifests/manifests/manifests", &hub()).unwrap();
        assert_eq!(odd.repository().unwrap().as_str(), "library/manifests");
    }

    #[test]
    fn other_paths() {
        assert_eq!(
            route(&"GET".into(), "/", &hub()).unwrap(),
            Endpoint::Local(Local::Landing)
        );
        assert_eq!(
            route(&"GET".into(), "/version", &hub()).unwrap(),
            Endpoint::Local(Local::Version)
        );
        assert_eq!(
            route(&"GET".into(), "/token", &hub()).unwrap(),
            Endpoint::Local(Local::Token)
        );
        assert_eq!(
            route(&"POST".into(), "/token", &hub()).unwrap(),
            Endpoint::Local(Local::Token)
        );
        assert_eq!(
            route(&"GET".into(), "/etc/passwd", &hub())
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            route(&"DELETE".into(), "/token", &hub())
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn read_only() {
        for m in ["PUT", "POST", "PATCH", "DELETE", "OPTIONS"] {
            for p in [
                "/v2/",
                "/v2/x/manifests/latest",
                "/v2/x/blobs/uploads/",
                "/v2/x/blobs/uploads/u1",
            ] {
                let e = route(&m.into(), p, &hub()).unwrap_err();
                assert_eq!((e.status, e.code), (405, ErrorCode::Unsupported), "{m} {p}");
            }
        }
        assert_eq!(
            route(&"GET".into(), "/v2/x/blobs/uploads/u1", &hub())
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn catalog_denied() {
        let e = route(&"GET".into(), "/v2/_catalog", &hub()).unwrap_err();
        assert_eq!((e.status, e.code), (403, ErrorCode::Denied));
    }

    #[test]
    fn tricks_are_invalid_names() {
        for p in [
            "/v2/library/../x/manifests/latest",
            "/v2/library%2Fnginx/manifests/latest",
            "/v2/library%2fnginx/manifests/latest",
            "/v2//nginx/manifests/latest",
            "/v2/library//nginx/manifests/latest",
            "/v2/NGINX/manifests/latest",
            "/v2/%6eginx/manifests/latest",
            "/v2/library/%2e%2e/x/manifests/latest",
            "/v2/nginx;x=1/manifests/latest",
        ] {
            let e = route(&"GET".into(), p, &hub()).unwrap_err();
            assert_eq!(e.code, ErrorCode::NameInvalid, "{p}");
        }
        let long = format!("/v2/{}/manifests/latest", "a".repeat(300));
        assert_eq!(
            route(&"GET".into(), &long, &hub()).unwrap_err().code,
            ErrorCode::NameInvalid
        );
    }

    #[test]
    fn bad_references() {
        assert_eq!(
            route(&"GET".into(), "/v2/x/manifests/..", &hub())
                .unwrap_err()
                .code,
            ErrorCode::TagInvalid
        );
        assert_eq!(
            route(&"GET".into(), "/v2/x/blobs/latest", &hub())
                .unwrap_err()
                .code,
            ErrorCode::DigestInvalid
        );
        assert_eq!(
            route(&"GET".into(), "/v2/x/manifests/latest/", &hub())
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            route(&"GET".into(), "/v2/x", &hub()).unwrap_err().status,
            404
        );
    }
}
