//! The configuration contract: the same keys from Cloudflare `[vars]`/secrets, the ESA bundle's
//! `CONFIG` block, ESA function variables and the local environment.
//!
//! Unknown keys and malformed values are errors that name the key: a typo in `WHITELIST` must
//! not silently turn the mirror into an open proxy. Features a key asks for that this version
//! does not implement are refused the same way, never ignored.

use crate::upstream::Upstream;
use crate::whitelist::Whitelist;

/// Every key the proxy reads. The ESA `CONFIG` block lists exactly these (a test checks it).
pub const KEYS: &[&str] = &[
    "UPSTREAM",
    "ROUTES",
    "WHITELIST",
    "USER_WHITELIST",
    "WHITE_LIST",
    "TOKEN_SECRET",
    "UPSTREAM_USERNAME",
    "UPSTREAM_PASSWORD",
    "CACHE",
    "CACHE_TAG_TTL",
    "CACHE_MAX_BLOB_MB",
    "BLOB_REDIRECT",
    "LOG",
    "DEBUG_PANIC",
];

/// Variables the platform itself puts into `env` (Cloudflare Pages: `CF_PAGES`, `CF_PAGES_URL`,
/// ...). They are not the operator's configuration, so they are neither keys nor typos.
pub const PLATFORM_PREFIXES: &[&str] = &["CF_"];

pub const DEFAULT_UPSTREAM: &str = "https://registry-1.docker.io";
pub const DEFAULT_CACHE_TAG_TTL: u32 = 600;
/// Cloudflare's Cache API refuses objects over 512 MB.
pub const DEFAULT_CACHE_MAX_BLOB_MB: u64 = 512;

/// What the proxy logs. Both platforms already record every request; a line per success costs
/// CPU on the metered path (measured by `make bench`), so by default only what needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Off,
    /// Refusals, failures, stale or bypassed cache answers, warnings.
    Errors,
    /// Also a line per request and per token issued.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobRedirect {
    /// Fetch the redirect target at the edge and stream it to the client.
    Follow,
    /// Hand the upstream's redirect to the client (saves edge bandwidth; clients must reach the CDN).
    Passthrough,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub upstream: Upstream,
    /// Request hostname (lowercase, no port) -> upstream.
    pub routes: Vec<(String, Upstream)>,
    pub whitelist: Whitelist,
    /// Users allowed to pull (lowercase); empty = anonymous pulls.
    pub users: Vec<String>,
    pub token_secret: Option<String>,
    /// The operator's account on `upstream` (not on routed registries).
    pub upstream_account: Option<(String, String)>,
    /// `CACHE=on`: the edge cache (cache_policy) is used.
    pub cache: bool,
    pub cache_tag_ttl: u32,
    pub cache_max_blob_bytes: u64,
    pub blob_redirect: BlobRedirect,
    pub log: LogLevel,
    /// `DEBUG_PANIC=on`: `GET /__panic` panics inside the module, to check on a deployment (and
    /// in the tests) that a panic becomes a 500 and a fresh instance, never a hung isolate.
    pub debug_panic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "configuration key {}: {}", self.key, self.message)
    }
}

