//! The configuration contract: the same keys from Cloudflare `[vars]`/secrets, the ESA bundle's
//! `CONFIG` block, ESA function variables and the local environment.
//!
//! Unknown keys and malformed values are errors that name the key: a typo in `WHITELIST` must
//! not silently turn the mirror into an open proxy. Features a key asks for that this version
//! does not implement are refused the same way, never ignored.

pub use crate::config_error::ConfigError;
use crate::config_error::{Place, Problem};
use crate::list::entries;
use crate::upstream::Upstream;
use crate::url::strip_port;
use crate::whitelist::Whitelist;

/// What a key holds. A list made only of separators would otherwise read as "no list", which
/// for a whitelist means "allow everything": it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Text,
    List,
}

/// Every key the proxy reads, in one table: the ESA `CONFIG` block, `make dev`'s key list (read
/// from that block) and the README's table are checked against it (`tests/esa_config.rs`).
pub const KEYS: &[(&str, Shape)] = &[
    ("UPSTREAM", Shape::Text),
    ("ROUTES", Shape::List),
    ("WHITELIST", Shape::List),
    ("USER_WHITELIST", Shape::List),
    ("WHITE_LIST", Shape::List),
    ("TOKEN_SECRET", Shape::Text),
    ("UPSTREAM_USERNAME", Shape::Text),
    ("UPSTREAM_PASSWORD", Shape::Text),
    ("UPSTREAM_ACCOUNTS", Shape::List),
    ("CACHE", Shape::Text),
    ("CACHE_TAG_TTL", Shape::Text),
    ("CACHE_MAX_BLOB_MB", Shape::Text),
    ("BLOB_REDIRECT", Shape::Text),
    ("LOG", Shape::Text),
    ("DEBUG_PANIC", Shape::Text),
    ("FALLBACK", Shape::List),
    ("SEARCH_UPSTREAM", Shape::Text),
    ("REGISTRIES", Shape::List),
];

/// The keys' names.
pub(crate) fn key_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|(k, _)| *k)
}

/// Variables the platform itself puts into `env` (Cloudflare Pages: `CF_PAGES`, `CF_PAGES_URL`,
/// ...). They are not the operator's configuration, so they are neither keys nor typos.
pub(crate) const PLATFORM_PREFIXES: &[&str] = &["CF_"];

pub(crate) const DEFAULT_UPSTREAM: &str = "https://registry-1.docker.io";
pub(crate) const DEFAULT_SEARCH_UPSTREAM: &str = "https://index.docker.io";
pub(crate) const DEFAULT_CACHE_TAG_TTL: u32 = 600;
/// Cloudflare's Cache API refuses objects over 512 MB.
pub(crate) const DEFAULT_CACHE_MAX_BLOB_MB: u64 = 512;

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

/// One user of `USER_WHITELIST`: an account on one registry, spelled as the operator wrote it.
/// A user name and password for an upstream: the operator's account, or what a client typed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ..)", self.user)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedUser {
    /// The registry whose token service checks the password (`docker.io`, `ghcr.io`, ...).
    pub registry: String,
    /// As listed: this spelling, not the one a client typed, goes upstream.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub upstream: Upstream,
    /// Request hostname (lowercase, no port) -> upstream.
    pub routes: Vec<(String, Upstream)>,
    /// `REGISTRIES`: registries served by path (`my.domain/ghcr.io/org/app`) and `?ns=` without
    /// a host of their own. UPSTREAM and the ROUTES targets are served so too.
    pub registries: Vec<Upstream>,
    pub whitelist: Whitelist,
    /// Whose tokens clients hold, and with it who may pull and with which accounts.
    pub auth: AuthMode,
    /// `CACHE=on`, with what only then means something; None: no edge cache.
    pub cache: Option<CacheSettings>,
    pub blob_redirect: BlobRedirect,
    /// `SEARCH_UPSTREAM`: the origin `docker search` asks (`/v1/search`), canonical.
    pub search_upstream: String,
    /// `FALLBACK`: per registry name, the sources tried in order when it cannot answer a read.
    pub fallbacks: Vec<(String, Upstream)>,
    pub log: LogLevel,
    /// `DEBUG_PANIC=on`: `GET /__panic` panics inside the module, to check on a deployment (and
    /// in the tests) that a panic becomes a 500 and a fresh instance, never a hung isolate.
    pub debug_panic: bool,
}

