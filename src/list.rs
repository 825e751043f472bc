//! How every list in the configuration is written: entries separated by commas and/or white
//! space, empty entries ignored. One definition, so the whitelist, the user list, ROUTES and the
//! "separators only" check can never disagree about what an entry is.

/// The entries of a list value, in order.
pub fn entries(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_and_white_space_separate() {
        let got: Vec<&str> = entries(" a, b\tc\n,, d ").collect();
        assert_eq!(got, ["a", "b", "c", "d"]);
        assert_eq!(entries(" , ,\t").count(), 0);
    }
}
