//! The edge cache policy (`CACHE=on`): what is stored, under which key, for how long, and when
//! a stored answer may be served. One policy; the platforms only store and fetch.
//!
//! - Manifests by digest and blobs are immutable: kept 30 days, never revalidated.
//! - A tag's manifest is reused for `CACHE_TAG_TTL` seconds; it is kept a day longer so that, if
//!   the upstream fails, the last answer can still be served (marked stale).
//! - Only complete `200` answers are stored: a manifest only after its sha256 matched the digest
//!   asked for (or, for a tag, the upstream's `Docker-Content-Digest`); a blob only when its body
//!   arrived whole. Never a 206, an error, or a body that ended early.
//! - Keys say registry, repository and reference; never who asked or with which credentials.
//!   A tag has one entry whatever the client's Accept: the proxy fills it asking for every
//!   manifest type (`MANIFEST_ACCEPT`), so it holds what the upstream serves to a modern client
//!   (an index for a multi-arch image), and a client gets it when its Accept admits that type. Only answers fetched with the proxy's own identity are stored,
//!   so whatever is stored may be served to anyone the proxy authorizes for that repository.

use sha2::{Digest as _, Sha256};

use crate::http::Headers;
use crate::reference::{Digest, Reference, RepoName};
use crate::upstream::Upstream;

/// Immutable content lives this long in the cache.
pub(crate) const IMMUTABLE_SECS: u64 = 30 * 24 * 3600;
/// How long past its freshness a tag answer is kept for serving stale.
pub(crate) const STALE_WINDOW_SECS: u64 = 24 * 3600;
/// Manifests (and an archive's image config) are read into memory to verify them; the
/// distribution spec caps manifests at 4 MiB.
pub(crate) const MANIFEST_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Header recording when a tag answer was fetched (unix seconds), for freshness.
pub(crate) const FETCHED_AT_HEADER: &str = "x-erp-fetched-at";
/// Streamed entries are committed in two phases: the body carries a random id in this header,
/// and a small marker entry holding that id is written only once the body arrived whole. Some
/// caches (workerd's) keep whatever part of a body arrived before its stream failed, and a late,
/// truncated put may land over a good one: only an entry whose id matches the marker is served.
pub(crate) const PUT_ID_HEADER: &str = "x-erp-put";
/// Every key lives under this origin: `http://` because ESA's cache takes only http:// keys.
const KEY_ORIGIN: &str = "http://edge-registry-proxy.cache";

/// What the cache did for an answer: the `X-Cache` header and the log's `cache=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheStatus {
    /// Served from a fresh entry (or an immutable one).
    Hit,
    /// Fetched upstream (and stored where the policy allows).
    Miss,
    /// The upstream failed: a tag's expired entry, marked stale.
    Stale,
    /// Not readable by the proxy's identity: fetched with the user's own token, never stored.
    Bypass,
}

