//! The request pipeline against a scripted in-memory upstream: what goes upstream, what comes
//! back to the client. (The same flow runs against real registries in tests/e2e.)

mod archive;
mod fake;
mod path_form;

use std::cell::{Cell, RefCell};

use edge_registry_proxy::{
    Answer, Body, Challenge, Config, FetchError, Headers, Platform, Response, State,
};
use fake::*;

#[test]
fn every_401_gets_the_proxy_challenge_never_auth_docker_io() {
    let fake = Fake::new(|r| {
        let scope = if r.url.contains("/manifests/") {
            r#",scope="repository:library/nginx:pull",error="insufficient_scope""#
        } else {
            ""
        };
        Ok((
            401,
            vec![("www-authenticate", format!("{HUB_CHALLENGE}{scope}"))],
            "{}".into(),
        ))
    });
    let state = State::default();
    let cfg = config(&[]);
    for (method, url) in [
        ("GET", "https://m.example/v2/"),
        ("HEAD", "https://m.example/v2/nginx/manifests/latest"),
        (
            "GET",
            &format!("https://m.example/v2/library/nginx/blobs/{DIGEST}"),
        ),
    ] {
        let r = run(&fake, &state, &cfg, req(method, url, &[]));
        assert_eq!(r.status, 401, "{url}");
        assert_eq!(
            r.headers().get("docker-distribution-api-version"),
            Some("registry/2.0")
        );
        let c = Challenge::parse(r.headers().get("www-authenticate").unwrap()).unwrap();
        assert_eq!(c.param("realm"), Some("https://m.example/token"));
        assert_eq!(c.param("service"), Some("m.example"));
        for (_, v) in r.headers().iter() {
            assert!(!v.contains("docker.io/token"), "{v}");
        }
        if method == "HEAD" {
            assert!(matches!(r.answer(), Answer::Built(Body::Empty)));
            assert_eq!(c.param("scope"), Some("repository:library/nginx:pull"));
            assert_eq!(c.param("error"), Some("insufficient_scope"));
        }
    }
}

#[test]
fn manifests_go_upstream_normalised_with_only_safe_headers() {
    let fake = Fake::new(|_| {
        Ok((
            200,
            vec![
                (
                    "content-type",
                    "application/vnd.oci.image.index.v1+json".into(),
                ),
                ("docker-content-digest", DIGEST.into()),
                ("content-length", "42".into()),
                ("etag", format!("\"{DIGEST}\"")),
                ("set-cookie", "tracking=1".into()),
                ("x-internal", "secret".into()),
            ],
            "manifest-bytes".into(),
        ))
    });
    let state = State::default();
    let cfg = config(&[("UPSTREAM", "docker.io@http://127.0.0.1:5000")]);
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "http://proxy:8787/v2/nginx/manifests/latest?ns=docker.io&evil=1",
            &[
                ("accept", "application/vnd.oci.image.index.v1+json"),
                ("authorization", "Bearer T"),
                ("cookie", "session=1"),
                ("cf-connecting-ip", "1.2.3.4"),
            ],
        ),
    );
    let seen = fake.seen.borrow();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].url,
        "http://127.0.0.1:5000/v2/library/nginx/manifests/latest"
    );
    assert_eq!(
        seen[0].headers.get("accept"),
        Some("application/vnd.oci.image.index.v1+json")
    );
    assert_eq!(seen[0].headers.get("authorization"), Some("Bearer T"));
    assert_eq!(seen[0].headers.get("cookie"), None);
    assert_eq!(seen[0].headers.get("cf-connecting-ip"), None);
    assert_eq!(r.status, 200);
    assert_eq!(body_text(&r), "manifest-bytes");
    assert_eq!(r.headers().get("docker-content-digest"), Some(DIGEST));
    assert_eq!(
        r.headers().get("etag"),
        Some(format!("\"{DIGEST}\"").as_str())
    );
    assert_eq!(r.headers().get("set-cookie"), None);
    assert_eq!(r.headers().get("x-internal"), None);
}

#[test]
fn an_answer_with_nothing_to_change_is_passed_on_verbatim_and_only_then() {
    const API: (&str, &str) = ("docker-distribution-api-version", "registry/2.0");
    fn registry_headers() -> Vec<(&'static str, String)> {
        vec![
            (
                "content-type",
                "application/vnd.oci.image.index.v1+json".to_owned(),
            ),
            ("docker-content-digest", DIGEST.to_owned()),
            ("content-length", "14".to_owned()),
            (API.0, API.1.to_owned()),
            ("date", "Mon, 23 Nov 2026 20:00:00 GMT".to_owned()),
        ]
    }
    let extra: std::rc::Rc<RefCell<Vec<(&str, String)>>> = Default::default();
    let extra_in = extra.clone();
    let fake = Fake::new(move |_| {
        let extra = extra_in.borrow();
        let mut h = registry_headers();
        h.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        h.extend(extra.iter().cloned());
        Ok((200, h, "manifest-bytes".into()))
    });
    let state = State::default();
    let url = "https://m.example/v2/library/nginx/manifests/latest";
    let ask = |method: &str| run(&fake, &state, &config(&[]), req(method, url, &[]));
    let verbatim = |r: &Response<String>| match r.answer() {
        Answer::Verbatim { bodiless, .. } => Some(*bodiless),
        _ => None,
    };

    // What distribution sends: the client gets the upstream's own answer, status and headers
    // exactly as the core reports them.
    let get = ask("GET");
    assert_eq!(verbatim(&get), Some(false));
    let want: Headers = registry_headers().into_iter().collect();
    assert_eq!(get.headers(), &want);
    assert_eq!(body_text(&get), "manifest-bytes");
    let head = ask("HEAD");
    assert_eq!(
        verbatim(&head),
        Some(true),
        "an upstream HEAD has no body to drop"
    );

    // Anything that must not reach the client, or that the proxy must change: a new response.
    for (name, value) in [
        ("set-cookie", "tracking=1"),
        ("strict-transport-security", "max-age=31536000"),
        ("content-encoding", "gzip"),
        (API.0, "registry/9.9"),
    ] {
        *extra.borrow_mut() = vec![(name, value.to_owned())];
        for method in ["GET", "HEAD"] {
            let r = ask(method);
            assert_eq!(verbatim(&r), None, "{method} with {name}");
            assert_ne!(r.headers().get(name), Some(value), "{method} {name}");
            if method == "HEAD" {
                assert!(matches!(r.answer(), Answer::Built(Body::Empty)));
            }
        }
    }
    // Without the API version, the proxy adds it.
    *extra.borrow_mut() = vec![];
    let fake_without = Fake::new(move |_| {
        let h: Vec<_> = registry_headers()
            .into_iter()
            .filter(|(k, _)| *k != API.0)
            .collect();
        Ok((200, h, "m".into()))
    });
    let r = run(&fake_without, &state, &config(&[]), req("GET", url, &[]));
    assert_eq!(verbatim(&r), None);
    assert_eq!(r.headers().get(API.0), Some(API.1));

    // A blob answer without Docker-Content-Digest gets one: not verbatim either.
    let blob = format!("https://m.example/v2/library/nginx/blobs/{DIGEST}");
    let r = run(&fake_without, &state, &config(&[]), req("GET", &blob, &[]));
    assert_eq!(verbatim(&r), None);
    assert_eq!(r.headers().get("docker-content-digest"), Some(DIGEST));
}

#[test]
fn blob_redirects_are_followed_without_authorization_and_with_range() {
    let fake = Fake::new(|r| {
        if r.url.starts_with("https://registry-1.docker.io/") {
            Ok((
                307,
                vec![("location", "https://cdn.example/blob?sig=abc".into())],
                String::new(),
            ))
        } else {
            Ok((
                206,
                vec![
                    ("content-range", "bytes 0-9/100".into()),
                    ("content-length", "10".into()),
                ],
                "0123456789".into(),
            ))
        }
    });
    let state = State::default();
    let r = run(
        &fake,
        &state,
        &config(&[]),
        req(
            "GET",
            &format!("https://m.example/v2/library/x/blobs/{DIGEST}"),
            &[("authorization", "Bearer T"), ("range", "bytes=0-9")],
        ),
    );
    let seen = fake.seen.borrow();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].headers.get("authorization"), Some("Bearer T"));
    assert_eq!(seen[1].url, "https://cdn.example/blob?sig=abc");
    assert_eq!(seen[1].headers.get("authorization"), None);
    assert_eq!(seen[1].headers.get("range"), Some("bytes=0-9"));
    assert_eq!(r.status, 206);
    assert_eq!(r.headers().get("content-range"), Some("bytes 0-9/100"));
    assert_eq!(r.headers().get("docker-content-digest"), Some(DIGEST));
}

