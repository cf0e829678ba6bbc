//! Pure data and rules: what a microservice is, its status, and its URLs (docs/status.md and docs/urls.md).
//!
//! Nothing here does I/O: the cluster watchers feed slim objects in, the dashboard and the
//! `list` command read `Microservice` rows out.

pub mod fast_hash;
mod gateway_yaml;
pub mod join;
pub mod labels;
pub mod microservice;
pub mod objects;
pub mod per_section;
pub mod pod_wire;
pub mod routes;
mod routes_error;
pub mod status;

pub use join::{NamespaceObjects, build_microservices, merge_rows};
pub use labels::Labels;
pub use microservice::{Microservice, Section, UrlSource};
pub use objects::{
    ContainerInfo, IngressInfo, IngressRuleInfo, PodInfo, PodUsage, ServiceInfo, ServicePortInfo,
    TargetPort, Timestamp, WorkloadInfo, WorkloadKind,
};
pub use per_section::PerSection;
pub use routes::{
    ClusterVars, MAX_CONFIG_BYTES, RouteEntry, Routes, RoutesError, parse_gateway_config,
};
pub use status::{Severity, Status, derive_status};
