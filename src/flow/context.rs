//! Where a request comes from and goes to, once its upstream is chosen.

use crate::config::Config;
use crate::route::TOKEN_PATH;
use crate::upstream::Upstream;
use crate::url::with_query;

/// Where a request comes from and goes to, once the upstream is chosen.
pub(super) struct Ctx<'a> {
    pub config: &'a Config,
    pub upstream: &'a Upstream,
    /// `scheme://host[:port]` of the proxy as the client reached it.
    pub origin: String,
    /// The `service` of the proxy's challenges: its host.
    pub service: String,
    /// `?ns=` as given (containerd mirror mode): kept in the realm so token requests land on
    /// the same upstream.
    pub ns: Option<String>,
    /// Unix seconds, from the platform.
    pub now: u64,
}

impl Ctx<'_> {
    pub(super) fn realm(&self) -> String {
        let base = format!("{}{TOKEN_PATH}", self.origin);
        match &self.ns {
            Some(ns) => with_query(&base, &[("ns", ns)]),
            None => base,
        }
    }
}
