//! What a configuration error says: the key, the list entry, and a problem from a fixed set.
//! The problem is an enum of fixed texts, so no message can carry a value: values may be secrets
//! (`UPSTREAM=https://user:password@host`, `UPSTREAM_ACCOUNTS`), and the message reaches every
//! client and the log.

use crate::upstream::RegistryProblem;
use crate::whitelist::PatternProblem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key as the source wrote it (an unknown key's own name: a name, not a value).
    pub key: String,
    /// The 1-based entry of a list key.
    pub entry: Option<usize>,
    pub problem: Problem,
}

/// Where a registry was configured, for two that share a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Upstream,
    Route(usize),
    Registries(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    UnknownKey,
    /// What the platform held instead of text (`an object`, `null`).
    NotText(&'static str),
    OnlySeparators,
    /// The accepted spellings.
    NotOneOf(&'static str),
    Registry(RegistryProblem),
    Pattern(PatternProblem),
    NotARegistryPrefix,
    UnservedRegistry,
    NotAUserName,
    NotUserToken,
    RepeatedAccount,
    /// Needed because this other key is set.
    RequiredWith(&'static str),
    SecretMissing,
    SecretTooShort,
    NotMegabytes,
    NotSeconds,
    NotHostRegistry,
    NotAHostName,
    RepeatedHost,
    NotRegistrySource,
    SourceIsServed,
    SharedName(Place, Place),
    BothAliases,
    NotAnOrigin,
}

impl ConfigError {
    pub(crate) fn new(key: &str, problem: Problem) -> ConfigError {
        ConfigError {
            key: key.to_owned(),
            entry: None,
            problem,
        }
    }

    pub(crate) fn at(key: &str, entry: usize, problem: Problem) -> ConfigError {
        ConfigError {
            entry: Some(entry),
            ..ConfigError::new(key, problem)
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "configuration key {}: ", self.key)?;
        if let Some(n) = self.entry {
            write!(f, "entry {n}: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Upstream => write!(f, "UPSTREAM"),
            Place::Route(n) => write!(f, "ROUTES entry {n}"),
            Place::Registries(n) => write!(f, "REGISTRIES entry {n}"),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Problem::UnknownKey => {
                f.write_str("unknown key; the keys are ")?;
                for (i, k) in crate::config::key_names().enumerate() {
                    write!(f, "{}{k}", if i == 0 { "" } else { ", " })?;
                }
                return Ok(());
            }
            Problem::NotText(what) => {
                return write!(f, "must be text (or a list of text), not {what}")
            }
            Problem::NotOneOf(choices) => return write!(f, "expected one of {choices}"),
            Problem::Registry(p) => return write!(f, "{p}"),
            Problem::Pattern(p) => return write!(f, "{p}"),
            Problem::RequiredWith(other) => return write!(f, "required with {other}"),
            Problem::SharedName(a, b) => {
                return write!(
                    f,
                    "{a} and {b} give one registry name to two different endpoints; name each \
                     endpoint differently (NAME@URL)"
                )
            }
            Problem::SecretTooShort => {
                return write!(
                    f,
                    "too short: at least {} characters (e.g. `openssl rand -hex 32`)",
                    crate::config::MIN_SECRET_LEN
                )
            }
            Problem::OnlySeparators => {
                "holds only separators, no entry; leave it empty to unset it"
            }
            Problem::NotARegistryPrefix => "the part before '/' is not a registry",
            Problem::UnservedRegistry => {
                "names a registry that is not UPSTREAM, a ROUTES or a REGISTRIES registry"
            }
            Problem::NotAUserName => "not a user name (letters, digits, . _ @ + -)",
            Problem::NotUserToken => "expected user:token",
            Problem::RepeatedAccount => "names an account an earlier entry names",
            Problem::SecretMissing => {
                "required with USER_WHITELIST, UPSTREAM_USERNAME, UPSTREAM_ACCOUNTS or CACHE=on \
                 (e.g. `openssl rand -hex 32`)"
            }
            Problem::NotMegabytes => "expected megabytes (0 or more)",
            Problem::NotSeconds => "expected seconds (0 or more)",
            Problem::NotHostRegistry => "expected host=registry",
            Problem::NotAHostName => "the part before '=' is not a host name",
            Problem::RepeatedHost => "routes a host that an earlier entry routes",
            Problem::NotRegistrySource => "expected registry=source",
            Problem::SourceIsServed => "the source is a configured registry itself",
            Problem::BothAliases => "alias of USER_WHITELIST: set only one of them",
            Problem::NotAnOrigin => "expected http(s)://host[:port]",
        };
        f.write_str(text)
    }
}
