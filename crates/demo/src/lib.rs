//! The embedded demo cluster: a Kubernetes API server in the binary that real clients (kube-rs,
//! kubectl) use unchanged, running the seed's Hasura cluster with real loopback backends.
//!
//! A crate of its own on purpose: it depends on nothing of hasura-tui's client (the model,
//! cluster feed, forward engine or UI; only on the SPDY crate, `kube-spdy`), and the compiler
//! keeps it so, so that tests that use it as the independent side cannot share a bug with the
//! code they test. hasura-tui depends on it behind its `demo` feature (on by default).

mod api;
mod authz;
mod backends;
mod content;
mod controller;
mod controls;
mod crash_loop;
pub mod credential_plugin;
mod defaults;
mod endpoints;
mod events;
mod events_v1;
mod faults;
mod history;
mod http_echo;
mod identity;
mod kinds;
pub mod kubeconfig;
mod logs;
mod pod_shell;
mod pod_state;
mod replica_sets;
mod revisions;
mod selector;
mod server;
mod status;
mod store;
mod tls;
mod workload_status;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

pub use controls::Faults;
pub use faults::{Refusal, RequestCounts};
pub use kinds::Kind;
pub use kubeconfig::{ExecPlugin as DemoExecPlugin, KubeconfigAuth};
pub use pod_state::PodFault;

use backends::Backends;
use faults::ApiFaults;
use logs::LogBook;
use store::Store;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo cluster TLS set-up failed: {0}")]
    Tls(String),
    #[error("demo cluster content: {0}")]
    Content(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    NotFound(String),
}

/// How to run the demo cluster.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// The cluster's name: its kubeconfig context and cluster, and so its route domain
    /// (`<name>.hasura-app.io`).
    pub name: String,
    pub listen: SocketAddr,
    /// Extra generated custom microservices (two pods each).
    pub scale: usize,
    /// Pods write a log line a second.
    pub churn: bool,
    /// How long a new pod stays Pending (ContainerCreating) before it runs.
    pub pod_start_delay: Duration,
    /// How long a deleted pod stays Terminating before it vanishes (its grace period).
    pub pod_termination_delay: Duration,
    /// Load the Services of other shapes beside the seed (`--seed-only` leaves them out).
    pub shapes: bool,
    /// Serve v1 Endpoints besides EndpointSlices (a cluster may stop serving the deprecated API).
    pub serve_endpoints: bool,
    /// How often a crashing container is restarted (and a failing probe reported again).
    pub restart_backoff: Duration,
    /// Serve `metrics.k8s.io` (metrics-server is installed).
    pub serve_metrics: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            name: kubeconfig::CONTEXT.to_string(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            scale: 0,
            churn: false,
            pod_start_delay: Duration::from_millis(400),
            pod_termination_delay: Duration::from_millis(300),
            shapes: true,
            serve_endpoints: true,
            restart_backoff: Duration::from_secs(10),
            serve_metrics: true,
        }
    }
}

/// The cluster's state: objects, pods' processes and logs, faults, request counts.
pub(crate) struct Cluster {
    store: Store,
    backends: Backends,
    logs: LogBook,
    faults: ApiFaults,
    options: DemoOptions,
    pod_faults: Mutex<HashMap<(String, String), PodFault>>,
    next_ip: AtomicU32,
    /// Set once the server runs; the admin path needs it to stop and restart the server.
    server: OnceLock<server::ApiServer>,
    /// Signs the tokens the demo issues (exec plugin, OIDC).
    tokens: identity::TokenKey,
    /// Held while a Service's endpoints are computed and written (`refresh_endpoints`).
    endpoint_writes: Mutex<()>,
    /// The OIDC refresh tokens already traded (each is good once).
    refresh_tokens: api::oidc::SpentRefreshTokens,
    /// Events written so far, for counting repeats.
    events: events::EventIndex,
    /// The metrics API's last scrape of each pod.
    metrics: api::metrics::Scrapes,
}

