//! The request log pane (`r`): the last requests of one forward in gateway mode, newest first.
//! The entries are a copy the event loop refreshes while the pane is open.

use crate::forward::{ForwardKey, RequestEntry};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLogPane {
    pub key: ForwardKey,
    /// Oldest first, as the forward keeps them.
    pub entries: Vec<RequestEntry>,
    /// The forward's request count when `entries` was copied, to skip copies that change nothing.
    pub seen: u64,
}

impl RequestLogPane {
    pub fn new(key: ForwardKey) -> Self {
        RequestLogPane {
            key,
            entries: Vec::new(),
            seen: 0,
        }
    }

    /// `data.hasura`
    pub fn label(&self) -> String {
        format!("{}.{}", self.key.1, self.key.0)
    }
}
