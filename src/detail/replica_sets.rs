//! Which of a Deployment's ReplicaSets the detail view follows the Events of. The ReplicaSet
//! controller writes its Events on the ReplicaSet, not the Deployment: `FailedCreate` (a quota,
//! an admission webhook, a missing ServiceAccount) is what explains a Deployment stuck at 0
//! pods, and no pod exists to carry it. The sets followed are the ones meant to have pods
//! (`spec.replicas` above 0: during a rollout, the old and the new) and the newest revision
//! (`deployment.kubernetes.io/revision`), never the scaled-down history a Deployment keeps
//! (`revisionHistoryLimit`, 10 by default), which would cost a watch each and say nothing new.

use k8s_openapi::api::apps::v1::ReplicaSet;

use super::watched::Named;

const REVISION: &str = "deployment.kubernetes.io/revision";

impl Named for ReplicaSet {
    fn name(&self) -> String {
        self.metadata.name.clone().unwrap_or_default()
    }
}

/// The names of `deployment`'s ReplicaSets among `sets` (a label selector can match others'),
/// whose Events are worth showing.
pub fn followed<'a>(
    sets: impl IntoIterator<Item = &'a ReplicaSet>,
    deployment: &str,
) -> Vec<String> {
    let owned: Vec<&ReplicaSet> = sets
        .into_iter()
        .filter(|rs| {
            rs.metadata.owner_references.iter().flatten().any(|o| {
                o.kind == "Deployment" && o.name == deployment && o.controller == Some(true)
            })
        })
        .collect();
    let revision = |rs: &ReplicaSet| {
        rs.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION)?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let newest = owned.iter().map(|rs| revision(rs)).max();
    let mut names: Vec<String> = owned
        .into_iter()
        .filter(|rs| {
            let replicas = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            replicas > 0 || Some(revision(rs)) == newest
        })
        .map(|rs| rs.name())
        .collect();
    names.sort();
    names
}

/// Whether an error means the cluster does not serve the kind at all (404): not a failure of
/// the view, the part is simply empty.
pub fn not_served(error: &kube::runtime::watcher::Error) -> bool {
    use kube::runtime::watcher::Error;
    matches!(error, Error::InitialListFailed(kube::Error::Api(s))
        | Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, owner: &str, replicas: i32, revision: u64) -> ReplicaSet {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name,
                "annotations": {REVISION: revision.to_string()},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner,
                                     "uid": "u", "controller": true}],
            },
            "spec": {"replicas": replicas, "selector": {}},
        }))
        .unwrap()
    }

    #[test]
    fn the_sets_meant_to_have_pods_and_the_newest_are_followed() {
        let sets = [
            set("data-old1", "data", 0, 1),
            set("data-old2", "data", 2, 2),
            set("data-new", "data", 1, 3),
            set("data-copy-x", "data-copy", 1, 1),
        ];
        assert_eq!(followed(&sets, "data"), ["data-new", "data-old2"]);
        // Stuck at 0 pods after a scale to 0: the newest is still followed.
        let stuck = [set("web-a", "web", 0, 1), set("web-b", "web", 0, 2)];
        assert_eq!(followed(&stuck, "web"), ["web-b"]);
    }
}
