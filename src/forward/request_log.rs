//! The request log of a gateway-mode forward: method, path, status, duration and size of the last
//! requests, in a bounded ring, so memory stays the same however much traffic passes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// How many requests a forward remembers.
pub const CAPACITY: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestEntry {
    /// 1 for the forward's first request, counting up.
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// `None` when the pod never answered (the client got a 502 from us).
    pub status: Option<u16>,
    /// From the request's arrival to the end of the response body.
    pub duration: Duration,
    /// Response body bytes.
    pub bytes: u64,
    /// The role the request went out with (its own, or the one the forward added).
    pub role: Option<String>,
    /// False when the response was cut short (the pod or the client went away).
    pub complete: bool,
    /// What gateway mode did beyond adding the headers: the client's own replaced, or the
    /// headers withheld (another machine, a web page).
    pub note: Option<String>,
}

#[derive(Default)]
struct Ring {
    entries: VecDeque<RequestEntry>,
    total: u64,
}

/// Shared by a forward's connections (writers) and whoever shows it (readers). One short lock
/// per request, never per byte.
#[derive(Clone)]
pub struct RequestLog {
    ring: Arc<Mutex<Ring>>,
    changed: Arc<Notify>,
}

impl RequestLog {
    /// `changed` is woken after each recorded request.
    pub fn new(changed: Arc<Notify>) -> Self {
        RequestLog {
            ring: Arc::default(),
            changed,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // Each critical section is one push or one copy; a poisoned ring is still consistent.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a finished request; its `seq` is assigned here.
    pub fn record(&self, mut entry: RequestEntry) {
        {
            let mut ring = self.lock();
            ring.total += 1;
            entry.seq = ring.total;
            if ring.entries.len() == CAPACITY {
                ring.entries.pop_front();
            }
            ring.entries.push_back(entry);
        }
        self.changed.notify_one();
    }

    /// The remembered requests, oldest first.
    pub fn entries(&self) -> Vec<RequestEntry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// Requests recorded so far, including those the ring has forgotten.
    pub fn total(&self) -> u64 {
        self.lock().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> RequestEntry {
        RequestEntry {
            seq: 0,
            method: "GET".into(),
            path: path.into(),
            status: Some(200),
            duration: Duration::from_millis(1),
            bytes: 10,
            role: None,
            complete: true,
            note: None,
        }
    }

    #[test]
    fn keeps_only_the_last_requests() {
        let log = RequestLog::new(Arc::new(Notify::new()));
        for i in 0..CAPACITY + 5 {
            log.record(entry(&format!("/{i}")));
        }
        let entries = log.entries();
        assert_eq!(entries.len(), CAPACITY);
        assert_eq!(entries[0].path, "/5");
        assert_eq!(entries[0].seq, 6);
        assert_eq!(entries.last().unwrap().seq, (CAPACITY + 5) as u64);
        assert_eq!(log.total(), (CAPACITY + 5) as u64);
    }
}