impl CacheStatus {
    pub(crate) const HEADER: &'static str = "x-cache";

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Stale => "STALE",
            CacheStatus::Bypass => "BYPASS",
        }
    }

    /// Answers an operator wants in the error log.
    pub(crate) fn notable(self) -> bool {
        matches!(self, CacheStatus::Stale | CacheStatus::Bypass)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cacheable {
    /// Manifest by digest, or a blob.
    Immutable,
    /// Manifest by tag: fresh for `CACHE_TAG_TTL`.
    Tag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheKey {
    pub url: String,
    pub kind: Cacheable,
}

impl CacheKey {
    /// `Cache-Control` for the stored copy: how long the platform keeps it.
    pub(crate) fn storage_cache_control(&self, tag_ttl: u32) -> String {
        let secs = match self.kind {
            Cacheable::Immutable => IMMUTABLE_SECS,
            Cacheable::Tag => u64::from(tag_ttl) + STALE_WINDOW_SECS,
        };
        format!("public, max-age={secs}")
    }
}

pub(crate) fn manifest_key(
    upstream: &Upstream,
    name: &RepoName,
    reference: &Reference,
) -> CacheKey {
    let base = format!(
        "{KEY_ORIGIN}/{}/{name}/manifests/{}",
        upstream.name,
        reference.as_str()
    );
    let kind = match reference {
        Reference::Digest(_) => Cacheable::Immutable,
        Reference::Tag(_) => Cacheable::Tag,
    };
    CacheKey { url: base, kind }
}

/// The manifest types a tag entry is filled with: an upstream answers with the richest it has
/// (an index for a multi-arch image), never a single platform's manifest picked for an old
/// client, which would be wrong for every other platform.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// What a request without Accept gets from a registry: a single image manifest in Docker's
/// schema 2 (or the legacy schema 1), never an index or an OCI type.
const DEFAULT_ACCEPT: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
];

/// Whether a client sending `accept` takes a manifest of `media_type`. Wildcards count
/// (containerd sends `*/*`); `q=0` refuses a type.
pub(crate) fn accepts(accept: Option<&str>, media_type: &str) -> bool {
    let media_type = media_type.split(';').next().unwrap_or("").trim();
    if media_type.is_empty() {
        return false;
    }
    let accept = accept.unwrap_or("").trim();
    if accept.is_empty() {
        return DEFAULT_ACCEPT
            .iter()
            .any(|t| t.eq_ignore_ascii_case(media_type));
    }
    let Some((family, _)) = media_type.split_once('/') else {
        return false;
    };
    // The most specific range that matches decides (`*/*, <type>;q=0` refuses <type>).
    let mut best: Option<(u8, bool)> = None;
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let range = parts.next().unwrap_or("").trim();
        let specificity = if range.eq_ignore_ascii_case(media_type) {
            3
        } else if range
            .strip_suffix("/*")
            .is_some_and(|f| f.eq_ignore_ascii_case(family))
        {
            2
        } else if range == "*/*" {
            1
        } else {
            continue;
        };
        // q=0, q=0.0, q=0.000: no float parser for one comparison.
        let refused = parts.any(|p| {
            let p = p.trim();
            p.len() > 2
                && p[..2].eq_ignore_ascii_case("q=")
                && p[2..].trim().starts_with('0')
                && p[2..].trim().bytes().all(|c| c == b'0' || c == b'.')
        });
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, refused));
        }
    }
    matches!(best, Some((_, false)))
}

/// Blobs are keyed per repository: a client authorized for one repository must not get another
/// repository's layer by naming its digest.
pub(crate) fn blob_key(upstream: &Upstream, name: &RepoName, digest: &Digest) -> CacheKey {
    CacheKey {
        url: format!(
            "{KEY_ORIGIN}/{}/{name}/blobs/{}",
            upstream.name,
            digest.as_str()
        ),
        kind: Cacheable::Immutable,
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A fetched manifest may be stored when its bytes are what was asked for.
pub(crate) fn manifest_verified(
    reference: &Reference,
    upstream_digest: Option<&str>,
    bytes: &[u8],
) -> bool {
    let want = match reference {
        Reference::Digest(d) => d.as_str(),
        Reference::Tag(_) => match upstream_digest {
            Some(d) => d,
            None => return false,
        },
    };
    // Only sha256 is recomputed; a sha512 manifest is served but not stored.
    want.starts_with("sha256:") && sha256_digest(bytes) == want
}

/// A blob answer may be stored when it is a complete 200 of a known size within the limit; a
/// body the runtime decoded (Content-Encoding) has no known size, so it is served, not stored.
pub(crate) fn blob_storable(status: u16, headers: &Headers, max_bytes: u64) -> Option<u64> {
    if status != 200 || headers.decoded_by_fetch() {
        return None;
    }
    let len: u64 = headers.get("content-length")?.trim().parse().ok()?;
    (len <= max_bytes).then_some(len)
}

/// A stored body's length: some caches (workerd's) drop `Content-Length` from what they return,
/// and a HEAD or a Range answer needs it.
pub(crate) const SIZE_HEADER: &str = "x-erp-length";

/// The key of the commit marker of a streamed entry.
pub(crate) fn commit_key(key: &CacheKey) -> String {
    format!("{}?committed", key.url)
}

/// A streamed entry may be served only when its put id matches its commit marker.
pub(crate) fn committed(put_id: Option<&str>, marker: Option<&str>) -> bool {
    matches!((put_id, marker), (Some(a), Some(b)) if !a.is_empty() && a == b.trim())
}

/// Whether a stored tag answer fetched at `fetched_at` is still fresh at `now`.
pub(crate) fn tag_fresh(fetched_at: Option<&str>, now: u64, tag_ttl: u32) -> bool {
    match fetched_at.and_then(|v| v.parse::<u64>().ok()) {
        Some(t) => now < t.saturating_add(u64::from(tag_ttl)),
        None => false,
    }
}

/// A single byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) resolved against `size`, as
/// (first, last) inclusive. None for anything the cache does not answer itself (several
/// ranges, malformed, unsatisfiable): those go upstream.
pub fn single_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (first, last) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n = num(n)?;
            if n == 0 {
                return None;
            }
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (num(a)?, size - 1),
        (a, b) => (num(a)?, num(b)?.min(size - 1)),
    };
    (first <= last && first < size).then_some((first, last))
}