/// The edge cache's settings (`CACHE_TAG_TTL`, `CACHE_MAX_BLOB_MB`), which exist only with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Seconds a tag's stored manifest is fresh.
    pub tag_ttl: u32,
    /// Largest layer stored.
    pub max_blob_bytes: u64,
}

/// A `TOKEN_SECRET` that passed the checks: present and long enough. Only `Config` makes one, so
/// signing or verifying with an empty key cannot be written.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(..)")
    }
}

/// Whose tokens clients hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// The upstream's own, fetched through the proxy's `/token` and passed to the upstream.
    PassThrough,
    /// The proxy's: needed by the user whitelist (who may pull), the operator's accounts (never
    /// handed out) and the cache (what is stored was fetched with the proxy's identity, and who
    /// may read it is checked by the proxy).
    ProxyTokens(ProxyAuth),
}

/// What proxy tokens come with: the secret that signs them, and who may pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAuth {
    pub secret: TokenSecret,
    pub pullers: Pullers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pullers {
    /// Anyone the whitelist admits. The proxy reads with the operator's accounts on UPSTREAM
    /// in turn (UPSTREAM_USERNAME's first, then UPSTREAM_ACCOUNTS'), or anonymously.
    Anyone { accounts: Vec<Credentials> },
    /// Listed users only, each reading with their own account: the operator's accounts, if
    /// given, are not used (`unused_accounts`, for the warning).
    Listed {
        users: Vec<ListedUser>,
        unused_accounts: bool,
    },
}

/// A configuration value as the platform holds it. Lists may be given as arrays (an ESA CONFIG
/// block, wrangler `[vars]`); anything else that is not text cannot be a value of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    Text(String),
    List(Vec<String>),
    /// An object, null, a function...: names what it was, for the error.
    Unusable(&'static str),
}

/// How a key found in a config source is treated.
enum KeyKind<'k> {
    Ours(&'static str),
    /// The platform's own variables or fields of a runtime object (`CF_PAGES`, `requestId`).
    NotConfig,
    Unknown(&'k str),
}

/// Operator variables are written in capitals (`WHITELIST`); a capitalised name we do not know
/// is a typo and fails closed. A name in another style (`requestId`, `clientIp`) is a runtime's
/// field, not configuration -- except a case variant of one of our keys (`whitelist`), which
/// is a typo again.
fn classify(key: &str) -> KeyKind<'_> {
    if let Some(k) = key_names().find(|k| *k == key) {
        return KeyKind::Ours(k);
    }
    if PLATFORM_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return KeyKind::NotConfig;
    }
    let operator_style = key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    if operator_style || key_names().any(|k| k.eq_ignore_ascii_case(key)) {
        KeyKind::Unknown(key)
    } else {
        KeyKind::NotConfig
    }
}

