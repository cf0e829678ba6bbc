//! The receive budget: what a connection's streams have been handed and not yet read, counted
//! at what it costs in memory, so one slow local reader pauses the connection's reader instead
//! of queueing without bound.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Bytes received but not yet read, over all of a connection's streams, before its reader
/// pauses.
pub(super) const MAX_BUFFERED: usize = 32 * 1024 * 1024;
/// What one queued DATA frame costs besides its payload (the channel's node and the `Bytes`
/// handle, rounded up): a million 1-byte frames are not a megabyte.
const FRAME_COST: usize = 64;

/// A DATA payload smaller than this is always copied out of the read buffer.
pub(super) const COPY_BELOW: usize = 4096;
/// Unread bytes past which the connection's readers count as behind: every payload is copied
/// then, so at most this much (in 32 KiB slices) can keep read buffers alive.
const BEHIND: usize = 1024 * 1024;

/// What a queued payload of `len` bytes counts against `MAX_BUFFERED`.
pub(super) fn cost(len: usize) -> usize {
    len + FRAME_COST
}

/// Bytes buffered for readers, and a wake-up for the connection's reader when there is room.
#[derive(Default)]
pub(super) struct Budget {
    pub(super) buffered: AtomicUsize,
    room: Notify,
}

impl Budget {
    pub(super) async fn reserve(&self, n: usize) {
        while self.buffered.load(Ordering::Acquire) >= MAX_BUFFERED {
            self.room.notified().await;
        }
        self.buffered.fetch_add(n, Ordering::AcqRel);
    }

    /// Whether readers are behind (see `BEHIND`).
    pub(super) fn behind(&self) -> bool {
        self.buffered.load(Ordering::Acquire) >= BEHIND
    }

    pub(super) fn full(&self) -> bool {
        self.buffered.load(Ordering::Acquire) >= MAX_BUFFERED
    }

    pub(super) fn release(&self, n: usize) {
        let before = self.buffered.fetch_sub(n, Ordering::AcqRel);
        if before >= MAX_BUFFERED && before - n < MAX_BUFFERED {
            self.room.notify_one();
        }
    }
}
