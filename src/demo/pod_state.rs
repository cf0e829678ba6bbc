//! A pod's state as the kubelet would report it: phase, conditions, container statuses, restart
//! counts, and what faults make of them.

use serde_json::{Value, json};

use super::store::now_rfc3339;

/// What a fault makes of a microservice's running pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodFault {
    CrashLoopBackOff,
    NotReady,
}

/// Where a pod is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Creating,
    Started,
}

pub(crate) fn set_pod_status(
    pod: &mut Value,
    phase: Phase,
    fault: Option<PodFault>,
    ip: &str,
    restarts: u64,
) {
    let started = phase == Phase::Started;
    let ready = started && fault.is_none();
    let start_time = pod["status"]["startTime"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(now_rfc3339);
    let statuses: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let state = match (phase, fault) {
                (Phase::Creating, _) => json!({"waiting": {"reason": "ContainerCreating"}}),
                (Phase::Started, Some(PodFault::CrashLoopBackOff)) => json!({"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": format!("back-off 10s restarting failed container={} pod={}", c["name"].as_str().unwrap_or_default(), pod["metadata"]["name"].as_str().unwrap_or_default()),
                }}),
                (Phase::Started, _) => json!({"running": {"startedAt": start_time}}),
            };
            let mut status = json!({
                "name": c["name"], "image": c["image"], "imageID": "", "ready": ready,
                "restartCount": restarts, "started": started && fault != Some(PodFault::CrashLoopBackOff), "state": state,
            });
            if fault == Some(PodFault::CrashLoopBackOff) {
                status["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now_rfc3339()}});
            }
            status
        })
        .collect();
    let condition = |kind: &str, ok: bool| json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastTransitionTime": start_time});
    pod["status"] = json!({
        "phase": if started { "Running" } else { "Pending" },
        "hostIP": "10.0.0.1",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": start_time,
        "qosClass": "BestEffort",
        "conditions": [
            condition("Initialized", true),
            condition("Ready", ready),
            condition("ContainersReady", ready),
            condition("PodScheduled", true),
        ],
        "containerStatuses": statuses,
    });
}

pub(crate) fn set_condition(pod: &mut Value, kind: &str, ok: bool) {
    for condition in pod["status"]["conditions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if condition["type"] == kind {
            condition["status"] = json!(if ok { "True" } else { "False" });
        }
    }
}

pub(crate) fn is_deleting(pod: &Value) -> bool {
    !pod["metadata"]["deletionTimestamp"].is_null()
}

pub(crate) fn is_ready(pod: &Value) -> bool {
    !is_deleting(pod)
        && pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

pub(crate) fn restarts_of(pod: &Value) -> u64 {
    pod["status"]["containerStatuses"][0]["restartCount"]
        .as_u64()
        .unwrap_or(0)
}

pub(crate) fn pod_name_of(pod: &Value) -> &str {
    pod["metadata"]["name"].as_str().unwrap_or_default()
}