#[test]
fn same_origin_redirects_keep_authorization_and_loops_end() {
    let fake = Fake::new(|r| {
        if r.url.ends_with("/moved") {
            Ok((200, vec![], "ok".into()))
        } else {
            Ok((
                302,
                vec![("location", "/v2/library/x/moved".into())],
                String::new(),
            ))
        }
    });
    let state = State::default();
    let cfg = config(&[]);
    let url = format!("https://m.example/v2/library/x/blobs/{DIGEST}");
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", &url, &[("authorization", "Bearer T")]),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        fake.seen.borrow()[1].headers.get("authorization"),
        Some("Bearer T")
    );

    let looping = Fake::new(|_| {
        Ok((
            302,
            vec![("location", "https://a.example/again".into())],
            String::new(),
        ))
    });
    let r = run(&looping, &state, &cfg, req("GET", &url, &[]));
    assert_eq!(r.status, 502);
    assert_eq!(error_code(&r), "UNAVAILABLE");
    assert_eq!(
        looping.seen.borrow().len(),
        edge_registry_proxy::MAX_REDIRECTS + 1
    );

    let no_location = Fake::new(|_| Ok((307, vec![], String::new())));
    assert_eq!(
        run(&no_location, &state, &cfg, req("GET", &url, &[])).status,
        502
    );
    let bad_scheme = Fake::new(|_| {
        Ok((
            307,
            vec![("location", "file:///etc/passwd".into())],
            String::new(),
        ))
    });
    assert_eq!(
        run(&bad_scheme, &state, &cfg, req("GET", &url, &[])).status,
        502
    );
    assert_eq!(bad_scheme.seen.borrow().len(), 1);
}

#[test]
fn passthrough_hands_the_redirect_to_the_client() {
    let fake = Fake::new(|_| {
        Ok((
            307,
            vec![("location", "https://cdn.example/b".into())],
            String::new(),
        ))
    });
    let r = run(
        &fake,
        &State::default(),
        &config(&[("BLOB_REDIRECT", "passthrough")]),
        req(
            "GET",
            &format!("https://m.example/v2/library/x/blobs/{DIGEST}"),
            &[],
        ),
    );
    assert_eq!(r.status, 307);
    assert_eq!(r.headers().get("location"), Some("https://cdn.example/b"));
    assert_eq!(fake.seen.borrow().len(), 1);
}

#[test]
fn transport_failures_and_upstream_errors_are_registry_errors_not_500() {
    let down = Fake::new(|_| Err(FetchError("connection refused".into())));
    let r = run(
        &down,
        &State::default(),
        &config(&[]),
        req("GET", "https://m.example/v2/x/manifests/1", &[]),
    );
    assert_eq!(r.status, 502);
    assert_eq!(error_code(&r), "UNAVAILABLE");

    let limited = Fake::new(|_| {
        Ok((
            429,
            vec![
                ("retry-after", "30".into()),
                ("content-type", "application/json".into()),
            ],
            r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"x"}]}"#.into(),
        ))
    });
    let r = run(
        &limited,
        &State::default(),
        &config(&[]),
        req("GET", "https://m.example/v2/x/manifests/1", &[]),
    );
    assert_eq!(r.status, 429);
    assert_eq!(r.headers().get("retry-after"), Some("30"));
    assert_eq!(error_code(&r), "TOOMANYREQUESTS");
}

#[test]
fn refusals_never_reach_the_upstream() {
    let fake = Fake::new(|_| panic!("must not be called"));
    let state = State::default();
    let cfg = config(&[("WHITELIST", "library/nginx, a/*")]);
    let cases = [
        (
            "GET",
            "https://m.example/v2/library/redis/manifests/latest",
            403,
            "DENIED",
        ),
        (
            "GET",
            "https://m.example/v2/ab/x/manifests/latest",
            403,
            "DENIED",
        ),
        (
            "GET",
            "https://m.example/v2/nginx/manifests/latest?ns=evil.example",
            403,
            "DENIED",
        ),
        (
            "GET",
            "https://m.example/v2/nginx/manifests/latest?ns=docker.io&ns=docker.io",
            403,
            "DENIED",
        ),
        ("GET", "https://m.example/v2/_catalog", 403, "DENIED"),
        (
            "PUT",
            "https://m.example/v2/nginx/manifests/latest",
            405,
            "UNSUPPORTED",
        ),
        (
            "GET",
            "https://m.example/v2/library%2Fnginx/manifests/latest",
            400,
            "NAME_INVALID",
        ),
        (
            "GET",
            "https://m.example/v2/nginx/tags/list?n=abc",
            400,
            "UNSUPPORTED",
        ),
        (
            "GET",
            "https://m.example/v2/nginx/tags/list?last=../x",
            400,
            "TAG_INVALID",
        ),
        ("GET", "https://m.example/favicon.ico", 404, "NOT_FOUND"),
    ];
    for (method, url, status, code) in cases {
        let r = run(&fake, &state, &cfg, req(method, url, &[]));
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (status, code),
            "{method} {url}"
        );
    }
    let denied = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/v2/library/redis/manifests/latest",
            &[],
        ),
    );
    assert!(body_text(&denied).contains("image library/redis is not in the whitelist"));
}

#[test]
fn token_endpoint_learns_the_realm_once_and_forwards_granted_scopes() {
    let fake = Fake::new(|r| {
        if r.url.ends_with("/v2/") {
            Ok((
                401,
                vec![("www-authenticate", HUB_CHALLENGE.into())],
                String::new(),
            ))
        } else {
            Ok((
                200,
                vec![],
                r#"{"token":"UP","expires_in":300,"refresh_token":"R"}"#.into(),
            ))
        }
    });
    let state = State::default();
    let cfg = config(&[("WHITELIST", "library/*")]);
    let url = "https://m.example/token?service=m.example&scope=repository%3Anginx%3Apull%2Cpush&scope=repository:evil/x:pull+repository:library/redis:pull";
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", url, &[("authorization", "Basic YWxpY2U6cHc=")]),
    );
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&body_text(&r)).unwrap();
    assert_eq!(v["token"], "UP");
    assert!(v.get("refresh_token").is_none());
    {
        let seen = fake.seen.borrow();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[1].url,
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fnginx%3Apull&scope=repository%3Alibrary%2Fredis%3Apull&account=alice"
        );
        assert_eq!(
            seen[1].headers.get("authorization"),
            Some("Basic YWxpY2U6cHc=")
        );
    }
    assert!(fake
        .logs
        .borrow()
        .iter()
        .any(|l| l.contains("evil/x: not in the whitelist")));
    // The realm is remembered: the next token request costs one fetch.
    run(&fake, &state, &cfg, req("GET", url, &[]));
    assert_eq!(fake.seen.borrow().len(), 3);
    assert_eq!(fake.seen.borrow()[2].headers.get("authorization"), None);
}

