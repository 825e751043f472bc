//! Who may make a `/v2/` request when proxy tokens are in force (`USER_WHITELIST` or the
//! operator's upstream account): only the bearer of a token this proxy signed, unexpired, for
//! this registry, covering the repository asked for, and -- when users are restricted -- issued
//! to a user who is still on the list. Upstream-issued or forged tokens never pass.

use crate::challenge::BearerError;
use crate::config::{Config, ProxyAuth};
use crate::proxy_token::{verify, Claims};
use crate::route::RegistryEndpoint;
use crate::upstream::Upstream;

/// Why a request is refused, for the 401 and its challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessDenied {
    pub message: String,
    /// The challenge's `error` parameter.
    pub error: Option<BearerError>,
}

fn denied(message: impl Into<String>, error: Option<BearerError>) -> AccessDenied {
    AccessDenied {
        message: message.into(),
        error,
    }
}

/// The bearer token of an `Authorization` header, if it is one.
pub(crate) fn bearer(authorization: Option<&str>) -> Option<&str> {
    let a = authorization?.trim();
    let (scheme, token) = a.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub(crate) fn check(
    (config, auth): (&Config, &ProxyAuth),
    upstream: &Upstream,
    endpoint: &RegistryEndpoint,
    authorization: Option<&str>,
    now: u64,
) -> Result<Claims, AccessDenied> {
    let token = bearer(authorization).ok_or_else(|| denied("authentication required", None))?;
    let claims = verify(token, auth.secret.as_bytes(), now)
        .map_err(|e| denied(e.describe(), Some(BearerError::InvalidToken)))?;
    // A ping names no repository: a token for any registry served answers it (`docker login
    // my.domain` by a user listed on a registry reached by path).
    let registry = match endpoint {
        RegistryEndpoint::Ping => config.upstream_named(&claims.registry).unwrap_or(upstream),
        _ => upstream,
    };
    if !config.users().is_empty() {
        match &claims.user {
            // Still listed, for this registry: removing a user revokes their tokens at once.
            Some(u) if config.listed_user(&registry.name, u).is_some() => {}
            _ => {
                return Err(denied(
                    "user is not allowed to pull from this mirror",
                    Some(BearerError::InvalidToken),
                ))
            }
        }
    }
    if claims.registry != registry.name {
        return Err(denied(
            "token is for another registry",
            Some(BearerError::InsufficientScope),
        ));
    }
    if let Some(repo) = endpoint.repository() {
        if !claims.repositories.iter().any(|r| r == repo.as_str()) {
            return Err(denied(
                format!("token does not grant pull on {repo}"),
                Some(BearerError::InsufficientScope),
            ));
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the configuration's own proxy auth (every configuration here signs).
    fn check(
        cfg: &Config,
        up: &Upstream,
        endpoint: &RegistryEndpoint,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<Claims, AccessDenied> {
        super::check(
            (cfg, cfg.proxy_auth().unwrap()),
            up,
            endpoint,
            authorization,
            now,
        )
    }
    use crate::http::Method;
    use crate::proxy_token::sign;
    use crate::route::{route, Endpoint};

    fn registry_route(path: &str, up: &Upstream) -> RegistryEndpoint {
        match route(&Method::Get, path, crate::path_form::Reach::only(up))
            .unwrap()
            .endpoint
        {
            Endpoint::Registry(r) => r,
            other => panic!("{other:?}"),
        }
    }

    const SECRET: &str = "0123456789abcdef0123";

    fn config(users: &str) -> Config {
        Config::from_pairs([("USER_WHITELIST", users), ("TOKEN_SECRET", SECRET)]).unwrap()
    }

    fn token(user: Option<&str>, registry: &str, repos: &[&str], exp: u64) -> String {
        let c = Claims {
            user: user.map(str::to_owned),
            registry: registry.into(),
            repositories: repos.iter().map(|r| r.to_string()).collect(),
            issued_at: 100,
            expires_at: exp,
            upstream_token: None,
        };
        format!("Bearer {}", sign(&c, SECRET.as_bytes()))
    }

    #[test]
    fn grants_exactly_what_the_token_says() {
        let cfg = config("alice");
        let up = cfg.upstream.clone();
        let tiny = registry_route("/v2/tiny/manifests/latest", &up);
        let other = registry_route("/v2/library/other/manifests/latest", &up);
        let ping = registry_route("/v2/", &up);
        let t = token(Some("alice"), "docker.io", &["library/tiny"], 500);
        assert_eq!(
            check(&cfg, &up, &tiny, Some(&t), 200)
                .unwrap()
                .user
                .as_deref(),
            Some("alice")
        );
        assert!(check(&cfg, &up, &ping, Some(&t), 200).is_ok());
        let e = check(&cfg, &up, &other, Some(&t), 200).unwrap_err();
        assert_eq!(e.error, Some(BearerError::InsufficientScope));
    }

    #[test]
    fn refusals() {
        let cfg = config("alice");
        let up = cfg.upstream.clone();
        let tiny = registry_route("/v2/tiny/manifests/latest", &up);
        let ok = token(Some("alice"), "docker.io", &["library/tiny"], 500);
        let cases = [
            (None, "no token"),
            (Some("Basic YWxpY2U6cHc=".to_owned()), "basic"),
            (Some("Bearer".to_owned()), "empty bearer"),
            (
                Some("Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig".to_owned()),
                "upstream JWT",
            ),
            (Some(ok.replace("erp1.", "erp1.A")), "tampered"),
            (
                Some(token(Some("alice"), "docker.io", &["library/tiny"], 150)),
                "expired",
            ),
            (
                Some(token(Some("mallory"), "docker.io", &["library/tiny"], 500)),
                "user not listed",
            ),
            (
                Some(token(None, "docker.io", &["library/tiny"], 500)),
                "anonymous",
            ),
            (
                Some(token(Some("alice"), "ghcr.io", &["library/tiny"], 500)),
                "other registry",
            ),
        ];
        for (auth, what) in cases {
            assert!(
                check(&cfg, &up, &tiny, auth.as_deref(), 200).is_err(),
                "{what}"
            );
        }
        // Removing a user from the list revokes their tokens.
        assert!(check(&config("bob"), &up, &tiny, Some(&ok), 200).is_err());
    }

    #[test]
    fn operator_mode_accepts_anonymous_proxy_tokens() {
        let cfg = Config::from_pairs([
            ("UPSTREAM_USERNAME", "op"),
            ("UPSTREAM_PASSWORD", "pw"),
            ("TOKEN_SECRET", SECRET),
        ])
        .unwrap();
        let up = cfg.upstream.clone();
        let tiny = registry_route("/v2/tiny/manifests/latest", &up);
        assert!(check(
            &cfg,
            &up,
            &tiny,
            Some(&token(None, "docker.io", &["library/tiny"], 500)),
            200
        )
        .is_ok());
        assert!(check(&cfg, &up, &tiny, None, 200).is_err());
    }
}