fn err(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

impl Config {
    /// Builds the configuration from key/value pairs; later pairs override earlier ones, and an
    /// empty value means "not set".
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Config, ConfigError> {
        let mut values: Vec<(&str, &str)> = Vec::new();
        for (k, v) in pairs {
            if PLATFORM_PREFIXES.iter().any(|p| k.starts_with(p)) {
                continue;
            }
            if !KEYS.contains(&k) {
                return Err(err(
                    k,
                    format!("unknown key; the keys are {}", KEYS.join(", ")),
                ));
            }
            values.retain(|(old, _)| *old != k);
            if !v.trim().is_empty() {
                values.push((k, v.trim()));
            }
        }
        let get = |k: &str| values.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);

        let upstream = Upstream::parse(get("UPSTREAM").unwrap_or(DEFAULT_UPSTREAM))
            .map_err(|e| err("UPSTREAM", e))?;
        let routes = parse_routes(get("ROUTES").unwrap_or(""))?;
        let whitelist =
            Whitelist::parse(get("WHITELIST").unwrap_or("")).map_err(|e| err("WHITELIST", e))?;

        let users = match (get("USER_WHITELIST"), get("WHITE_LIST")) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "WHITE_LIST",
                    "alias of USER_WHITELIST: set only one of them",
                ))
            }
            (Some(v), None) => parse_users(v).map_err(|e| err("USER_WHITELIST", e))?,
            (None, Some(v)) => parse_users(v).map_err(|e| err("WHITE_LIST", e))?,
            (None, None) => Vec::new(),
        };
        let upstream_account = match (get("UPSTREAM_USERNAME"), get("UPSTREAM_PASSWORD")) {
            (Some(u), Some(p)) => Some((u.to_owned(), p.to_owned())),
            (None, None) => None,
            (Some(_), None) => {
                return Err(err("UPSTREAM_PASSWORD", "required with UPSTREAM_USERNAME"))
            }
            (None, Some(_)) => {
                return Err(err("UPSTREAM_USERNAME", "required with UPSTREAM_PASSWORD"))
            }
        };
        let token_secret = get("TOKEN_SECRET").map(str::to_owned);
        let cache_on = get("CACHE")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1"));
        if !users.is_empty() || upstream_account.is_some() || cache_on {
            match &token_secret {
                None => {
                    return Err(err(
                        "TOKEN_SECRET",
                        "required with USER_WHITELIST, UPSTREAM_USERNAME or CACHE=on (e.g. `openssl rand -hex 32`)",
                    ))
                }
                Some(s) if s.len() < MIN_SECRET_LEN => {
                    return Err(err(
                        "TOKEN_SECRET",
                        format!("too short: at least {MIN_SECRET_LEN} characters (e.g. `openssl rand -hex 32`)"),
                    ))
                }
                Some(_) => {}
            }
        }

        let cache = match get("CACHE").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "off" || v == "false" || v == "0" => false,
            Some(v) if v == "on" || v == "true" || v == "1" => true,
            Some(v) => return Err(err("CACHE", format!("{v:?}: expected on or off"))),
        };
        let cache_max_blob_bytes = match get("CACHE_MAX_BLOB_MB") {
            None => DEFAULT_CACHE_MAX_BLOB_MB,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|mb| *mb <= 1 << 20)
                .ok_or_else(|| {
                    err(
                        "CACHE_MAX_BLOB_MB",
                        format!("{v:?}: expected megabytes (0 or more)"),
                    )
                })?,
        } * 1024
            * 1024;
        let cache_tag_ttl = match get("CACHE_TAG_TTL") {
            None => DEFAULT_CACHE_TAG_TTL,
            Some(v) => v.parse::<u32>().map_err(|_| {
                err(
                    "CACHE_TAG_TTL",
                    format!("{v:?}: expected seconds (0 or more)"),
                )
            })?,
        };
        let blob_redirect = match get("BLOB_REDIRECT").map(|v| v.to_ascii_lowercase()) {
            None => BlobRedirect::Follow,
            Some(v) if v == "follow" => BlobRedirect::Follow,
            Some(v) if v == "passthrough" => BlobRedirect::Passthrough,
            Some(v) => {
                return Err(err(
                    "BLOB_REDIRECT",
                    format!("{v:?}: expected follow or passthrough"),
                ))
            }
        };
        let log = match get("LOG").map(|v| v.to_ascii_lowercase()) {
            None => LogLevel::Errors,
            Some(v) if v == "errors" => LogLevel::Errors,
            Some(v) if v == "all" => LogLevel::All,
            Some(v) if v == "off" => LogLevel::Off,
            Some(v) => return Err(err("LOG", format!("{v:?}: expected errors, all or off"))),
        };
        let debug_panic = match get("DEBUG_PANIC").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "off" => false,
            Some(v) if v == "on" => true,
            Some(v) => return Err(err("DEBUG_PANIC", format!("{v:?}: expected on or off"))),
        };
        Ok(Config {
            upstream,
            routes,
            whitelist,
            users,
            token_secret,
            upstream_account,
            cache,
            cache_tag_ttl,
            cache_max_blob_bytes,
            blob_redirect,
            log,
            debug_panic,
        })
    }

    /// Proxy-signed tokens are in force: users are restricted, or the operator's account is used
    /// upstream (whose tokens must never reach clients).
    ///
    /// The cache needs it too: what it stores must have been fetched with the proxy's own
    /// identity, and who may read it must be checked by the proxy.
    pub fn proxy_tokens(&self) -> bool {
        !self.users.is_empty() || self.upstream_account.is_some() || self.cache
    }

    /// Whether a line of `level` is logged.
    pub fn logs(&self, level: LogLevel) -> bool {
        level != LogLevel::Off && self.log >= level
    }

    pub fn user_allowed(&self, user: &str) -> bool {
        self.users.iter().any(|u| u.eq_ignore_ascii_case(user))
    }

    /// The upstream a request for `host` (the request's hostname) goes to.
    pub fn upstream_for_host(&self, host: &str) -> &Upstream {
        let host = host_without_port(host);
        self.routes
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(host))
            .map(|(_, u)| u)
            .unwrap_or(&self.upstream)
    }

    /// The configured upstream named `name` (containerd's `?ns=`), if any. Only configured
    /// upstreams can be selected: `ns` never makes the proxy fetch from a registry of the client's
    /// choosing.
    pub fn upstream_named(&self, name: &str) -> Option<&Upstream> {
        let wanted = Upstream::parse(name).ok()?.name;
        std::iter::once(&self.upstream)
            .chain(self.routes.iter().map(|(_, u)| u))
            .find(|u| u.name == wanted)
    }
}