impl Cluster {
    fn next_pod_ip(&self) -> String {
        let n = self.next_ip.fetch_add(1, Ordering::Relaxed);
        format!("10.244.{}.{}", (n / 250) % 250, n % 250 + 2)
    }

    fn fault_of(&self, namespace: &str, workload: &str) -> Option<PodFault> {
        self.pod_faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(namespace.to_string(), workload.to_string()))
            .copied()
    }

    /// Every workload in a fault now.
    fn faults_now(&self) -> Vec<((String, String), PodFault)> {
        self.pod_faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    fn set_fault(&self, namespace: &str, workload: &str, fault: Option<PodFault>) {
        let mut faults = self.pod_faults.lock().unwrap_or_else(|p| p.into_inner());
        let key = (namespace.to_string(), workload.to_string());
        match fault {
            Some(f) => faults.insert(key, f),
            None => faults.remove(&key),
        };
    }

    /// Creates or replaces an object, then lets the controllers react to it.
    fn apply(
        self: &Arc<Self>,
        kind: Kind,
        mut object: Value,
        immediate: bool,
    ) -> Result<(), DemoError> {
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() || (kind.namespaced() && namespace.is_empty()) {
            return Err(DemoError::Content(format!(
                "{} without a name or namespace",
                kind.name()
            )));
        }
        defaults::apply(kind, &mut object);
        let replaced = self.store.update(kind, &namespace, &name, |current| {
            let cluster_ip = current["spec"]["clusterIP"].clone();
            for field in ["spec", "data"] {
                if !object[field].is_null() {
                    current[field] = object[field].clone();
                }
            }
            if kind == Kind::Service && current["spec"]["clusterIP"].is_null() {
                current["spec"]["clusterIP"] = cluster_ip;
            }
            for field in ["labels", "annotations"] {
                if !object["metadata"][field].is_null() {
                    current["metadata"][field] = object["metadata"][field].clone();
                }
            }
        });
        let stored = match replaced {
            Ok(stored) => stored,
            Err(_) => {
                // Fields the API server sets on creation.
                match kind {
                    Kind::Service if object["spec"]["clusterIP"].is_null() => {
                        let n = self.next_ip.fetch_add(1, Ordering::Relaxed);
                        object["spec"]["clusterIP"] =
                            serde_json::json!(format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 2));
                    }
                    Kind::Namespace => object["status"] = serde_json::json!({"phase": "Active"}),
                    _ => {}
                }
                self.store
                    .create(kind, object)
                    .map_err(|e| DemoError::Content(e.to_string()))?
            }
        };
        match kind {
            Kind::Deployment | Kind::StatefulSet => {
                self.reconcile(kind, &namespace, &name, immediate)
            }
            Kind::Service => self.refresh_endpoints(&stored),
            _ => {}
        }
        Ok(())
    }

    fn load(self: &Arc<Self>, objects: Vec<(Kind, Value)>) -> Result<(), DemoError> {
        for (kind, object) in objects {
            self.apply(kind, object, true)?;
        }
        Ok(())
    }

    fn spawn_churn(self: &Arc<Self>) {
        let cluster = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                let Some(cluster) = cluster.upgrade() else {
                    return;
                };
                n += 1;
                for (namespace, pod, container) in cluster.logs.containers() {
                    if !pod.starts_with("svc-") && pod.starts_with(container.as_str()) {
                        cluster.logs.write(
                            &namespace,
                            &pod,
                            &container,
                            &format!("INFO handled request #{n}"),
                        );
                    }
                }
            }
        });
    }
}

/// A running demo cluster: its address and credentials, and the fault controls tests use.
pub struct DemoCluster {
    cluster: Arc<Cluster>,
    server: server::ApiServer,
    token: String,
    ca_pem: String,
    issuer: tls::ClientIssuer,
}