#[test]
fn once_the_upstream_scheme_is_known_anonymous_pings_are_answered_without_it() {
    let open = Cell::new(false);
    let open = std::rc::Rc::new(open);
    let open_in = open.clone();
    let fake = Fake::new(move |r| {
        if r.url.ends_with("/v2/") && open_in.get() {
            Ok((200, vec![], "{}".into()))
        } else if r.url.ends_with("/v2/") {
            let h = vec![("www-authenticate", HUB_CHALLENGE.to_owned())];
            Ok((401, h, String::new()))
        } else {
            Ok((200, vec![], r#"{"token":"UP","expires_in":300}"#.into()))
        }
    });
    let cfg = config(&[]);
    let ping = |state: &State, auth: &[(&str, &str)]| {
        run(
            &fake,
            state,
            &cfg,
            req("GET", "https://m.example/v2/", auth),
        )
    };
    let token = |state: &State| {
        let url = "https://m.example/token?scope=repository:library/nginx:pull";
        assert_eq!(run(&fake, state, &cfg, req("GET", url, &[])).status, 200);
    };

    let state = State::default();
    let first = ping(&state, &[]);
    assert_eq!(
        fake.seen.borrow().len(),
        1,
        "not known yet: the upstream is asked"
    );
    token(&state); // learns the scheme from the upstream's own /v2/
    let sent = fake.seen.borrow().len();
    let local = ping(&state, &[]);
    assert_eq!(
        fake.seen.borrow().len(),
        sent,
        "known: answered at the edge"
    );
    assert_eq!(local.status, 401);
    assert_eq!(
        local.headers(),
        first.headers(),
        "the same challenge as the upstream's answer made"
    );
    assert_eq!(body_text(&local), body_text(&first));
    // Credentials only the upstream can check.
    ping(&state, &[("authorization", "Bearer UP")]);
    assert_eq!(fake.seen.borrow().len(), sent + 1);
    assert_eq!(
        fake.seen
            .borrow()
            .last()
            .unwrap()
            .headers
            .get("authorization"),
        Some("Bearer UP")
    );

    // An open registry: its ping is a 200, at the edge too once known.
    open.set(true);
    let state = State::default();
    let upstream_said = ping(&state, &[]);
    assert_eq!(upstream_said.status, 200);
    let token_url = "https://m.example/token?scope=repository:library/nginx:pull";
    run(&fake, &state, &cfg, req("GET", token_url, &[])); // learns Open (and says so)
    let sent = fake.seen.borrow().len();
    let local = ping(&state, &[]);
    assert_eq!((local.status, fake.seen.borrow().len()), (200, sent));
    assert_eq!(local.headers(), upstream_said.headers());
}

#[test]
fn token_endpoint_maps_upstream_refusals() {
    let state = State::default();
    let cfg = config(&[]);
    let url = "https://m.example/token?scope=repository:nginx:pull";
    for (status, with_creds, want_status, want_code) in [
        (401, true, 401, "UNAUTHORIZED"),
        (401, false, 401, "UNAUTHORIZED"),
        (429, false, 429, "TOOMANYREQUESTS"),
        (500, false, 502, "UNAVAILABLE"),
    ] {
        let fake = Fake::new(move |r| {
            if r.url.ends_with("/v2/") {
                Ok((
                    401,
                    vec![("www-authenticate", HUB_CHALLENGE.into())],
                    String::new(),
                ))
            } else {
                Ok((status, vec![], "nope".into()))
            }
        });
        let headers: &[(&str, &str)] = if with_creds {
            &[("authorization", "Basic eDp5")]
        } else {
            &[]
        };
        let r = run(&fake, &state, &cfg, req("GET", url, headers));
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (want_status, want_code),
            "upstream {status}"
        );
    }
    let basic = Fake::new(|_| {
        Ok((
            401,
            vec![("www-authenticate", r#"Basic realm="x""#.into())],
            String::new(),
        ))
    });
    let r = run(&basic, &State::default(), &cfg, req("GET", url, &[]));
    assert_eq!(r.status, 404);
}

#[test]
fn config_errors_name_the_key() {
    let e = Config::from_pairs([("WHITELIST", "Nginx")]).unwrap_err();
    let r: Response<String> = edge_registry_proxy::config_error_response(&e);
    assert_eq!(r.status, 500);
    assert_eq!(error_code(&r), "CONFIG_INVALID");
    assert!(body_text(&r).contains("WHITELIST"));
}

#[test]
fn head_has_no_body_and_every_response_has_the_api_version() {
    let fake = Fake::new(|_| Ok((200, vec![("content-length", "5".into())], "hello".into())));
    let r = run(
        &fake,
        &State::default(),
        &config(&[]),
        req("HEAD", "https://m.example/v2/x/manifests/1", &[]),
    );
    assert!(matches!(r.answer(), Answer::Built(Body::Empty)));
    assert_eq!(r.headers().get("content-length"), Some("5"));
    for url in [
        "https://m.example/",
        "https://m.example/version",
        "https://m.example/nope",
    ] {
        let r = run(&fake, &State::default(), &config(&[]), req("GET", url, &[]));
        assert_eq!(
            r.headers().get("docker-distribution-api-version"),
            Some("registry/2.0"),
            "{url}"
        );
    }
    let _ = Headers::new();
}

// ---- proxy tokens: USER_WHITELIST and the operator's account ----

const SECRET: &str = "test-secret-0123456789";

/// An upstream like Docker Hub: challenge on /v2/, token service knowing alice:pw and op:oppw,
/// registry accepting tokens it issued.
fn hub_like() -> Fake {
    Fake::new(|r| {
        if r.url.starts_with("https://auth.docker.io/token") {
            let token = match r.headers.get("authorization") {
                None => "ANON",
                Some("Basic YWxpY2U6cHc=") => "UP-ALICE",
                Some("Basic b3A6b3Bwdw==") => "UP-OPERATOR",
                Some(_) => return Ok((401, vec![], r#"{"details":"incorrect"}"#.into())),
            };
            return Ok((
                200,
                vec![],
                format!(r#"{{"token":"{token}","expires_in":300}}"#),
            ));
        }
        match r.headers.get("authorization") {
            Some(a) if a.starts_with("Bearer UP-") || a == "Bearer ANON" => Ok((
                200,
                vec![("docker-content-digest", DIGEST.into())],
                "bytes".into(),
            )),
            _ => Ok((
                401,
                vec![("www-authenticate", HUB_CHALLENGE.into())],
                String::new(),
            )),
        }
    })
}

fn token_from(r: &Response<String>) -> String {
    let v: serde_json::Value = serde_json::from_str(&body_text(r)).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

#[test]
fn user_whitelist_login_pull_and_refusals() {
    let fake = hub_like();
    let state = State::default();
    let cfg = config(&[("USER_WHITELIST", "alice"), ("TOKEN_SECRET", SECRET)]);
    let token_url = "https://m.example/token?service=m.example&scope=repository:tiny:pull";

    // No credentials, an unlisted user, a wrong password: 401, and the unlisted user's password
    // is never sent anywhere.
    let r = run(&fake, &state, &cfg, req("GET", token_url, &[]));
    assert_eq!((r.status, error_code(&r).as_str()), (401, "UNAUTHORIZED"));
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            token_url,
            &[("authorization", "Basic bWFsbG9yeTpwdw==")],
        ),
    );
    assert_eq!(r.status, 401);
    assert!(body_text(&r).contains("may not pull"));
    assert!(
        fake.seen.borrow().is_empty(),
        "nothing asked upstream for mallory"
    );
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            token_url,
            &[("authorization", "Basic YWxpY2U6d3Jvbmc=")],
        ),
    );
    assert_eq!(r.status, 401);
    assert!(body_text(&r).contains("incorrect username or password"));

    // alice: a proxy token with her upstream token inside.
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", token_url, &[("authorization", "Basic YWxpY2U6cHc=")]),
    );
    assert_eq!(r.status, 200);
    let t = token_from(&r);
    assert!(t.starts_with("erp1."));
    let manifest = "https://m.example/v2/tiny/manifests/latest";
    let before = fake.seen.borrow().len();
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            manifest,
            &[("authorization", &format!("Bearer {t}"))],
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        fake.seen.borrow()[before].headers.get("authorization"),
        Some("Bearer UP-ALICE")
    );

    // Ping with the token is answered by the proxy itself.
    let before = fake.seen.borrow().len();
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/v2/",
            &[("authorization", &format!("Bearer {t}"))],
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(fake.seen.borrow().len(), before);

    // Refused without ever reaching the upstream: no token, an upstream token, another repo,
    // an expired token.
    let before = fake.seen.borrow().len();
    for (auth, url, error) in [
        (None, manifest.to_owned(), None),
        (
            Some("Bearer UP-ALICE".to_owned()),
            manifest.to_owned(),
            Some("invalid_token"),
        ),
        (
            Some(format!("Bearer {t}")),
            "https://m.example/v2/library/other/manifests/latest".to_owned(),
            Some("insufficient_scope"),
        ),
    ] {
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let r = run(&fake, &state, &cfg, req("GET", &url, &headers));
        assert_eq!(r.status, 401, "{auth:?} {url}");
        let c = Challenge::parse(r.headers().get("www-authenticate").unwrap()).unwrap();
        assert_eq!(c.param("realm"), Some("https://m.example/token"));
        assert_eq!(c.param("error"), error);
    }
    fake.now.set(fake.now.get() + 301);
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            manifest,
            &[("authorization", &format!("Bearer {t}"))],
        ),
    );
    assert_eq!(r.status, 401);
    assert_eq!(fake.seen.borrow().len(), before);
    assert!(fake
        .logs
        .borrow()
        .iter()
        .all(|l| !l.contains("pw") && !l.contains("UP-ALICE") && !l.contains(&t)));
}

#[test]
fn operator_account_is_used_upstream_cached_and_never_handed_out() {
    let fake = hub_like();
    let state = State::default();
    let cfg = config(&[
        ("UPSTREAM_USERNAME", "op"),
        ("UPSTREAM_PASSWORD", "oppw"),
        ("TOKEN_SECRET", SECRET),
    ]);
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/token?scope=repository:tiny:pull",
            &[],
        ),
    );
    assert_eq!(r.status, 200);
    assert!(!body_text(&r).contains("UP-OPERATOR"));
    let t = token_from(&r);
    let auth = format!("Bearer {t}");
    for path in [
        "/v2/tiny/manifests/latest".to_owned(),
        format!("/v2/library/tiny/blobs/{DIGEST}"),
        format!("/v2/library/tiny/blobs/{DIGEST}"),
    ] {
        let r = run(
            &fake,
            &state,
            &cfg,
            req(
                "GET",
                &format!("https://m.example{path}"),
                &[("authorization", &auth)],
            ),
        );
        assert_eq!(r.status, 200, "{path}");
        for (_, v) in r.headers().iter() {
            assert!(!v.contains("UP-OPERATOR"));
        }
    }
    let seen = fake.seen.borrow();
    let token_requests: Vec<_> = seen
        .iter()
        .filter(|r| r.url.starts_with("https://auth.docker.io/token"))
        .collect();
    assert_eq!(
        token_requests.len(),
        1,
        "one upstream token per repository scope"
    );
    assert_eq!(
        token_requests[0].headers.get("authorization"),
        Some("Basic b3A6b3Bwdw==")
    );
    assert!(token_requests[0]
        .url
        .contains("scope=repository%3Alibrary%2Ftiny%3Apull"));
    let registry_requests: Vec<_> = seen
        .iter()
        .filter(|r| r.url.contains("/v2/library/"))
        .collect();
    assert_eq!(registry_requests.len(), 3);
    assert!(registry_requests
        .iter()
        .all(|r| r.headers.get("authorization") == Some("Bearer UP-OPERATOR")));
}

// ---- the edge cache (CACHE=on) ----

fn digest_of(s: &str) -> String {
    edge_registry_proxy::sha256_digest(s.as_bytes())
}

/// A registry whose tag `latest` serves `manifest` (settable), and a blob `0123456789`.
struct Registry {
    manifest: RefCell<String>,
    down: Cell<bool>,
}

