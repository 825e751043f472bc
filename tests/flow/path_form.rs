//! Registries by path (`/v2/ghcr.io/org/app/...`): the request, its token scopes, its
//! challenge, its user and its pages all follow the registry the path names.

use edge_registry_proxy::{Challenge, Config, State};

use crate::fake::*;

const GHCR: &str = "https://ghcr.test";
const GHCR_CHALLENGE: &str = r#"Bearer realm="https://ghcr.test/token",service="ghcr.test""#;
const SECRET: &str = "test-secret-0123456789";
/// carol:pw
const CAROL: &str = "Basic Y2Fyb2w6cHc=";
/// alice:pw
const ALICE: &str = "Basic YWxpY2U6cHc=";

/// Docker Hub and a ghcr.io stand-in, each with its own token service and accounts.
fn two_registries() -> Fake {
    Fake::new(|r| {
        let auth = r.headers.get("authorization");
        if let Some(q) = r.url.strip_prefix(&format!("{GHCR}/token")) {
            let token = match auth {
                None => "GH-ANON",
                Some(CAROL) => "GH-CAROL",
                Some(_) => return Ok((401, vec![], "{}".into())),
            };
            return Ok((200, vec![], format!(r#"{{"token":"{token}","q":"{q}"}}"#)));
        }
        if r.url.starts_with("https://auth.docker.io/token") {
            let token = match auth {
                None => "UP-ANON",
                Some(ALICE) => "UP-ALICE",
                Some(_) => return Ok((401, vec![], "{}".into())),
            };
            return Ok((200, vec![], format!(r#"{{"token":"{token}"}}"#)));
        }
        let ghcr = r.url.starts_with(GHCR);
        let (ours, challenge) = if ghcr {
            ("Bearer GH-", GHCR_CHALLENGE)
        } else {
            ("Bearer UP-", HUB_CHALLENGE)
        };
        match auth {
            Some(a) if a.starts_with(ours) => {
                let link = if r.url.contains("/tags/list") {
                    vec![(
                        "link",
                        r#"</v2/org/app/tags/list?last=b&n=2>; rel="next""#.to_owned(),
                    )]
                } else {
                    vec![("docker-content-digest", DIGEST.to_owned())]
                };
                Ok((200, link, "bytes".into()))
            }
            _ => {
                let scope = r
                    .url
                    .split("/v2/")
                    .nth(1)
                    .and_then(|p| p.split("/manifests/").next())
                    .filter(|p| !p.is_empty())
                    .map(|n| format!(r#",scope="repository:{n}:pull""#))
                    .unwrap_or_default();
                Ok((
                    401,
                    vec![("www-authenticate", format!("{challenge}{scope}"))],
                    String::new(),
                ))
            }
        }
    })
}

fn path_config(extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        ("REGISTRIES", "ghcr.io@https://ghcr.test, quay.io"),
        ("WHITELIST", "library/*, ghcr.io/org/*"),
    ];
    pairs.extend_from_slice(extra);
    config(&pairs)
}

fn challenge_of(r: &edge_registry_proxy::Response<String>) -> Challenge {
    Challenge::parse(r.headers().get("www-authenticate").expect("a challenge")).unwrap()
}

#[test]
fn a_path_naming_a_configured_registry_goes_there_with_its_own_name() {
    let fake = two_registries();
    let state = State::default();
    let cfg = path_config(&[]);
    let manifest = "https://m.example/v2/ghcr.io/org/app/manifests/1";

    // The challenge asks the proxy for the client's name; ghcr.io saw its own.
    let r = run(&fake, &state, &cfg, req("HEAD", manifest, &[]));
    assert_eq!(r.status, 401);
    assert_eq!(
        fake.seen.borrow()[0].url,
        format!("{GHCR}/v2/org/app/manifests/1")
    );
    let c = challenge_of(&r);
    assert_eq!(c.param("realm"), Some("https://m.example/token"));
    assert_eq!(c.param("scope"), Some("repository:ghcr.io/org/app:pull"));

    // The token for that scope comes from ghcr.io's token service, for ghcr.io's name.
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/token?service=m.example&scope=repository:ghcr.io/org/app:pull",
            &[],
        ),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let asked = fake.seen.borrow().last().unwrap().url.clone();
    assert_eq!(
        asked,
        format!("{GHCR}/token?service=ghcr.test&scope=repository%3Aorg%2Fapp%3Apull")
    );
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", manifest, &[("authorization", "Bearer GH-ANON")]),
    );
    assert_eq!(
        (r.status, r.headers().get("docker-content-digest")),
        (200, Some(DIGEST))
    );

    // Docker Hub by path, with its library/ rule; Hub names without a registry as before.
    for (path, upstream) in [
        (
            "docker.io/nginx",
            "https://registry-1.docker.io/v2/library/nginx/manifests/1",
        ),
        (
            "docker.io/library/nginx",
            "https://registry-1.docker.io/v2/library/nginx/manifests/1",
        ),
        (
            "nginx",
            "https://registry-1.docker.io/v2/library/nginx/manifests/1",
        ),
    ] {
        let url = format!("https://m.example/v2/{path}/manifests/1");
        let r = run(
            &fake,
            &state,
            &cfg,
            req("GET", &url, &[("authorization", "Bearer UP-ANON")]),
        );
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(fake.seen.borrow().last().unwrap().url, upstream);
    }
}

#[test]
fn path_forms_that_name_no_configured_registry_reach_nothing_new() {
    let fake = Fake::new(|_| panic!("must not be called"));
    let state = State::default();
    let cfg = path_config(&[]);
    for (url, status, code, says) in [
        // The whitelist follows the registry, not the path.
        (
            "/v2/ghcr.io/evil/app/manifests/1",
            403,
            "DENIED",
            "image ghcr.io/evil/app is not in the whitelist",
        ),
        (
            "/v2/quay.io/org/app/manifests/1",
            403,
            "DENIED",
            "image quay.io/org/app is not in the whitelist",
        ),
        // Not configured: an ordinary (here unlisted) Docker Hub name.
        (
            "/v2/gcr.io/org/app/manifests/1",
            403,
            "DENIED",
            "image gcr.io/org/app is not in the whitelist",
        ),
        // A port, user info, case, escapes: no registry name and no repository name.
        (
            "/v2/127.0.0.1:5000/org/app/manifests/1",
            400,
            "NAME_INVALID",
            "",
        ),
        (
            "/v2/user@ghcr.io/org/app/manifests/1",
            400,
            "NAME_INVALID",
            "",
        ),
        ("/v2/GHCR.IO/org/app/manifests/1", 400, "NAME_INVALID", ""),
        ("/v2/ghcr.io%2Forg/app/manifests/1", 400, "NAME_INVALID", ""),
        (
            "/v2/ghcr.io/../org/app/manifests/1",
            400,
            "NAME_INVALID",
            "",
        ),
        // ?ns= and the path naming two registries.
        (
            "/v2/ghcr.io/org/app/manifests/1?ns=docker.io",
            403,
            "DENIED",
            "the path names registry ghcr.io and ns names docker.io",
        ),
        (
            "/v2/quay.io/org/app/manifests/1?ns=ghcr.io",
            403,
            "DENIED",
            "ns names ghcr.io",
        ),
    ] {
        let r = run(
            &fake,
            &state,
            &cfg,
            req("GET", &format!("https://m.example{url}"), &[]),
        );
        assert_eq!((r.status, error_code(&r).as_str()), (status, code), "{url}");
        assert!(body_text(&r).contains(says), "{url}: {}", body_text(&r));
    }
    // containerd's path-form mirror: ?ns= and the path name the same registry.
    let fake = two_registries();
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/v2/ghcr.io/org/app/manifests/1?ns=ghcr.io",
            &[("authorization", "Bearer GH-ANON")],
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        fake.seen.borrow()[0].url,
        format!("{GHCR}/v2/org/app/manifests/1")
    );
}

#[test]
fn a_token_is_for_one_registry_and_a_user_only_where_listed() {
    let fake = two_registries();
    let state = State::default();
    let cfg = path_config(&[
        ("USER_WHITELIST", "alice, ghcr.io/carol"),
        ("TOKEN_SECRET", SECRET),
    ]);
    let token = |auth: &str, scope: &str| {
        let url = format!("https://m.example/token?service=m.example{scope}");
        let r = run(
            &fake,
            &state,
            &cfg,
            req("GET", &url, &[("authorization", auth)]),
        );
        (r.status, body_text(&r))
    };
    let bearer = |body: &str| {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        format!("Bearer {}", v["token"].as_str().unwrap())
    };
    let get = |url: &str, auth: &str| {
        let r = run(
            &fake,
            &state,
            &cfg,
            req(
                "GET",
                &format!("https://m.example{url}"),
                &[("authorization", auth)],
            ),
        );
        r.status
    };
    let ghcr_app = "/v2/ghcr.io/org/app/manifests/1";
    let hub_app = "/v2/library/app/manifests/1";

    // carol is listed on ghcr.io: her password goes to ghcr.io, her token pulls there only.
    let (s, body) = token(CAROL, "&scope=repository:ghcr.io/org/app:pull");
    assert_eq!(s, 200, "{body}");
    let carol = bearer(&body);
    assert_eq!(get(ghcr_app, &carol), 200);
    assert_eq!(
        fake.seen
            .borrow()
            .last()
            .unwrap()
            .headers
            .get("authorization"),
        Some("Bearer GH-CAROL")
    );
    assert_eq!(get(hub_app, &carol), 401, "a ghcr.io token on Docker Hub");
    assert_eq!(
        get("/v2/ghcr.io/org/other/manifests/1", &carol),
        401,
        "another repository"
    );
    // `docker login my.domain` (no scope): checked on the registry she is listed on, and the
    // ping with that token answers 200.
    let (s, body) = token(CAROL, "&account=carol");
    assert_eq!(s, 200, "{body}");
    assert_eq!(get("/v2/", &bearer(&body)), 200);

    // The same name on another registry is another person: carol is not alice's Hub, alice is
    // not on ghcr.io; neither password is sent anywhere.
    let before = fake.seen.borrow().len();
    let (s, body) = token(CAROL, "&scope=repository:library/app:pull");
    assert_eq!(s, 401);
    assert!(body.contains("may not pull"), "{body}");
    let (s, _) = token(ALICE, "&scope=repository:ghcr.io/org/app:pull");
    assert_eq!(s, 401);
    assert_eq!(
        fake.seen.borrow().len(),
        before,
        "no password went upstream"
    );
    // alice's Hub token does not open ghcr.io by path.
    let (s, body) = token(ALICE, "&scope=repository:app:pull");
    assert_eq!(s, 200);
    let alice = bearer(&body);
    assert_eq!(get(hub_app, &alice), 200);
    assert_eq!(get(ghcr_app, &alice), 401);
    // One request asking for two registries gets a token for the first only.
    let (s, body) = token(
        CAROL,
        "&scope=repository:ghcr.io/org/app:pull&scope=repository:library/app:pull",
    );
    assert_eq!(s, 200);
    let both = bearer(&body);
    assert_eq!((get(ghcr_app, &both), get(hub_app, &both)), (200, 401));
}

#[test]
fn a_tag_lists_next_page_keeps_the_path_form() {
    let fake = two_registries();
    let state = State::default();
    let cfg = path_config(&[]);
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/v2/ghcr.io/org/app/tags/list?n=2",
            &[("authorization", "Bearer GH-ANON")],
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        fake.seen.borrow()[0].url,
        format!("{GHCR}/v2/org/app/tags/list?n=2")
    );
    assert_eq!(
        r.headers().get("link"),
        Some(r#"</v2/ghcr.io/org/app/tags/list?last=b&n=2>; rel="next""#)
    );
}