/// Parses an on/off style choice; `choices` maps accepted spellings (lowercase) to values, and
/// `listing` names them for the error.
fn choice<T: Copy>(
    key: &str,
    value: Option<&str>,
    default: T,
    (choices, listing): (&[(&str, T)], &'static str),
) -> Result<T, ConfigError> {
    let Some(v) = value else { return Ok(default) };
    let v = v.to_ascii_lowercase();
    choices
        .iter()
        .find(|(name, _)| *name == v)
        .map(|(_, t)| *t)
        .ok_or_else(|| ConfigError::new(key, Problem::NotOneOf(listing)))
}

const BLOB_REDIRECTS: &[(&str, BlobRedirect)] = &[
    ("follow", BlobRedirect::Follow),
    ("passthrough", BlobRedirect::Passthrough),
];
const ON_OFF_NAMES: &str = "on, off, true, false, 1, 0";
const ON_OFF: &[(&str, bool)] = &[
    ("on", true),
    ("off", false),
    ("true", true),
    ("false", false),
    ("1", true),
    ("0", false),
];

impl Config {
    /// Builds the configuration from key/value pairs; later pairs override earlier ones, and an
    /// empty value means "not set" (it never erases an earlier value).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Config, ConfigError> {
        Self::from_values(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), ConfigValue::Text(v.to_owned()))),
        )
    }

    /// As `from_pairs`, for values as the platform holds them (text, lists, other things).
    pub fn from_values(
        pairs: impl IntoIterator<Item = (String, ConfigValue)>,
    ) -> Result<Config, ConfigError> {
        let values = collect(pairs)?;
        let get = |k: &str| {
            values
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_str())
        };

        let upstream = Upstream::parse(get("UPSTREAM").unwrap_or(DEFAULT_UPSTREAM))
            .map_err(|e| ConfigError::new("UPSTREAM", Problem::Registry(e)))?;
        let routes = parse_routes(get("ROUTES").unwrap_or(""))?;
        let extra = parse_registries(get("REGISTRIES").unwrap_or(""))?;
        refuse_shared_names(&upstream, &routes, &extra)?;
        let whitelist = Whitelist::parse(get("WHITELIST").unwrap_or(""))
            .map_err(|(n, e)| ConfigError::at("WHITELIST", n, Problem::Pattern(e)))?;

        let registries: Vec<&Upstream> = all_upstreams(&upstream, &routes, &extra).collect();
        let users = user_list(get("USER_WHITELIST"), get("WHITE_LIST"), &registries)?;
        let upstream_accounts = operator_accounts(
            get("UPSTREAM_USERNAME"),
            get("UPSTREAM_PASSWORD"),
            get("UPSTREAM_ACCOUNTS"),
        )?;
        let cache = choice("CACHE", get("CACHE"), false, (ON_OFF, ON_OFF_NAMES))?;
        let auth = auth_mode(users, upstream_accounts, cache, get("TOKEN_SECRET"))?;

        let (cache_max_blob_bytes, cache_tag_ttl) =
            cache_limits(get("CACHE_MAX_BLOB_MB"), get("CACHE_TAG_TTL"))?;
        let blob_redirect = choice(
            "BLOB_REDIRECT",
            get("BLOB_REDIRECT"),
            BlobRedirect::Follow,
            (BLOB_REDIRECTS, "follow, passthrough"),
        )?;
        let fallbacks = parse_fallbacks(get("FALLBACK").unwrap_or(""), &registries)?;
        let search_upstream =
            search_origin(get("SEARCH_UPSTREAM").unwrap_or(DEFAULT_SEARCH_UPSTREAM))?;
        let log = choice(
            "LOG",
            get("LOG"),
            LogLevel::Errors,
            (
                &[
                    ("errors", LogLevel::Errors),
                    ("all", LogLevel::All),
                    ("off", LogLevel::Off),
                ],
                "errors, all, off",
            ),
        )?;
        let debug_panic = choice(
            "DEBUG_PANIC",
            get("DEBUG_PANIC"),
            false,
            (&[("on", true), ("off", false)], "on, off"),
        )?;
        Ok(Config {
            upstream,
            routes,
            registries: extra,
            whitelist,
            auth,
            cache: cache.then_some(CacheSettings {
                tag_ttl: cache_tag_ttl,
                max_blob_bytes: cache_max_blob_bytes,
            }),
            blob_redirect,
            search_upstream,
            fallbacks,
            log,
            debug_panic,
        })
    }

    /// The fallback sources of the registry named `name`, in order.
    pub(crate) fn fallbacks_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Upstream> {
        self.fallbacks
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, u)| u)
    }

    /// Proxy-signed tokens are in force: users are restricted, or the operator's account is used
    /// upstream (whose tokens must never reach clients).
    ///
    /// The cache needs it too: what it stores must have been fetched with the proxy's own
    /// identity, and who may read it must be checked by the proxy.
    pub fn proxy_tokens(&self) -> bool {
        self.proxy_auth().is_some()
    }

    pub fn proxy_auth(&self) -> Option<&ProxyAuth> {
        match &self.auth {
            AuthMode::ProxyTokens(a) => Some(a),
            AuthMode::PassThrough => None,
        }
    }

    /// The user whitelist; empty: anyone the image whitelist admits may pull.
    pub fn users(&self) -> &[ListedUser] {
        match self.proxy_auth().map(|a| &a.pullers) {
            Some(Pullers::Listed { users, .. }) => users,
            _ => &[],
        }
    }

    /// Whether a line of `level` is logged.
    pub fn logs(&self, level: LogLevel) -> bool {
        level != LogLevel::Off && self.log >= level
    }

    /// The listed user a client's `user` on `registry` stands for. Case-insensitive (Docker
    /// Hub's names are), but the caller sends the listed spelling upstream, not the typed one.
    pub fn listed_user(&self, registry: &str, user: &str) -> Option<&ListedUser> {
        self.users()
            .iter()
            .find(|u| u.registry == registry && u.name.eq_ignore_ascii_case(user))
    }

    /// The operator's accounts, when the proxy may use them on `upstream`: only on the default
    /// upstream, and never while users are listed (`Pullers::Listed`) -- a listed user pulls
    /// with their own account only, so the operator's private images stay the operator's.
    pub fn operator_accounts(&self, upstream: &Upstream) -> &[Credentials] {
        match self.proxy_auth().map(|a| &a.pullers) {
            Some(Pullers::Anyone { accounts }) if upstream == &self.upstream => accounts,
            _ => &[],
        }
    }

    /// Things the operator should know about a configuration that loads (shown by /version and
    /// logged): each is legal but probably not what was meant.
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut w = Vec::new();
        match self.proxy_auth().map(|a| &a.pullers) {
            Some(Pullers::Listed {
                unused_accounts: true,
                ..
            }) => {
                w.push("UPSTREAM_USERNAME is not used while USER_WHITELIST is set: listed users pull with their own accounts");
            }
            Some(Pullers::Anyone { accounts })
                if !accounts.is_empty() && self.whitelist.allows_everything() =>
            {
                w.push("UPSTREAM_USERNAME with an empty or '*' WHITELIST: anyone can pull every image the operator's account can read, private ones included");
            }
            _ => {}
        }
        w
    }

    /// The upstream a request for `host` (the request's hostname) goes to.
    pub fn upstream_for_host(&self, host: &str) -> &Upstream {
        let host = strip_port(host);
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
        self.served().find(|u| u.name == wanted)
    }

    /// The configured registry a repository path's first component names exactly
    /// (`ghcr.io` in `ghcr.io/org/app`), if any.
    pub fn registry_in_path(&self, component: &str) -> Option<&Upstream> {
        self.served().find(|u| u.name == component)
    }

    /// Every registry this configuration serves: UPSTREAM, the ROUTES targets, REGISTRIES.
    pub fn served(&self) -> impl Iterator<Item = &Upstream> {
        all_upstreams(&self.upstream, &self.routes, &self.registries)
    }
}

