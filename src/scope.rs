//! Token scopes (`repository:library/nginx:pull`): parsing every form clients send, and
//! granting only what this read-only, whitelisted mirror serves.
//!
//! containerd sends several `scope` parameters, Go clients join several scopes with spaces in
//! one parameter, and clients ask for `push` or `*` as well as `pull`. What comes out is always
//! `repository:<normalised name>:pull` for names the whitelist allows, nothing else.

use crate::path_form::Reach;
use crate::reference::RepoName;
use crate::upstream::Upstream;
use crate::whitelist::Whitelist;

/// At most this many scopes are considered per token request: a real pull asks for one or two.
pub const MAX_SCOPES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    /// The registry every granted repository is on: the first granted scope's (a token is for
    /// one registry), else the selected one.
    pub registry: &'a Upstream,
    /// Repositories granted `pull`, as named on `registry`, deduplicated, in request order.
    pub repositories: Vec<RepoName>,
    /// Scopes refused, with why (for the log line; never for a client-visible secret).
    pub refused: Vec<String>,
}

impl Grant<'_> {
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

/// Decides which of `scopes` to grant, for the registries within `reach`.
pub fn grant<'a>(scopes: &[&str], reach: Reach<'a>, whitelist: &Whitelist) -> Grant<'a> {
    let mut g = Grant {
        registry: reach.selected(),
        repositories: Vec::new(),
        refused: Vec::new(),
    };
    for (i, scope) in scopes.iter().enumerate() {
        if i >= MAX_SCOPES {
            g.refused
                .push(format!("{} more scopes ignored", scopes.len() - MAX_SCOPES));
            break;
        }
        match grant_one(scope, reach, whitelist) {
            Ok((upstream, _)) if !g.repositories.is_empty() && upstream != g.registry => {
                g.refused.push(format!(
                    "{}: another registry than the scopes before it",
                    crate::reference::quote_for_message(scope)
                ))
            }
            Ok((upstream, repo)) => {
                g.registry = upstream;
                if !g.repositories.contains(&repo) {
                    g.repositories.push(repo);
                }
            }
            Err(why) => g.refused.push(why),
        }
    }
    g
}

fn grant_one<'a>(
    scope: &str,
    reach: Reach<'a>,
    whitelist: &Whitelist,
) -> Result<(&'a Upstream, RepoName), String> {
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
    let named = reach.resolve(name).map_err(|e| e.message)?;
    if !whitelist.allows(named.upstream, &named.name) {
        return Err(format!("{}: not in the whitelist", named.name));
    }
    Ok((named.upstream, named.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> &'static Upstream {
        Box::leak(Box::new(Upstream::parse("docker.io").unwrap()))
    }

    #[test]
    fn normalises_and_keeps_pull_only() {
        let scopes = split_scopes([
            "repository:nginx:pull,push repository:library/redis:pull",
            "repository:nginx:pull",
        ]);
        let g = grant(&scopes, Reach::only(hub()), &Whitelist::default());
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
        let g = grant(&scopes, Reach::only(hub()), &wl);
        // Only the last (wildcard action, which includes pull) is granted, and as pull only.
        assert_eq!(g.scope_strings(), vec!["repository:library/nginx:pull"]);
        assert_eq!(g.refused.len(), 6, "{:?}", g.refused);
    }

    #[test]
    fn other_registries_have_no_library_rule() {
        let ghcr = Upstream::parse("ghcr.io").unwrap();
        let g = grant(
            &["repository:org/app:pull"],
            Reach::only(&ghcr),
            &Whitelist::parse("ghcr.io/org/*").unwrap(),
        );
        assert_eq!(g.scope_strings(), vec!["repository:org/app:pull"]);
        let g = grant(
            &["repository:org/app:pull"],
            Reach::only(hub()),
            &Whitelist::parse("ghcr.io/org/*").unwrap(),
        );
        assert!(g.repositories.is_empty());
    }

    #[test]
    fn a_registry_in_the_name_selects_it_and_one_token_is_for_one_registry() {
        let c = crate::config::Config::from_pairs([("REGISTRIES", "ghcr.io, quay.io")]).unwrap();
        let wl = Whitelist::parse("nginx, ghcr.io/org/*, quay.io/*").unwrap();
        let reach = Reach::new(&c.upstream, false, &c);
        let g = grant(
            &[
                "repository:ghcr.io/org/app:pull",
                "repository:nginx:pull",
                "repository:quay.io/a/b:pull",
                "repository:ghcr.io/org/b:pull",
            ],
            reach,
            &wl,
        );
        assert_eq!(g.registry.name, "ghcr.io");
        // What goes upstream is ghcr.io's own name.
        assert_eq!(
            g.scope_strings(),
            vec!["repository:org/app:pull", "repository:org/b:pull"]
        );
        assert_eq!(g.refused.len(), 2, "{:?}", g.refused);
        // The whitelist follows the registry, not the path.
        let g = grant(&["repository:ghcr.io/evil/app:pull"], reach, &wl);
        assert!(g.repositories.is_empty());
        assert_eq!(
            g.registry.name, "docker.io",
            "nothing granted: the selected registry"
        );
        let g = grant(&["repository:nginx:pull"], reach, &wl);
        assert_eq!(
            (g.registry.name.as_str(), g.scope_strings()),
            (
                "docker.io",
                vec!["repository:library/nginx:pull".to_owned()]
            )
        );
    }

    #[test]
    fn scope_count_is_bounded() {
        let many: Vec<String> = (0..100).map(|i| format!("repository:n{i}:pull")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let g = grant(&refs, Reach::only(hub()), &Whitelist::default());
        assert_eq!(g.repositories.len(), MAX_SCOPES);
    }
}
