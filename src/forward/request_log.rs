//! The request log of a gateway-mode forward: method, path, status, duration and size of the last
//! requests, with their headers and the heads of their bodies (`Exchange`), in a ring bounded
//! both in count and in bytes, so memory stays the same however much traffic passes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use super::exchange::Exchange;

/// How many requests a forward remembers.
pub const CAPACITY: usize = 200;
/// How many bytes of headers and bodies a forward keeps in all; past it the oldest requests'
/// bodies are let go (their log lines and headers stay). With `CAPACITY` requests of two
/// 64 KiB bodies each this is reached before the count.
pub const BODY_BUDGET: usize = 16 * 1024 * 1024;

/// Called with every recorded request (`port-forward --log-requests`), on the connection's task:
/// it must be quick.
pub type RequestSink = Arc<dyn Fn(&RequestEntry) + Send + Sync>;

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
    /// When the request arrived.
    pub at: SystemTime,
    /// The user id the request went out with.
    pub user_id: Option<String>,
    /// This request is a replay (`p`, `P`) of that one.
    pub replay_of: Option<u64>,
    /// Headers and body heads, when gateway mode was on for it (shared, never copied).
    pub exchange: Option<Arc<Exchange>>,
}

impl RequestEntry {
    /// The request body's size, when known.
    pub fn request_bytes(&self) -> Option<u64> {
        self.exchange.as_ref().map(|e| e.request_body.total)
    }
}

#[derive(Default)]
struct Ring {
    entries: VecDeque<RequestEntry>,
    total: u64,
    /// Bytes the entries' exchanges hold.
    kept: usize,
}

impl Ring {
    fn kept_by(entry: &RequestEntry) -> usize {
        entry.exchange.as_ref().map_or(0, |e| e.kept_bytes())
    }

    /// Lets the oldest bodies go until the budget holds again; if headers alone still exceed
    /// it (huge cookies, long targets), the oldest requests go whole.
    fn trim(&mut self) {
        let mut i = 0;
        while self.kept > BODY_BUDGET && i < self.entries.len() {
            let entry = &mut self.entries[i];
            if let Some(exchange) = &entry.exchange
                && !exchange.bodies_dropped
            {
                let before = exchange.kept_bytes();
                let light = exchange.without_bodies();
                self.kept = self.kept - before + light.kept_bytes();
                entry.exchange = Some(Arc::new(light));
            }
            i += 1;
        }
        while self.kept > BODY_BUDGET
            && let Some(old) = self.entries.pop_front()
        {
            self.kept -= Ring::kept_by(&old);
        }
    }
}

/// Shared by a forward's connections (writers) and whoever shows it (readers). One short lock
/// per request, never per byte.
#[derive(Clone)]
pub struct RequestLog {
    ring: Arc<Mutex<Ring>>,
    changed: Arc<Notify>,
    sink: Option<RequestSink>,
}

impl RequestLog {
    /// `changed` is woken after each recorded request.
    pub fn new(changed: Arc<Notify>) -> Self {
        RequestLog {
            ring: Arc::default(),
            changed,
            sink: None,
        }
    }

    /// Every recorded request is also handed to `sink`.
    pub fn with_sink(mut self, sink: Option<RequestSink>) -> Self {
        self.sink = sink;
        self
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
            // In the lock, so a file's lines come in `seq` order (a line is a buffered write).
            if let Some(sink) = &self.sink {
                sink(&entry);
            }
            if ring.entries.len() == CAPACITY
                && let Some(old) = ring.entries.pop_front()
            {
                ring.kept -= Ring::kept_by(&old);
            }
            ring.kept += Ring::kept_by(&entry);
            ring.entries.push_back(entry);
            ring.trim();
        }
        self.changed.notify_one();
    }

    /// One remembered request.
    pub fn get(&self, seq: u64) -> Option<RequestEntry> {
        self.lock().entries.iter().find(|e| e.seq == seq).cloned()
    }

    /// Bytes of headers and bodies kept now (at most `BODY_BUDGET` plus one request's).
    pub fn kept_bytes(&self) -> usize {
        self.lock().kept
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
            at: SystemTime::UNIX_EPOCH,
            user_id: None,
            replay_of: None,
            exchange: None,
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

    #[test]
    fn bodies_stay_within_the_byte_budget_and_the_newest_are_kept() {
        use super::super::exchange::{BODY_PREVIEW, BodyPreview};
        let log = RequestLog::new(Arc::new(Notify::new()));
        let body = bytes::Bytes::from(vec![7u8; BODY_PREVIEW]);
        for i in 0..CAPACITY + 50 {
            let mut e = entry(&format!("/{i}"));
            e.exchange = Some(Arc::new(Exchange {
                target: e.path.clone(),
                request_body: BodyPreview {
                    head: body.clone(),
                    total: 1 << 20,
                },
                response_body: BodyPreview {
                    head: body.clone(),
                    total: 1 << 20,
                },
                ..Exchange::default()
            }));
            log.record(e);
            assert!(
                log.kept_bytes() <= BODY_BUDGET,
                "after {i}: {}",
                log.kept_bytes()
            );
        }
        let entries = log.entries();
        assert_eq!(entries.len(), CAPACITY);
        let newest = entries.last().unwrap().exchange.clone().unwrap();
        assert!(!newest.bodies_dropped);
        assert_eq!(newest.response_body.head.len(), BODY_PREVIEW);
        let oldest = entries[0].exchange.clone().unwrap();
        assert!(oldest.bodies_dropped, "the oldest bodies went first");
        assert_eq!(oldest.response_body.total, 1 << 20, "their sizes stay");
        let kept = entries
            .iter()
            .filter(|e| !e.exchange.as_ref().unwrap().bodies_dropped)
            .count();
        // 128 KiB per request and its path: 127 requests fit in 16 MiB.
        assert_eq!(kept, BODY_BUDGET / (2 * BODY_PREVIEW + 8));
        let sum: usize = entries
            .iter()
            .map(|e| e.exchange.as_ref().unwrap().kept_bytes())
            .sum();
        assert_eq!(sum, log.kept_bytes(), "the count agrees with what is held");
    }

    #[test]
    fn huge_headers_alone_cannot_pass_the_budget() {
        let log = RequestLog::new(Arc::new(Notify::new()));
        let cookie = "c".repeat(1 << 20);
        for i in 0..40 {
            let mut e = entry(&format!("/{i}"));
            e.exchange = Some(Arc::new(Exchange {
                target: e.path.clone(),
                request_headers: vec![("cookie".into(), cookie.clone())],
                ..Exchange::default()
            }));
            log.record(e);
            assert!(
                log.kept_bytes() <= BODY_BUDGET,
                "after {i}: {}",
                log.kept_bytes()
            );
        }
        let entries = log.entries();
        assert_eq!(entries.last().unwrap().path, "/39", "the newest stays");
        assert_eq!(entries.len(), 15, "the oldest went whole");
    }
}
