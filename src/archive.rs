//! Offline image archives (`/archive/<name>:<tag>`): the rules, free of I/O. Which image of an
//! index a platform names, what a manifest lists, and the tar a browser downloads: an OCI image
//! layout (`oci-layout`, `index.json`, `blobs/sha256/...`) that also carries docker's
//! `manifest.json`, so `docker load` (20.10 and newer), `podman load`, `ctr images import` and
//! `skopeo copy docker-archive:` all read it. Layers go in as the registry stores them
//! (compressed); every loader named decompresses them.
//!
//! The tar's length is known before the first byte (sizes come from the manifest), so the answer
//! has an exact `Content-Length` and a transfer cut short can never pass for a whole archive.

use serde::Serialize;
use serde_json::Value;

use crate::errors::{ErrorCode, RegistryError};

/// Layers an archive may hold: each is a subrequest or two (the registry, then its CDN), and ESA
/// allows 32 per request with the token, manifests and config.
pub(crate) const MAX_LAYERS: usize = 12;

/// `os/architecture[/variant]`, as `docker pull --platform` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for PlatformSpec {
    fn default() -> Self {
        PlatformSpec {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl PlatformSpec {
    pub(crate) fn parse(raw: &str) -> Result<PlatformSpec, RegistryError> {
        let bad = || {
            RegistryError::bad_request(
                "platform must be os/architecture[/variant], e.g. linux/arm64 or linux/arm/v7",
            )
        };
        let word = |s: &str| {
            !s.is_empty()
                && s.len() <= 32
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        let parts: Vec<&str> = raw.split('/').collect();
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| word(p)) {
            return Err(bad());
        }
        Ok(PlatformSpec {
            os: parts[0].into(),
            architecture: parts[1].into(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        })
    }

    fn matches(&self, p: &IndexPlatform) -> bool {
        if p.os != self.os || p.architecture != self.architecture {
            return false;
        }
        // arm64's only variant is v8: `linux/arm64` and `linux/arm64/v8` are one platform.
        let norm = |v: Option<&str>| match (self.architecture.as_str(), v) {
            ("arm64", Some("v8")) => None,
            (_, v) => v.map(str::to_owned),
        };
        match &self.variant {
            None => true,
            Some(v) => norm(Some(v)) == norm(p.variant.as_deref()),
        }
    }
}

impl std::fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

struct IndexPlatform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

/// An image manifest's config and layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Image {
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// A fetched manifest: an index (pick a platform) or an image.
pub(crate) enum Manifest {
    Index(Vec<(Descriptor, String)>),
    Image(Image),
}

fn unsupported(message: impl Into<String>) -> RegistryError {
    RegistryError::new(ErrorCode::ManifestUnknown, message).with_status(415)
}

/// Reads a manifest; `content_type` is the registry's header (documents may omit `mediaType`).
///
/// Read as a `serde_json::Value`, as every document in the core: derived `Deserialize` structs
/// cost ~70 KB of wasm here, against a few hundred bytes of field access.
pub(crate) fn parse_manifest(bytes: &[u8], content_type: &str) -> Result<Manifest, RegistryError> {
    let not_json = || unsupported("the registry sent a manifest that is not JSON");
    let doc: Value = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(not_json)?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let descriptor = |v: &Value| {
        Some(Descriptor {
            media_type: text(v, "mediaType").unwrap_or_default(),
            digest: text(v, "digest")?,
            size: v.get("size")?.as_u64()?,
        })
    };
    let bad = || unsupported("the registry sent a manifest without valid descriptors");
    let media_type = text(&doc, "mediaType").unwrap_or_else(|| {
        content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    });
    if let Some(entries) = doc.get("manifests").and_then(Value::as_array) {
        let mut images = Vec::new();
        for e in entries {
            let d = descriptor(e).ok_or_else(bad)?;
            let Some(p) = e.get("platform") else { continue };
            let (Some(os), Some(arch)) = (text(p, "os"), text(p, "architecture")) else {
                continue;
            };
            // Attestations and other artifacts sit beside the images as unknown/unknown.
            if os == "unknown" {
                continue;
            }
            let shown = match text(p, "variant") {
                Some(v) => format!("{os}/{arch}/{v}"),
                None => format!("{os}/{arch}"),
            };
            images.push((d, shown));
        }
        return Ok(Manifest::Index(images));
    }
    let config = doc.get("config").and_then(descriptor);
    let layers = doc.get("layers").and_then(Value::as_array);
    match (config, layers) {
        (Some(config), Some(layers)) => Ok(Manifest::Image(Image {
            media_type,
            config,
            layers: layers
                .iter()
                .map(descriptor)
                .collect::<Option<_>>()
                .ok_or_else(bad)?,
        })),
        _ => Err(unsupported(
            "only Docker schema 2 and OCI images can be archived",
        )),
    }
}

/// The image of `index` for `platform`, or an error listing the platforms it has.
pub(crate) fn pick(
    index: &[(Descriptor, String)],
    platform: &PlatformSpec,
) -> Result<Descriptor, RegistryError> {
    let found = index.iter().find(|(_, shown)| {
        PlatformSpec::parse(shown)
            .map(|p| {
                platform.matches(&IndexPlatform {
                    os: p.os,
                    architecture: p.architecture,
                    variant: p.variant,
                })
            })
            .unwrap_or(false)
    });
    match found {
        Some((d, _)) => Ok(d.clone()),
        None => {
            let has: Vec<&str> = index.iter().map(|(_, s)| s.as_str()).collect();
            Err(RegistryError::new(
                ErrorCode::ManifestUnknown,
                format!(
                    "this image has no {platform} variant; it has: {}",
                    if has.is_empty() {
                        "none".to_owned()
                    } else {
                        has.join(", ")
                    }
                ),
            ))
        }
    }
}

/// The hex of a `sha256:` digest, for a blob's path in the layout.
pub(crate) fn sha256_hex(digest: &str) -> Result<&str, RegistryError> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        .ok_or_else(|| {
            RegistryError::new(ErrorCode::Unsupported, "only sha256 blobs can be archived")
                .with_status(415)
        })
}

/// One piece of the archive, in order: bytes made here, or a layer streamed from the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Bytes(Vec<u8>),
    /// Layer `n` of the image (its bytes, exactly its size).
    Layer(usize),
}

/// The archive: its pieces, its exact length, and the names it gives.
#[derive(Debug)]
pub(crate) struct Layout {
    pub pieces: Vec<Piece>,
    pub length: u64,
}

/// What goes into the archive besides the layers.
pub(crate) struct Contents<'a> {
    pub manifest: (&'a Descriptor, &'a [u8]),
    pub config: &'a [u8],
    pub image: &'a Image,
    /// `nginx:1.25`, `ghcr.io/org/app:1`: docker's name (`RepoTags`); None for a digest.
    pub repo_tag: Option<String>,
    /// `docker.io/library/nginx:1.25`: containerd's name; None for a digest.
    pub full_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry<'a> {
    config: String,
    repo_tags: Vec<&'a str>,
    layers: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OciIndex<'a> {
    schema_version: u32,
    media_type: &'static str,
    manifests: [IndexDescriptor<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexDescriptor<'a> {
    media_type: &'a str,
    digest: &'a str,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<Annotations<'a>>,
}

#[derive(Serialize)]
struct Annotations<'a> {
    #[serde(rename = "io.containerd.image.name")]
    containerd_name: &'a str,
    #[serde(rename = "org.opencontainers.image.ref.name")]
    ref_name: &'a str,
}

