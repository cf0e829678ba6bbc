//! Credentials that are fetched rather than written in the kubeconfig: exec plugins (the way
//! EKS, GKE and AKS sign people in), token files, and OIDC auth-providers. kube-rs would run an exec plugin itself, but
//! three times while building the client, blocking, with the terminal shared with whatever is on
//! it, and once per request while a token is close to expiry. Here one `Credentials` per cluster
//! holds the current token: fetched once, renewed before `expirationTimestamp` (one renewal for
//! every watch and forward), renewed once on a 401, and, for a plugin that needs the person,
//! run on the real terminal: before the dashboard opens, or with it suspended (`terminal`).
//!
//! Sources: client-go `plugin/pkg/client/auth/exec/exec.go` (single flight under one lock,
//! `maybeRefreshCreds` on 401, interactive mode rules, error wording) and
//! `transport/token_source.go` (token files re-read every minute, trimmed).

mod credentials;
mod exec;
mod layer;
mod oidc;
pub mod terminal;

pub use credentials::{Credentials, SignIn, Source};
pub use exec::{ExecPlugin, PluginError};
pub use layer::AuthLayer;
pub use oidc::{OidcProvider, ProxyFor, UserEntry};
pub use terminal::{HandOver, Terminal};
