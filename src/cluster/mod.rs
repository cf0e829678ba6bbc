//! The cluster feed: kube-rs watches of exactly what the model needs in the two namespaces,
//! slimmed on arrival, joined into microservice rows, and published to the dashboard (and
//! `list`) as snapshots, coalesced so a burst of events makes one snapshot. The only place that
//! talks to the API server for views.

mod feed;
mod gateway_conf;
mod label_index;
mod namespaces;
mod pending;
mod section;
mod store;
mod usage_reader;
mod watch;

use std::sync::Arc;
use std::time::Instant;

pub use feed::{FeedConfig, spawn_feed};
pub use gateway_conf::{GatewayFiles, read_project};
pub use namespaces::Namespaces;
pub use pending::PendingRequests;
pub use watch::Failure;

use crate::model::{IngressInfo, Microservice, PerSection, Routes, Section};

/// A section's rows, as the snapshots carry them.
pub type Rows = Arc<Vec<Arc<Microservice>>>;

/// Rows from plain values (tests and benchmarks build them by hand).
pub fn rows(rows: Vec<Microservice>) -> Rows {
    Arc::new(rows.into_iter().map(Arc::new).collect())
}

/// How a namespace's watches stand.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchState {
    /// Listing for the first time.
    Syncing,
    Synced,
    /// Lost the connection; retrying with backoff since `since`.
    Reconnecting {
        since: Instant,
        reason: String,
    },
    /// 403 for this namespace.
    Forbidden(String),
    /// Anything else that retrying will not fix by itself (401).
    Error(String),
}

impl WatchState {
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            WatchState::Reconnecting { .. } | WatchState::Forbidden(_) | WatchState::Error(_)
        )
    }
}

/// Whether a table has CPU and MEM figures (the metrics API, read every 15 s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Metrics {
    /// Not asked for, not served, or not readable: no columns.
    #[default]
    Off,
    /// Asked for; the first answer has not come.
    Reading,
    Served,
}

/// One table's content.
#[derive(Clone, Debug)]
pub struct SectionView {
    pub section: Section,
    pub namespace: String,
    /// Sorted by name; shared between snapshots, so an unchanged row is never copied.
    pub rows: Rows,
    pub state: WatchState,
    /// The rows are from before the current failure (shown, but marked).
    pub stale: bool,
    /// What the table cannot show (`statefulsets: forbidden (postgres: status unknown)`), for
    /// the line under its title.
    pub notes: Vec<String>,
    pub metrics: Metrics,
}

/// Every gateway route and Ingress the feed knows, shared between snapshots while unchanged.
#[derive(Clone, Debug, Default)]
pub struct RouteSources {
    pub gateway: Option<Arc<Routes>>,
    /// Both namespaces' Ingresses.
    pub ingresses: Arc<Vec<IngressInfo>>,
}

/// Everything the dashboard shows from the cluster, at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The two tables.
    pub sections: PerSection<SectionView>,
    /// A bad routes.yaml/domains.yaml, shown in the header (the tables still show).
    pub routes_error: Option<String>,
    /// The gateway's routes have been read (or failed to be): external URLs are complete.
    pub routes_listed: bool,
    /// What the EXTERNAL-URLs were chosen from, to explain them (the detail view's routes).
    pub route_sources: RouteSources,
    pub cluster_name: String,
    /// The newest resourceVersion seen in any event (for latency measurements).
    pub resource_version: u64,
    /// Counts published snapshots.
    pub generation: u64,
}

impl Snapshot {
    pub fn section(&self, section: Section) -> &SectionView {
        &self.sections[section]
    }

    /// Both sections and the routes have either synced or failed: what a one-shot reader
    /// (`list`) waits for, so no external URL is missing for having been read too early.
    pub fn settled(&self) -> bool {
        self.routes_listed
            && (self.sections.iter())
                .all(|s| s.state != WatchState::Syncing && s.metrics != Metrics::Reading)
    }
}