fn cached_setup(reg: std::rc::Rc<Registry>) -> Fake {
    Fake::new(move |r| {
        if reg.down.get() {
            return Err(FetchError("connection refused".into()));
        }
        if r.url.starts_with("https://auth.docker.io/token") {
            return Ok((200, vec![], r#"{"token":"ANON","expires_in":300}"#.into()));
        }
        if r.headers.get("authorization") != Some("Bearer ANON") {
            return Ok((
                401,
                vec![("www-authenticate", HUB_CHALLENGE.into())],
                String::new(),
            ));
        }
        if r.url.contains("/manifests/") {
            let m = reg.manifest.borrow().clone();
            return Ok((
                200,
                vec![
                    (
                        "content-type",
                        "application/vnd.oci.image.manifest.v1+json".into(),
                    ),
                    ("docker-content-digest", digest_of(&m)),
                    ("content-length", m.len().to_string()),
                ],
                m,
            ));
        }
        if r.url.contains("/blobs/") {
            return Ok((
                200,
                vec![("content-length", "10".into())],
                "0123456789".into(),
            ));
        }
        Ok((404, vec![], String::new()))
    })
}

fn cache_config(ttl: &str) -> Config {
    config(&[
        ("CACHE", "on"),
        ("TOKEN_SECRET", SECRET),
        ("CACHE_TAG_TTL", ttl),
    ])
}

fn anon_token(fake: &Fake, state: &State, cfg: &Config, repo: &str) -> String {
    let url = format!("https://m.example/token?scope=repository:{repo}:pull");
    format!(
        "Bearer {}",
        token_from(&run(fake, state, cfg, req("GET", &url, &[])))
    )
}

/// A registry serving `manifest-v1` for tiny:latest behind CACHE=on (tag TTL 60 s), and an
/// anonymous proxy token for it.
fn tiny_cached() -> (std::rc::Rc<Registry>, Fake, State, Config, String) {
    let reg = std::rc::Rc::new(Registry {
        manifest: RefCell::new("manifest-v1".into()),
        down: Cell::new(false),
    });
    let fake = cached_setup(reg.clone());
    let state = State::default();
    let cfg = cache_config("60");
    let auth = anon_token(&fake, &state, &cfg, "tiny");
    (reg, fake, state, cfg, auth)
}

#[test]
fn tags_are_reused_for_the_ttl_then_refetched_and_served_stale_when_upstream_fails() {
    let (reg, fake, state, cfg, auth) = tiny_cached();
    let get = |fake: &Fake| {
        run(
            fake,
            &state,
            &cfg,
            req(
                "GET",
                "https://m.example/v2/tiny/manifests/latest",
                &[("authorization", &auth), ("accept", OCI_MANIFEST)],
            ),
        )
    };

    let first = get(&fake);
    assert_eq!(
        (first.status, first.headers().get("x-cache")),
        (200, Some("MISS"))
    );
    assert_eq!(body_text(&first), "manifest-v1");
    let upstream_calls = fake.seen.borrow().len();
    let second = get(&fake);
    assert_eq!(
        (body_text(&second), second.headers().get("x-cache")),
        ("manifest-v1".into(), Some("HIT"))
    );
    assert_eq!(
        fake.seen.borrow().len(),
        upstream_calls,
        "a fresh hit asks nobody"
    );

    // Re-pushed upstream: not seen before the TTL, seen after.
    *reg.manifest.borrow_mut() = "manifest-v2".into();
    fake.now.set(fake.now.get() + 59);
    assert_eq!(body_text(&get(&fake)), "manifest-v1");
    fake.now.set(fake.now.get() + 2);
    let refreshed = get(&fake);
    assert_eq!(
        (body_text(&refreshed), refreshed.headers().get("x-cache")),
        ("manifest-v2".into(), Some("MISS"))
    );

    // Upstream down after the TTL: the last answer, marked stale.
    fake.now.set(fake.now.get() + 61);
    reg.down.set(true);
    let stale = get(&fake);
    assert_eq!(
        (stale.status, stale.headers().get("x-cache")),
        (200, Some("STALE"))
    );
    assert_eq!(body_text(&stale), "manifest-v2");
    assert!(stale.headers().get("warning").unwrap().starts_with("110"));

    // The tag's manifest was also stored under its digest: digest pulls work with upstream down.
    let by_digest = format!(
        "https://m.example/v2/tiny/manifests/{}",
        digest_of("manifest-v2")
    );
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", &by_digest, &[("authorization", &auth)]),
    );
    assert_eq!((r.status, r.headers().get("x-cache")), (200, Some("HIT")));

    // Keys say what, never who.
    for (k, _, _) in fake.cache.borrow().iter() {
        assert!(
            k.starts_with("http://edge-registry-proxy.cache/docker.io/library/tiny/"),
            "{k}"
        );
        assert!(!k.contains("ANON") && !k.contains(SECRET) && !k.contains("erp1"));
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// What docker 20.10 and containerd 1.6 send when they resolve a tag (with HEAD).
const DOCKER_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v1+prettyjws";
const CONTAINERD_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*";

/// Like distribution: a multi-arch tag answers its index to a client that accepts one, else
/// the amd64 image manifest.
fn multi_arch(down: std::rc::Rc<Cell<bool>>) -> Fake {
    Fake::new(move |r| {
        if down.get() {
            return Err(FetchError("connection refused".into()));
        }
        if r.url.starts_with("https://auth.docker.io/token") {
            return Ok((200, vec![], r#"{"token":"ANON","expires_in":300}"#.into()));
        }
        if r.headers.get("authorization") != Some("Bearer ANON") {
            let c = vec![("www-authenticate", HUB_CHALLENGE.into())];
            return Ok((401, c, String::new()));
        }
        let (ty, body) = match r.headers.get("accept") {
            Some(a) if a.contains(OCI_INDEX) => (OCI_INDEX, "INDEX"),
            _ => (DOCKER_V2, "AMD64"),
        };
        let h = vec![
            ("content-type", ty.into()),
            ("docker-content-digest", digest_of(body)),
            ("content-length", body.len().to_string()),
        ];
        Ok((
            200,
            h,
            if r.method == "HEAD" {
                String::new()
            } else {
                body.into()
            },
        ))
    })
}

#[test]
fn one_tag_entry_answers_head_and_get_for_every_client() {
    let down = std::rc::Rc::new(Cell::new(false));
    let fake = multi_arch(down.clone());
    let state = State::default();
    let cfg = cache_config("60");
    let auth = anon_token(&fake, &state, &cfg, "multi");
    let url = "https://m.example/v2/multi/manifests/latest";
    let ask = |method: &str, accept: Option<&str>| {
        let mut h = vec![("authorization", auth.as_str())];
        if let Some(a) = accept {
            h.push(("accept", a));
        }
        run(&fake, &state, &cfg, req(method, url, &h))
    };
    let manifest_requests = || {
        fake.seen
            .borrow()
            .iter()
            .filter(|r| r.url.contains("/manifests/"))
            .cloned()
            .collect::<Vec<_>>()
    };

    // docker resolves the tag with HEAD: a miss is filled with one GET for every manifest type.
    let head = ask("HEAD", Some(DOCKER_ACCEPT));
    assert_eq!(
        (head.status, head.headers().get("x-cache")),
        (200, Some("MISS"))
    );
    assert_eq!(body_text(&head), "");
    assert_eq!(
        head.headers().get("docker-content-digest"),
        Some(digest_of("INDEX").as_str())
    );
    assert_eq!(head.headers().get("content-type"), Some(OCI_INDEX));
    assert_eq!(head.headers().get("content-length"), Some("5"));
    let sent = manifest_requests();
    assert_eq!(sent.len(), 1, "one upstream request for the cold HEAD");
    assert_eq!(sent[0].method, "GET");
    assert_eq!(
        sent[0].headers.get("accept"),
        Some(edge_registry_proxy::MANIFEST_ACCEPT)
    );

    // Every client whose Accept admits an index: answered from that one entry, HEAD and GET.
    for (method, accept) in [
        ("HEAD", Some(DOCKER_ACCEPT)),
        ("HEAD", Some(CONTAINERD_ACCEPT)),
        ("GET", Some(CONTAINERD_ACCEPT)),
        ("GET", Some("*/*")),
        ("GET", Some(OCI_INDEX)),
    ] {
        let r = ask(method, accept);
        assert_eq!(
            (r.status, r.headers().get("x-cache")),
            (200, Some("HIT")),
            "{method} {accept:?}"
        );
        assert_eq!(
            r.headers().get("docker-content-digest"),
            Some(digest_of("INDEX").as_str())
        );
        if method == "GET" {
            assert_eq!(body_text(&r), "INDEX");
        }
    }
    assert_eq!(manifest_requests().len(), 1, "hits ask nobody");

    // An old client that refuses an index gets its own answer from the upstream, unstored.
    for accept in [Some(DOCKER_V2), None] {
        let old = ask("GET", accept);
        assert_eq!(
            (
                old.status,
                body_text(&old).as_str(),
                old.headers().get("x-cache")
            ),
            (200, "AMD64", Some("MISS")),
            "{accept:?}"
        );
        let last = manifest_requests().pop().unwrap();
        assert_eq!(last.headers.get("accept"), accept);
    }
    let r = ask("GET", Some(DOCKER_ACCEPT));
    assert_eq!(
        (body_text(&r).as_str(), r.headers().get("x-cache")),
        ("INDEX", Some("HIT")),
        "the old client did not replace the entry"
    );

    // Upstream down after the TTL: the stale entry for those it suits, a reason for the others.
    fake.now.set(fake.now.get() + 120);
    down.set(true);
    let stale = ask("HEAD", Some(DOCKER_ACCEPT));
    assert_eq!(
        (stale.status, stale.headers().get("x-cache")),
        (200, Some("STALE"))
    );
    assert_eq!(
        stale.headers().get("docker-content-digest"),
        Some(digest_of("INDEX").as_str())
    );
    for accept in [Some(DOCKER_V2), None] {
        let refused = ask("GET", accept);
        assert_eq!(refused.status, 502);
        assert_eq!(error_code(&refused), "UNAVAILABLE");
        let msg = body_text(&refused);
        assert!(msg.contains(OCI_INDEX) && msg.contains("Accept"), "{msg}");
    }
    let by_digest = format!(
        "https://m.example/v2/multi/manifests/{}",
        digest_of("INDEX")
    );
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", &by_digest, &[("authorization", &auth)]),
    );
    assert_eq!(
        (r.status, body_text(&r).as_str(), r.headers().get("x-cache")),
        (200, "INDEX", Some("HIT"))
    );
}

#[test]
fn blobs_hit_with_ranges_and_truncated_bodies_are_not_stored() {
    let reg = std::rc::Rc::new(Registry {
        manifest: RefCell::new(String::new()),
        down: Cell::new(false),
    });
    let fake = cached_setup(reg.clone());
    let state = State::default();
    let cfg = cache_config("60");
    let auth = anon_token(&fake, &state, &cfg, "tiny");
    let url = format!("https://m.example/v2/tiny/blobs/{DIGEST}");
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", &url, &[("authorization", &auth)]),
    );
    assert_eq!((r.status, r.headers().get("x-cache")), (200, Some("MISS")));
    reg.down.set(true);
    let hit = run(
        &fake,
        &state,
        &cfg,
        req("GET", &url, &[("authorization", &auth)]),
    );
    assert_eq!(
        (
            hit.status,
            body_text(&hit).as_str(),
            hit.headers().get("x-cache")
        ),
        (200, "0123456789", Some("HIT"))
    );
    let part = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            &url,
            &[("authorization", &auth), ("range", "bytes=2-5")],
        ),
    );
    assert_eq!((part.status, body_text(&part).as_str()), (206, "2345"));
    assert_eq!(part.headers().get("content-range"), Some("bytes 2-5/10"));
    assert_eq!(part.headers().get("content-length"), Some("4"));
    // If-Range (RFC 9110): the blob's own strong tag keeps the range; a weak, other or date
    // validator gets the whole blob (200), as distribution answers.
    let digest_tag = format!("\"{DIGEST}\"");
    let weak_tag = format!("W/{digest_tag}");
    for (if_range, want) in [
        (digest_tag.as_str(), (206, "2345")),
        (weak_tag.as_str(), (200, "0123456789")),
        ("\"sha256:other\"", (200, "0123456789")),
        ("Wed, 21 Oct 2015 07:28:00 GMT", (200, "0123456789")),
    ] {
        let r = run(
            &fake,
            &state,
            &cfg,
            req(
                "GET",
                &url,
                &[
                    ("authorization", &auth),
                    ("range", "bytes=2-5"),
                    ("if-range", if_range),
                ],
            ),
        );
        assert_eq!(
            (r.status, body_text(&r).as_str()),
            want,
            "If-Range: {if_range}"
        );
        assert_eq!(
            r.headers().get("content-range").is_some(),
            want.0 == 206,
            "{if_range}"
        );
    }
    let head = run(
        &fake,
        &state,
        &cfg,
        req("HEAD", &url, &[("authorization", &auth)]),
    );
    assert_eq!(
        (head.status, head.headers().get("content-length")),
        (200, Some("10"))
    );

    // An unauthorized client gets 401, cached or not.
    let r = run(&fake, &state, &cfg, req("GET", &url, &[]));
    assert_eq!(r.status, 401);

    // A body shorter than its Content-Length may land in the cache (workerd keeps what arrived)
    // but is never committed, so it is never served: the next request fetches it again.
    let cut = std::rc::Rc::new(Cell::new(true));
    let cut2 = cut.clone();
    let short = Fake::new(move |r| {
        if r.url.contains("/token") {
            return Ok((200, vec![], r#"{"token":"ANON","expires_in":300}"#.into()));
        }
        if r.url.ends_with("/v2/") {
            return Ok((
                401,
                vec![("www-authenticate", HUB_CHALLENGE.into())],
                String::new(),
            ));
        }
        let body = if cut2.get() { "01234" } else { "0123456789" };
        Ok((200, vec![("content-length", "10".into())], body.into()))
    });
    let state = State::default();
    let auth = anon_token(&short, &state, &cfg, "tiny");
    let get = |f: &Fake| {
        run(
            f,
            &state,
            &cfg,
            req("GET", &url, &[("authorization", &auth)]),
        )
    };
    get(&short);
    cut.set(false);
    let again = get(&short);
    assert_eq!(
        (body_text(&again).as_str(), again.headers().get("x-cache")),
        ("0123456789", Some("MISS"))
    );
    let hit = get(&short);
    assert_eq!(
        (body_text(&hit).as_str(), hit.headers().get("x-cache")),
        ("0123456789", Some("HIT"))
    );

    // A late, truncated put landing over the committed entry (another request's) is refused.
    let key = short
        .cache
        .borrow()
        .iter()
        .find(|(k, _, _)| k.ends_with(DIGEST))
        .unwrap()
        .0
        .clone();
    let mut late = Headers::new();
    late.set("x-erp-put", "id-from-a-cut-request");
    short.cache_put_bytes(&key, &late, b"012");
    let r = get(&short);
    assert_eq!(
        (body_text(&r).as_str(), r.headers().get("x-cache")),
        ("0123456789", Some("MISS"))
    );
    assert!(short
        .logs
        .borrow()
        .iter()
        .any(|l| l.contains("never committed")));
}

#[test]
fn a_manifest_that_does_not_verify_is_not_stored() {
    let fake = Fake::new(|r| {
        if r.url.contains("/token") {
            return Ok((200, vec![], r#"{"token":"ANON","expires_in":300}"#.into()));
        }
        if r.url.ends_with("/v2/") {
            return Ok((
                401,
                vec![("www-authenticate", HUB_CHALLENGE.into())],
                String::new(),
            ));
        }
        Ok((
            200,
            vec![("docker-content-digest", DIGEST.into())],
            "not what the digest says".into(),
        ))
    });
    let state = State::default();
    let cfg = cache_config("60");
    let auth = anon_token(&fake, &state, &cfg, "tiny");
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/v2/tiny/manifests/latest",
            &[("authorization", &auth)],
        ),
    );
    assert_eq!(r.status, 200);
    assert!(fake.cache.borrow().is_empty());
    assert!(fake
        .logs
        .borrow()
        .iter()
        .any(|l| l.contains("did not verify")));
}

#[test]
fn what_a_users_own_token_fetches_is_served_but_never_stored() {
    // The proxy's anonymous identity is refused; alice's own token is not.
    let fake = Fake::new(|r| {
        if r.url.starts_with("https://auth.docker.io/token") {
            let t = if r.headers.get("authorization") == Some("Basic YWxpY2U6cHc=") {
                "UP-ALICE"
            } else {
                "ANON"
            };
            return Ok((
                200,
                vec![],
                format!(r#"{{"token":"{t}","expires_in":300}}"#),
            ));
        }
        match r.headers.get("authorization") {
            Some("Bearer UP-ALICE") => {
                Ok((200, vec![("content-length", "7".into())], "private".into()))
            }
            _ => Ok((
                401,
                vec![("www-authenticate", HUB_CHALLENGE.into())],
                String::new(),
            )),
        }
    });
    let state = State::default();
    let cfg = config(&[
        ("CACHE", "on"),
        ("TOKEN_SECRET", SECRET),
        ("USER_WHITELIST", "alice"),
    ]);
    let t = token_from(&run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/token?scope=repository:alice/private:pull",
            &[("authorization", "Basic YWxpY2U6cHc=")],
        ),
    ));
    let url = format!("https://m.example/v2/alice/private/blobs/{DIGEST}");
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", &url, &[("authorization", &format!("Bearer {t}"))]),
    );
    assert_eq!(
        (r.status, body_text(&r).as_str(), r.headers().get("x-cache")),
        (200, "private", Some("BYPASS"))
    );
    assert!(fake.cache.borrow().is_empty());
}

#[test]
fn a_body_fetch_decoded_never_carries_the_encoded_length() {
    // Runtimes' fetch decodes a Content-Encoding itself and keeps the header: the body is the
    // decoded bytes, the Content-Length the encoded one.
    let manifest =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}";
    let fake = Fake::new(move |r| {
        if r.url.starts_with("https://auth.docker.io/token") {
            return Ok((200, vec![], r#"{"token":"ANON","expires_in":300}"#.into()));
        }
        if r.headers.get("authorization") != Some("Bearer ANON") {
            let c = vec![("www-authenticate", HUB_CHALLENGE.into())];
            return Ok((401, c, String::new()));
        }
        let h = vec![
            ("content-type", OCI_MANIFEST.into()),
            ("content-encoding", "gzip".into()),
            ("content-length", "31".into()),
            ("docker-content-digest", digest_of(manifest)),
        ];
        Ok((200, h, manifest.into()))
    });
    for cfg in [config(&[]), cache_config("60")] {
        let state = State::default();
        let mut h = vec![("accept", OCI_MANIFEST)];
        let auth;
        if cfg.cache.is_some() {
            auth = anon_token(&fake, &state, &cfg, "tiny");
            h.push(("authorization", auth.as_str()));
        } else {
            // pass-through: the client holds the upstream's token
            h.push(("authorization", "Bearer ANON"));
        }
        let url = "https://m.example/v2/tiny/manifests/latest";
        let r = run(&fake, &state, &cfg, req("GET", url, &h));
        assert_eq!(r.status, 200);
        assert_eq!(body_text(&r), manifest);
        let len = r.headers().get("content-length");
        assert!(
            len.is_none() || len == Some(manifest.len().to_string().as_str()),
            "cache={}: content-length {len:?} for a {}-byte body",
            cfg.cache.is_some(),
            manifest.len()
        );
        assert!(r.headers().get("content-encoding").is_none());
    }
}

#[test]
fn the_ping_challenge_is_not_an_error_line_but_refused_tokens_are() {
    let fake = Fake::new(|r| {
        if r.url.ends_with("/v2/") {
            let c = vec![("www-authenticate", HUB_CHALLENGE.into())];
            return Ok((401, c, String::new()));
        }
        Ok((404, vec![], String::new()))
    });
    let state = State::default();
    let cfg = config(&[("CACHE", "on"), ("TOKEN_SECRET", SECRET)]); // LOG=errors, the default
    let ping = run(
        &fake,
        &state,
        &cfg,
        req("GET", "https://m.example/v2/", &[]),
    );
    assert_eq!(ping.status, 401);
    assert!(fake.logs.borrow().is_empty(), "{:?}", fake.logs.borrow());
    let forged = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/v2/tiny/manifests/latest",
            &[("authorization", "Bearer erp1.forged.token")],
        ),
    );
    assert_eq!(forged.status, 401);
    assert!(
        fake.logs.borrow().iter().any(|l| l.contains("-> 401")),
        "{:?}",
        fake.logs.borrow()
    );
}