pub(crate) const MIN_SECRET_LEN: usize = 16;

/// `alice` (an account on the default upstream) or `ghcr.io/alice` (on a configured registry).
/// The values of our keys from the sources, later ones overriding earlier ones; an empty value
/// is "not set" and never erases an earlier one.
fn collect(
    pairs: impl IntoIterator<Item = (String, ConfigValue)>,
) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let mut values: Vec<(&'static str, String)> = Vec::new();
    for (k, v) in pairs {
        let key = match classify(&k) {
            KeyKind::Ours(key) => key,
            KeyKind::NotConfig => continue,
            // A platform binding (a KV namespace, an asset fetcher) under its own name.
            KeyKind::Unknown(_) if matches!(v, ConfigValue::Unusable(_)) => continue,
            KeyKind::Unknown(k) => return Err(ConfigError::new(k, Problem::UnknownKey)),
        };
        let text = match v {
            ConfigValue::Text(t) => t.trim().to_owned(),
            ConfigValue::List(items) => items
                .iter()
                .map(|i| i.trim())
                .filter(|i| !i.is_empty())
                .collect::<Vec<_>>()
                .join(","),
            ConfigValue::Unusable(what) => {
                return Err(ConfigError::new(key, Problem::NotText(what)))
            }
        };
        if text.is_empty() {
            continue; // not set: an empty function variable keeps the CONFIG block's value
        }
        let list = KEYS
            .iter()
            .any(|(k, shape)| *k == key && *shape == Shape::List);
        if list && entries(&text).next().is_none() {
            return Err(ConfigError::new(key, Problem::OnlySeparators));
        }
        values.retain(|(old, _)| *old != key);
        values.push((key, text));
    }
    Ok(values)
}

/// The operator's account: both halves or neither.
/// UPSTREAM_USERNAME's account first, then UPSTREAM_ACCOUNTS' in order.
fn operator_accounts(
    user: Option<&str>,
    password: Option<&str>,
    pool: Option<&str>,
) -> Result<Vec<Credentials>, ConfigError> {
    let mut accounts: Vec<Credentials> = account(user, password)?.into_iter().collect();
    accounts.extend(parse_accounts(pool.unwrap_or(""))?);
    Ok(accounts)
}

/// `http(s)://host[:port]`, canonical (the origin `docker search` asks).
fn search_origin(raw: &str) -> Result<String, ConfigError> {
    crate::fetch_url::FetchUrl::parse(raw)
        .filter(|u| u.path_and_query() == "/")
        .map(|u| u.origin().to_owned())
        .ok_or_else(|| ConfigError::new("SEARCH_UPSTREAM", Problem::NotAnOrigin))
}

