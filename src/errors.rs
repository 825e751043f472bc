//! Registry-style errors: `{"errors":[{"code":...,"message":...}]}` with the status clients expect.
//!
//! Every refusal the proxy produces goes through here, so a client always sees a code it knows
//! and a message a person can act on, never a bare 500 or an HTML page.

/// The error codes of the distribution spec that this proxy emits, plus `CONFIG_INVALID` for an
/// operator mistake (which must never degrade into an open proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthorized,
    Denied,
    NameInvalid,
    TagInvalid,
    DigestInvalid,
    NameUnknown,
    ManifestUnknown,
    BlobUnknown,
    Unsupported,
    NotFound,
    TooManyRequests,
    Unavailable,
    ConfigInvalid,
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::TagInvalid => "TAG_INVALID",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::ConfigInvalid => "CONFIG_INVALID",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Unauthorized => 401,
            ErrorCode::Denied => 403,
            ErrorCode::NameInvalid | ErrorCode::TagInvalid | ErrorCode::DigestInvalid => 400,
            ErrorCode::NameUnknown
            | ErrorCode::ManifestUnknown
            | ErrorCode::BlobUnknown
            | ErrorCode::NotFound => 404,
            ErrorCode::Unsupported => 405,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::Unavailable => 502,
            ErrorCode::ConfigInvalid | ErrorCode::Unknown => 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub code: ErrorCode,
    pub message: String,
    /// Overrides `code.status()` where the spec pairs a code with another status
    /// (e.g. 404 UNSUPPORTED for an endpoint this proxy does not serve).
    pub status: u16,
    /// `Retry-After` to send with a 429 from an upstream.
    pub retry_after: Option<String>,
}

impl RegistryError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RegistryError {
            code,
            message: message.into(),
            status: code.status(),
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Denied, message)
    }

    pub fn name_invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NameInvalid, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// A request the proxy does not understand (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unsupported, message).with_status(400)
    }

    pub fn read_only() -> Self {
        Self::new(
            ErrorCode::Unsupported,
            "this registry mirror is read-only: only GET and HEAD are served",
        )
    }

    /// The JSON body, as the distribution spec shapes it.
    pub fn body(&self) -> String {
        let body = ErrorBody {
            errors: [ErrorEntry {
                code: self.code.as_str(),
                message: &self.message,
            }],
        };
        serde_json::to_string(&body).expect("strings serialize")
    }
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// `{"errors":[{"code":...,"message":...}]}` (messages may echo client input: serde escapes).
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    errors: [ErrorEntry<'a>; 1],
}

#[derive(serde::Serialize)]
struct ErrorEntry<'a> {
    code: &'a str,
    message: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_registry_json_with_escaped_message() {
        let e = RegistryError::denied("image \"x\" is <not> allowed\n");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["errors"][0]["code"], "DENIED");
        assert_eq!(v["errors"][0]["message"], "image \"x\" is <not> allowed\n");
        assert_eq!(e.status, 403);
    }

    #[test]
    fn statuses_follow_the_spec() {
        assert_eq!(ErrorCode::NameInvalid.status(), 400);
        assert_eq!(ErrorCode::Unauthorized.status(), 401);
        assert_eq!(ErrorCode::ManifestUnknown.status(), 404);
        assert_eq!(RegistryError::read_only().status, 405);
        assert_eq!(ErrorCode::TooManyRequests.status(), 429);
        assert_eq!(
            RegistryError::new(ErrorCode::Unsupported, "x")
                .with_status(404)
                .status,
            404
        );
    }
}
