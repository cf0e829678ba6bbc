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
use super::store::Narrow;

const REVISION: &str = "deployment.kubernetes.io/revision";

impl Cluster {
    /// The set of `deployment`'s template `hash`, the Deployment's new one: made when it is not
    /// there yet (replicas 0: the caller scales it), and given the next revision when an older
    /// set becomes the new one again (`kubectl rollout undo`; `getNewReplicaSet` sets
    /// `revision` to one more than the newest).
    pub(crate) fn replica_set_for(&self, deployment: &Value, hash: &str) -> Option<Arc<Value>> {
        let meta = &deployment["metadata"];
        let namespace = meta["namespace"].as_str().unwrap_or_default();
        let name = format!("{}-{hash}", meta["name"].as_str().unwrap_or_default());
        let sets = self.replica_sets_of(deployment);
        let newest = sets
            .iter()
            .filter_map(|s| revision_of(s))
            .max()
            .unwrap_or(0);
        if let Some(set) = sets.iter().find(|s| s["metadata"]["name"] == name.as_str()) {
            if revision_of(set).is_some_and(|r| r < newest) {
                return self
                    .store
                    .update(Kind::ReplicaSet, namespace, &name, |set| {
                        set["metadata"]["annotations"][REVISION] = json!((newest + 1).to_string());
                    })
                    .ok();
            }
            return Some(set.clone());
        }
        let desired = deployment["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let mut template = deployment["spec"]["template"].clone();
        template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        let mut selector = deployment["spec"]["selector"].clone();
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let mut set = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": template["metadata"]["labels"],
                "annotations": {REVISION: (newest + 1).to_string()},
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                    "uid": meta["uid"], "controller": true, "blockOwnerDeletion": true,
                }],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
            "status": {"replicas": 0, "observedGeneration": 1},
        });
        set_replicas_annotations(&mut set, desired);
        // Another reconcile of the same Deployment may have made it meanwhile.
        self.store
            .create(Kind::ReplicaSet, set)
            .ok()
            .or_else(|| self.store.get(Kind::ReplicaSet, namespace, &name))
    }

    /// The Deployment controller scales `set` to `to` replicas of `deployment` (writing the
    /// desired and surge counts on it too, `scaleReplicaSet`) and says so in a
    /// `ScalingReplicaSet` event (`pkg/controller/deployment/sync.go` at 1.36, lines 286 and 433:
    /// "Scaled up replica set %s from 0 to %d" for a new one, else "Scaled %s replica set %s
    /// from %d to %d"; the testbed showed the older wording here); none at start-up
    /// (`immediate`), whose history is long gone. A pod replaced within a set's count is the
    /// ReplicaSet controller's work alone (`SuccessfulCreate`, no scaling).
    pub(crate) fn scale_replica_set(
        &self,
        deployment: &Value,
        set: &Value,
        to: usize,
        immediate: bool,
    ) {
        let namespace = set["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = set["metadata"]["name"].as_str().unwrap_or_default();
        let from = set["spec"]["replicas"].as_u64().unwrap_or(0) as usize;
        let desired = deployment["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let _ = self.store.update(Kind::ReplicaSet, namespace, name, |set| {
            set["spec"]["replicas"] = json!(to);
            set_replicas_annotations(set, desired);
        });
        if immediate || from == to {
            return;
        }
        let direction = if to > from { "up" } else { "down" };
        self.record(Occurrence {
            object: deployment,
            field_path: None,
            kind: EventType::Normal,
            reason: "ScalingReplicaSet",
            message: format!("Scaled {direction} replica set {name} from {from} to {to}"),
            reporter: Reporter::DeploymentController,
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

    /// The sets a Deployment owns: from the `app` index when its pods carry that label (every
    /// Deployment of the demo's content does), else from a scan of the namespace.
    fn replica_sets_of(&self, deployment: &Value) -> Vec<Arc<Value>> {
        let meta = &deployment["metadata"];
        let namespace = meta["namespace"].as_str().unwrap_or_default();
        let owned = |s: &Value| s["metadata"]["ownerReferences"][0]["uid"] == meta["uid"];
        match deployment["spec"]["template"]["metadata"]["labels"]["app"].as_str() {
            Some(app) => self
                .store
                .by_app(Kind::ReplicaSet, namespace, app)
                .into_iter()
                .filter(|s| owned(s))
                .collect(),
            None => {
                let all = Narrow::Any;
                let page = self.store.list(
                    Kind::ReplicaSet,
                    Some(namespace),
                    all,
                    None,
                    usize::MAX,
                    owned,
                );
                page.items
            }
        }
    }
}

fn revision_of(set: &Value) -> Option<u64> {
    set["metadata"]["annotations"][REVISION]
        .as_str()?
        .parse()
        .ok()
}

/// `deployment.kubernetes.io/desired-replicas` and `max-replicas` (desired plus the surge).
fn set_replicas_annotations(set: &mut Value, desired: usize) {
    let (surge, _) = rolling_bounds(desired);
    let annotations = &mut set["metadata"]["annotations"];
    annotations["deployment.kubernetes.io/desired-replicas"] = json!(desired.to_string());
    annotations["deployment.kubernetes.io/max-replicas"] = json!((desired + surge).to_string());
}
