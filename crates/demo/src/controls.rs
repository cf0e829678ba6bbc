//! The fault controls of a running demo cluster, for tests in-process and, through the admin
//! path, for other processes: kill pods, put microservices into faults, scale, apply manifests,
//! drop watches, compact, forbid, revoke, stall, restart the server, read the request counts.

use std::net::SocketAddr;
use std::sync::Arc;

use super::kinds::Kind;
use super::pod_state::{self, PodFault};
use super::{Cluster, DemoError, RequestCounts, content, server};

/// Fault controls: in-process for tests, and behind `/demo/admin` for other processes.
#[derive(Clone)]
pub struct Faults {
    pub(super) cluster: Arc<Cluster>,
    pub(super) server: server::ApiServer,
}

impl Faults {
    /// Deletes a pod by name (its controller replaces it). Returns whether it existed.
    pub fn kill_pod(&self, namespace: &str, pod: &str) -> bool {
        self.cluster.terminate_pod(namespace, pod)
    }

    /// Deletes the first live pod of a microservice; returns its name.
    pub fn kill_one_pod(&self, namespace: &str, microservice: &str) -> Result<String, DemoError> {
        let pods = self.live_pods(namespace, microservice)?;
        let pod = pods.first().ok_or_else(|| {
            DemoError::NotFound(format!("{namespace}/{microservice} has no live pods"))
        })?;
        self.cluster.terminate_pod(namespace, pod);
        Ok(pod.clone())
    }

    /// The names of a microservice's pods that are not terminating.
    pub fn live_pods(&self, namespace: &str, microservice: &str) -> Result<Vec<String>, DemoError> {
        let kind = self.workload_kind(namespace, microservice)?;
        Ok(self
            .cluster
            .pods_of(kind, namespace, microservice)
            .iter()
            .filter(|p| !pod_state::is_deleting(p))
            .map(|p| pod_state::pod_name_of(p).to_string())
            .collect())
    }

    /// Names of a microservice's Ready pods.
    pub fn ready_pods(
        &self,
        namespace: &str,
        microservice: &str,
    ) -> Result<Vec<String>, DemoError> {
        let kind = self.workload_kind(namespace, microservice)?;
        Ok(self
            .cluster
            .pods_of(kind, namespace, microservice)
            .iter()
            .filter(|p| pod_state::is_ready(p))
            .map(|p| pod_state::pod_name_of(p).to_string())
            .collect())
    }

    /// Puts a microservice into a fault (`None` heals it).
    pub fn set_pod_fault(
        &self,
        namespace: &str,
        microservice: &str,
        fault: Option<PodFault>,
    ) -> Result<(), DemoError> {
        self.workload_kind(namespace, microservice)?;
        self.cluster.apply_fault(namespace, microservice, fault);
        Ok(())
    }

    pub fn scale(
        &self,
        namespace: &str,
        microservice: &str,
        replicas: u32,
    ) -> Result<(), DemoError> {
        let kind = self.workload_kind(namespace, microservice)?;
        let _ = self
            .cluster
            .store
            .update(kind, namespace, microservice, |w| {
                w["spec"]["replicas"] = serde_json::json!(replicas);
            });
        self.cluster.reconcile(kind, namespace, microservice, false);
        Ok(())
    }

    /// Creates or replaces objects given as YAML or JSON manifests (one or many documents).
    pub fn apply_manifests(&self, text: &str) -> Result<usize, DemoError> {
        let objects = content::parse_manifests("manifest", text)?;
        let count = objects.len();
        for (kind, object) in objects {
            self.cluster.apply(kind, object, false)?;
        }
        Ok(count)
    }

    /// Ends every open watch (clients see their streams close and re-watch).
    pub fn drop_watches(&self) {
        self.cluster.faults.drop_watches();
    }

    /// Forgets the change history: watches from older versions get 410 Gone.
    pub fn compact(&self) {
        self.cluster.store.compact();
    }

    pub fn forbid_namespace(&self, namespace: &str, forbidden: bool) {
        self.cluster.faults.forbid(namespace, forbidden);
    }

    /// Revokes the bearer token (every request gets 401) or restores it.
    pub fn revoke_token(&self, revoked: bool) {
        self.cluster.faults.revoke(revoked);
    }

    /// Accepts requests but never answers them, until unstalled.
    pub fn stall(&self, stalled: bool) {
        self.cluster.faults.stall(stalled);
    }

    /// Port-forward connections stop answering PINGs (and answer again with `false`).
    pub fn lose_pings(&self, lost: bool) {
        self.cluster.faults.lose_pings(lost);
    }

    /// Stops the API server: closes the listener and every connection. Pods keep running.
    pub async fn stop_server(&self) {
        self.server.stop().await;
    }

    /// Starts the API server again on the same address.
    pub async fn restart_server(&self) -> Result<(), DemoError> {
        self.server.restart().await
    }

    /// Long-running connections open now: upgraded port-forward and exec connections, and
    /// followed logs (a gauge, like `apiserver_longrunning_requests`).
    pub fn long_running_open(&self) -> usize {
        self.cluster.faults.current_run().tasks_open()
    }

    /// Requests served so far, by verb.
    pub fn request_counts(&self) -> RequestCounts {
        self.cluster.faults.counts()
    }

    /// Requests refused with 403 so far, oldest first.
    pub fn refusals(&self) -> Vec<super::faults::Refusal> {
        self.cluster.faults.refusals()
    }

    /// The loopback address of a pod's backend for a container port (starts it if needed).
    pub async fn backend_address(
        &self,
        namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<SocketAddr, DemoError> {
        let pod = self
            .cluster
            .store
            .get(Kind::Pod, namespace, pod)
            .ok_or_else(|| DemoError::NotFound(format!("pod {namespace}/{pod} not found")))?;
        self.cluster
            .backends
            .address(&pod, port)
            .await
            .map_err(|e| DemoError::NotFound(format!("backend: {e}")))
    }

    /// The current resourceVersion of the cluster.
    pub fn resource_version(&self) -> u64 {
        self.cluster.store.current_rv()
    }

    fn workload_kind(&self, namespace: &str, microservice: &str) -> Result<Kind, DemoError> {
        self.cluster
            .workload_kind(namespace, microservice)
            .ok_or_else(|| DemoError::NotFound(format!("no workload {namespace}/{microservice}")))
    }
}