/// An upstream that changes its auth under a running proxy: Bearer at realm A, Bearer at realm
/// B (A gone), open, or Basic.
fn changing_upstream(mode: std::rc::Rc<Cell<u8>>) -> Fake {
    Fake::new(move |r| {
        let m = mode.get();
        let realm_a = r.url.starts_with("https://auth.docker.io/");
        let realm_b = r.url.starts_with("https://auth2.docker.io/");
        let token = || Ok((200, vec![], r#"{"token":"UP","expires_in":300}"#.into()));
        match m {
            0 | 1 if realm_a && m == 0 || realm_b && m == 1 => token(),
            _ if realm_a || realm_b => Ok((404, vec![], String::new())),
            2 => Ok((200, vec![], "{}".into())),
            _ => {
                let challenge = match m {
                    0 => HUB_CHALLENGE.to_owned(),
                    1 => HUB_CHALLENGE.replace("auth.docker.io", "auth2.docker.io"),
                    _ => r#"Basic realm="hub""#.to_owned(),
                };
                Ok((401, vec![("www-authenticate", challenge)], String::new()))
            }
        }
    })
}

#[test]
fn learned_upstream_auth_expires_and_is_dropped_when_the_upstream_contradicts_it() {
    let mode = std::rc::Rc::new(Cell::new(0));
    let fake = changing_upstream(mode.clone());
    let state = State::default();
    let cfg = config(&[]);
    let token_url = "https://m.example/token?scope=repository:library/nginx:pull";
    let token = || run(&fake, &state, &cfg, req("GET", token_url, &[]));
    let asked_v2 = |since: usize| {
        fake.seen.borrow()[since..]
            .iter()
            .any(|r| r.url.ends_with("/v2/"))
    };
    let ping = || {
        run(
            &fake,
            &state,
            &cfg,
            req("GET", "https://m.example/v2/", &[]),
        )
    };

    assert_eq!(token().status, 200);
    // The token service moved: the old realm's 404 fails this request and drops what was
    // learned; the client's retry learns the new realm.
    mode.set(1);
    let failed = token();
    assert_eq!(
        (failed.status, error_code(&failed).as_str()),
        (502, "UNAVAILABLE")
    );
    let n = fake.seen.borrow().len();
    assert_eq!(token().status, 200, "{}", body_text(&failed));
    assert!(asked_v2(n), "the retry asks /v2/ again");
    assert!(fake
        .seen
        .borrow()
        .last()
        .unwrap()
        .url
        .starts_with("https://auth2.docker.io/"));

    // Fresh for LEARNED_AUTH_SECS, then asked again.
    let n = fake.seen.borrow().len();
    fake.now.set(fake.now.get() + 119);
    assert_eq!(ping().status, 401);
    assert_eq!(
        fake.seen.borrow().len(),
        n,
        "still known: answered at the edge"
    );
    fake.now.set(fake.now.get() + 2);
    assert_eq!(token().status, 200);
    assert!(asked_v2(n), "expired: /v2/ asked again");

    // Bearer -> Basic: a 401 with another scheme on a pull drops it; the next ping goes upstream.
    mode.set(3);
    let manifest = "https://m.example/v2/library/nginx/manifests/latest";
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", manifest, &[("authorization", "Bearer UP")]),
    );
    assert_eq!(r.status, 401);
    let n = fake.seen.borrow().len();
    let p = ping();
    assert!(asked_v2(n), "the Basic 401 left the Bearer belief in place");
    assert!(p
        .headers()
        .get("www-authenticate")
        .unwrap()
        .starts_with("Basic"));

    // Believed open, then a challenge: dropped too.
    mode.set(2);
    let state = State::default();
    let _ = run(&fake, &state, &cfg, req("GET", token_url, &[])); // learns Open
    let n = fake.seen.borrow().len();
    assert_eq!(
        run(
            &fake,
            &state,
            &cfg,
            req("GET", "https://m.example/v2/", &[])
        )
        .status,
        200
    );
    assert_eq!(
        fake.seen.borrow().len(),
        n,
        "known open: answered at the edge"
    );
    mode.set(0);
    let r = run(&fake, &state, &cfg, req("GET", manifest, &[]));
    assert_eq!(r.status, 401);
    let n = fake.seen.borrow().len();
    let p = run(
        &fake,
        &state,
        &cfg,
        req("GET", "https://m.example/v2/", &[]),
    );
    assert_eq!(
        p.status, 401,
        "no 200 ping for a registry that now wants tokens"
    );
    assert!(asked_v2(n));
    // And the same challenge from the realm learned does not drop it.
    assert_eq!(
        run(&fake, &state, &cfg, req("GET", token_url, &[])).status,
        200
    );
    let _ = run(
        &fake,
        &state,
        &cfg,
        req("GET", manifest, &[("authorization", "Bearer UP")]),
    );
    let n = fake.seen.borrow().len();
    ping_is_local(&fake, &state, &cfg, n);
}

fn ping_is_local(fake: &Fake, state: &State, cfg: &Config, n: usize) {
    let p = run(fake, state, cfg, req("GET", "https://m.example/v2/", &[]));
    assert_eq!(p.status, 401);
    assert_eq!(
        fake.seen.borrow().len(),
        n,
        "an expected challenge dropped what was learned"
    );
}

#[test]
fn framing_headers_sent_twice_are_refused_when_they_conflict_and_never_passed_on_merged() {
    // fetch merges a header sent twice into one value, `a, b`.
    for (sent, want) in [
        (("content-length", "10, 20"), None),
        (("content-range", "bytes 0-1/10, bytes 0-2/10"), None),
        (("content-length", "10, 10"), Some(("content-length", "10"))),
        (("content-length", "10"), Some(("content-length", "10"))),
    ] {
        let header = (sent.0, sent.1.to_owned());
        let fake = Fake::new(move |r| {
            if r.url.ends_with("/v2/") {
                return Ok((200, vec![], "{}".into()));
            }
            let h = vec![
                (
                    "content-type",
                    "application/vnd.oci.image.manifest.v1+json".to_owned(),
                ),
                ("docker-content-digest", DIGEST.to_owned()),
                header.clone(),
            ];
            Ok((200, h, String::new()))
        });
        let state = State::default();
        let url = "https://m.example/v2/library/x/manifests/latest";
        let r = run(&fake, &state, &config(&[]), req("HEAD", url, &[]));
        match want {
            None => {
                assert_eq!(r.status, 502, "HEAD {sent:?}");
                let r = run(&fake, &state, &config(&[]), req("GET", url, &[]));
                assert_eq!(
                    (r.status, error_code(&r).as_str()),
                    (502, "UNAVAILABLE"),
                    "{sent:?}"
                );
                assert!(body_text(&r).contains("conflicting"), "{sent:?}");
            }
            Some((name, value)) => {
                assert_eq!(r.status, 200, "{sent:?}");
                assert_eq!(r.headers().get(name), Some(value), "{sent:?}");
                assert!(!matches!(r.answer(), Answer::Verbatim { .. }) || !sent.1.contains(','));
            }
        }
    }
}

#[test]
fn an_expired_tag_is_checked_with_a_head_and_fetched_only_when_it_changed() {
    let (reg, fake, state, cfg, auth) = tiny_cached();
    let url = "https://m.example/v2/tiny/manifests/latest";
    let ask = |method: &str| {
        run(
            &fake,
            &state,
            &cfg,
            req(
                method,
                url,
                &[("authorization", &auth), ("accept", OCI_MANIFEST)],
            ),
        )
    };
    // Docker Hub's pulls: GETs of a manifest (HEADs are not counted).
    let manifest_requests = |method: &str| {
        fake.seen
            .borrow()
            .iter()
            .filter(|r| r.url.contains("/manifests/") && r.method.as_str() == method)
            .count()
    };
    assert_eq!(ask("HEAD").headers().get("x-cache"), Some("MISS"));
    assert_eq!(
        manifest_requests("GET"),
        1,
        "a cold tag: one GET, as a direct pull"
    );

    for round in 1..=2 {
        fake.now.set(fake.now.get() + 61);
        let r = ask("GET");
        assert_eq!(
            (r.status, body_text(&r).as_str(), r.headers().get("x-cache")),
            (200, "manifest-v1", Some("HIT")),
            "round {round}"
        );
        assert_eq!(
            manifest_requests("GET"),
            1,
            "round {round}: revalidated with a GET"
        );
        assert_eq!(manifest_requests("HEAD"), round, "round {round}");
        // Checked now: fresh again for the TTL.
        assert_eq!(ask("HEAD").headers().get("x-cache"), Some("HIT"));
        assert_eq!(
            manifest_requests("HEAD"),
            round,
            "round {round}: checked twice"
        );
    }

    // Changed upstream: seen after the TTL, with one GET.
    *reg.manifest.borrow_mut() = "manifest-v2".into();
    fake.now.set(fake.now.get() + 61);
    let r = ask("GET");
    assert_eq!(
        (body_text(&r).as_str(), r.headers().get("x-cache")),
        ("manifest-v2", Some("MISS"))
    );
    assert_eq!(manifest_requests("GET"), 2);

    // The upstream down: the HEAD fails and the stored tag is served stale, no GET tried.
    fake.now.set(fake.now.get() + 61);
    reg.down.set(true);
    let sent = fake.seen.borrow().len();
    let r = ask("GET");
    assert_eq!(
        (r.status, body_text(&r).as_str(), r.headers().get("x-cache")),
        (200, "manifest-v2", Some("STALE"))
    );
    assert_eq!(
        fake.seen.borrow().len(),
        sent + 1,
        "one HEAD, then the stale answer"
    );
}

/// Docker Hub refusing every read with 429 (or 503 for blobs), mirror.gcr.io open: serving
/// `manifest` for library/x (or, for `bad-digest`, other bytes than its digest names), 404 else.
fn hub_down_mirror_up(manifest: &'static str) -> Fake {
    Fake::new(move |r| {
        let on_mirror = r.url.starts_with("https://mirror.gcr.io/");
        if r.url.ends_with("/v2/") {
            return Ok(if on_mirror {
                (200, vec![], "{}".into())
            } else {
                (
                    401,
                    vec![("www-authenticate", HUB_CHALLENGE.into())],
                    String::new(),
                )
            });
        }
        if r.url.starts_with("https://auth.docker.io/") {
            return Ok((200, vec![], r#"{"token":"HUB","expires_in":300}"#.into()));
        }
        if !on_mirror {
            let status = if r.url.contains("/blobs/") { 503 } else { 429 };
            return Ok((
                status,
                vec![("retry-after", "3600".into())],
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"hub says no"}]}"#.into(),
            ));
        }
        assert_eq!(
            r.headers.get("authorization"),
            None,
            "anonymous at the fallback"
        );
        if r.url.contains("/library/x/manifests/") {
            let digest = if r.url.contains("bad-digest") {
                digest_of("other")
            } else {
                digest_of(manifest)
            };
            let h = vec![
                ("content-type", OCI_MANIFEST.into()),
                ("docker-content-digest", digest),
            ];
            return Ok((200, h, manifest.into()));
        }
        if r.url.contains("/library/x/blobs/") {
            return Ok((200, vec![("content-length", "4".into())], "blob".into()));
        }
        Ok((
            404,
            vec![],
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not here"}]}"#.into(),
        ))
    })
}

