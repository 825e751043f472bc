//! The edge cache policy (`CACHE=on`): what is stored, under which key, for how long, and when
//! a stored answer may be served. One policy; the platforms only store and fetch.
//!
//! - Manifests by digest and blobs are immutable: kept 30 days, never revalidated.
//! - A tag's manifest is reused for `CACHE_TAG_TTL` seconds; it is kept a day longer so that, if
//!   the upstream fails, the last answer can still be served (marked stale).
//! - Only complete `200` answers are stored: a manifest only after its sha256 matched the digest
//!   asked for (or, for a tag, the upstream's `Docker-Content-Digest`); a blob only when its body
//!   arrived whole. Never a 206, an error, or a body that ended early.
//! - Keys say registry, repository and reference (and, for tags, the Accept set); never who asked
//!   or with which credentials. Only answers fetched with the proxy's own identity are stored,
//!   so whatever is stored may be served to anyone the proxy authorizes for that repository.

use sha2::{Digest as _, Sha256};

use crate::reference::{Digest, Reference, RepoName};
use crate::upstream::Upstream;

/// Immutable content lives this long in the cache.
pub const IMMUTABLE_SECS: u64 = 30 * 24 * 3600;
/// How long past its freshness a tag answer is kept for serving stale.
pub const STALE_WINDOW_SECS: u64 = 24 * 3600;
/// Manifests are read into memory to verify them; the distribution spec caps them at 4 MiB.
pub const MANIFEST_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Header recording when a tag answer was fetched (unix seconds), for freshness.
pub const FETCHED_AT_HEADER: &str = "x-erp-fetched-at";
/// Streamed entries are committed in two phases: the body carries a random id in this header,
/// and a small marker entry holding that id is written only once the body arrived whole. Some
/// caches (workerd's) keep whatever part of a body arrived before its stream failed, and a late,
/// truncated put may land over a good one: only an entry whose id matches the marker is served.
pub const PUT_ID_HEADER: &str = "x-erp-put";
/// Every key lives under this origin: `http://` because ESA's cache takes only http:// keys.
const KEY_ORIGIN: &str = "http://edge-registry-proxy.cache";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cacheable {
    /// Manifest by digest, or a blob.
    Immutable,
    /// Manifest by tag: fresh for `CACHE_TAG_TTL`.
    Tag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    pub url: String,
    pub kind: Cacheable,
}

impl CacheKey {
    /// `Cache-Control` for the stored copy: how long the platform keeps it.
    pub fn storage_cache_control(&self, tag_ttl: u32) -> String {
        let secs = match self.kind {
            Cacheable::Immutable => IMMUTABLE_SECS,
            Cacheable::Tag => u64::from(tag_ttl) + STALE_WINDOW_SECS,
        };
        format!("public, max-age={secs}")
    }
}

pub fn manifest_key(
    upstream: &Upstream,
    name: &RepoName,
    reference: &Reference,
    accept: Option<&str>,
) -> CacheKey {
    let base = format!(
        "{KEY_ORIGIN}/{}/{name}/manifests/{}",
        upstream.name,
        reference.as_str()
    );
    match reference {
        Reference::Digest(_) => CacheKey {
            url: base,
            kind: Cacheable::Immutable,
        },
        // What a tag resolves to depends on what the client accepts (index or single manifest).
        Reference::Tag(_) => CacheKey {
            url: format!("{base}?accept={}", accept_fingerprint(accept)),
            kind: Cacheable::Tag,
        },
    }
}

/// Blobs are keyed per repository: a client authorized for one repository must not get another
/// repository's layer by naming its digest.
pub fn blob_key(upstream: &Upstream, name: &RepoName, digest: &Digest) -> CacheKey {
    CacheKey {
        url: format!(
            "{KEY_ORIGIN}/{}/{name}/blobs/{}",
            upstream.name,
            digest.as_str()
        ),
        kind: Cacheable::Immutable,
    }
}

/// The Accept header as a set: media types, lowercased, parameters (q=) dropped, sorted.
pub fn normalize_accept(accept: Option<&str>) -> String {
    let mut types: Vec<String> = accept
        .unwrap_or("")
        .split(',')
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty())
        .collect();
    types.sort();
    types.dedup();
    types.join(",")
}

fn accept_fingerprint(accept: Option<&str>) -> String {
    let digest = Sha256::digest(normalize_accept(accept).as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A fetched manifest may be stored when its bytes are what was asked for.
pub fn manifest_verified(
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

/// A blob answer may be stored when it is a complete 200 of a known size within the limit.
pub fn blob_storable(status: u16, content_length: Option<&str>, max_bytes: u64) -> Option<u64> {
    if status != 200 {
        return None;
    }
    let len: u64 = content_length?.trim().parse().ok()?;
    (len <= max_bytes).then_some(len)
}

/// A stored body's length: some caches (workerd's) drop `Content-Length` from what they return,
/// and a HEAD or a Range answer needs it.
pub const SIZE_HEADER: &str = "x-erp-length";

/// The key of the commit marker of a streamed entry.
pub fn commit_key(key: &CacheKey) -> String {
    format!("{}?committed", key.url)
}

/// A streamed entry may be served only when its put id matches its commit marker.
pub fn committed(put_id: Option<&str>, marker: Option<&str>) -> bool {
    matches!((put_id, marker), (Some(a), Some(b)) if !a.is_empty() && a == b.trim())
}

/// Whether a stored tag answer fetched at `fetched_at` is still fresh at `now`.
pub fn tag_fresh(fetched_at: Option<&str>, now: u64, tag_ttl: u32) -> bool {
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
    fn keys_say_what_not_who() {
        let tag = Reference::parse("latest").unwrap();
        let k = manifest_key(
            &hub(),
            &name("nginx"),
            &tag,
            Some("application/vnd.oci.image.index.v1+json"),
        );
        assert!(k.url.starts_with(
            "http://edge-registry-proxy.cache/docker.io/library/nginx/manifests/latest?accept="
        ));
        assert_eq!(k.kind, Cacheable::Tag);
        let by_digest = manifest_key(
            &hub(),
            &name("nginx"),
            &Reference::parse(D).unwrap(),
            Some("x"),
        );
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

    #[test]
    fn accept_is_a_set() {
        let a = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json;q=0.9";
        let b = "Application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.index.v1+json,application/vnd.oci.image.index.v1+json";
        assert_eq!(normalize_accept(Some(a)), normalize_accept(Some(b)));
        let tag = Reference::parse("latest").unwrap();
        assert_eq!(
            manifest_key(&hub(), &name("x"), &tag, Some(a)),
            manifest_key(&hub(), &name("x"), &tag, Some(b))
        );
        assert_ne!(
            manifest_key(&hub(), &name("x"), &tag, Some(a)),
            manifest_key(
                &hub(),
                &name("x"),
                &tag,
                Some("application/vnd.docker.distribution.manifest.v2+json")
            )
        );
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
        assert_eq!(blob_storable(200, Some("10"), 100), Some(10));
        assert_eq!(blob_storable(206, Some("10"), 100), None);
        assert_eq!(blob_storable(404, Some("10"), 100), None);
        assert_eq!(blob_storable(200, None, 100), None);
        assert_eq!(blob_storable(200, Some("101"), 100), None);
        assert_eq!(blob_storable(200, Some("-1"), 100), None);
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
        let tag = manifest_key(&hub(), &name("x"), &Reference::parse("t").unwrap(), None);
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
