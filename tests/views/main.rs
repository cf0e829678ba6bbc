//! What the dashboard draws, as text snapshots over ratatui's TestBackend.
//! One test binary per area: each links the whole client once, not once per file.

#![cfg(feature = "demo")]

#[path = "../common/mod.rs"]
mod common;

mod view_logs_snapshots;
mod view_snapshots;
