//! Upstream token answers (`{"token": "...", "expires_in": n, ...}`), untrusted input: what the
//! proxy believes of them, and whether a client may have the answer's own text.
//!
//! Handed on verbatim only when strictly what the proxy would write itself: one token value
//! (`token` and `access_token` the same), no key twice (a client's JSON reader may keep another
//! duplicate than ours), a lifetime within bounds, an `issued_at` that is a real RFC 3339 time
//! (skopeo fails "month out of range" on `0000-00-00T...`), nothing else. Otherwise the proxy
//! writes a fresh answer from the fields it read.

use crate::errors::{ErrorCode, RegistryError};

/// A token from an upstream token service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamToken {
    pub token: String,
    pub expires_in: Option<u64>,
    /// The answer's own text when a client may have it as it is (see the module doc). Handing it
    /// on saves writing the ~1 KB token out again.
    pub answer: Option<String>,
}

/// Longest upstream token lifetime believed: an absurd `expires_in` must not overflow expiry
/// arithmetic or keep a token cached for ever.
pub(crate) const MAX_UPSTREAM_TOKEN_SECS: u64 = 24 * 3600;

/// Whether every member name of the JSON object `json` (already parsed as one) appears once,
/// each written without escapes (so equal names are equal texts). serde_json's map keeps the
/// last of two equal names, and a client's reader may keep another. A scan of the text, not a
/// visitor that keeps the members: that measured +23 KB of wasm (271.6 against 248.3 KB).
fn names_unique(json: &str) -> bool {
    let b = json.as_bytes();
    let mut names: Vec<&[u8]> = Vec::new();
    let (mut depth, mut i, mut expect_name) = (0usize, 0usize, false);
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i + 1;
                i = start;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && expect_name {
                    let name = &b[start..i.min(b.len())];
                    if name.contains(&b'\\') || names.contains(&name) {
                        return false;
                    }
                    names.push(name);
                    expect_name = false;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                expect_name = depth == 1;
            }
            b'}' | b']' => depth -= 1,
            b',' => expect_name = depth == 1,
            _ => {}
        }
        i += 1;
    }
    true
}

/// `{"token"|"access_token": "...", "expires_in": n}`; everything else is ignored.
pub fn parse_token_answer(json: String) -> Result<UpstreamToken, RegistryError> {
    let bad = || {
        RegistryError::new(
            ErrorCode::Unavailable,
            "upstream token answer is not a token",
        )
    };
    let v: serde_json::Value = serde_json::from_str(&json).map_err(|_| bad())?;
    let field = |k| v.get(k);
    let token = field("token")
        .or_else(|| field("access_token"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(bad)?;
    let expires_in = field("expires_in").and_then(|e| e.as_u64());
    // The field the token was read from is the token itself: no need to compare it.
    let is_token = |k| {
        field(k)
            .and_then(|t| t.as_str())
            .is_some_and(|t| std::ptr::eq(t, token) || same_text(t, token))
    };
    let lifetime_ok = field("expires_in")
        .is_none_or(|_| expires_in.is_some_and(|e| e <= MAX_UPSTREAM_TOKEN_SECS));
    let issued_ok = field("issued_at").is_none_or(|i| i.as_str().is_some_and(is_rfc3339));
    let as_is = is_token("token")
        && is_token("access_token")
        && lifetime_ok
        && issued_ok
        && v.as_object().map_or(0, |o| o.len())
            == 2 + usize::from(field("expires_in").is_some())
                + usize::from(field("issued_at").is_some())
        && names_unique(&json);
    Ok(UpstreamToken {
        token: token.to_owned(),
        expires_in: expires_in.map(|e| e.min(MAX_UPSTREAM_TOKEN_SECS)),
        answer: as_is.then_some(json),
    })
}

/// Equal texts, compared 8 bytes at a time: `==` ends in a byte-at-a-time `memcmp` on MVP wasm
/// (about 20 instructions a byte), and Docker Hub's tokens are ~1.4 KB; comparing a token
/// answer's two copies that way was 57 k instructions per token request (bench/instructions.mjs).
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or_default());
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    x.by_ref().zip(y.by_ref()).all(|(p, q)| word(p) == word(q)) && x.remainder() == y.remainder()
}