/// RFC 9110 13.1.5: a stored blob answers a Range only when `If-Range` is absent or names, by
/// strong comparison, one of the blob's current entity tags (`etags`: its digest quoted, as
/// distribution sends it, and the stored ETag). A date, a weak tag or another tag asks for the
/// whole blob (200): the client's partial copy may be of something else.
pub(crate) fn range_applies(if_range: Option<&str>, etags: &[&str]) -> bool {
    let Some(v) = if_range.map(str::trim) else {
        return true;
    };
    let strong = v.len() >= 2 && v.starts_with('"') && v.ends_with('"');
    strong && etags.iter().any(|e| !e.starts_with("W/") && *e == v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Upstream {
        Upstream::parse("docker.io").unwrap()
    }
    fn name(n: &str) -> RepoName {
        crate::reference::normalize_name(n, true).unwrap()
    }
    const D: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; // "hello"

    #[test]
    fn if_range_needs_a_strong_match() {
        let tags = [&*format!("\"{D}\""), "\"s3-etag\""];
        assert!(range_applies(None, &tags));
        assert!(range_applies(Some(&format!("\"{D}\"")), &tags));
        assert!(range_applies(Some(" \"s3-etag\" "), &tags));
        for other in [
            format!("W/\"{D}\""),
            format!("\"{D}x\""),
            D.to_owned(),
            "\"\"".into(),
            "\"".into(),
            "Wed, 21 Oct 2015 07:28:00 GMT".into(),
            String::new(),
        ] {
            assert!(!range_applies(Some(&other), &tags), "{other}");
        }
        assert!(
            !range_applies(Some("W/\"x\""), &["W/\"x\""]),
            "weak never matches"
        );
    }

    #[test]
    fn keys_say_what_not_who() {
        let tag = Reference::parse("latest").unwrap();
        let k = manifest_key(&hub(), &name("nginx"), &tag);
        assert_eq!(
            k.url,
            "http://edge-registry-proxy.cache/docker.io/library/nginx/manifests/latest"
        );
        assert_eq!(k.kind, Cacheable::Tag);
        let by_digest = manifest_key(&hub(), &name("nginx"), &Reference::parse(D).unwrap());
        assert_eq!(
            by_digest.url,
            format!("http://edge-registry-proxy.cache/docker.io/library/nginx/manifests/{D}")
        );
        assert_eq!(by_digest.kind, Cacheable::Immutable);
        let b = blob_key(&hub(), &name("nginx"), &Digest::parse(D).unwrap());
        assert_eq!(
            b.url,
            format!("http://edge-registry-proxy.cache/docker.io/library/nginx/blobs/{D}")
        );
        assert_ne!(
            b.url,
            blob_key(&hub(), &name("redis"), &Digest::parse(D).unwrap()).url
        );
    }

    const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    const LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    const V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
    const OCI: &str = "application/vnd.oci.image.manifest.v1+json";

    #[test]
    fn what_each_client_accepts() {
        // As sent by the clients (docker 20.10, containerd 1.6, skopeo/podman, crane).
        let docker = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v1+prettyjws";
        let containerd = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*";
        let skopeo = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws, application/vnd.docker.distribution.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json";
        for client in [docker, containerd, skopeo, MANIFEST_ACCEPT] {
            for t in [INDEX, LIST, V2, OCI] {
                assert!(accepts(Some(client), t), "{t} for {client}");
            }
        }
        assert!(accepts(
            Some("Application/VND.OCI.image.index.v1+json"),
            INDEX
        ));
        assert!(accepts(Some(&format!("{INDEX}; charset=utf-8")), INDEX));
        assert!(accepts(Some("application/*"), INDEX));
        assert!(accepts(Some(V2), &format!("{V2}; charset=utf-8")));
        // An old client that wants one platform's manifest.
        assert!(!accepts(Some(V2), INDEX));
        assert!(!accepts(Some(&format!("{V2}, {OCI}")), LIST));
        assert!(!accepts(Some("text/*"), INDEX));
        // q=0 refuses.
        assert!(!accepts(Some(&format!("{V2}, {INDEX};q=0")), INDEX));
        assert!(!accepts(Some(&format!("*/*, {INDEX}; Q=0.000")), INDEX));
        assert!(accepts(Some(&format!("{INDEX};q=0.5")), INDEX));
        // No Accept: the registry default, a schema 2 image manifest.
        for none in [None, Some(""), Some("  ")] {
            assert!(accepts(none, V2));
            assert!(!accepts(none, INDEX));
            assert!(!accepts(none, OCI));
        }
        // A stored entry without a type is never served as acceptable.
        assert!(!accepts(Some("*/*"), ""));
        assert!(!accepts(Some("*/*"), "nonsense"));
    }

    #[test]
    fn manifests_are_stored_only_when_verified() {
        let by_digest = Reference::parse(D).unwrap();
        assert!(manifest_verified(&by_digest, None, b"hello"));
        assert!(!manifest_verified(&by_digest, Some(D), b"hellO"));
        let tag = Reference::parse("latest").unwrap();
        assert!(manifest_verified(&tag, Some(D), b"hello"));
        assert!(!manifest_verified(&tag, None, b"hello"));
        assert!(!manifest_verified(&tag, Some(D), b"truncated"));
        assert!(!manifest_verified(
            &tag,
            Some(&format!("sha512:{}", "0".repeat(128))),
            b"hello"
        ));
    }

    #[test]
    fn blobs_are_stored_only_complete_and_small_enough() {
        let h = |pairs: &[(&str, &str)]| -> Headers { pairs.iter().copied().collect() };
        let len10 = h(&[("content-length", "10")]);
        assert_eq!(blob_storable(200, &len10, 100), Some(10));
        assert_eq!(blob_storable(206, &len10, 100), None);
        assert_eq!(blob_storable(404, &len10, 100), None);
        assert_eq!(blob_storable(200, &h(&[]), 100), None);
        assert_eq!(
            blob_storable(200, &h(&[("content-length", "101")]), 100),
            None
        );
        assert_eq!(
            blob_storable(200, &h(&[("content-length", "-1")]), 100),
            None
        );
        // fetch decoded the body: its length is not the header's.
        let gz = h(&[("content-length", "10"), ("content-encoding", "gzip")]);
        assert_eq!(blob_storable(200, &gz, 100), None);
        let identity = h(&[("content-length", "10"), ("content-encoding", "identity")]);
        assert_eq!(blob_storable(200, &identity, 100), Some(10));
    }

    #[test]
    fn only_committed_entries_are_served() {
        assert!(committed(Some("id-1"), Some("id-1")));
        assert!(
            !committed(Some("id-2"), Some("id-1")),
            "a late put over a committed one"
        );
        assert!(!committed(Some("id-1"), None), "never committed");
        assert!(!committed(None, Some("id-1")));
        assert!(!committed(Some(""), Some("")));
        let k = blob_key(&hub(), &name("x"), &Digest::parse(D).unwrap());
        assert_eq!(commit_key(&k), format!("{}?committed", k.url));
    }

    #[test]
    fn tag_freshness_and_storage_lifetimes() {
        assert!(tag_fresh(Some("1000"), 1599, 600));
        assert!(!tag_fresh(Some("1000"), 1600, 600));
        assert!(!tag_fresh(None, 0, 600));
        assert!(!tag_fresh(Some("garbage"), 0, 600));
        let tag = manifest_key(&hub(), &name("x"), &Reference::parse("t").unwrap());
        assert_eq!(
            tag.storage_cache_control(600),
            format!("public, max-age={}", 600 + STALE_WINDOW_SECS)
        );
        let blob = blob_key(&hub(), &name("x"), &Digest::parse(D).unwrap());
        assert_eq!(
            blob.storage_cache_control(600),
            format!("public, max-age={IMMUTABLE_SECS}")
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(single_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(single_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(single_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(single_range("bytes=-1000", 100), Some((0, 99)));
        assert_eq!(single_range("bytes=95-200", 100), Some((95, 99)));
        for bad in [
            "bytes=100-",
            "bytes=5-1",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=-0",
            "bytes=a-b",
            "bytes=--1",
            "bytes=1-2-3",
            "",
        ] {
            assert_eq!(single_range(bad, 100), None, "{bad}");
        }
        assert_eq!(single_range("bytes=0-0", 0), None);
    }
}
