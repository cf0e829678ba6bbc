//! The commands: thin front ends over the same engine.

pub mod change;
pub mod dashboard;
#[cfg(feature = "demo")]
pub mod demo_cluster;
#[cfg(feature = "demo")]
pub mod demo_credential;
#[cfg(feature = "demo")]
pub mod demo_dashboard;
pub mod describe;
pub mod exec;
pub mod list;
pub mod logs;
pub mod microservice;
pub mod open;
pub mod port_forward;

/// A mistake in what the user asked for (exit code 2), as opposed to a failure at run time.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
