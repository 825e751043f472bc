//! edge-registry-proxy: a Docker/OCI registry mirror for edge functions.
//!
//! The core is deterministic protocol logic with no networking, cache or clock of its own:
//! the edge binding (`wasm`) hands it requests and a `Platform` to send upstream requests
//! through. Bodies are opaque handles, so image layers stream through the runtime untouched.

pub mod access;
pub mod cache_flow;
pub mod cache_policy;
pub mod challenge;
pub mod config;
pub mod errors;
pub mod flow;
pub mod http;
pub mod landing;
pub mod list;
pub mod platform;
pub mod proxy_token;
pub mod reference;
pub mod route;
pub mod scope;
pub mod token_service;
pub mod upstream;
pub mod upstream_auth;
pub mod url;
pub mod whitelist;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use config::{Config, ConfigError};
pub use flow::{config_error_response, handle, State};
pub use http::{Body, Headers, Request, Response, UpstreamRequest, UpstreamResponse};
pub use platform::{FetchError, Platform};
