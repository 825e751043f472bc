//! `/archive/<name>:<tag>`: an image as a tar a browser downloads (rules in `crate::archive`).
//! Access as for a pull (the whitelist is checked before this runs; with a user list the browser
//! logs in with Basic auth on this path, or a proxy token is shown). The manifest and config are
//! fetched and checked against their digests before the first byte goes out; each layer is
//! asked of the registry once, and its body (usually a CDN location) is streamed only when the
//! reader reaches it, so nothing is held whole and at most one layer is in flight. With
//! CACHE=on a layer the edge cache holds whole is read from there instead.

use super::context::{Ctx, Flow};
use super::send::{read_document, send, Outgoing, Sent};
use crate::archive::{
    file_name, layout, parse_manifest, pick, Contents, Descriptor, Image, Manifest, Piece,
    PlatformSpec, MAX_LAYERS,
};
use crate::cache_policy::{
    blob_key, commit_key, committed, sha256_digest, MANIFEST_ACCEPT, MANIFEST_MAX_BYTES,
    PUT_ID_HEADER, SIZE_HEADER,
};
use crate::credentials::parse_basic;
use crate::errors::{ErrorCode, RegistryError};
use crate::http::{bearer, Body, Headers, Method, Request, Response};
use crate::platform::{Part, Platform};
use crate::proxy_token::Claims;
use crate::reference::{Digest, Reference, RepoName};
use crate::route::RegistryEndpoint;
use crate::scope::Grant;

/// Who the registry sees: the proxy's own identity, or a listed user's own upstream token.
enum Identity {
    Proxy,
    User(String),
}

struct Fetcher<'a, 'c, P: Platform> {
    flow: &'a Flow<'c, P>,
    name: &'a RepoName,
    identity: Identity,
}

impl<P: Platform> Flow<'_, P> {
    pub(super) async fn archive(
        &self,
        req: &Request<P::Body>,
        (name, reference): (&RepoName, &Reference),
        query: &[(String, String)],
    ) -> Result<Response<P::Body>, RegistryError> {
        let (p, ctx) = (self.p, &self.ctx);
        let platform = match query
            .iter()
            .filter(|(k, _)| k == "platform")
            .map(|(_, v)| v)
            .collect::<Vec<_>>()[..]
        {
            [] => PlatformSpec::default(),
            [one] => PlatformSpec::parse(one)?,
            _ => {
                return Err(RegistryError::bad_request(
                    "platform may be given only once",
                ))
            }
        };
        let identity = match self.archive_identity(req, (name, reference)).await? {
            Ok(i) => i,
            Err(login) => return Ok(login),
        };
        let f = Fetcher {
            flow: self,
            name,
            identity,
        };
        let (manifest, manifest_bytes, image) = f.image(reference, &platform).await?;
        if image.layers.len() > MAX_LAYERS {
            return Err(RegistryError::bad_request(format!(
                "this image has {} layers; an archive holds at most {MAX_LAYERS} (each layer is a \
             subrequest or two, and ESA allows 32 per request): pull it with a client instead",
                image.layers.len()
            )));
        }
        let config = f.config(&image.config).await?;
        let tag = match reference {
            Reference::Tag(t) => Some(t.as_str()),
            Reference::Digest(_) => None,
        };
        let (short, full) = names(ctx, name);
        let contents = Contents {
            manifest: (&manifest, &manifest_bytes),
            config: &config,
            image: &image,
            repo_tag: tag.map(|t| format!("{short}:{t}")),
            full_name: tag.map(|t| format!("{full}:{t}")),
        };
        let tar = layout(&contents)?;
        let headers = tar_headers(name, reference, tar.length);
        if req.method == Method::Head {
            return Ok(Response::new(200, headers, Body::Empty));
        }
        let mut parts = Vec::with_capacity(tar.pieces.len());
        for piece in tar.pieces {
            parts.push(match piece {
                Piece::Bytes(b) => Part::Bytes(b),
                Piece::Layer(n) => f.layer(&image.layers[n]).await?,
            });
        }
        Ok(Response::new(
            200,
            headers,
            Body::Stream(p.concat(parts, tar.length)),
        ))
    }
}

/// A download with an exact length and a file name, never stored by a cache on the way.
fn tar_headers(name: &RepoName, reference: &Reference, length: u64) -> Headers {
    let mut headers = Headers::new();
    headers.set("content-type", "application/x-tar");
    headers.set("content-length", length.to_string());
    headers.set(
        "content-disposition",
        format!(
            "attachment; filename=\"{}\"",
            file_name(name.as_str(), reference.as_str())
        ),
    );
    headers.set("cache-control", "no-store");
    headers
}

