//! Requests sent to the API server that have had no answer yet, so a stalled server (it accepts
//! connections and requests, and never answers) can be told from a quiet one.
//!
//! A watch that sees no events is normal, so silence on a stream says nothing. What does say
//! something is a request whose response headers never come: a healthy server answers a list at
//! once, and a watch's headers before its first event. A tower layer on the kube client records
//! when each request was sent and forgets it when its response (or error) arrives, or when the
//! caller gives up on it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

/// Shared by the client's layer (which fills it) and the feed (which reads it).
#[derive(Clone, Debug, Default)]
pub struct PendingRequests(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    next_id: AtomicU64,
    /// Request id to when it was sent.
    sent: Mutex<BTreeMap<u64, Instant>>,
}

impl PendingRequests {
    /// When the oldest request still waiting for its answer was sent.
    pub fn oldest(&self) -> Option<Instant> {
        self.lock().values().min().copied()
    }

    /// The layer to put on the kube client's service stack.
    pub fn layer(&self) -> TrackLayer {
        TrackLayer(self.clone())
    }

    fn begin(&self) -> Guard {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, Instant::now());
        Guard {
            pending: self.clone(),
            id,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Instant>> {
        // A panic while holding this lock leaves a valid map; keep using it.
        self.0.sent.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Forgets its request when dropped: answered, failed, or abandoned by the caller.
struct Guard {
    pending: PendingRequests,
    id: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.pending.lock().remove(&self.id);
    }
}

#[derive(Clone)]
pub struct TrackLayer(PendingRequests);

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            pending: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Track<S> {
    inner: S,
    pending: PendingRequests,
}

impl<S, R> tower::Service<R> for Track<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let guard = self.pending.begin();
        let response = self.inner.call(request);
        Box::pin(async move {
            let answer = response.await;
            drop(guard);
            answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_counts_until_answered_or_dropped() {
        let pending = PendingRequests::default();
        assert_eq!(pending.oldest(), None);
        let first = pending.begin();
        let sent = pending.oldest().expect("one pending");
        let second = pending.begin();
        assert_eq!(pending.oldest(), Some(sent), "the oldest is the first");
        drop(first);
        assert!(pending.oldest().is_some_and(|t| t >= sent));
        drop(second);
        assert_eq!(pending.oldest(), None);
    }
}