fn blob_path(digest: &str) -> Result<String, RegistryError> {
    Ok(format!("blobs/sha256/{}", sha256_hex(digest)?))
}

/// Lays the archive out: directories, the two indexes, the manifest and config, each distinct
/// layer once (in manifest order), and the end of the tar.
pub(crate) fn layout(c: &Contents<'_>) -> Result<Layout, RegistryError> {
    let mut out = Writer::default();
    let config_path = blob_path(&c.image.config.digest)?;
    let layer_paths: Vec<String> = c
        .image
        .layers
        .iter()
        .map(|l| blob_path(&l.digest))
        .collect::<Result<_, _>>()?;
    let docker = [DockerEntry {
        config: config_path.clone(),
        repo_tags: c.repo_tag.iter().map(String::as_str).collect(),
        layers: layer_paths.clone(),
    }];
    let (manifest, manifest_bytes) = c.manifest;
    let tag = c
        .repo_tag
        .as_deref()
        .and_then(|t| t.rsplit_once(':'))
        .map(|(_, t)| t);
    let oci = OciIndex {
        schema_version: 2,
        media_type: "application/vnd.oci.image.index.v1+json",
        manifests: [IndexDescriptor {
            media_type: &c.image.media_type,
            digest: &manifest.digest,
            size: manifest.size,
            annotations: c
                .full_name
                .as_deref()
                .zip(tag)
                .map(|(full, tag)| Annotations {
                    containerd_name: full,
                    ref_name: tag,
                }),
        }],
    };
    out.dir("blobs/");
    out.dir("blobs/sha256/");
    out.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    out.file("index.json", &to_json(&oci));
    out.file("manifest.json", &to_json(&docker));
    out.file(&blob_path(&manifest.digest)?, manifest_bytes);
    out.file(&config_path, c.config);
    let mut written: Vec<&str> = Vec::new();
    for (n, layer) in c.image.layers.iter().enumerate() {
        if written.contains(&layer.digest.as_str()) {
            continue;
        }
        written.push(&layer.digest);
        out.streamed(&layer_paths[n], layer.size, n);
    }
    // The end of an archive: two zero blocks.
    out.zeros(1024);
    Ok(out.finish())
}

