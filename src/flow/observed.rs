//! What this instance has seen of its upstreams, for `/version`: the last pull limit each
//! announced (Docker Hub's `ratelimit-limit`/`ratelimit-remaining`) and how many reads fallback
//! sources answered. Per instance: a platform runs many, each with its own.

use std::cell::{Cell, RefCell};

use crate::http::Headers;

#[derive(Default)]
pub struct Observed {
    /// (registry name, ratelimit-limit, ratelimit-remaining), as last sent.
    limits: RefCell<Vec<(String, String, String)>>,
    fallback_served: Cell<u64>,
}

/// A header value as shown: bounded, printable (it is the upstream's text).
fn shown(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect()
}

impl Observed {
    /// What an upstream answer's headers (None: no answer) said of the pull limit.
    pub(super) fn record(&self, registry: &str, answer: Option<&Headers>) {
        let Some(h) = answer else { return };
        let (Some(limit), Some(remaining)) =
            (h.get("ratelimit-limit"), h.get("ratelimit-remaining"))
        else {
            return;
        };
        let mut l = self.limits.borrow_mut();
        l.retain(|(n, _, _)| n != registry);
        l.push((registry.to_owned(), shown(limit), shown(remaining)));
    }

    pub(super) fn fallback_answered(&self) {
        self.fallback_served.set(self.fallback_served.get() + 1);
    }

    pub(super) fn limits(&self) -> Vec<(String, String, String)> {
        self.limits.borrow().clone()
    }

    pub(super) fn fallback_served(&self) -> u64 {
        self.fallback_served.get()
    }
}
