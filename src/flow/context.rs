//! Where a request comes from and goes to, once its upstream is chosen.

use super::send::{answered, Sent};
use super::state::State;
use crate::config::Config;
use crate::errors::RegistryError;
use crate::path_form::{client_name, Reach};
use crate::platform::Platform;
use crate::reference::RepoName;
use crate::route::TOKEN_PATH;
use crate::upstream::Upstream;
use crate::url::with_query;

/// Where a request comes from and goes to, once the upstream is chosen.
pub(super) struct Ctx<'a> {
    pub config: &'a Config,
    /// The registry this request is for.
    pub upstream: &'a Upstream,
    /// The registry the request's host or `?ns=` selected; a path or scope may name another.
    pub selected: &'a Upstream,
    /// The client named the repository with `upstream`'s name in front (`ghcr.io/org/app`).
    pub by_path: bool,
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

/// The request in flight: the platform, what the isolate remembers, and where the request comes
/// from and goes to. The pipeline's steps are its methods, one file each: `forward`, `cached`
/// (cache.rs), `fallback`, `send_as_proxy` (accounts.rs), `issue_token`
/// (token_service.rs), `archive`.
pub(super) struct Flow<'a, P: Platform> {
    pub p: &'a P,
    pub state: &'a State,
    pub ctx: Ctx<'a>,
}

impl<'a, P: Platform> Flow<'a, P> {
    /// What the upstream's answer said of its pull limit, kept for `/version` (nothing when it
    /// did not answer).
    pub(super) fn observe(&self, sent: &Result<Sent<P::Body>, RegistryError>) {
        self.state
            .observed
            .record(&self.ctx.upstream.name, answered(sent));
    }

    /// The same request, for `upstream` (a token request's scope named it).
    pub(super) fn for_registry(&self, upstream: &'a Upstream) -> Flow<'a, P> {
        Flow {
            p: self.p,
            state: self.state,
            ctx: self.ctx.for_registry(upstream),
        }
    }
}

impl<'a> Ctx<'a> {
    /// The registries names in this request may reach.
    pub(super) fn reach(&self) -> Reach<'a> {
        Reach::new(self.selected, self.ns.is_some(), self.config)
    }

    /// The same request, for `upstream` as a name in it resolved (a token request's scope).
    pub(super) fn for_registry(&self, upstream: &'a Upstream) -> Ctx<'a> {
        Ctx {
            config: self.config,
            upstream,
            selected: self.selected,
            by_path: self.by_path,
            origin: self.origin.clone(),
            service: self.service.clone(),
            ns: self.ns.clone(),
            now: self.now,
        }
    }

    /// `repository:<name>:pull` with the name as the client knows it: what its token request
    /// asks the proxy for.
    pub(super) fn client_scope(&self, repo: &RepoName) -> String {
        format!(
            "repository:{}:pull",
            client_name(self.upstream, repo, self.by_path)
        )
    }

    pub(super) fn realm(&self) -> String {
        let base = format!("{}{TOKEN_PATH}", self.origin);
        match &self.ns {
            Some(ns) => with_query(&base, &[("ns", ns)]),
            None => base,
        }
    }
}