/// docker's name for the image (`nginx`, `org/app` on Docker Hub; `ghcr.io/org/app` elsewhere)
/// and containerd's (`docker.io/library/nginx`).
fn names(ctx: &Ctx<'_>, name: &RepoName) -> (String, String) {
    let registry = &ctx.upstream.name;
    let full = format!("{registry}/{name}");
    if ctx.upstream.is_docker_hub() {
        let short = name
            .as_str()
            .strip_prefix("library/")
            .unwrap_or(name.as_str());
        (short.to_owned(), full)
    } else {
        (full.clone(), full)
    }
}

impl<P: Platform> Flow<'_, P> {
    /// With a user list: a listed user's Basic login (checked upstream, as for `docker login`) or a
    /// proxy token for this repository; without one: the proxy's identity. `Err(answer)`: ask the
    /// browser to log in.
    async fn archive_identity(
        &self,
        req: &Request<P::Body>,
        (name, reference): (&RepoName, &Reference),
    ) -> Result<Result<Identity, Response<P::Body>>, RegistryError> {
        let ctx = &self.ctx;

        let Some(auth) = ctx
            .config
            .proxy_auth()
            .filter(|_| !ctx.config.users().is_empty())
        else {
            return Ok(Ok(Identity::Proxy));
        };
        let authorization = req.headers.get("authorization");
        if let Some(creds) = authorization.and_then(parse_basic) {
            let granted = Grant {
                registry: ctx.upstream,
                repositories: vec![name.clone()],
                refused: Vec::new(),
            };
            let mut claims = Claims {
                user: None,
                registry: ctx.upstream.name.clone(),
                repositories: Vec::new(),
                issued_at: ctx.now,
                expires_at: ctx.now,
                upstream_token: None,
            };
            return match self.log_in(Some(creds), &granted, &mut claims).await {
                Ok(()) => Ok(Ok(as_identity(claims.upstream_token))),
                Err(e) if e.code == ErrorCode::Unauthorized => Ok(Err(ask_login(ctx, &e.message))),
                Err(e) => Err(e),
            };
        }
        let endpoint = RegistryEndpoint::Manifest {
            name: name.clone(),
            reference: reference.clone(),
        };
        match crate::access::check(
            (ctx.config, auth),
            ctx.upstream,
            &endpoint,
            authorization,
            ctx.now,
        ) {
            Ok(claims) if authorization.is_some() => Ok(Ok(as_identity(claims.upstream_token))),
            Ok(_) => Ok(Err(ask_login(ctx, "log in"))),
            Err(d) => Ok(Err(ask_login(ctx, &d.message))),
        }
    }
}

fn as_identity(upstream_token: Option<String>) -> Identity {
    upstream_token.map_or(Identity::Proxy, Identity::User)
}

/// A 401 a browser answers with its login dialog: Basic on this path only.
fn ask_login<B>(ctx: &Ctx<'_>, why: &str) -> Response<B> {
    let mut r = Response::error(&RegistryError::unauthorized(format!(
        "{why}: this mirror's archives need your account on {}",
        ctx.upstream.name
    )));
    r.set_header(
        "www-authenticate",
        format!(
            "Basic realm=\"{} archives\", charset=\"UTF-8\"",
            ctx.upstream.name
        ),
    );
    r
}

impl<P: Platform> Fetcher<'_, '_, P> {
    fn outgoing(&self, path: &str, accept: Option<&str>, passthrough: bool) -> Outgoing {
        let mut headers = Headers::new();
        if let Some(a) = accept {
            headers.set("accept", a);
        }
        Outgoing {
            method: Method::Get,
            url: format!(
                "{}/v2/{}/{path}",
                self.flow.ctx.upstream.endpoint, self.name
            ),
            headers,
            passthrough,
            scope: Some(crate::scope::pull_scope(self.name)),
        }
    }

    async fn send(&self, out: &Outgoing) -> Result<Sent<P::Body>, RegistryError> {
        let sent = match &self.identity {
            Identity::Proxy => self.flow.send_as_proxy(out).await,
            Identity::User(t) => send(self.flow.p, out, Some(&bearer(t))).await,
        };
        self.flow.observe(&sent);
        sent
    }

    /// A 200's body, or the registry's refusal as a registry error.
    fn answered(
        &self,
        sent: Sent<P::Body>,
        what: &str,
    ) -> Result<crate::http::UpstreamResponse<P::Body>, RegistryError> {
        let r = match sent {
            Sent::Response(r) => r,
            Sent::Redirect(_) => {
                return Err(RegistryError::new(
                    ErrorCode::Unavailable,
                    format!("the registry redirected the {what}"),
                ))
            }
        };
        let code = match r.status {
            200 => return Ok(r),
            404 => ErrorCode::ManifestUnknown,
            401 | 403 => ErrorCode::Denied,
            429 => ErrorCode::TooManyRequests,
            _ => ErrorCode::Unavailable,
        };
        Err(RegistryError::new(
            code,
            format!(
                "{} answered {} for the {what}",
                self.flow.ctx.upstream.name, r.status
            ),
        ))
    }

