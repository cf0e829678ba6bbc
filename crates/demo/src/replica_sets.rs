//! A Deployment's ReplicaSets as objects, as the Deployment and ReplicaSet controllers keep
//! them (kubernetes `pkg/controller/deployment/sync.go` `getNewReplicaSet`, `pkg/controller/
//! replicaset/replica_set.go` `manageReplicas`, `calculateStatus`): one per pod template
//! (`<deployment>-<pod-template-hash>`), owned by the Deployment, labelled and selecting with the
//! hash, annotated with its revision (one more than the newest so far) and the desired and
//! surge counts; `spec.replicas` as the Deployment controller scales it, `status` counted from
//! its pods; and the ReplicaSet controller's Events on it for each pod it creates or deletes
//! (`pkg/controller/controller_utils.go`: `SuccessfulCreate` "Created pod: %v",
//! `SuccessfulDelete` "Deleted pod: %v", from `replicaset-controller`).
//!
//! Kept minimal: the sets are the controller's record, not a second controller. A set written
//! by a client (`kubectl scale rs`) is stored but nothing acts on it, and the scaled-down history
//! is kept whole (the Deployment controller trims it to `revisionHistoryLimit`, 10).

use std::sync::Arc;

use serde_json::{Value, json};

use super::Cluster;
use super::events::{EventType, Occurrence, Reporter};
use super::kinds::Kind;
use super::pod_state::{is_deleting, is_ready};
use super::revisions::rolling_bounds;

const REVISION: &str = "deployment.kubernetes.io/revision";

impl Cluster {
    /// The set of `deployment`'s template `hash`, made when it is not there yet (replicas 0: the
    /// caller scales it).
    pub(crate) fn replica_set_for(&self, deployment: &Value, hash: &str) -> Option<Arc<Value>> {
        let meta = &deployment["metadata"];
        let namespace = meta["namespace"].as_str().unwrap_or_default();
        let name = format!("{}-{hash}", meta["name"].as_str().unwrap_or_default());
        if let Some(set) = self.store.get(Kind::ReplicaSet, namespace, &name) {
            return Some(set);
        }
        let revision = self
            .replica_sets_of(deployment)
            .iter()
            .filter_map(|s| {
                s["metadata"]["annotations"][REVISION]
                    .as_str()?
                    .parse::<u64>()
                    .ok()
            })
            .max()
            .unwrap_or(0)
            + 1;
        let desired = deployment["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let (surge, _) = rolling_bounds(desired);
        let mut template = deployment["spec"]["template"].clone();
        template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        let mut selector = deployment["spec"]["selector"].clone();
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let set = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": template["metadata"]["labels"],
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                    "deployment.kubernetes.io/max-replicas": (desired + surge).to_string(),
                    REVISION: revision.to_string(),
                },
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                    "uid": meta["uid"], "controller": true, "blockOwnerDeletion": true,
                }],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
            "status": {"replicas": 0, "observedGeneration": 1},
        });
        self.store.create(Kind::ReplicaSet, set).ok()
    }

    /// The Deployment controller scales a set.
    pub(crate) fn scale_replica_set(&self, namespace: &str, name: &str, replicas: usize) {
        let _ = self.store.update(Kind::ReplicaSet, namespace, name, |set| {
            set["spec"]["replicas"] = json!(replicas);
        });
    }

    /// The ReplicaSet controller's Event for a pod it made (`SuccessfulCreate`) or removed
    /// (`SuccessfulDelete`).
    pub(crate) fn record_set_pod(&self, set: &Value, created: bool, pod: &str) {
        let (reason, verb) = if created {
            ("SuccessfulCreate", "Created")
        } else {
            ("SuccessfulDelete", "Deleted")
        };
        self.record(Occurrence {
            object: set,
            field_path: None,
            kind: EventType::Normal,
            reason,
            message: format!("{verb} pod: {pod}"),
            reporter: Reporter::ReplicaSetController,
        });
    }

    /// Each set's status from its pods (`calculateStatus`): the pods it has, those fully
    /// labelled (all of them here), ready and available (no `minReadySeconds` here).
    pub(crate) fn refresh_replica_sets(&self, deployment: &Value, pods: &[Arc<Value>]) {
        let namespace = deployment["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        for set in self.replica_sets_of(deployment) {
            let hash = &set["spec"]["template"]["metadata"]["labels"]["pod-template-hash"];
            let mine: Vec<&Arc<Value>> = pods
                .iter()
                .filter(|p| {
                    !is_deleting(p) && &p["metadata"]["labels"]["pod-template-hash"] == hash
                })
                .collect();
            let ready = mine.iter().filter(|p| is_ready(p)).count();
            let name = set["metadata"]["name"].as_str().unwrap_or_default();
            let _ = self.store.update(Kind::ReplicaSet, namespace, name, |set| {
                let mut status = json!({
                    "replicas": mine.len(),
                    "fullyLabeledReplicas": mine.len(),
                    "observedGeneration": set["metadata"]["generation"],
                });
                // Zero counts are left out, as the API server's JSON omits them.
                if mine.is_empty() {
                    status
                        .as_object_mut()
                        .map(|s| s.remove("fullyLabeledReplicas"));
                }
                if ready > 0 {
                    status["readyReplicas"] = json!(ready);
                    status["availableReplicas"] = json!(ready);
                }
                set["status"] = status;
            });
        }
    }

    /// The sets a Deployment owns.
    fn replica_sets_of(&self, deployment: &Value) -> Vec<Arc<Value>> {
        let meta = &deployment["metadata"];
        let namespace = meta["namespace"].as_str().unwrap_or_default();
        let Some(app) = deployment["spec"]["template"]["metadata"]["labels"]["app"].as_str() else {
            return Vec::new();
        };
        self.store
            .by_app(Kind::ReplicaSet, namespace, app)
            .into_iter()
            .filter(|s| s["metadata"]["ownerReferences"][0]["uid"] == meta["uid"])
            .collect()
    }
}