#[test]
fn reads_the_registry_cannot_answer_come_from_its_fallback_sources() {
    for extra in [vec![], vec![("CACHE", "on"), ("TOKEN_SECRET", SECRET)]] {
        let fake = hub_down_mirror_up("the-manifest");
        let state = State::default();
        let mut pairs = vec![("FALLBACK", "docker.io=mirror.gcr.io")];
        pairs.extend(extra.iter().copied());
        let cfg = config(&pairs);
        let auth = if cfg.proxy_tokens() {
            anon_token(&fake, &state, &cfg, "x")
        } else {
            "Bearer HUB".into()
        };
        let get = |path: &str| {
            let url = format!("https://m.example/v2/library/x/{path}");
            run(
                &fake,
                &state,
                &cfg,
                req(
                    "GET",
                    &url,
                    &[("authorization", &auth), ("accept", OCI_MANIFEST)],
                ),
            )
        };
        let tag = get("manifests/latest");
        assert_eq!(
            (tag.status, body_text(&tag).as_str()),
            (200, "the-manifest"),
            "{extra:?}"
        );
        assert_eq!(
            tag.headers().get("x-registry-source"),
            Some("mirror.gcr.io")
        );
        let by_digest = get(&format!("manifests/{}", digest_of("the-manifest")));
        assert_eq!(by_digest.status, 200, "{extra:?}");
        let blob = get(&format!("blobs/{DIGEST}"));
        assert_eq!(
            (blob.status, body_text(&blob).as_str()),
            (200, "blob"),
            "{extra:?}"
        );
        assert_eq!(
            blob.headers().get("x-registry-source"),
            Some("mirror.gcr.io")
        );
        // A manifest whose bytes are not what its digest names is not served: Hub's 429 is.
        let wrong = get(&format!("manifests/{}", digest_of("bad-digest")));
        assert_eq!(
            (wrong.status, error_code(&wrong).as_str()),
            (429, "TOOMANYREQUESTS"),
            "{extra:?}"
        );
        assert_eq!(wrong.headers().get("retry-after"), Some("3600"));
        // Nothing at the fallback either: the registry's own answer.
        let url = "https://m.example/v2/library/other/manifests/latest";
        let auth_other = if cfg.proxy_tokens() {
            anon_token(&fake, &state, &cfg, "other")
        } else {
            auth.clone()
        };
        let none = run(
            &fake,
            &state,
            &cfg,
            req("GET", url, &[("authorization", &auth_other)]),
        );
        assert_eq!(none.status, 429, "{extra:?}");
        assert_eq!(none.headers().get("x-registry-source"), None);
        assert!(fake
            .logs
            .borrow()
            .iter()
            .any(|l| l.contains("served by mirror.gcr.io")));
    }
}

