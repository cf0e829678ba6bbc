//! hasura-tui: a terminal dashboard for microservices on a Kubernetes cluster laid out the Hasura
//! way, with one-key port-forwards, and the embedded demo cluster it is tested against.

pub mod cli;
pub mod commands;
pub mod demo;
