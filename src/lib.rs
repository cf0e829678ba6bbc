//! hasura-tui: a terminal dashboard for microservices on a Kubernetes cluster laid out the Hasura
//! way, with one-key port-forwards, and the embedded demo cluster it is tested against.

pub mod access;
pub mod app;
pub mod auth;
pub mod backoff;
pub mod change;
pub mod cli;
pub mod clipboard;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod copy_as;
pub mod crash;
pub mod detail;
pub mod exec;
pub mod forward;
pub mod human_duration;
pub mod jobs;
pub mod logging;
pub mod logs;
pub mod metrics;
pub mod model;
pub mod opener;
pub mod sessions;
pub mod signals;
pub mod terminal_text;
pub mod tui;
pub mod ui;

/// The embedded demo cluster, a crate of its own (`crates/demo`) that knows nothing of the client.
#[cfg(feature = "demo")]
pub use hasura_tui_demo as demo;
/// SPDY/3.1 as Kubernetes speaks it, a crate of its own (`crates/spdy`).
pub use kube_spdy as spdy;
