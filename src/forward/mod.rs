//! The port-forward engine: one tokio task per forward (SPDY stream pairs multiplexed over a few
//! upgraded connections per pod, as kubectl speaks to the API server, with kubectl's fallbacks),
//! local port choice, EndpointSlice-following pod selection that outlives pod restarts, setup
//! that waits out an unreachable API server, and live counters. Used by the dashboard and by
//! `hasura-tui port-forward` alike.

mod connection;
mod endpoints;
pub mod exchange;
pub mod gateway;
pub mod gateway_access;
mod http_proxy;
mod manager;
pub mod persist;
pub mod pod_stream;
mod port;
mod port_stream;
mod recorded;
mod replay;
pub mod request_file;
pub mod request_log;
pub mod saver;
mod stats;
mod target;
mod task;
pub mod transport;
pub mod tunnels;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub use gateway::GatewayIdentity;
pub use manager::ForwardManager;
pub use port::candidates as local_port_candidates;
pub use request_log::RequestEntry;
pub use stats::{StatsView, human_bytes};
pub use transport::Transport;
pub use tunnels::KeepAlive;

/// Which microservice a forward belongs to: at most one forward each. Ordered by namespace, then
/// name; shown as `name.namespace`, the microservice's internal URL.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ForwardKey {
    pub namespace: String,
    pub name: String,
}

impl ForwardKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ForwardKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for ForwardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.name, self.namespace)
    }
}

/// What to forward, and how.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForwardSpec {
    pub namespace: String,
    /// The Service (= microservice) name.
    pub service: String,
    /// Bind address; loopback unless asked otherwise.
    pub address: IpAddr,
    /// Exactly this local port, or the product's rule when `None`.
    pub local_port: Option<u16>,
    /// A Service port (or container port) other than the default choice.
    pub remote_port: Option<u16>,
    /// Always this pod (no re-selection).
    pub pod: Option<String>,
    /// Gateway mode: the identity HTTP requests carry; off when `None`.
    #[serde(default)]
    pub gateway: Option<GatewayIdentity>,
}