fn account(user: Option<&str>, password: Option<&str>) -> Result<Option<Credentials>, ConfigError> {
    match (user, password) {
        (Some(u), Some(p)) => Ok(Some(Credentials {
            user: u.to_owned(),
            password: p.to_owned(),
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::new(
            "UPSTREAM_PASSWORD",
            Problem::RequiredWith("UPSTREAM_USERNAME"),
        )),
        (None, Some(_)) => Err(ConfigError::new(
            "UPSTREAM_USERNAME",
            Problem::RequiredWith("UPSTREAM_PASSWORD"),
        )),
    }
}

/// `user:token,...`: the operator's accounts (Docker Hub access tokens, or passwords of any
/// registry that takes Basic credentials at its token service). Errors name entries, never
/// their text.
fn parse_accounts(raw: &str) -> Result<Vec<Credentials>, ConfigError> {
    let mut out: Vec<Credentials> = Vec::new();
    for (i, entry) in entries(raw).enumerate() {
        let n = i + 1;
        let (user, token) = entry
            .split_once(':')
            .filter(|(u, t)| !u.trim().is_empty() && !t.trim().is_empty())
            .ok_or_else(|| ConfigError::at("UPSTREAM_ACCOUNTS", n, Problem::NotUserToken))?;
        let user = user.trim();
        if out.iter().any(|c| c.user == user) {
            return Err(ConfigError::at(
                "UPSTREAM_ACCOUNTS",
                n,
                Problem::RepeatedAccount,
            ));
        }
        out.push(Credentials {
            user: user.to_owned(),
            password: token.trim().to_owned(),
        });
    }
    Ok(out)
}

/// Proxy tokens when the proxy must sign (users listed, operator accounts, the cache), and then
/// a usable secret is required.
fn auth_mode(
    users: Vec<ListedUser>,
    accounts: Vec<Credentials>,
    cache: bool,
    secret: Option<&str>,
) -> Result<AuthMode, ConfigError> {
    if users.is_empty() && accounts.is_empty() && !cache {
        return Ok(AuthMode::PassThrough);
    }
    let pullers = if users.is_empty() {
        Pullers::Anyone { accounts }
    } else {
        Pullers::Listed {
            users,
            unused_accounts: !accounts.is_empty(),
        }
    };
    match secret {
        None => Err(ConfigError::new("TOKEN_SECRET", Problem::SecretMissing)),
        Some(s) if s.len() < MIN_SECRET_LEN => {
            Err(ConfigError::new("TOKEN_SECRET", Problem::SecretTooShort))
        }
        Some(s) => Ok(AuthMode::ProxyTokens(ProxyAuth {
            secret: TokenSecret(s.to_owned()),
            pullers,
        })),
    }
}

/// `USER_WHITELIST`, or its alias `WHITE_LIST` (not both).
fn user_list(
    user_whitelist: Option<&str>,
    white_list: Option<&str>,
    registries: &[&Upstream],
) -> Result<Vec<ListedUser>, ConfigError> {
    match (user_whitelist, white_list) {
        (Some(_), Some(_)) => Err(ConfigError::new("WHITE_LIST", Problem::BothAliases)),
        (Some(v), None) => {
            parse_users(v, registries).map_err(|(n, e)| ConfigError::at("USER_WHITELIST", n, e))
        }
        (None, Some(v)) => {
            parse_users(v, registries).map_err(|(n, e)| ConfigError::at("WHITE_LIST", n, e))
        }
        (None, None) => Ok(Vec::new()),
    }
}

/// `CACHE_MAX_BLOB_MB` (as bytes) and `CACHE_TAG_TTL` (seconds).
fn cache_limits(
    max_blob_mb: Option<&str>,
    tag_ttl: Option<&str>,
) -> Result<(u64, u32), ConfigError> {
    let max_blob_bytes = match max_blob_mb {
        None => DEFAULT_CACHE_MAX_BLOB_MB,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|mb| *mb <= 1 << 20)
            .ok_or_else(|| ConfigError::new("CACHE_MAX_BLOB_MB", Problem::NotMegabytes))?,
    } * 1024
        * 1024;
    let tag_ttl = match tag_ttl {
        None => DEFAULT_CACHE_TAG_TTL,
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| ConfigError::new("CACHE_TAG_TTL", Problem::NotSeconds))?,
    };
    Ok((max_blob_bytes, tag_ttl))
}

