//! `/archive/...` against a scripted registry and CDN: what is asked upstream, what the tar holds,
//! and what is refused before a byte goes out.

use std::rc::Rc;

use edge_registry_proxy::{Response, State};

use crate::fake::*;

fn sha(s: &str) -> String {
    edge_registry_proxy::sha256_digest(s.as_bytes())
}

struct Image {
    index: String,
    manifest: String,
    config: String,
    layer: String,
}

fn image() -> Image {
    let config =
        r#"{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_owned();
    let layer = "layer-bytes-".repeat(100);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
        sha(&config),
        config.len(),
        sha(&layer),
        layer.len()
    );
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#,
        sha(&manifest),
        manifest.len()
    );
    Image {
        index,
        manifest,
        config,
        layer,
    }
}

/// An open registry whose blobs redirect to a CDN; `tamper` changes the manifest it serves.
fn registry(img: Rc<Image>, tamper: bool) -> Fake {
    registry_with(img, tamper, false)
}

/// alice:pw
const ALICE: &str = "Basic YWxpY2U6cHc=";

/// `accounts`: the registry takes tokens from its token service, which knows alice only.
fn registry_with(img: Rc<Image>, tamper: bool, accounts: bool) -> Fake {
    Fake::new(move |r| {
        if accounts && !r.url.starts_with("https://cdn.example/") {
            if r.url.starts_with("https://reg.example/token") {
                return match r.headers.get("authorization") {
                    Some(ALICE) => Ok((200, vec![], r#"{"token":"UP-ALICE"}"#.into())),
                    _ => Ok((401, vec![], "{}".into())),
                };
            }
            if r.headers.get("authorization") != Some("Bearer UP-ALICE") {
                let challenge = r#"Bearer realm="https://reg.example/token",service="reg""#;
                return Ok((
                    401,
                    vec![("www-authenticate", challenge.to_owned())],
                    String::new(),
                ));
            }
        }
        let ok = |body: &str, ct: &str| {
            let headers = vec![
                ("content-type", ct.to_owned()),
                ("content-length", body.len().to_string()),
            ];
            Ok((200, headers, body.to_owned()))
        };
        let url = r.url.as_str();
        if url.ends_with("/v2/") {
            return ok("{}", "application/json");
        }
        if url.ends_with("/manifests/latest") {
            return ok(&img.index, "application/vnd.oci.image.index.v1+json");
        }
        if url.ends_with(&format!("/manifests/{}", sha(&img.manifest))) {
            let m = if tamper {
                img.manifest.replacen("{", "{ ", 1)
            } else {
                img.manifest.clone()
            };
            return ok(&m, "application/vnd.oci.image.manifest.v1+json");
        }
        if let Some(d) = url.split("/blobs/").nth(1) {
            return Ok((
                307,
                vec![("location", format!("https://cdn.example/{d}"))],
                String::new(),
            ));
        }
        if url == format!("https://cdn.example/{}", sha(&img.config)) {
            return ok(&img.config, "application/octet-stream");
        }
        if url == format!("https://cdn.example/{}", sha(&img.layer)) {
            return ok(&img.layer, "application/octet-stream");
        }
        Ok((404, vec![], String::new()))
    })
}

/// The archive of the image's arm64 manifest.
const ARM64: &str = "https://m.example/archive/library/multi:latest?platform=linux/arm64";

fn get_arm64(fake: &Fake, state: &State, cfg: &edge_registry_proxy::Config) -> Response<String> {
    run(fake, state, cfg, req("GET", ARM64, &[]))
}

#[test]
fn an_archive_is_the_chosen_image_as_a_tar_with_layers_read_when_reached() {
    let img = Rc::new(image());
    let fake = registry(img.clone(), false);
    let state = State::default();
    let cfg = config(&[("UPSTREAM", "docker.io@https://reg.example")]);
    let r = get_arm64(&fake, &state, &cfg);
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let tar = body_text(&r);
    assert!(!tar.contains("<<CUT>>"));
    assert_eq!(
        r.headers().get("content-length"),
        Some(tar.len().to_string().as_str())
    );
    assert_eq!(
        r.headers().get("content-disposition"),
        Some("attachment; filename=\"multi_latest.tar\"")
    );
    for part in [&img.manifest, &img.config, &img.layer] {
        assert!(tar.contains(part.as_str()));
    }
    assert!(
        tar.contains(r#""RepoTags":["multi:latest"]"#),
        "docker's name"
    );
    assert!(tar.contains(r#""io.containerd.image.name":"docker.io/library/multi:latest""#));
    // The layer: asked of the registry without following (one subrequest), then read from
    // the CDN without credentials when the reader reached it.
    let seen = fake.seen.borrow();
    let layer_url = format!("https://cdn.example/{}", sha(&img.layer));
    let last = seen.last().unwrap();
    assert_eq!(last.url, layer_url);
    assert_eq!(last.headers.get("authorization"), None);
    assert_eq!(seen.iter().filter(|s| s.url == layer_url).count(), 1);
    drop(seen);

    // HEAD: the same headers, and no layer is asked for.
    let before = fake.seen.borrow().len();
    let h = run(
        &fake,
        &state,
        &cfg,
        req(
            "HEAD",
            "https://m.example/archive/library/multi:latest?platform=linux/arm64/v8",
            &[],
        ),
    );
    assert_eq!(
        h.headers().get("content-length"),
        r.headers().get("content-length")
    );
    assert!(fake.seen.borrow()[before..]
        .iter()
        .all(|s| !s.url.contains(&sha(&img.layer))));
}

#[test]
fn a_manifest_that_does_not_match_its_digest_is_refused_before_any_byte() {
    let img = Rc::new(image());
    let fake = registry(img.clone(), true);
    let state = State::default();
    let cfg = config(&[("UPSTREAM", "docker.io@https://reg.example")]);
    let r = get_arm64(&fake, &state, &cfg);
    assert_eq!((r.status, error_code(&r).as_str()), (502, "UNAVAILABLE"));
    assert!(body_text(&r).contains("does not match its digest"));
    assert!(
        fake.seen
            .borrow()
            .iter()
            .all(|s| !s.url.contains("/blobs/")),
        "no blob asked for"
    );
}

#[test]
fn with_the_edge_cache_a_layer_it_holds_whole_is_read_from_there() {
    let img = Rc::new(image());
    let fake = registry(img.clone(), false);
    let state = State::default();
    let cfg = config(&[
        ("UPSTREAM", "docker.io@https://reg.example"),
        ("CACHE", "on"),
        ("TOKEN_SECRET", "test-secret-0123456789"),
    ]);
    let layer_at_cdn = format!("https://cdn.example/{}", sha(&img.layer));
    let cdn_reads = || {
        fake.seen
            .borrow()
            .iter()
            .filter(|s| s.url == layer_at_cdn)
            .count()
    };
    let archive = || {
        let r = get_arm64(&fake, &state, &cfg);
        assert_eq!(r.status, 200, "{}", body_text(&r));
        assert!(body_text(&r).contains(img.layer.as_str()));
    };
    archive();
    assert_eq!(
        cdn_reads(),
        1,
        "not cached yet: read from the CDN (an archive stores nothing)"
    );
    // A pull through the proxy stores the layer ...
    let t = super::anon_token(&fake, &state, &cfg, "library/multi");
    let url = format!(
        "https://m.example/v2/library/multi/blobs/{}",
        sha(&img.layer)
    );
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", &url, &[("authorization", &t)]),
    );
    assert_eq!(body_text(&r), img.layer);
    assert_eq!(cdn_reads(), 2);
    // ... and the next archive reads it from the cache.
    archive();
    assert_eq!(cdn_reads(), 2, "the layer came from the edge cache");
}

#[test]
fn with_a_user_list_the_browser_logs_in_on_this_path_or_shows_a_proxy_token() {
    let img = Rc::new(image());
    let fake = registry_with(img.clone(), false, true);
    let state = State::default();
    let cfg = config(&[
        ("UPSTREAM", "docker.io@https://reg.example"),
        ("USER_WHITELIST", "alice"),
        ("TOKEN_SECRET", "test-secret-0123456789"),
    ]);
    let url = ARM64;
    let get = |auth: &[(&str, &str)]| run(&fake, &state, &cfg, req("GET", url, auth));
    let r = get(&[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.headers().get("www-authenticate"),
        Some(r#"Basic realm="docker.io archives", charset="UTF-8""#)
    );
    let before = fake.seen.borrow().len();
    let r = get(&[("authorization", "Basic bWFsbG9yeTpwdw==")]);
    assert_eq!(r.status, 401, "mallory is not listed");
    assert_eq!(
        fake.seen.borrow().len(),
        before,
        "her password went nowhere"
    );
    let r = get(&[("authorization", "Basic YWxpY2U6d3Jvbmc=")]);
    assert_eq!(r.status, 401, "a wrong password");
    // alice's login: the registry sees her own upstream token.
    let r = get(&[("authorization", ALICE)]);
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert!(body_text(&r).contains(img.layer.as_str()));
    let probe = fake
        .seen
        .borrow()
        .iter()
        .rev()
        .find(|s| s.url.contains("/blobs/"))
        .cloned()
        .unwrap();
    assert_eq!(probe.headers.get("authorization"), Some("Bearer UP-ALICE"));
    // A proxy token for this repository works too; one for another repository does not.
    let token = |repo: &str| {
        let u = format!("https://m.example/token?scope=repository:{repo}:pull");
        let r = run(
            &fake,
            &state,
            &cfg,
            req("GET", &u, &[("authorization", ALICE)]),
        );
        let v: serde_json::Value = serde_json::from_str(&body_text(&r)).unwrap();
        format!("Bearer {}", v["token"].as_str().unwrap())
    };
    assert_eq!(
        get(&[("authorization", &token("library/multi"))]).status,
        200
    );
    assert_eq!(
        get(&[("authorization", &token("library/other"))]).status,
        401
    );
}

#[test]
fn an_archive_by_path_form_is_the_named_registrys_image() {
    let img = Rc::new(image());
    let fake = registry(img.clone(), false);
    let state = State::default();
    let cfg = config(&[
        ("REGISTRIES", "ghcr.io@https://reg.example"),
        ("WHITELIST", "ghcr.io/library/*"),
    ]);
    let r = run(
        &fake,
        &state,
        &cfg,
        req(
            "GET",
            "https://m.example/archive/ghcr.io/library/multi:latest?platform=linux/arm64",
            &[],
        ),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert!(body_text(&r).contains(r#""RepoTags":["ghcr.io/library/multi:latest"]"#));
    assert!(fake
        .seen
        .borrow()
        .iter()
        .all(|s| !s.url.contains("docker.io")));
    // The whitelist follows the registry: Docker Hub's library/multi is not listed.
    let r = run(
        &fake,
        &state,
        &cfg,
        req("GET", "https://m.example/archive/library/multi:latest", &[]),
    );
    assert_eq!(r.status, 403);
}