#[test]
fn fallback_sources_are_checked_like_every_list() {
    for (value, why) in [
        ("ghcr.io=mirror.gcr.io", "not a configured registry"),
        ("docker.io=docker.io", "the registry itself"),
        ("docker.io", "no source"),
        ("docker.io=ftp://x", "not a registry"),
        (",", "separators only"),
    ] {
        let e = Config::from_pairs([("FALLBACK", value)]).unwrap_err();
        assert_eq!(e.key, "FALLBACK", "{why}");
    }
    let cfg = config(&[(
        "FALLBACK",
        "docker.io=mirror.gcr.io, docker.io=hub-cache@https://cache.example",
    )]);
    assert_eq!(cfg.fallbacks.len(), 2);
}

/// Docker Hub with pull limits per account: 2 manifest GETs each, then 429 (Retry-After 100).
fn hub_with_account_limits(used: std::rc::Rc<RefCell<Vec<String>>>) -> Fake {
    Fake::new(move |r| {
        if r.url.ends_with("/v2/") {
            return Ok((
                401,
                vec![("www-authenticate", HUB_CHALLENGE.into())],
                String::new(),
            ));
        }
        if r.url.starts_with("https://auth.docker.io/") {
            let who = match r.headers.get("authorization") {
                Some("Basic YWxpY2U6YWxpY2UtdG9rZW4=") => "alice", // alice:alice-token
                Some("Basic Ym9iOmJvYi10b2tlbg==") => "bob",       // bob:bob-token
                // carol:carol-token: her token service limits her
                Some("Basic Y2Fyb2w6Y2Fyb2wtdG9rZW4=") => {
                    return Ok((429, vec![("retry-after", "40".into())], "{}".into()))
                }
                _ => return Ok((401, vec![], "{}".into())),
            };
            return Ok((
                200,
                vec![],
                format!(r#"{{"token":"T-{who}","expires_in":300}}"#),
            ));
        }
        let who = r
            .headers
            .get("authorization")
            .unwrap_or("")
            .trim_start_matches("Bearer T-")
            .to_owned();
        let count = used.borrow().iter().filter(|u| **u == who).count();
        let limit = |left: usize| {
            vec![
                ("ratelimit-limit", "2;w=21600".to_owned()),
                ("ratelimit-remaining", format!("{left};w=21600")),
            ]
        };
        if count >= 2 {
            let mut h = limit(0);
            h.push(("retry-after", "100".into()));
            return Ok((429, h, r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit"}]}"#.into()));
        }
        used.borrow_mut().push(who);
        let mut h = limit(1 - count);
        h.push(("content-type", OCI_MANIFEST.into()));
        h.push(("docker-content-digest", digest_of("m")));
        Ok((200, h, "m".into()))
    })
}

/// The proxy over `hub_with_account_limits` with `accounts` as UPSTREAM_ACCOUNTS: the accounts'
/// counted pulls, the fake, state, config and an anonymous proxy token for library/x.
#[allow(clippy::type_complexity)]
fn account_pool(
    accounts: &str,
) -> (
    std::rc::Rc<RefCell<Vec<String>>>,
    Fake,
    State,
    Config,
    String,
) {
    let used = std::rc::Rc::new(RefCell::new(Vec::new()));
    let fake = hub_with_account_limits(used.clone());
    let state = State::default();
    let cfg = config(&[("UPSTREAM_ACCOUNTS", accounts), ("TOKEN_SECRET", SECRET)]);
    let auth = anon_token(&fake, &state, &cfg, "library/x");
    (used, fake, state, cfg, auth)
}

#[test]
fn operator_accounts_take_turns_and_rest_after_a_429() {
    let (used, fake, state, cfg, auth) = account_pool("alice:alice-token, bob:bob-token");
    let pull = || {
        let url = "https://m.example/v2/library/x/manifests/latest";
        run(
            &fake,
            &state,
            &cfg,
            req("GET", url, &[("authorization", &auth)]),
        )
    };
    for i in 0..4 {
        assert_eq!(pull().status, 200, "pull {i}");
    }
    assert_eq!(used.borrow().iter().filter(|u| *u == "alice").count(), 2);
    assert_eq!(used.borrow().iter().filter(|u| *u == "bob").count(), 2);
    // Both spent: Docker Hub's own 429, Retry-After the earliest end.
    let r = pull();
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (429, "TOOMANYREQUESTS")
    );
    assert!(body_text(&r).contains("pull rate limit"));
    assert_eq!(r.headers().get("retry-after"), Some("100"));
    // Resting accounts are not asked again before their window ends.
    let sent = fake.seen.borrow().len();
    fake.now.set(fake.now.get() + 50);
    let r = pull();
    assert_eq!(
        (r.status, r.headers().get("retry-after")),
        (429, Some("50"))
    );
    assert_eq!(
        fake.seen.borrow().len(),
        sent,
        "a resting account was asked"
    );
    let v = run(
        &fake,
        &state,
        &cfg,
        req("GET", "https://m.example/version", &[]),
    );
    let v: serde_json::Value = serde_json::from_str(&body_text(&v)).unwrap();
    let mut resting: Vec<&str> = v["instance"]["accounts_resting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    resting.sort_unstable();
    assert_eq!(resting, ["alice", "bob"]);
    assert_eq!(v["instance"]["pull_limits"][0]["remaining"], "0;w=21600");
    // Window over: pulls again. Tokens never in an answer or a log line.
    used.borrow_mut().clear();
    fake.now.set(fake.now.get() + 51);
    assert_eq!(pull().status, 200);
    let logs = fake.logs.borrow().join("\n");
    assert!(
        !logs.contains("alice-token") && !logs.contains("T-alice"),
        "{logs}"
    );
    assert!(!body_text(&r).contains("T-") && !v.to_string().contains("token\""));
}

#[test]
fn an_account_its_token_service_limits_rests_and_the_next_one_reads() {
    let (used, fake, state, cfg, auth) = account_pool("carol:carol-token, alice:alice-token");
    let url = "https://m.example/v2/library/x/manifests/latest";
    for i in 0..2 {
        let r = run(
            &fake,
            &state,
            &cfg,
            req("GET", url, &[("authorization", &auth)]),
        );
        assert_eq!(r.status, 200, "pull {i}: {}", body_text(&r));
    }
    assert_eq!(*used.borrow(), ["alice", "alice"]);
    let carol_asked = |f: &Fake| {
        f.seen
            .borrow()
            .iter()
            .filter(|r| r.headers.get("authorization") == Some("Basic Y2Fyb2w6Y2Fyb2wtdG9rZW4="))
            .count()
    };
    assert_eq!(
        carol_asked(&fake),
        1,
        "carol rests after her token service's 429"
    );
    // alice spent too: the earliest end is carol's (40 s).
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", url, &[("authorization", &auth)]),
    );
    assert_eq!(
        (r.status, r.headers().get("retry-after")),
        (429, Some("40"))
    );
}

#[test]
fn account_pools_are_checked_like_every_list() {
    for (value, why) in [
        ("alice", "no token"),
        ("alice:", "empty token"),
        (":s3cr3t", "empty user"),
        ("alice:s3cr3t, alice:s3cr3t2", "twice"),
        ("alice:s3cr3t,,bob", "the second without a token"),
        (",", "separators only"),
    ] {
        let e = Config::from_pairs([("UPSTREAM_ACCOUNTS", value), ("TOKEN_SECRET", SECRET)])
            .expect_err(why);
        assert_eq!(e.key, "UPSTREAM_ACCOUNTS", "{why}");
        assert!(!e.to_string().contains("s3cr3t"), "{why}: {e}");
    }
    let e = Config::from_pairs([("UPSTREAM_ACCOUNTS", "alice:a")]).unwrap_err();
    assert_eq!(e.key, "TOKEN_SECRET");
    let c = config(&[
        ("UPSTREAM_USERNAME", "op"),
        ("UPSTREAM_PASSWORD", "pw"),
        ("UPSTREAM_ACCOUNTS", "alice:a,bob:b"),
        ("TOKEN_SECRET", SECRET),
    ]);
    let names: Vec<&str> = c
        .operator_accounts(&c.upstream)
        .iter()
        .map(|a| a.user.as_str())
        .collect();
    assert_eq!(names, ["op", "alice", "bob"]);
}

#[test]
fn docker_search_lists_only_whitelisted_repositories() {
    let answer = r#"{"num_results":4,"query":"nginx","results":[
        {"name":"nginx","description":"official","star_count":9,"is_official":true,"is_automated":false},
        {"name":"bitnami/nginx","description":"other","star_count":1,"is_official":false,"is_automated":false},
        {"name":"jqknono/nginx","description":"ours","star_count":2,"is_official":false,"is_automated":false,"extra":"x"},
        {"name":"../evil","description":"bad name"}]}"#;
    let fake = Fake::new(move |r| {
        assert!(
            r.url.starts_with("https://index.docker.io/v1/search?"),
            "{}",
            r.url
        );
        assert!(
            !r.url.contains("evil"),
            "only search's own parameters go upstream: {}",
            r.url
        );
        Ok((
            200,
            vec![("content-type", "application/json".into())],
            answer.into(),
        ))
    });
    let state = State::default();
    let cfg = config(&[("WHITELIST", "nginx, jqknono/*")]);
    let ask = |q: &str| {
        run(
            &fake,
            &state,
            &cfg,
            req("GET", &format!("https://m.example/v1/search?{q}"), &[]),
        )
    };
    let r = ask("q=nginx&n=25&evil=1");
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let v: serde_json::Value = serde_json::from_str(&body_text(&r)).unwrap();
    let names: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nginx", "jqknono/nginx"]);
    assert_eq!(v["num_results"], 2);
    assert!(v["results"][1].get("extra").is_none());
    // Bad input: registry errors, nothing sent upstream.
    let sent = fake.seen.borrow().len();
    for bad in [
        "",
        "q=",
        "q=a&q=b",
        "q=a&n=0",
        "q=a&n=1000",
        "q=a&page=x",
        "q=%01x",
    ] {
        let r = ask(bad);
        assert_eq!(r.status, 400, "{bad}");
        assert!(!error_code(&r).is_empty(), "{bad}");
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (400, "NAME_INVALID")
                .0
                .eq(&400)
                .then_some((400, error_code(&r).as_str()))
                .unwrap(),
            "{bad}"
        );
    }
    assert_eq!(fake.seen.borrow().len(), sent);
    // An upstream failure is a registry error.
    let down = Fake::new(|_| Err(FetchError("connection refused".into())));
    let r = run(
        &down,
        &State::default(),
        &cfg,
        req("GET", "https://m.example/v1/search?q=x", &[]),
    );
    assert_eq!((r.status, error_code(&r).as_str()), (502, "UNAVAILABLE"));
    // With a user list: a login first.
    let users = config(&[("USER_WHITELIST", "alice"), ("TOKEN_SECRET", SECRET)]);
    let r = run(
        &fake,
        &State::default(),
        &users,
        req("GET", "https://m.example/v1/search?q=x", &[]),
    );
    assert_eq!(r.status, 401);
    assert!(r
        .headers()
        .get("www-authenticate")
        .unwrap()
        .contains("m.example/token"));
}