fn to_json(v: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(v).expect("plain structs serialize")
}

#[derive(Default)]
struct Writer {
    pieces: Vec<Piece>,
    pending: Vec<u8>,
    length: u64,
}

impl Writer {
    /// Copied once, into the bytes before the next layer.
    fn bytes(&mut self, b: &[u8]) {
        self.length += b.len() as u64;
        self.pending.extend_from_slice(b);
    }

    fn zeros(&mut self, n: usize) {
        self.length += n as u64;
        self.pending.resize(self.pending.len() + n, 0);
    }

    fn dir(&mut self, name: &str) {
        self.bytes(&header(name, 0, b'5'));
    }

    fn file(&mut self, name: &str, body: &[u8]) {
        let len = body.len() as u64;
        self.bytes(&header(name, len, b'0'));
        self.bytes(body);
        self.zeros(padding(len));
    }

    fn streamed(&mut self, name: &str, len: u64, layer: usize) {
        self.bytes(&header(name, len, b'0'));
        self.pieces
            .push(Piece::Bytes(std::mem::take(&mut self.pending)));
        self.pieces.push(Piece::Layer(layer));
        self.length += len;
        self.zeros(padding(len));
    }

    fn finish(mut self) -> Layout {
        if !self.pending.is_empty() {
            self.pieces.push(Piece::Bytes(self.pending));
        }
        Layout {
            pieces: self.pieces,
            length: self.length,
        }
    }
}

fn padding(len: u64) -> usize {
    ((512 - len % 512) % 512) as usize
}