fn parse_users(raw: &str, registries: &[&Upstream]) -> Result<Vec<ListedUser>, (usize, Problem)> {
    let mut users = Vec::new();
    for (i, entry) in entries(raw).enumerate() {
        let n = i + 1;
        let (registry, name) = match entry.rsplit_once('/') {
            Some((reg, name)) => {
                let wanted = Upstream::parse(reg)
                    .map_err(|_| (n, Problem::NotARegistryPrefix))?
                    .name;
                let known = registries.iter().any(|u| u.name == wanted);
                if !known {
                    return Err((n, Problem::UnservedRegistry));
                }
                (wanted, name)
            }
            None => (registries[0].name.clone(), entry),
        };
        let ok = !name.is_empty()
            && name.len() <= 255
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._@+-".contains(&c));
        if !ok {
            return Err((n, Problem::NotAUserName));
        }
        users.push(ListedUser {
            registry,
            name: name.to_owned(),
        });
    }
    Ok(users)
}

/// The default upstream, each routed one, then REGISTRIES': every registry this configuration
/// serves.
fn all_upstreams<'a>(
    upstream: &'a Upstream,
    routes: &'a [(String, Upstream)],
    extra: &'a [Upstream],
) -> impl Iterator<Item = &'a Upstream> {
    std::iter::once(upstream)
        .chain(routes.iter().map(|(_, u)| u))
        .chain(extra)
}

/// `ghcr.io, quay.io, registry.k8s.io, corp.example.com@https://10.0.0.5`: registry specs.
fn parse_registries(raw: &str) -> Result<Vec<Upstream>, ConfigError> {
    entries(raw)
        .enumerate()
        .map(|(i, spec)| {
            Upstream::parse(spec)
                .map_err(|e| ConfigError::at("REGISTRIES", i + 1, Problem::Registry(e)))
        })
        .collect()
}

/// `host=registry,host2=registry2`
fn parse_routes(raw: &str) -> Result<Vec<(String, Upstream)>, ConfigError> {
    let mut routes: Vec<(String, Upstream)> = Vec::new();
    for (i, entry) in entries(raw).enumerate() {
        let n = i + 1;
        let (host, spec) = entry
            .split_once('=')
            .ok_or_else(|| ConfigError::at("ROUTES", n, Problem::NotHostRegistry))?;
        let host = host.trim().to_ascii_lowercase();
        if !crate::upstream::is_host_port(&host) || host.contains(':') {
            return Err(ConfigError::at("ROUTES", n, Problem::NotAHostName));
        }
        if routes.iter().any(|(h, _)| *h == host) {
            return Err(ConfigError::at("ROUTES", n, Problem::RepeatedHost));
        }
        let upstream = Upstream::parse(spec)
            .map_err(|e| ConfigError::at("ROUTES", n, Problem::Registry(e)))?;
        routes.push((host, upstream));
    }
    Ok(routes)
}

/// `REGISTRY=SOURCE,...` (`docker.io=mirror.gcr.io`): a configured registry's name, then a
/// source in any registry form; several for one registry are tried in the order given.
fn parse_fallbacks(
    raw: &str,
    registries: &[&Upstream],
) -> Result<Vec<(String, Upstream)>, ConfigError> {
    let mut out = Vec::new();
    for (i, entry) in entries(raw).enumerate() {
        let n = i + 1;
        let (name, spec) = entry
            .split_once('=')
            .ok_or_else(|| ConfigError::at("FALLBACK", n, Problem::NotRegistrySource))?;
        let name = Upstream::parse(name)
            .map_err(|e| ConfigError::at("FALLBACK", n, Problem::Registry(e)))?
            .name;
        if !registries.iter().any(|r| r.name == name) {
            return Err(ConfigError::at("FALLBACK", n, Problem::UnservedRegistry));
        }
        let source = Upstream::parse(spec)
            .map_err(|e| ConfigError::at("FALLBACK", n, Problem::Registry(e)))?;
        if registries.iter().any(|r| r.endpoint == source.endpoint) {
            return Err(ConfigError::at("FALLBACK", n, Problem::SourceIsServed));
        }
        out.push((name, source));
    }
    Ok(out)
}