impl ForwardSpec {
    pub fn new(namespace: &str, service: &str) -> Self {
        ForwardSpec {
            namespace: namespace.to_string(),
            service: service.to_string(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            local_port: None,
            remote_port: None,
            pod: None,
            gateway: None,
        }
    }

    pub fn key(&self) -> ForwardKey {
        ForwardKey::new(&self.namespace, &self.service)
    }

    /// `postgres.hasura`, as in the seed's internal URLs.
    pub fn label(&self) -> String {
        format!("{}.{}", self.service, self.namespace)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardState {
    Starting,
    Active,
    /// Listening, but the Service has no Ready pod; connections wait a little, then close.
    NoReadyPods,
    /// Told to stop; its port and connections are being closed.
    Stopping,
    /// The setup failed in a way that may pass (the API server unreachable, a 5xx): the port
    /// is kept (when it was given) and the setup tried again after `retry_in`.
    Waiting {
        cause: String,
        retry_in: std::time::Duration,
    },
    /// A connection to the API server was lost and none is up again yet.
    Reconnecting(String),
    Error(String),
}

/// A forward's state as its task last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardStatus {
    pub state: ForwardState,
    pub local: Option<SocketAddr>,
    /// The container port connections go to, once known.
    pub remote_port: Option<u16>,
    /// Bound to a non-loopback address: reachable from the network.
    pub exposed: bool,
    /// Whether the port speaks HTTP (gateway mode possible), once the Service is read.
    pub http: Option<bool>,
    /// How connections reach the pods, once negotiated.
    pub transport: Option<Transport>,
}

/// Everything the FORWARD column shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardView {
    pub status: ForwardStatus,
    pub stats: StatsView,
    /// Gateway mode's identity, when on.
    pub gateway: Option<GatewayIdentity>,
    /// Requests seen in gateway mode (the request log's length and more).
    pub requests: u64,
}

impl ForwardView {
    /// `127.0.0.1:8080 as admin ▲12K ▼3.1M 2conn`, `no ready pods`, or the error.
    pub fn summary(&self) -> String {
        let warn = if self.status.exposed { "⚠ " } else { "" };
        let mut addr = self.status.local.map(|a| a.to_string()).unwrap_or_default();
        if let Some(identity) = &self.gateway {
            addr = format!("{addr} as {}", identity.label());
            if self.status.exposed {
                addr.push_str(" (this machine only)");
            }
        }
        match &self.status.state {
            ForwardState::Starting => "starting…".to_string(),
            ForwardState::Stopping => "stopping…".to_string(),
            ForwardState::Error(e) => error_text(e),
            ForwardState::Waiting { cause, retry_in } => {
                format!("{warn}{addr} {}", waiting_text(cause, *retry_in))
                    .trim()
                    .to_string()
            }
            ForwardState::Reconnecting(_) => format!("{warn}{addr} reconnecting…"),
            ForwardState::NoReadyPods => format!("{warn}{addr} no ready pods"),
            ForwardState::Active => format!(
                "{warn}{addr} ▲{} ▼{} {}conn",
                human_bytes(self.stats.sent),
                human_bytes(self.stats.received),
                self.stats.open
            ),
        }
    }
}

impl ForwardView {
    /// The FORWARD column's short form, so the seed's columns fit beside it: `:8080 anon ▲0 ▼0`
    /// (the address only when it is not loopback, flagged `⚠`). `summary` is the full form.
    pub fn compact(&self) -> String {
        let mut head = match self.status.local {
            Some(a) if a.ip().is_loopback() => format!(":{}", a.port()),
            Some(a) => format!("⚠ {a}"),
            None => String::new(),
        };
        if let Some(identity) = &self.gateway {
            let role = match identity.role.as_str() {
                "anonymous" => "anon",
                other => other,
            };
            head.push(' ');
            head.push_str(role);
            if identity.keep_client_headers {
                head.push('*');
            }
        }
        match &self.status.state {
            ForwardState::Starting => "starting…".to_string(),
            ForwardState::Stopping => "stopping…".to_string(),
            ForwardState::Error(e) => error_text(e),
            ForwardState::Waiting { cause, retry_in } => {
                format!("{head} {}", waiting_text(cause, *retry_in))
                    .trim()
                    .to_string()
            }
            ForwardState::Reconnecting(_) => format!("{head} reconnecting…"),
            ForwardState::NoReadyPods => format!("{head} no pods"),
            ForwardState::Active => format!(
                "{head} ▲{} ▼{}",
                stats::compact_bytes(self.stats.sent),
                stats::compact_bytes(self.stats.received)
            ),
        }
    }
}

/// `waiting: connection refused (retry in 4s)`.
pub fn waiting_text(cause: &str, retry_in: std::time::Duration) -> String {
    format!("waiting: {cause} (retry in {}s)", retry_in.as_secs().max(1))
}

/// A forward's error as its row says it: `error: port 8080 in use`; a refusal that already
/// says what it is (`forbidden: may not port-forward in hasura`) as it is.
fn error_text(error: &str) -> String {
    if error.starts_with("forbidden:") {
        error.to_string()
    } else {
        format!("error: {error}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    #[error("port {0} in use")]
    PortInUse(u16),
    #[error("permission denied for port {0} (ports below 1024 need privileges)")]
    PermissionDenied(u16),
    #[error("address {0} is not available on this machine")]
    AddressUnavailable(IpAddr),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, String),
    #[error("microservice {0} not found")]
    NotFound(String),
    #[error("pod {0} not found")]
    PodNotFound(String),
    #[error("pod {0} has no container port of that name")]
    UnresolvedPort(String),
    #[error("service {0} has no TCP ports")]
    NoPorts(String),
    #[error(
        "{0} is an ExternalName Service for {1}: a DNS name outside the cluster, nothing to forward to"
    )]
    ExternalName(String, String),
    #[error("forbidden: may not port-forward in {0}")]
    Forbidden(String),
    #[error(
        "{0} port {1} is not HTTP, so gateway headers cannot be added; forward it without them"
    )]
    NotHttp(String, String),
    #[error("{0}")]
    Api(String),
}