/// A ustar header: mode 0644 (0755 for directories), owner 0, mtime 0. Names here are at most
/// 77 bytes (`blobs/sha256/<64 hex>`), within ustar's 100.
fn header(name: &str, size: u64, kind: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, s: &[u8]| h[at..at + s.len()].copy_from_slice(s);
    put(&mut h, 0, name.as_bytes());
    put(
        &mut h,
        100,
        if kind == b'5' {
            b"0000755\0"
        } else {
            b"0000644\0"
        },
    );
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    h[156] = kind;
    put(&mut h, 257, b"ustar\x0000");
    // The checksum is summed with its own field as spaces.
    put(&mut h, 148, b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// The file name a browser saves: `<last name component>_<tag or short digest>.tar`.
pub(crate) fn file_name(repo: &str, reference: &str) -> String {
    let last = repo.rsplit('/').next().unwrap_or(repo);
    let suffix = match reference.strip_prefix("sha256:") {
        Some(hex) => hex.get(..12).unwrap_or(hex).to_owned(),
        None => reference.to_owned(),
    };
    format!("{last}_{suffix}.tar")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8, size: u64) -> Descriptor {
        Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: format!("sha256:{}", format!("{n:02x}").repeat(32)),
            size,
        }
    }

    #[test]
    fn platforms_parse_and_match_like_docker() {
        assert_eq!(
            PlatformSpec::parse("linux/arm/v7").unwrap().to_string(),
            "linux/arm/v7"
        );
        for bad in [
            "linux",
            "linux/",
            "linux/amd64/v1/x",
            "Linux/amd64",
            "linux/amd64%2f",
            "../x",
        ] {
            assert!(PlatformSpec::parse(bad).is_err(), "{bad}");
        }
        let index = vec![
            (d(1, 1), "linux/amd64".to_owned()),
            (d(2, 1), "linux/arm/v6".to_owned()),
            (d(3, 1), "linux/arm/v7".to_owned()),
            (d(4, 1), "linux/arm64/v8".to_owned()),
        ];
        let pick_for = |s: &str| pick(&index, &PlatformSpec::parse(s).unwrap()).map(|d| d.digest);
        assert_eq!(pick_for("linux/amd64").unwrap(), d(1, 1).digest);
        assert_eq!(pick_for("linux/arm/v7").unwrap(), d(3, 1).digest);
        assert_eq!(pick_for("linux/arm64").unwrap(), d(4, 1).digest);
        assert_eq!(pick_for("linux/arm64/v8").unwrap(), d(4, 1).digest);
        let e = pick_for("linux/s390x").unwrap_err();
        assert_eq!(e.code, ErrorCode::ManifestUnknown);
        assert!(
            e.message
                .contains("linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8"),
            "{}",
            e.message
        );
    }

    #[test]
    fn indexes_drop_attestations_and_images_need_config_and_layers() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"platform":{"os":"linux","architecture":"amd64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":1,"platform":{"os":"unknown","architecture":"unknown"}}]}"#;
        let Manifest::Index(i) = parse_manifest(index, "").unwrap() else {
            panic!()
        };
        assert_eq!(i.len(), 1);
        let image = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:cc","size":3},"layers":[]}"#;
        let Manifest::Image(m) = parse_manifest(
            image,
            "application/vnd.docker.distribution.manifest.v2+json; q=1",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            m.media_type,
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        assert!(parse_manifest(br#"{"schemaVersion":1,"fsLayers":[]}"#, "").is_err());
        assert!(parse_manifest(b"<html>", "").is_err());
    }

    /// The bytes of a layout, with each layer's bytes filled in.
    fn bytes_of(l: &Layout, layers: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &l.pieces {
            match p {
                Piece::Bytes(b) => out.extend(b),
                Piece::Layer(n) => out.extend(&layers[*n]),
            }
        }
        out
    }

    #[test]
    fn the_tar_is_exactly_as_long_as_announced_and_gnu_tar_reads_it() {
        let layers = vec![vec![1u8; 1000], vec![2u8; 512], vec![1u8; 1000]];
        let mut image = Image {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            config: d(9, 3),
            layers: vec![d(1, 1000), d(2, 512), d(1, 1000)],
        };
        image.config.size = 3;
        let manifest = d(8, 5);
        let c = Contents {
            manifest: (&manifest, b"hello"),
            config: b"cfg",
            image: &image,
            repo_tag: Some("nginx:1.25".into()),
            full_name: Some("docker.io/library/nginx:1.25".into()),
        };
        let l = layout(&c).unwrap();
        // A repeated layer is written once.
        assert_eq!(
            l.pieces
                .iter()
                .filter(|p| matches!(p, Piece::Layer(_)))
                .count(),
            2
        );
        let tar = bytes_of(&l, &layers);
        assert_eq!(tar.len() as u64, l.length);
        assert_eq!(tar.len() % 512, 0);
        let dir = std::env::temp_dir().join(format!("erp-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.tar");
        std::fs::write(&file, &tar).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&file)
            .arg("-C")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read = |p: &str| std::fs::read(dir.join(p)).unwrap();
        assert_eq!(
            read(&format!("blobs/sha256/{}", "01".repeat(32))),
            layers[0]
        );
        assert_eq!(
            read(&format!("blobs/sha256/{}", "02".repeat(32))),
            layers[1]
        );
        assert_eq!(read(&format!("blobs/sha256/{}", "08".repeat(32))), b"hello");
        let docker: serde_json::Value = serde_json::from_slice(&read("manifest.json")).unwrap();
        assert_eq!(docker[0]["RepoTags"][0], "nginx:1.25");
        assert_eq!(docker[0]["Layers"].as_array().unwrap().len(), 3);
        let index: serde_json::Value = serde_json::from_slice(&read("index.json")).unwrap();
        assert_eq!(index["manifests"][0]["digest"], manifest.digest);
        assert_eq!(
            index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            "1.25"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_names_and_blob_paths() {
        assert_eq!(file_name("library/nginx", "1.25"), "nginx_1.25.tar");
        assert_eq!(
            file_name("org/app", &format!("sha256:{}", "ab".repeat(32))),
            "app_abababababab.tar"
        );
        assert!(sha256_hex("sha512:00").is_err());
        assert!(sha256_hex(&format!("sha256:{}", "AB".repeat(32))).is_err());
        assert!(sha256_hex(&format!("sha256:{}/../x", "ab".repeat(29))).is_err());
    }
}
