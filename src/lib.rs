//! edge-registry-proxy: a Docker/OCI registry mirror for edge functions.
//!
//! The core is deterministic protocol logic with no networking, cache or clock of its own:
//! the edge binding (`wasm`) hands it requests and a `Platform` to send upstream requests
//! through. Bodies are opaque handles, so image layers stream through the runtime untouched.
//!
//! Layout: the synchronous rules, each in one module (names, routes, scopes, challenges,
//! whitelists, access, proxy tokens, the cache policy, config, URLs, errors, HTTP types), and the
//! async pipeline over `Platform` in `flow/`. Modules are private; what the binding, the tests
//! and the fuzz targets use is re-exported here.
#![warn(unreachable_pub)]

mod access;
mod archive;
mod cache_policy;
mod challenge;
mod config;
mod config_error;
mod credentials;
mod errors;
mod fetch_url;
mod flow;
mod http;
mod list;
mod path_form;
mod platform;
mod proxy_token;
mod reference;
mod route;
mod scope;
mod token_answer;
mod upstream;
mod url;
mod whitelist;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use cache_policy::{sha256_digest, MANIFEST_ACCEPT};
pub use challenge::Challenge;
pub use config::{Config, ConfigError, ConfigValue, Shape as ConfigShape, KEYS as CONFIG_KEYS};
pub use config_error::{Place as ConfigPlace, Problem as ConfigProblem};
pub use flow::{config_error_response, handle, State, MAX_REDIRECTS};
pub use http::{
    Answer, Body, Headers, Method, Request, Response, UpstreamRequest, UpstreamResponse,
};
pub use platform::{FetchError, Part, Platform};

/// The parsers and rules the fuzz targets drive; not an API. Always compiled (hidden), not behind
/// `cfg(fuzzing)`: items only a cfg-gated module reached would be `unreachable_pub` in every
/// normal build.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::cache_policy::single_range;
    pub use crate::challenge::{proxy_challenge, BearerError};
    pub use crate::config::Credentials;
    pub use crate::credentials::{basic_header, parse_basic, subject_is};
    pub use crate::fetch_url::{resolve, FetchUrl};
    pub use crate::list::entries;
    pub use crate::path_form::Reach;
    pub use crate::proxy_token::{sign, verify};
    pub use crate::reference::{normalize_name, Reference, NAME_MAX_LEN};
    pub use crate::route::{route, Endpoint};
    pub use crate::scope::{grant, split_scopes, MAX_SCOPES};
    pub use crate::token_answer::{is_rfc3339, parse_token_answer};
    pub use crate::upstream::Upstream;
    pub use crate::url::{with_query, RequestUrl};
    pub use crate::whitelist::Whitelist;
}
