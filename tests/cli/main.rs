//! `hasura-tui` as a process, its subcommands against the demo cluster beside kubectl.
//! One test binary per area: each links the whole client once, not once per file.

#![cfg(feature = "demo")]

#[path = "../common/mod.rs"]
mod common;

mod change_cli;
mod demo_cluster_kubectl;
mod drill_input;
mod exec_cli;
mod kubeconfig_shapes;
mod list_cli;
mod logs_cli;
