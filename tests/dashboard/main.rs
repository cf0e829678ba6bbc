//! The real binary in a real terminal under tmux, driven by keys and read from the screen.
//! One test binary per area: each links the whole client once, not once per file.

#![cfg(feature = "demo")]

#[path = "../common/mod.rs"]
mod common;

mod clusters;
mod detail;
mod e2e_changes;
mod e2e_dashboard;
mod e2e_drills;
mod e2e_real_clusters;
mod e2e_sign_in;
mod e2e_verbs;
