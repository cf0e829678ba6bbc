//! Controllers that make the store behave like a cluster: workloads own pods (names
//! `<deploy>-<hash>-<suffix>`, `<sts>-<ordinal>`), pods move from Pending to Running, deleted pods
//! terminate and are replaced, workload status follows its pods, and per-microservice faults
//! (CrashLoopBackOff, NotReady) shape the pods' state. Endpoints follow in `endpoints`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Cluster;
use super::events::{EventType, Occurrence, Reporter};
use super::kinds::Kind;
use super::pod_state::{
    self, Phase, PodFault, is_deleting, is_ready, pod_name_of, restarts_of, set_pod_status,
};
use super::revisions::{
    HASH_ALPHABET, REVISION_LABEL, ordinal_of, revision_of, rolling_bounds, template_hash,
};
use super::store::now_rfc3339;

pub(crate) use super::pod_state::NODE_NAME;

impl Cluster {
    /// Brings a workload's pods to its desired count and refreshes what depends on them.
    /// `immediate` starts new pods Running at once (used at start-up, where nobody watches yet).
    pub(crate) fn reconcile(
        self: &Arc<Self>,
        kind: Kind,
        namespace: &str,
        name: &str,
        immediate: bool,
    ) {
        let Some(workload) = self.store.get(kind, namespace, name) else {
            return;
        };
        let desired = workload["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let pods = self.pods_of(kind, namespace, name);
        let live: Vec<&Arc<Value>> = pods.iter().filter(|p| !is_deleting(p)).collect();
        match kind {
            Kind::StatefulSet => {
                for ordinal in 0..desired {
                    let pod_name = format!("{name}-{ordinal}");
                    if !pods.iter().any(|p| pod_name_of(p) == pod_name) {
                        self.create_pod(&workload, kind, None, pod_name, immediate);
                    }
                }
                for pod in &live {
                    if ordinal_of(pod).is_none_or(|o| o >= desired) {
                        self.terminate_pod(namespace, pod_name_of(pod));
                    }
                }
                // RollingUpdate, the default with partition 0 (kubernetes
                // `pkg/controller/statefulset/stateful_set_control.go`): once every pod is there
                // and ready, the highest ordinal of an older revision is deleted; it comes back
                // at the current revision when it is gone (above).
                let revision = revision_of(&workload);
                if live.len() == desired && live.iter().all(|p| is_ready(p)) {
                    let stale = live
                        .iter()
                        .filter(|p| p["metadata"]["labels"][REVISION_LABEL] != revision.as_str())
                        .max_by_key(|p| ordinal_of(p));
                    if let Some(stale) = stale {
                        self.terminate_pod(namespace, pod_name_of(stale));
                    }
                }
            }
            _ => self.reconcile_deployment(&workload, &live, desired, immediate),
        }
        self.refresh_workload_status(kind, namespace, name);
    }

    /// A Deployment's pods towards `desired` replicas of its current template. Pods of an older
    /// template (after a PATCH such as `kubectl rollout restart`) are replaced as the
    /// Deployment controller's RollingUpdate does with its defaults (maxSurge 25% rounded up,
    /// maxUnavailable 25% rounded down; kubernetes `pkg/controller/deployment/rolling.go`):
    /// new pods while the total stays within desired + surge, and an old pod removed only while
    /// the ready ones stay at least desired - unavailable, unready old pods first. One old pod
    /// is removed per call: its termination reconciles again, and so does each new pod that
    /// starts, so the rollout moves on as pods come and go.
    fn reconcile_deployment(
        self: &Arc<Self>,
        workload: &Value,
        live: &[&Arc<Value>],
        desired: usize,
        immediate: bool,
    ) {
        let namespace = workload["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let name = workload["metadata"]["name"].as_str().unwrap_or_default();
        let hash = template_hash(&workload["spec"]["template"]);
        let (new, old): (Vec<&Arc<Value>>, Vec<&Arc<Value>>) = live
            .iter()
            .partition(|p| p["metadata"]["labels"]["pod-template-hash"] == hash.as_str());
        let scaled = |set: &Value, to: usize| self.scale_replica_set(workload, set, to, immediate);
        let Some(new_set) = self.replica_set_for(workload, &hash) else {
            return;
        };
        let create = |count: usize| {
            if count == 0 {
                return;
            }
            scaled(&new_set, new.len() + count);
            for _ in 0..count {
                let pod_name = format!("{name}-{hash}-{}", random_suffix(5));
                self.create_pod(
                    workload,
                    Kind::Deployment,
                    Some(&new_set),
                    pod_name,
                    immediate,
                );
            }
        };
        // Terminating a pod reconciles again at once, which may delete the next one before this
        // call reaches it: only the call that starts a pod's termination says so.
        let delete = |set: &Value, pod: &Value| {
            let pod_name = pod_name_of(pod);
            let live = self
                .store
                .get(Kind::Pod, namespace, pod_name)
                .is_some_and(|p| !is_deleting(&p));
            if live && self.terminate_pod(namespace, pod_name) && !immediate {
                self.record_set_pod(set, false, pod_name);
            }
        };
        if old.is_empty() {
            create(desired.saturating_sub(new.len()));
            // Scale down removes the newest pods first, as a ReplicaSet prefers.
            let excess = new.len().saturating_sub(desired);
            if excess > 0 {
                scaled(&new_set, new.len() - excess);
            }
            for pod in new.iter().rev().take(excess) {
                delete(&new_set, pod);
            }
            return;
        }
        let (surge, unavailable) = rolling_bounds(desired);
        create(
            (desired + surge)
                .saturating_sub(live.len())
                .min(desired.saturating_sub(new.len())),
        );
        let ready = live.iter().filter(|p| is_ready(p)).count();
        let removable = match old.iter().find(|p| !is_ready(p)) {
            Some(unready) => Some(unready),
            None if ready > desired.saturating_sub(unavailable) => old.first(),
            None => None,
        };
        if let Some(pod) = removable {
            let old_hash = &pod["metadata"]["labels"]["pod-template-hash"];
            let in_set = old
                .iter()
                .filter(|p| &p["metadata"]["labels"]["pod-template-hash"] == old_hash)
                .count();
            let old_set = old_hash.as_str().and_then(|h| {
                self.store
                    .get(Kind::ReplicaSet, namespace, &format!("{name}-{h}"))
            });
            match old_set {
                Some(old_set) => {
                    scaled(&old_set, in_set - 1);
                    delete(&old_set, pod);
                }
                None => {
                    self.terminate_pod(namespace, pod_name_of(pod));
                }
            }
        }
    }

    /// The pods a workload owns (by owner reference), in name order: a StatefulSet's own, a
    /// Deployment's through its ReplicaSets (`<deployment>-<hash>`, old and new).
    pub(crate) fn pods_of(&self, kind: Kind, namespace: &str, name: &str) -> Vec<Arc<Value>> {
        let Some(app) = self.store.get(kind, namespace, name).and_then(|w| {
            w["spec"]["template"]["metadata"]["labels"]["app"]
                .as_str()
                .map(str::to_string)
        }) else {
            return Vec::new();
        };
        self.store
            .by_app(Kind::Pod, namespace, &app)
            .into_iter()
            .filter(|p| {
                let owner = p["metadata"]["ownerReferences"][0]["name"]
                    .as_str()
                    .unwrap_or_default();
                match kind {
                    Kind::StatefulSet => owner == name,
                    _ => owner
                        .rsplit_once('-')
                        .is_some_and(|(deployment, _)| deployment == name),
                }
            })
            .collect()
    }

    /// A pod of `workload`; a Deployment's through its ReplicaSet `set`, which owns it.
    fn create_pod(
        self: &Arc<Self>,
        workload: &Value,
        kind: Kind,
        set: Option<&Value>,
        pod_name: String,
        immediate: bool,
    ) {
        let namespace = workload["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let workload_name = workload["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let template = &workload["spec"]["template"];
        let mut labels = template["metadata"]["labels"].clone();
        let owner = match kind {
            Kind::StatefulSet => {
                labels["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
                labels[REVISION_LABEL] = json!(revision_of(workload));
                json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": workload_name,
                       "uid": workload["metadata"]["uid"], "controller": true})
            }
            _ => {
                let set_meta = set.map_or(&Value::Null, |s| &s["metadata"]);
                labels["pod-template-hash"] = set.map_or(Value::Null, |s| {
                    s["spec"]["template"]["metadata"]["labels"]["pod-template-hash"].clone()
                });
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": set_meta["name"],
                       "uid": set_meta["uid"], "controller": true, "blockOwnerDeletion": true})
            }
        };
        let mut spec = template["spec"].clone();
        spec["nodeName"] = json!(NODE_NAME);
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": namespace,
                "labels": labels,
                "annotations": template["metadata"]["annotations"],
                "ownerReferences": [owner],
            },
            "spec": spec,
            "status": {},
        });
        let ip = self.next_pod_ip();
        let fault = self.fault_of(&namespace, &workload_name);
        let phase = if immediate {
            Phase::Started
        } else {
            Phase::Creating
        };
        let mut pod = pod;
        set_pod_status(&mut pod, phase, fault, &ip, 0);
        let Ok(stored) = self.store.create(Kind::Pod, pod.clone()) else {
            return;
        };
        if !immediate {
            self.record(Occurrence {
                object: &stored,
                field_path: None,
                kind: EventType::Normal,
                reason: "Scheduled",
                message: format!("Successfully assigned {namespace}/{pod_name} to {NODE_NAME}"),
                reporter: Reporter::Scheduler,
            });
            if let Some(set) = set {
                self.record_set_pod(set, true, &pod_name);
            }
            if kind == Kind::StatefulSet {
                // `pkg/controller/statefulset/stateful_pod_control.go` (`recordPodEvent`).
                self.record(Occurrence {
                    object: workload,
                    field_path: None,
                    kind: EventType::Normal,
                    reason: "SuccessfulCreate",
                    message: format!(
                        "create Pod {pod_name} in StatefulSet {workload_name} successful"
                    ),
                    reporter: Reporter::StatefulSetController,
                });
            }
        }
        let main = pod_state::main_container(&pod);
        for container in pod_state::container_names(&pod) {
            let sidecar = main.as_deref() != Some(container.as_str());
            self.logs
                .container_started(&namespace, &pod_name, &container, &workload_name, sidecar);
        }
        if immediate {
            self.refresh_endpoints_for_pod(&pod);
            return;
        }
        let cluster = self.clone();
        let delay = self.options.pod_start_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            cluster.start_pod(&namespace, &pod_name, &workload_name, kind);
        });
    }

    /// Pending to Running: the containers have started.
    fn start_pod(self: &Arc<Self>, namespace: &str, pod_name: &str, workload: &str, kind: Kind) {
        let fault = self.fault_of(namespace, workload);
        let Ok(pod) = self.store.update(Kind::Pod, namespace, pod_name, |pod| {
            if !is_deleting(pod) {
                let ip = pod["status"]["podIP"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                set_pod_status(pod, Phase::Started, fault, &ip, restarts_of(pod));
            }
        }) else {
            return;
        };
        if !is_deleting(&pod) {
            self.record_containers_started(&pod);
            if let Some(fault) = fault {
                self.fault_goes_on(namespace, workload, fault, false);
            }
        }
        self.refresh_endpoints_for_pod(&pod);
        // A new pod ready may let a rollout remove an old one; reconcile refreshes the status.
        self.reconcile(kind, namespace, workload, false);
    }

    /// Starts a pod's graceful termination: its endpoints turn not ready (terminating) at once,
    /// its owner replaces it, and after the grace period (`pod_termination_delay`) its
    /// processes are stopped, cutting their connections, and it vanishes from the API.
    pub(crate) fn terminate_pod(self: &Arc<Self>, namespace: &str, pod_name: &str) -> bool {
        let already = self
            .store
            .get(Kind::Pod, namespace, pod_name)
            .is_some_and(|p| is_deleting(&p));
        let Ok(pod) = self.store.update(Kind::Pod, namespace, pod_name, |pod| {
            // Readiness is left as it is: the kubelet keeps probing a terminating pod, whose
            // containers serve until they are killed (kubectl shows `1/1 Terminating`), and the
            // EndpointSlice controller reports that as `serving` beside `terminating`
            // (KEP-1672, discovery.k8s.io/v1 EndpointConditions). Only `ready` goes false.
            if !is_deleting(pod) {
                pod["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                pod["metadata"]["deletionGracePeriodSeconds"] = json!(30);
            }
        }) else {
            return false;
        };
        if !already {
            self.record_containers_killed(&pod);
        }
        self.refresh_endpoints_for_pod(&pod);
        if let Some((kind, owner)) = self.owner_workload(&pod) {
            self.reconcile(kind, namespace, &owner, false);
        }
        let cluster = self.clone();
        let (namespace, pod_name) = (namespace.to_string(), pod_name.to_string());
        let delay = self.options.pod_termination_delay;
        tokio::spawn(async move {
            // The grace period: the pod's processes still serve the connections they have
            // (a terminating pod only stops getting new ones); then the kubelet kills them.
            tokio::time::sleep(delay).await;
            cluster.backends.stop_pod(&namespace, &pod_name);
            if let Ok(pod) = cluster.store.delete(Kind::Pod, &namespace, &pod_name) {
                cluster.logs.pod_deleted(&namespace, &pod_name);
                cluster.refresh_endpoints_for_pod(&pod);
                if let Some((kind, owner)) = cluster.owner_workload(&pod) {
                    // A StatefulSet recreates the same ordinal only once the old pod is gone.
                    cluster.reconcile(kind, &namespace, &owner, false);
                }
            }
        });
        true
    }

    /// Puts a microservice's pods into a fault (or back to health with `None`).
    pub(crate) fn apply_fault(
        self: &Arc<Self>,
        namespace: &str,
        workload: &str,
        fault: Option<PodFault>,
    ) {
        self.set_fault(namespace, workload, fault);
        let Some(kind) = self.workload_kind(namespace, workload) else {
            return;
        };
        for pod in self.pods_of(kind, namespace, workload) {
            if is_deleting(&pod) || pod["status"]["phase"] == "Pending" {
                continue;
            }
            let restarts = restarts_of(&pod) + u64::from(fault == Some(PodFault::CrashLoopBackOff));
            if let Ok(pod) = self.restate_pod(namespace, pod_name_of(&pod), fault, restarts) {
                if fault.is_some() {
                    // A crashing or unready container drops its connections.
                    self.backends.stop_pod(namespace, pod_name_of(&pod));
                }
                self.refresh_endpoints_for_pod(&pod);
            }
        }
        if let Some(fault) = fault {
            self.fault_goes_on(namespace, workload, fault, false);
        }
        self.refresh_workload_status(kind, namespace, workload);
    }

    /// A running pod's status again, for `fault` and `restarts` (its IP kept).
    pub(crate) fn restate_pod(
        &self,
        namespace: &str,
        pod: &str,
        fault: Option<PodFault>,
        restarts: u64,
    ) -> Result<Arc<Value>, super::store::StoreError> {
        self.store.update(Kind::Pod, namespace, pod, |pod| {
            let ip = pod["status"]["podIP"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            set_pod_status(pod, Phase::Started, fault, &ip, restarts);
        })
    }

    pub(crate) fn workload_kind(&self, namespace: &str, name: &str) -> Option<Kind> {
        [Kind::Deployment, Kind::StatefulSet]
            .into_iter()
            .find(|k| self.store.get(*k, namespace, name).is_some())
    }

    fn owner_workload(&self, pod: &Value) -> Option<(Kind, String)> {
        let owner = &pod["metadata"]["ownerReferences"][0];
        let name = owner["name"].as_str()?;
        match owner["kind"].as_str()? {
            "StatefulSet" => Some((Kind::StatefulSet, name.to_string())),
            // `<deploy>-<hash>`: the hash never contains '-', so the last '-' splits them.
            "ReplicaSet" => Some((Kind::Deployment, name.rsplit_once('-')?.0.to_string())),
            _ => None,
        }
    }
}

pub(crate) fn selector_matches(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

pub(crate) fn random_suffix(len: usize) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| HASH_ALPHABET[rng.random_range(0..HASH_ALPHABET.len())] as char)
        .collect()
}
