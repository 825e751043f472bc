//! What the isolate remembers between requests: each upstream's auth scheme, the proxy's own
//! upstream tokens, which operator accounts rest, and what was observed for `/version`.

use std::cell::{Cell, RefCell};

use super::learned_auth::AuthCache;
use super::observed::Observed;
use super::upstream_tokens::TokenCache;

/// What the isolate remembers between requests.
#[derive(Default)]
pub struct State {
    pub auth: AuthCache,
    pub tokens: TokenCache,
    pub accounts: AccountRests,
    pub observed: Observed,
}

/// Which accounts rest until when, and whose turn is next.
#[derive(Default)]
pub struct AccountRests {
    /// (endpoint, user, until): the user names only, never a token.
    resting: RefCell<Vec<(String, String, u64)>>,
    turn: Cell<usize>,
}

impl AccountRests {
    pub(super) fn until(&self, endpoint: &str, user: &str, now: u64) -> Option<u64> {
        self.resting
            .borrow()
            .iter()
            .find(|(e, u, until)| e == endpoint && u == user && *until > now)
            .map(|(_, _, until)| *until)
    }

    pub(super) fn rest(&self, endpoint: &str, user: &str, until: u64) {
        let mut r = self.resting.borrow_mut();
        r.retain(|(e, u, _)| !(e == endpoint && u == user));
        r.push((endpoint.to_owned(), user.to_owned(), until));
    }

    /// The names of the accounts resting at `now` (for /version).
    pub(super) fn resting_at(&self, now: u64) -> Vec<String> {
        self.resting
            .borrow()
            .iter()
            .filter(|(_, _, until)| *until > now)
            .map(|(_, u, _)| u.clone())
            .collect()
    }

    pub(super) fn next_turn(&self, n: usize) -> usize {
        let t = self.turn.get();
        self.turn.set(t.wrapping_add(1));
        t % n
    }
}