const MIN_SECRET_LEN: usize = 16;

fn parse_users(raw: &str) -> Result<Vec<String>, String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|u| !u.is_empty())
        .map(|u| {
            let ok = u.len() <= 255
                && u.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"._@+-".contains(&c));
            if ok {
                Ok(u.to_ascii_lowercase())
            } else {
                Err(format!("{u:?} is not a user name"))
            }
        })
        .collect()
}

fn host_without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// `host=registry,host2=registry2`
fn parse_routes(raw: &str) -> Result<Vec<(String, Upstream)>, ConfigError> {
    let mut routes: Vec<(String, Upstream)> = Vec::new();
    for entry in raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        let (host, spec) = entry
            .split_once('=')
            .ok_or_else(|| err("ROUTES", format!("{entry:?}: expected host=registry")))?;
        let host = host.trim().to_ascii_lowercase();
        if !crate::upstream::is_host_port(&host) || host.contains(':') {
            return Err(err(
                "ROUTES",
                format!("{entry:?}: {host:?} is not a host name"),
            ));
        }
        if routes.iter().any(|(h, _)| *h == host) {
            return Err(err("ROUTES", format!("{host:?} is routed twice")));
        }
        let upstream =
            Upstream::parse(spec).map_err(|e| err("ROUTES", format!("{entry:?}: {e}")))?;
        routes.push((host, upstream));
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels() {
        let d = Config::from_pairs([]).unwrap();
        assert!(d.logs(LogLevel::Errors) && !d.logs(LogLevel::All));
        let all = Config::from_pairs([("LOG", "ALL")]).unwrap();
        assert!(all.logs(LogLevel::Errors) && all.logs(LogLevel::All));
        let off = Config::from_pairs([("LOG", "off")]).unwrap();
        assert!(!off.logs(LogLevel::Errors) && !off.logs(LogLevel::All));
    }

    #[test]
    fn defaults_to_docker_hub() {
        let c = Config::from_pairs([]).unwrap();
        assert_eq!(c.upstream.endpoint, "https://registry-1.docker.io");
        assert!(c.upstream.is_docker_hub());
        assert!(c.whitelist.is_empty());
        assert_eq!(c.blob_redirect, BlobRedirect::Follow);
        assert_eq!(c.cache_tag_ttl, DEFAULT_CACHE_TAG_TTL);
    }

    #[test]
    fn later_pairs_override_and_empty_means_unset() {
        let c = Config::from_pairs([
            ("UPSTREAM", "ghcr.io"),
            ("UPSTREAM", "quay.io"),
            ("WHITELIST", "nginx"),
            ("WHITELIST", ""),
        ])
        .unwrap();
        assert_eq!(c.upstream.name, "quay.io");
        assert!(c.whitelist.is_empty());
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("WHITELIS", "x"),
            ("UPSTREAM", "ftp://x"),
            ("WHITELIST", "Nginx"),
            ("BLOB_REDIRECT", "maybe"),
            ("LOG", "verbose"),
            ("CACHE", "yes please"),
            ("CACHE_TAG_TTL", "-1"),
            ("ROUTES", "nohost"),
            ("ROUTES", "a.example=ghcr.io,a.example=quay.io"),
        ];
        for (k, v) in cases {
            let e = Config::from_pairs([(k, v)]).unwrap_err();
            assert_eq!(e.key, k, "{k}={v}: {e}");
        }
    }

    #[test]
    fn platform_variables_are_not_config() {
        let c = Config::from_pairs([("CF_PAGES", "1"), ("CF_PAGES_URL", "https://x.pages.dev")]);
        assert!(c.is_ok());
        assert_eq!(Config::from_pairs([("CFX", "1")]).unwrap_err().key, "CFX");
    }

    #[test]
    fn restricting_users_or_using_an_account_needs_a_secret() {
        const SECRET: &str = "0123456789abcdef";
        for k in ["USER_WHITELIST", "WHITE_LIST"] {
            assert_eq!(
                Config::from_pairs([(k, "alice")]).unwrap_err().key,
                "TOKEN_SECRET"
            );
            let c = Config::from_pairs([(k, "Alice, bob"), ("TOKEN_SECRET", SECRET)]).unwrap();
            assert_eq!(c.users, vec!["alice", "bob"]);
            assert!(c.proxy_tokens());
            assert!(c.user_allowed("ALICE") && !c.user_allowed("mallory"));
        }
        let key =
            |pairs: &[(&str, &str)]| Config::from_pairs(pairs.iter().copied()).unwrap_err().key;
        assert_eq!(
            key(&[("USER_WHITELIST", "a"), ("TOKEN_SECRET", "short")]),
            "TOKEN_SECRET"
        );
        assert_eq!(
            key(&[
                ("USER_WHITELIST", "a"),
                ("WHITE_LIST", "b"),
                ("TOKEN_SECRET", SECRET)
            ]),
            "WHITE_LIST"
        );
        assert_eq!(
            key(&[("USER_WHITELIST", "a b;c"), ("TOKEN_SECRET", SECRET)]),
            "USER_WHITELIST"
        );
        assert_eq!(key(&[("UPSTREAM_USERNAME", "op")]), "UPSTREAM_PASSWORD");
        assert_eq!(key(&[("UPSTREAM_PASSWORD", "pw")]), "UPSTREAM_USERNAME");
        assert_eq!(
            key(&[("UPSTREAM_USERNAME", "op"), ("UPSTREAM_PASSWORD", "pw")]),
            "TOKEN_SECRET"
        );
        let op = Config::from_pairs([
            ("UPSTREAM_USERNAME", "op"),
            ("UPSTREAM_PASSWORD", "pw"),
            ("TOKEN_SECRET", SECRET),
        ])
        .unwrap();
        assert!(op.proxy_tokens() && op.users.is_empty());
        // A secret alone changes nothing.
        assert!(!Config::from_pairs([("TOKEN_SECRET", SECRET)])
            .unwrap()
            .proxy_tokens());
    }

    #[test]
    fn cache_needs_a_secret_and_bounds() {
        assert_eq!(
            Config::from_pairs([("CACHE", "on")]).unwrap_err().key,
            "TOKEN_SECRET"
        );
        let c =
            Config::from_pairs([("CACHE", "ON"), ("TOKEN_SECRET", "0123456789abcdef")]).unwrap();
        assert!(c.cache && c.proxy_tokens());
        assert_eq!(c.cache_max_blob_bytes, 512 * 1024 * 1024);
        let off = Config::from_pairs([("CACHE", "off")]).unwrap();
        assert!(!off.cache && !off.proxy_tokens());
        let small = Config::from_pairs([("CACHE_MAX_BLOB_MB", "1")]).unwrap();
        assert_eq!(small.cache_max_blob_bytes, 1024 * 1024);
        assert_eq!(
            Config::from_pairs([("CACHE_MAX_BLOB_MB", "x")])
                .unwrap_err()
                .key,
            "CACHE_MAX_BLOB_MB"
        );
    }

    #[test]
    fn routes_by_host_and_ns_selects_only_configured() {
        let c = Config::from_pairs([
            ("UPSTREAM", "docker.io"),
            (
                "ROUTES",
                "ghcr.example.com=ghcr.io, q.example.com=https://quay.io",
            ),
        ])
        .unwrap();
        assert_eq!(c.upstream_for_host("GHCR.example.com:8443").name, "ghcr.io");
        assert_eq!(c.upstream_for_host("q.example.com").name, "quay.io");
        assert_eq!(c.upstream_for_host("other.example.com").name, "docker.io");
        assert_eq!(c.upstream_named("docker.io").unwrap().name, "docker.io");
        assert_eq!(
            c.upstream_named("index.docker.io").unwrap().name,
            "docker.io"
        );
        assert_eq!(c.upstream_named("ghcr.io").unwrap().name, "ghcr.io");
        assert!(c.upstream_named("evil.example.com").is_none());
        assert!(c.upstream_named("127.0.0.1:22").is_none());
        assert!(c.upstream_named("http://ghcr.io").is_some());
    }
}