/// RFC 3339 `date-time` as Go's `time.Parse(time.RFC3339Nano, s)` accepts it (docker, skopeo and
/// containerd read `issued_at` with it): `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, a real date,
/// hours, minutes and seconds in range.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |at: usize, len: usize| -> Option<u32> {
        let digits = b.get(at..at + len)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (Some(year), Some(month), Some(day)) = (num(0, 4), num(5, 2), num(8, 2)) else {
        return false;
    };
    let (Some(hour), Some(minute), Some(second)) = (num(11, 2), num(14, 2), num(17, 2)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    let layout = at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':');
    if !layout || !(1..=days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        let frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&frac) {
            return false;
        }
        i += 1 + frac;
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && at(i + 3, b':')
                && num(i + 1, 2).is_some_and(|h| h <= 23)
                && num(i + 4, 2).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers() {
        let t = parse_token_answer(r#"{"token":"T","expires_in":300,"refresh_token":"R"}"#.into())
            .unwrap();
        assert_eq!(
            t,
            UpstreamToken {
                token: "T".into(),
                expires_in: Some(300),
                answer: None,
            }
        );
        assert_eq!(
            parse_token_answer(r#"{"access_token":"A"}"#.into())
                .unwrap()
                .token,
            "A"
        );
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"token":""}"#,
            r#"{"token":5}"#,
            "<html>",
        ] {
            assert!(parse_token_answer(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn absurd_token_lifetimes_are_clamped() {
        let t = parse_token_answer(
            r#"{"token":"T","access_token":"T","expires_in":18446744073709551615}"#.into(),
        )
        .unwrap();
        assert_eq!(t.expires_in, Some(MAX_UPSTREAM_TOKEN_SECS));
        assert_eq!(
            t.answer, None,
            "handed on, it would keep the absurd lifetime"
        );
    }

    #[test]
    fn token_answers_handed_on_only_when_nothing_in_them_changes() {
        let hub = r#"{"token":"T","access_token":"T","expires_in":300,"issued_at":"2026-11-23T21:00:37.939Z"}"#;
        assert_eq!(
            parse_token_answer(hub.into()).unwrap().answer.as_deref(),
            Some(hub)
        );
        let day = MAX_UPSTREAM_TOKEN_SECS;
        for kept in [
            r#"{"access_token":"T","token":"T"}"#.to_owned(),
            format!(r#"{{"token":"T","access_token":"T","expires_in":{day}}}"#),
            r#"{"token":"T","access_token":"T","issued_at":"2026-11-23T21:00:37+08:00"}"#.into(),
        ] {
            let t = parse_token_answer(kept.clone()).unwrap();
            assert_eq!(t.answer.as_deref(), Some(kept.as_str()));
        }
        for rebuilt in [
            r#"{"token":"T"}"#.to_owned(),
            r#"{"access_token":"T"}"#.into(),
            r#"{"token":"T","access_token":"U"}"#.into(),
            r#"{"token":"T","access_token":"T","refresh_token":"R"}"#.into(),
            r#"{"token":"T","access_token":"T","expires_in":"300"}"#.into(),
            r#"{"token":"T","access_token":"T","expires_in":-1}"#.into(),
            format!(
                r#"{{"token":"T","access_token":"T","expires_in":{}}}"#,
                day + 1
            ),
            r#"{"token":"T","access_token":"T","issued_at":"yesterday"}"#.into(),
            r#"{"token":"T","access_token":"T","issued_at":"2026-11-23T21:00:37Z<script>"}"#.into(),
            r#"{"token":"T","access_token":"T","issued_at":1700000000}"#.into(),
        ] {
            let t = parse_token_answer(rebuilt.clone()).unwrap();
            assert_eq!((t.token.as_str(), t.answer), ("T", None), "{rebuilt}");
        }
    }

    #[test]
    fn long_tokens_compared_to_the_last_byte() {
        // Docker Hub's tokens are ~1.4 KB: compared a word at a time, and a tail of 0-7 bytes.
        for len in [1400, 1401, 1407, 1408] {
            let t: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            assert!(same_text(&t, &t.clone()));
            for at in [0, 7, 8, 700, len - 1] {
                let mut u = t.clone().into_bytes();
                u[at] = b'-';
                let u = String::from_utf8(u).unwrap();
                assert!(!same_text(&t, &u), "{len} {at}");
                let answer = format!(r#"{{"token":"{t}","access_token":"{u}"}}"#);
                assert_eq!(
                    parse_token_answer(answer).unwrap().answer,
                    None,
                    "{len} {at}"
                );
            }
            assert!(!same_text(&t, &t[..len - 1]));
            let same = format!(r#"{{"token":"{t}","access_token":"{t}"}}"#);
            assert_eq!(parse_token_answer(same.clone()).unwrap().answer, Some(same));
        }
    }

    #[test]
    fn strictly_valid_answers_only_go_on_as_they_are() {
        for (answer, why) in [
            (
                r#"{"token":"T","access_token":"T","issued_at":"0000-00-00T00:00:00Z"}"#,
                "no month 0",
            ),
            (
                r#"{"token":"T","access_token":"T","issued_at":"9999-99-99T99:99:99Z"}"#,
                "out of range",
            ),
            (
                r#"{"token":"T","access_token":"T","issued_at":"2026-02-29T00:00:00Z"}"#,
                "not a leap year",
            ),
            (
                r#"{"token":"T","access_token":"T","token":"U"}"#,
                "two tokens",
            ),
            (
                r#"{"token":"T","access_token":"T","expires_in":60,"expires_in":1e12}"#,
                "two lifetimes",
            ),
            (
                r#"{"token":"T","access_token":"T","issued_at":"2026-11-23T21:00:37Z","issued_at":"x"}"#,
                "two times",
            ),
        ] {
            let t = parse_token_answer(answer.into()).unwrap();
            assert_eq!(t.answer, None, "{why}: {answer}");
            // Rewritten with the one token read (serde_json keeps the last of a name).
            assert!(
                t.token == "T" || why == "two tokens" && t.token == "U",
                "{why}"
            );
        }
        let leap =
            r#"{"token":"T","access_token":"T","issued_at":"2024-02-29T23:59:59.123456789-05:30"}"#;
        assert_eq!(
            parse_token_answer(leap.into()).unwrap().answer.as_deref(),
            Some(leap)
        );
    }

    #[test]
    fn member_names_twice_are_found_at_the_top_level_only() {
        for (json, unique) in [
            (r#"{"a":1,"b":2}"#, true),
            (r#"{"a":{"a":1,"b":[{"a":2}]},"b":"a"}"#, true),
            (r#"{"a":"\"a\",","b":1}"#, true),
            (r#" { "a" : 1 , "a" : 2 } "#, false),
            (r#"{"a":[1,{"x":1}],"a":2}"#, false),
            (r#"{"\u0061":1,"a":2}"#, false),
            (r#"{"a\"":1}"#, false),
            ("{}", true),
        ] {
            assert_eq!(names_unique(json), unique, "{json}");
        }
    }

    #[test]
    fn rfc3339_as_go_reads_it() {
        for ok in [
            "2026-11-23T21:00:37Z",
            "2026-11-23T21:00:37.939Z",
            "2026-11-23T21:00:37.123456789Z",
            "2026-11-23T21:00:37+08:00",
            "2000-02-29T00:00:00-00:00",
            "2026-12-31T23:59:59Z",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T21:00:37",
            "2026-11-23 21:00:37Z",
            "2026-11-23t21:00:37Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T21:60:00Z",
            "2026-11-23T21:00:60Z",
            "2026-11-23T21:00:37.Z",
            "2026-11-23T21:00:37.1234567890Z",
            "2026-11-23T21:00:37+24:00",
            "2026-11-23T21:00:37+08:60",
            "2026-11-23T21:00:37+0800",
            "2026-11-23T21:00:37Z ",
            "2026-11-23T21:00:37Zx",
            "+026-11-23T21:00:37Z",
            "2026-1-23T21:00:37Z",
            "２026-11-23T21:00:37Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }
}
