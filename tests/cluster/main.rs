//! The client library against the demo cluster over HTTPS: watches, feeds, access, sign-in.
//! One test binary per area: each links the whole client once, not once per file.

#![cfg(feature = "demo")]

#[path = "../common/mod.rs"]
mod common;

mod demo_cluster_kube;
mod feed;
mod oidc;
mod rbac;
mod rollout;
mod sign_in;
