//! Repository names, tags and digests: the distribution grammar, and Docker Hub's `library/` rule.
//!
//! Validation is strict on purpose: a name is accepted only in its one canonical spelling, so the
//! string the whitelist sees is byte for byte the string sent upstream. `..`, `%2F`, `//`,
//! uppercase and over-long names cannot be smuggled past the whitelist because they never parse.

use crate::errors::{ErrorCode, RegistryError};

/// distribution's NameTotalLengthMax.
pub const NAME_MAX_LEN: usize = 255;
const TAG_MAX_LEN: usize = 128;

/// A validated repository name, already normalised for its registry (`nginx` -> `library/nginx`
/// on Docker Hub).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoName(String);

impl RepoName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates `raw` against the distribution grammar and applies Docker Hub's `library/` rule.
/// `docker_hub` is true when the upstream is Docker Hub.
pub fn normalize_name(raw: &str, docker_hub: bool) -> Result<RepoName, RegistryError> {
    validate_name(raw)?;
    let name = if docker_hub && !raw.contains('/') {
        format!("library/{raw}")
    } else {
        raw.to_owned()
    };
    if name.len() > NAME_MAX_LEN {
        return Err(RegistryError::name_invalid(format!(
            "repository name is longer than {NAME_MAX_LEN} characters"
        )));
    }
    Ok(RepoName(name))
}

/// `path-component ("/" path-component)*`, each component
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, total length at most 255.
pub(crate) fn validate_name(raw: &str) -> Result<(), RegistryError> {
    if raw.is_empty() {
        return Err(RegistryError::name_invalid("repository name is empty"));
    }
    if raw.len() > NAME_MAX_LEN {
        return Err(RegistryError::name_invalid(format!(
            "repository name is longer than {NAME_MAX_LEN} characters"
        )));
    }
    for component in raw.split('/') {
        if !is_path_component(component) {
            return Err(RegistryError::name_invalid(format!(
                "invalid repository name {}: each part must be lowercase letters and digits, \
                 separated by '.', '_', '__' or '-'",
                quote_for_message(raw)
            )));
        }
    }
    Ok(())
}

fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__", or one or more "-"; it must be followed by alnum.
        let sep_ok = match b[i] {
            b'.' => {
                i += 1;
                true
            }
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
                true
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
                true
            }
            _ => false,
        };
        if !sep_ok || i >= b.len() || !alnum(b[i]) {
            return false;
        }
    }
    true
}

/// What follows `/manifests/`: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    pub fn parse(raw: &str) -> Result<Reference, RegistryError> {
        if raw.contains(':') {
            Digest::parse(raw).map(Reference::Digest)
        } else {
            validate_tag(raw)?;
            Ok(Reference::Tag(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(t) => t,
            Reference::Digest(d) => d.as_str(),
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
pub(crate) fn validate_tag(raw: &str) -> Result<(), RegistryError> {
    let b = raw.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let ok = !b.is_empty()
        && b.len() <= TAG_MAX_LEN
        && word(b[0])
        && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-');
    if ok {
        Ok(())
    } else {
        Err(RegistryError::new(
            ErrorCode::TagInvalid,
            format!("invalid tag {}", quote_for_message(raw)),
        ))
    }
}

/// A content digest. Only the algorithms registries actually serve are accepted, with their
/// exact hex length, lowercase: an unknown algorithm is a client error, not an upstream question.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    pub(crate) fn parse(raw: &str) -> Result<Digest, RegistryError> {
        let invalid = || {
            RegistryError::new(
                ErrorCode::DigestInvalid,
                format!(
                    "invalid digest {}: expected sha256:<64 hex> or sha512:<128 hex>",
                    quote_for_message(raw)
                ),
            )
        };
        let (alg, hex) = raw.split_once(':').ok_or_else(invalid)?;
        let want = match alg {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(invalid()),
        };
        let hex_ok = hex.len() == want
            && hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if hex_ok {
            Ok(Digest(raw.to_owned()))
        } else {
            Err(invalid())
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Client input echoed in a message: bounded and quoted, so a hostile name can't flood logs.
pub(crate) fn quote_for_message(raw: &str) -> String {
    let mut s: String = raw.chars().take(80).collect();
    if raw.chars().count() > 80 {
        s.push('…');
    }
    format!("{s:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_official_images_get_library_prefix() {
        assert_eq!(
            normalize_name("nginx", true).unwrap().as_str(),
            "library/nginx"
        );
        assert_eq!(
            normalize_name("library/nginx", true).unwrap().as_str(),
            "library/nginx"
        );
        assert_eq!(normalize_name("jq/tool", true).unwrap().as_str(), "jq/tool");
        // Other registries have no implicit namespace.
        assert_eq!(normalize_name("nginx", false).unwrap().as_str(), "nginx");
    }

    #[test]
    fn grammar_accepts_real_names() {
        for ok in [
            "a",
            "library/nginx",
            "my-org/my_app",
            "a__b/c---d/e.f",
            "0/1/2/3",
            "kube-apiserver",
            "docker.io/library/x",
        ] {
            assert!(validate_name(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn grammar_refuses_tricks() {
        for bad in [
            "",
            "..",
            "library/../x",
            "library/./x",
            "a//b",
            "/a",
            "a/",
            "Nginx",
            "library%2fnginx",
            "library%2Fnginx",
            "a b",
            "a___b",
            "a.-b",
            "-a",
            "a-",
            "a_",
            ".a",
            "a\\b",
            "a\u{0}b",
            "ａ",    // fullwidth a
            "nginх", // Cyrillic х
            "a;b",
            "a?b",
            "a#b",
        ] {
            let e = validate_name(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::NameInvalid, "{bad:?}");
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn length_limit_applies_after_library_prefix() {
        let at_limit = "a".repeat(NAME_MAX_LEN);
        assert!(validate_name(&at_limit).is_ok());
        assert!(validate_name(&"a".repeat(NAME_MAX_LEN + 1)).is_err());
        // 250 chars + "library/" exceeds 255 once normalised.
        let short = "a".repeat(250);
        assert!(normalize_name(&short, false).is_ok());
        assert!(normalize_name(&short, true).is_err());
    }

    #[test]
    fn tags() {
        for ok in ["latest", "1.25.3-alpine", "_x", "A_b.c-d", &"t".repeat(128)] {
            assert!(Reference::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a%20", &"t".repeat(129), "a b", "é"] {
            assert_eq!(
                Reference::parse(bad).unwrap_err().code,
                ErrorCode::TagInvalid,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn digests() {
        let hex = "a".repeat(64);
        let d = format!("sha256:{hex}");
        assert_eq!(
            Reference::parse(&d).unwrap(),
            Reference::Digest(Digest(d.clone()))
        );
        assert!(Digest::parse(&format!("sha512:{}", "0".repeat(128))).is_ok());
        for bad in [
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("md5:{hex}"),
            format!("sha256:{hex}/../x"),
            "sha256:".to_owned(),
        ] {
            assert_eq!(
                Reference::parse(&bad).unwrap_err().code,
                ErrorCode::DigestInvalid,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn messages_bound_hostile_input() {
        let long = "X".repeat(10_000);
        let e = validate_name(&long).unwrap_err();
        assert!(e.message.len() < 300);
    }
}