    /// A layer the edge cache holds whole, committed, of the manifest's size. Keyed per registry
    /// and repository, as a pull reads it: whoever may pull the repository may read it.
    async fn cached_layer(&self, d: &Descriptor) -> Option<P::Body> {
        self.flow.ctx.config.cache?;
        let digest = Digest::parse(&d.digest).ok()?;
        let key = blob_key(self.flow.ctx.upstream, self.name, &digest);
        let hit = self.flow.p.cache_get(&key.url).await?;
        let marker = self.flow.p.cache_get(&commit_key(&key)).await?;
        let marker = self.flow.p.read_text(marker.body, 256).await.ok()?;
        let len: u64 = hit.headers.get(SIZE_HEADER)?.parse().ok()?;
        (len == d.size && committed(hit.headers.get(PUT_ID_HEADER), Some(&marker)))
            .then_some(hit.body)
    }

    /// The image `reference` names for `platform`: its manifest (descriptor and bytes) and what
    /// it lists.
    async fn image(
        &self,
        reference: &Reference,
        platform: &PlatformSpec,
    ) -> Result<(Descriptor, Vec<u8>, Image), RegistryError> {
        let (top, bytes, content_type) = self.manifest(reference.as_str(), None).await?;
        let chosen = match parse_manifest(&bytes, &content_type)? {
            Manifest::Image(image) => return Ok((top, bytes, image)),
            Manifest::Index(index) => pick(&index, platform)?,
        };
        let (d, bytes, content_type) = self.manifest(&chosen.digest, Some(&chosen.digest)).await?;
        match parse_manifest(&bytes, &content_type)? {
            Manifest::Image(image) => Ok((d, bytes, image)),
            Manifest::Index(_) => Err(RegistryError::new(
                ErrorCode::ManifestUnknown,
                "the index names another index for this platform",
            )),
        }
    }

    /// A manifest by tag or digest, checked against its digest (`expect`, else the registry's
    /// `Docker-Content-Digest` when it sends one).
    async fn manifest(
        &self,
        reference: &str,
        expect: Option<&str>,
    ) -> Result<(Descriptor, Vec<u8>, String), RegistryError> {
        let out = self.outgoing(
            &format!("manifests/{reference}"),
            Some(MANIFEST_ACCEPT),
            false,
        );
        let r = self.answered(self.send(&out).await?, "manifest")?;
        let content_type = r.headers.get("content-type").unwrap_or("").to_owned();
        let said = r.headers.get("docker-content-digest").map(str::to_owned);
        let bytes = read_document(self.flow.p, r.body, "manifest").await?;
        let digest = sha256_digest(&bytes);
        if let Some(want) = expect.or(said.as_deref()) {
            if want != digest {
                return Err(RegistryError::new(
                    ErrorCode::Unavailable,
                    "the registry sent a manifest that does not match its digest",
                ));
            }
        }
        let d = Descriptor {
            media_type: content_type.clone(),
            size: bytes.len() as u64,
            digest,
        };
        Ok((d, bytes, content_type))
    }

    async fn config(&self, d: &Descriptor) -> Result<Vec<u8>, RegistryError> {
        if d.size > MANIFEST_MAX_BYTES as u64 {
            return Err(RegistryError::bad_request(
                "the image config is too large to archive",
            ));
        }
        let out = self.outgoing(&format!("blobs/{}", d.digest), None, false);
        let r = self.answered(self.send(&out).await?, "image config")?;
        let bytes = read_document(self.flow.p, r.body, "config").await?;
        if sha256_digest(&bytes) != d.digest || bytes.len() as u64 != d.size {
            return Err(RegistryError::new(
                ErrorCode::Unavailable,
                "the registry sent an image config that does not match its digest",
            ));
        }
        Ok(bytes)
    }

    /// A layer's part: the edge cache's whole copy (CACHE=on), else where the registry sends it
    /// (read when reached), or the registry's own body.
    async fn layer(&self, d: &Descriptor) -> Result<Part<P::Body>, RegistryError> {
        if let Some(body) = self.cached_layer(d).await {
            return Ok(Part::Body { body, len: d.size });
        }
        let out = self.outgoing(&format!("blobs/{}", d.digest), None, true);
        match self.send(&out).await? {
            Sent::Redirect(url) => Ok(Part::Later { url, len: d.size }),
            sent => {
                let r = self.answered(sent, "layer").map_err(|mut e| {
                    if e.code == ErrorCode::ManifestUnknown {
                        e.code = ErrorCode::BlobUnknown;
                    }
                    e
                })?;
                Ok(Part::Body {
                    body: r.body,
                    len: d.size,
                })
            }
        }
    }
}