impl DemoCluster {
    /// Starts the API server and loads the seed cluster (plus `--scale` microservices).
    pub async fn start(options: DemoOptions) -> Result<DemoCluster, DemoError> {
        let tls = tls::generate()?;
        let token = faults::random_token();
        let cluster = Arc::new(Cluster {
            store: Store::new(),
            backends: Backends::default(),
            logs: LogBook::default(),
            faults: ApiFaults::new(token.clone()),
            options: options.clone(),
            pod_faults: Mutex::new(HashMap::new()),
            next_ip: AtomicU32::new(0),
            server: OnceLock::new(),
            tokens: identity::TokenKey::random(),
            refresh_tokens: api::oidc::SpentRefreshTokens::default(),
            endpoint_writes: Mutex::new(()),
            events: events::EventIndex::default(),
            metrics: api::metrics::Scrapes::default(),
        });
        cluster.load(content::seed_objects_named(&options.name)?)?;
        if options.shapes {
            cluster.load(content::shape_objects()?)?;
        }
        if options.scale > 0 {
            cluster.load(content::scaled_objects("default", options.scale))?;
        }
        if options.churn {
            cluster.spawn_churn();
        }
        cluster.spawn_crash_loop();
        let router = api::router(cluster.clone());
        let server = server::ApiServer::start(
            options.listen,
            tls.server_config,
            tls.check,
            router,
            cluster.clone(),
        )
        .await?;
        // Only ever set here, right after the server exists.
        let _ = cluster.server.set(server.clone());
        cluster.load(vec![content::api_server_service(server.addr().port())])?;
        Ok(DemoCluster {
            cluster,
            server,
            token,
            ca_pem: tls.ca_pem,
            issuer: tls.issuer,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr())
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A kubeconfig (context and cluster `gram29`) carrying the CA, address and admin token.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::render(
            &self.cluster.options.name,
            &self.url(),
            &self.ca_pem,
            &kubeconfig::token_user(&self.token),
        )
    }

    /// A kubeconfig whose user signs in as `auth` says.
    pub fn kubeconfig_with(&self, auth: &KubeconfigAuth) -> Result<String, DemoError> {
        let user = match auth {
            KubeconfigAuth::Token => kubeconfig::token_user(&self.token),
            KubeconfigAuth::UserToken { user } => {
                let token = self.cluster.tokens.mint(
                    user,
                    identity::API_AUDIENCE,
                    Duration::from_secs(30 * 24 * 3600),
                );
                kubeconfig::named_token_user(user, &token)
            }
            KubeconfigAuth::Cert { user, groups } => {
                let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
                let (cert, key) = self.issuer.issue(user, &groups)?;
                kubeconfig::cert_user(user, &cert, &key)
            }
            KubeconfigAuth::Exec(plugin) => kubeconfig::exec_user(plugin, &self.cluster.tokens.hex),
            KubeconfigAuth::Oidc { user } => {
                let expired =
                    self.cluster
                        .tokens
                        .mint(user, kubeconfig::OIDC_CLIENT_ID, Duration::ZERO);
                let refresh = api::oidc::refresh_token(&self.cluster.tokens, user);
                kubeconfig::oidc_user(user, &self.url(), &self.ca_pem, &expired, &refresh)
            }
        };
        Ok(kubeconfig::render(
            &self.cluster.options.name,
            &self.url(),
            &self.ca_pem,
            &user,
        ))
    }

    /// A client certificate (PEM) and its key for `user` in `groups`, signed by the cluster's CA.
    pub fn issue_client_cert(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<(String, String), DemoError> {
        self.issuer.issue(user, groups)
    }

    pub fn write_kubeconfig(&self, path: &std::path::Path) -> Result<(), DemoError> {
        kubeconfig::write(path, &self.kubeconfig_yaml())
    }

    pub fn write_kubeconfig_with(
        &self,
        path: &std::path::Path,
        auth: &KubeconfigAuth,
    ) -> Result<(), DemoError> {
        kubeconfig::write(path, &self.kubeconfig_with(auth)?)
    }

    /// Faults and controls, shared with the admin path.
    pub fn faults(&self) -> Faults {
        Faults {
            cluster: self.cluster.clone(),
            server: self.server.clone(),
        }
    }

    /// Stops serving; returns when the listener is closed.
    pub async fn shutdown(self) {
        self.server.stop().await;
    }
}
