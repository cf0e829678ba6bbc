//! A workload's status as its controller writes it from the pods it owns: the counts kubectl
//! shows (`READY`, `UP-TO-DATE`, `AVAILABLE`), the revisions of a StatefulSet, and the
//! conditions `kubectl rollout status` and `describe` read.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Cluster;
use super::kinds::Kind;
use super::pod_state::{is_deleting, is_ready};
use super::revisions::{REVISION_LABEL, revision_of, template_hash};

impl Cluster {
    pub(crate) fn refresh_workload_status(&self, kind: Kind, namespace: &str, name: &str) {
        let pods = self.pods_of(kind, namespace, name);
        let live: Vec<&Arc<Value>> = pods.iter().filter(|p| !is_deleting(p)).collect();
        let ready = pods.iter().filter(|p| is_ready(p)).count() as u64;
        let mut revisions = None;
        let _ = self.store.update(kind, namespace, name, |w| {
            let generation = w["metadata"]["generation"].clone();
            let updated = match kind {
                Kind::StatefulSet => {
                    let revision = revision_of(w);
                    let of_revision = |r: &str| {
                        live.iter()
                            .filter(|p| p["metadata"]["labels"][REVISION_LABEL] == r)
                            .count()
                    };
                    // The current revision is the old one until every pod is at the new one.
                    let current = live
                        .iter()
                        .filter_map(|p| p["metadata"]["labels"][REVISION_LABEL].as_str())
                        .find(|r| *r != revision)
                        .unwrap_or(&revision)
                        .to_string();
                    revisions = Some((of_revision(&current), current, revision.clone()));
                    of_revision(&revision)
                }
                _ => {
                    let hash = template_hash(&w["spec"]["template"]);
                    live.iter()
                        .filter(|p| p["metadata"]["labels"]["pod-template-hash"] == hash.as_str())
                        .count()
                }
            } as u64;
            let live = live.len() as u64;
            let mut status = json!({"observedGeneration": generation, "replicas": live, "updatedReplicas": updated});
            if ready > 0 {
                status["readyReplicas"] = json!(ready);
                status["availableReplicas"] = json!(ready);
            }
            if let Some((current_replicas, current, update)) = revisions.take() {
                status["currentReplicas"] = json!(current_replicas);
                status["currentRevision"] = json!(current);
                status["updateRevision"] = json!(update);
            } else {
                let desired = w["spec"]["replicas"].as_u64().unwrap_or(1);
                let available = ready >= desired;
                // What `kubectl rollout status` and `describe` read: Progressing says whether
                // the newest ReplicaSet has taken over (`NewReplicaSetAvailable`).
                let complete = updated == desired && live == desired && ready >= desired;
                status["conditions"] = json!([{
                    "type": "Available",
                    "status": if available { "True" } else { "False" },
                    "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                }, {
                    "type": "Progressing",
                    "status": "True",
                    "reason": if complete { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
                }]);
            }
            w["status"] = status;
        });
        if kind == Kind::Deployment
            && let Some(deployment) = self.store.get(kind, namespace, name)
        {
            self.refresh_replica_sets(&deployment, &pods);
        }
    }
}
