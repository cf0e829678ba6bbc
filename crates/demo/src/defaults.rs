//! The defaults the API server writes into a workload when it is created (kubernetes
//! `pkg/apis/apps/v1/defaults.go`, `SetDefaults_Deployment` and `SetDefaults_StatefulSet`), so
//! a manifest that leaves them out reads back as from a real cluster. kubectl depends on them:
//! `rollout status` refuses a StatefulSet whose `updateStrategy.type` is not `RollingUpdate`.

use serde_json::{Value, json};

use super::kinds::Kind;

pub fn apply(kind: Kind, object: &mut Value) {
    let (defaults, strategy, rolling) = match kind {
        Kind::Deployment => (
            json!({"replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}),
            "strategy",
            json!({"maxUnavailable": "25%", "maxSurge": "25%"}),
        ),
        Kind::StatefulSet => (
            json!({
                "replicas": 1,
                "podManagementPolicy": "OrderedReady",
                "revisionHistoryLimit": 10,
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            }),
            "updateStrategy",
            json!({"partition": 0}),
        ),
        _ => return,
    };
    let spec = &mut object["spec"];
    fill(spec, &defaults);
    // The strategy's type defaults to RollingUpdate; its parameters only for that type.
    let strategy = &mut spec[strategy];
    if strategy["type"].is_null() {
        strategy["type"] = json!("RollingUpdate");
    }
    if strategy["type"] == "RollingUpdate" {
        fill(&mut strategy["rollingUpdate"], &rolling);
    }
}

/// Sets what `defaults` has and `target` lacks, field by field.
fn fill(target: &mut Value, defaults: &Value) {
    let Some(fields) = defaults.as_object() else {
        return;
    };
    for (key, value) in fields {
        if target[key].is_null() {
            target[key] = value.clone();
        } else if value.is_object() {
            fill(&mut target[key], value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_are_defaulted_and_given_ones_kept() {
        let mut deployment = json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}});
        apply(Kind::Deployment, &mut deployment);
        assert_eq!(deployment["spec"]["replicas"], 3);
        assert_eq!(deployment["spec"]["progressDeadlineSeconds"], 600);
        assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
        assert!(deployment["spec"]["strategy"]["rollingUpdate"].is_null());
        let mut sts = json!({"spec": {}});
        apply(Kind::StatefulSet, &mut sts);
        assert_eq!(sts["spec"]["updateStrategy"]["type"], "RollingUpdate");
        assert_eq!(
            sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"],
            0
        );
        assert_eq!(sts["spec"]["replicas"], 1);
    }
}
