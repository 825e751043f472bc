//! Token scopes (`repository:library/nginx:pull`): parsing every form clients send, and
//! granting only what this read-only, whitelisted mirror serves.
//!
//! containerd sends several `scope` parameters, Go clients join several scopes with spaces in
//! one parameter, and clients ask for `push` or `*` as well as `pull`. What comes out is always
//! `repository:<normalised name>:pull` for names the whitelist allows, nothing else.

use crate::reference::{normalize_name, RepoName};
use crate::upstream::Upstream;
use crate::whitelist::Whitelist;

/// At most this many scopes are considered per token request: a real pull asks for one or two.
pub const MAX_SCOPES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grant {
    /// Repositories granted `pull`, normalised, deduplicated, in request order.
    pub repositories: Vec<RepoName>,
    /// Scopes refused, with why (for the log line; never for a client-visible secret).
    pub refused: Vec<String>,
}

impl Grant {
    /// The scopes to ask the upstream token service for.
    pub fn scope_strings(&self) -> Vec<String> {
        self.repositories.iter().map(pull_scope).collect()
    }
}

pub(crate) fn pull_scope(repo: &RepoName) -> String {
    format!("repository:{repo}:pull")
}

/// Splits every `scope` parameter value into single scopes.
pub fn split_scopes<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    values
        .into_iter()
        .flat_map(|v| v.split(' '))
        .filter(|s| !s.is_empty())
        .collect()
}

/// Decides which of `scopes` to grant for `upstream`.
pub fn grant(scopes: &[&str], upstream: &Upstream, whitelist: &Whitelist) -> Grant {
    let mut g = Grant::default();
    for (i, scope) in scopes.iter().enumerate() {
        if i >= MAX_SCOPES {
            g.refused
                .push(format!("{} more scopes ignored", scopes.len() - MAX_SCOPES));
            break;
        }
        match grant_one(scope, upstream, whitelist) {
            Ok(repo) => {
                if !g.repositories.contains(&repo) {
                    g.repositories.push(repo);
                }
            }
            Err(why) => g.refused.push(why),
        }
    }
    g
}

fn grant_one(scope: &str, upstream: &Upstream, whitelist: &Whitelist) -> Result<RepoName, String> {
    let shown = crate::reference::quote_for_message(scope);
    // type[(class)]:name:actions -- the name itself may hold a ':port'.
    let (kind, rest) = scope
        .split_once(':')
        .ok_or_else(|| format!("{shown}: not a scope"))?;
    let (name, actions) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("{shown}: not a scope"))?;
    let kind = kind.split('(').next().unwrap_or(kind);
    if kind != "repository" {
        return Err(format!("{shown}: only repository scopes are served"));
    }
    if !actions.split(',').any(|a| a == "pull" || a == "*") {
        return Err(format!("{shown}: read-only mirror, only pull is granted"));
    }
    let repo = normalize_name(name, upstream.is_docker_hub()).map_err(|e| e.message)?;
    if !whitelist.allows(upstream, &repo) {
        return Err(format!("{}: not in the whitelist", repo));
    }
    Ok(repo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Upstream {
        Upstream::parse("docker.io").unwrap()
    }

    #[test]
    fn normalises_and_keeps_pull_only() {
        let scopes = split_scopes([
            "repository:nginx:pull,push repository:library/redis:pull",
            "repository:nginx:pull",
        ]);
        let g = grant(&scopes, &hub(), &Whitelist::default());
        assert_eq!(
            g.scope_strings(),
            vec![
                "repository:library/nginx:pull",
                "repository:library/redis:pull"
            ]
        );
        assert!(g.refused.is_empty());
    }

    #[test]
    fn refuses_push_only_other_types_bad_names_and_whitelist() {
        let wl = Whitelist::parse("library/nginx").unwrap();
        let scopes = split_scopes([
            "repository:nginx:push",
            "registry:catalog:*",
            "repository:Library/nginx:pull",
            "repository:library/../x:pull",
            "repository:redis:pull",
            "repository(plugin):nginx:pull",
            "garbage",
            "repository:nginx:*",
        ]);
        let g = grant(&scopes, &hub(), &wl);
        // Only the last (wildcard action, which includes pull) is granted, and as pull only.
        assert_eq!(g.scope_strings(), vec!["repository:library/nginx:pull"]);
        assert_eq!(g.refused.len(), 6, "{:?}", g.refused);
    }

    #[test]
    fn other_registries_have_no_library_rule() {
        let ghcr = Upstream::parse("ghcr.io").unwrap();
        let g = grant(
            &["repository:org/app:pull"],
            &ghcr,
            &Whitelist::parse("ghcr.io/org/*").unwrap(),
        );
        assert_eq!(g.scope_strings(), vec!["repository:org/app:pull"]);
        let g = grant(
            &["repository:org/app:pull"],
            &hub(),
            &Whitelist::parse("ghcr.io/org/*").unwrap(),
        );
        assert!(g.repositories.is_empty());
    }

    #[test]
    fn scope_count_is_bounded() {
        let many: Vec<String> = (0..100).map(|i| format!("repository:n{i}:pull")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let g = grant(&refs, &hub(), &Whitelist::default());
        assert_eq!(g.repositories.len(), MAX_SCOPES);
    }
}
