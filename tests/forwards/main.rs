//! Forwards through the demo cluster: real TCP on every transport, gateway mode, drills.
//! One test binary per area: each links the whole client once, not once per file.

#![cfg(feature = "demo")]

#[path = "../common/mod.rs"]
mod common;

mod drill_forward;
mod forward;
mod forward_transports;
mod gateway;
mod gateway_peer;