/// Proxy tokens name the registry they are for; two endpoints under one name would let a token
/// (and the user's upstream token inside it) cross from one to the other.
fn refuse_shared_names(
    upstream: &Upstream,
    routes: &[(String, Upstream)],
    extra: &[Upstream],
) -> Result<(), ConfigError> {
    let place = |i: usize| match i {
        0 => Place::Upstream,
        i if i <= routes.len() => Place::Route(i),
        i => Place::Registries(i - routes.len()),
    };
    let all: Vec<(Place, &Upstream)> = all_upstreams(upstream, routes, extra)
        .enumerate()
        .map(|(i, u)| (place(i), u))
        .collect();
    for (i, (a_place, a)) in all.iter().enumerate() {
        if let Some((b_place, _)) = all[i + 1..]
            .iter()
            .find(|(_, b)| b.name == a.name && b.endpoint != a.endpoint)
        {
            let key = match b_place {
                Place::Registries(_) => "REGISTRIES",
                _ => "ROUTES",
            };
            return Err(ConfigError::new(
                key,
                Problem::SharedName(*a_place, *b_place),
            ));
        }
    }
    Ok(())
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
        assert_eq!(c.cache, None);
        let on =
            Config::from_pairs([("CACHE", "on"), ("TOKEN_SECRET", "0123456789abcdef")]).unwrap();
        assert_eq!(on.cache.unwrap().tag_ttl, DEFAULT_CACHE_TAG_TTL);
    }

    #[test]
    fn later_pairs_override_and_empty_never_erases() {
        let c = Config::from_pairs([
            ("UPSTREAM", "ghcr.io"),
            ("UPSTREAM", "quay.io"),
            ("WHITELIST", "nginx"),
            // An empty ESA function variable: "not set", so the CONFIG block's list applies.
            ("WHITELIST", ""),
            ("WHITELIST", "  "),
        ])
        .unwrap();
        assert_eq!(c.upstream.name, "quay.io");
        assert!(!c.whitelist.is_empty());
    }

    #[test]
    fn no_value_switches_a_list_off() {
        for (k, v) in [
            ("WHITELIST", ","),
            ("WHITELIST", " , ,"),
            ("USER_WHITELIST", " , ,"),
            ("WHITE_LIST", ",,"),
            ("ROUTES", ","),
            ("WHITELIST", "\t,\n"),
        ] {
            let pairs = [(k, v), ("TOKEN_SECRET", "0123456789abcdef")];
            assert_eq!(Config::from_pairs(pairs).unwrap_err().key, k, "{k}={v:?}");
        }
        // Every list key, from the one table.
        for (k, _) in KEYS.iter().filter(|(_, shape)| *shape == Shape::List) {
            let e = Config::from_pairs([(*k, " ,\t, ")]).unwrap_err();
            assert_eq!((e.key.as_str(), e.problem), (*k, Problem::OnlySeparators));
        }
        let list =
            |items: &[&str]| ConfigValue::List(items.iter().map(|s| s.to_string()).collect());
        let c = Config::from_values([("WHITELIST".into(), list(&["nginx", " team/* "]))]).unwrap();
        let hub = Upstream::parse("docker.io").unwrap();
        let name = |n: &str| crate::reference::normalize_name(n, true).unwrap();
        assert!(c.whitelist.allows(&hub, &name("team/app")));
        assert!(!c.whitelist.allows(&hub, &name("library/redis")));
        // An empty list is "not set"; a list of blanks is separators only.
        let c = Config::from_values([
            ("WHITELIST".into(), list(&["nginx"])),
            ("WHITELIST".into(), list(&[])),
        ])
        .unwrap();
        assert!(!c.whitelist.is_empty());
        let e = Config::from_values([("WHITELIST".into(), ConfigValue::Unusable("an object"))]);
        assert_eq!(e.unwrap_err().key, "WHITELIST");
    }

    #[test]
    fn runtime_fields_are_not_config_but_typos_are_refused() {
        let c = Config::from_pairs([("requestId", "abc"), ("clientIp", "1.2.3.4")]);
        assert!(c.is_ok());
        for k in [
            "whitelist",
            "Whitelist",
            "WHITELISTS",
            "USER_WHITE_LIST",
            "CACHE_TTL",
        ] {
            assert_eq!(Config::from_pairs([(k, "x")]).unwrap_err().key, k);
        }
    }

    #[test]
    fn errors_never_echo_values() {
        let secret = "hunter2-secret";
        for (k, v) in [
            (
                "UPSTREAM",
                format!("https://user:{secret}@registry.example"),
            ),
            ("ROUTES", format!("a.example=https://u:{secret}@r.example")),
            ("ROUTES", secret.to_owned()),
            ("WHITELIST", format!("{secret}/Bad")),
            ("CACHE", secret.to_owned()),
            ("LOG", secret.to_owned()),
            ("BLOB_REDIRECT", secret.to_owned()),
            ("CACHE_TAG_TTL", secret.to_owned()),
            ("USER_WHITELIST", format!("{secret};x")),
        ] {
            let e = Config::from_pairs([(k, v.as_str()), ("TOKEN_SECRET", "0123456789abcdef")])
                .unwrap_err();
            assert_eq!(e.key, k);
            assert!(!e.to_string().contains("hunter2"), "{k}: {e}");
        }
    }

    #[test]
    fn users_are_accounts_on_one_registry() {
        let c = Config::from_pairs([
            ("UPSTREAM", "docker.io@http://127.0.0.1:5000"),
            ("ROUTES", "g.example=ghcr.io"),
            ("USER_WHITELIST", "alice, ghcr.io/bob"),
            ("TOKEN_SECRET", "0123456789abcdef"),
        ])
        .unwrap();
        assert!(c.listed_user("docker.io", "alice").is_some());
        assert!(c.listed_user("ghcr.io", "alice").is_none());
        assert!(c.listed_user("ghcr.io", "bob").is_some());
        assert!(c.listed_user("docker.io", "bob").is_none());
        let e = Config::from_pairs([
            ("USER_WHITELIST", "quay.io/carol"),
            ("TOKEN_SECRET", "0123456789abcdef"),
        ])
        .unwrap_err();
        assert_eq!(e.key, "USER_WHITELIST");
    }

    #[test]
    fn one_registry_name_one_endpoint() {
        let e = Config::from_pairs([
            ("UPSTREAM", "docker.io@http://127.0.0.1:5000"),
            ("ROUTES", "h2.example=docker.io@http://127.0.0.1:5001"),
        ])
        .unwrap_err();
        assert_eq!(e.key, "ROUTES");
        assert_eq!(
            e.problem,
            Problem::SharedName(Place::Upstream, Place::Route(1))
        );
        assert!(e.to_string().contains("UPSTREAM and ROUTES entry 1"), "{e}");
        // Two hosts for the same endpoint are fine.
        assert!(Config::from_pairs([("ROUTES", "a.example=ghcr.io,b.example=ghcr.io")]).is_ok());
    }

    #[test]
    fn operator_account_is_never_used_for_listed_users() {
        let op = [
            ("UPSTREAM_USERNAME", "op"),
            ("UPSTREAM_PASSWORD", "pw"),
            ("TOKEN_SECRET", "0123456789abcdef"),
        ];
        let c = Config::from_pairs(op).unwrap();
        assert!(!c.operator_accounts(&c.upstream).is_empty());
        assert_eq!(c.warnings().len(), 1);
        let with_users =
            Config::from_pairs(op.iter().copied().chain([("USER_WHITELIST", "alice")])).unwrap();
        assert!(with_users
            .operator_accounts(&with_users.upstream)
            .is_empty());
        let narrow =
            Config::from_pairs(op.iter().copied().chain([("WHITELIST", "nginx")])).unwrap();
        assert!(narrow.warnings().is_empty());
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
            let names: Vec<&str> = c.users().iter().map(|u| u.name.as_str()).collect();
            assert_eq!(names, ["Alice", "bob"]);
            assert!(c.proxy_tokens());
            assert_eq!(c.listed_user("docker.io", "ALICE").unwrap().name, "Alice");
            assert!(c.listed_user("docker.io", "mallory").is_none());
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
        assert!(op.proxy_tokens() && op.users().is_empty());
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
        assert!(c.cache.is_some() && c.proxy_tokens());
        assert_eq!(c.cache.unwrap().max_blob_bytes, 512 * 1024 * 1024);
        let off = Config::from_pairs([("CACHE", "off")]).unwrap();
        assert!(off.cache.is_none() && !off.proxy_tokens());
        let small = Config::from_pairs([
            ("CACHE_MAX_BLOB_MB", "1"),
            ("CACHE", "on"),
            ("TOKEN_SECRET", "0123456789abcdef"),
        ])
        .unwrap();
        assert_eq!(small.cache.unwrap().max_blob_bytes, 1024 * 1024);
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
