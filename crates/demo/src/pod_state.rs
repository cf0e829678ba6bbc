//! A pod's state as the kubelet would report it: phase, conditions, container statuses, restart
//! counts, and what faults make of them.

use serde_json::{Value, json};

/// The one node every demo pod runs on.
pub(crate) const NODE_NAME: &str = "demo-node-1";

use super::store::now_rfc3339;

/// What a fault makes of a microservice's running pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodFault {
    CrashLoopBackOff,
    NotReady,
    /// Only the sidecar (the last container, or a native sidecar) crashes.
    SidecarCrashLoopBackOff,
}

/// The pod's containers that run beside the app: native sidecars (init containers with
/// `restartPolicy: Always`) first, then the app containers, as kubelet starts them.
pub(crate) fn container_names(pod: &Value) -> Vec<String> {
    let names = |list: &Value, sidecars_only: bool| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter(|c| !sidecars_only || c["restartPolicy"] == "Always")
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    };
    let mut all = names(&pod["spec"]["initContainers"], true);
    all.extend(names(&pod["spec"]["containers"], false));
    all
}

/// The container that is the microservice itself: the one the
/// `kubectl.kubernetes.io/default-container` annotation names, else the first app container;
/// the others are sidecars.
pub(crate) fn main_container(pod: &Value) -> Option<String> {
    let annotated =
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"].as_str();
    annotated
        .or(pod["spec"]["containers"][0]["name"].as_str())
        .map(str::to_string)
}

/// Which container a sidecar fault crashes: the native sidecar if there is one, else the last
/// app container when there are several.
fn sidecar_of(pod: &Value) -> Option<String> {
    let native = pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["restartPolicy"] == "Always")
        .and_then(|c| c["name"].as_str());
    let containers = pod["spec"]["containers"].as_array();
    native
        .or_else(|| {
            containers
                .filter(|c| c.len() > 1)
                .and_then(|c| c.last())
                .and_then(|c| c["name"].as_str())
        })
        .map(str::to_string)
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
    let pod_name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let sidecar = sidecar_of(pod);
    // Which containers a fault crashes: all of them, or only the sidecar.
    let crashing = |name: &str| match fault {
        Some(PodFault::CrashLoopBackOff) => true,
        Some(PodFault::SidecarCrashLoopBackOff) => sidecar.as_deref() == Some(name),
        _ => false,
    };
    let status_of = |c: &Value| {
        let name = c["name"].as_str().unwrap_or_default();
        let crashes = started && crashing(name);
        let state = match phase {
            Phase::Creating => json!({"waiting": {"reason": "ContainerCreating"}}),
            Phase::Started if crashes => json!({"waiting": {
                "reason": "CrashLoopBackOff",
                "message": format!("back-off 10s restarting failed container={name} pod={pod_name}"),
            }}),
            Phase::Started => json!({"running": {"startedAt": start_time}}),
        };
        let mut status = json!({
            "name": name, "image": c["image"], "imageID": "",
            "ready": started && !crashes && fault != Some(PodFault::NotReady),
            "restartCount": if crashes { restarts.max(1) } else { 0 },
            "started": started && !crashes, "state": state,
        });
        if crashes {
            // What the app said on its way out, as the kubelet reads it from
            // /dev/termination-log into `message`.
            status["lastState"] = json!({"terminated": {
                "exitCode": 1, "reason": "Error", "startedAt": start_time, "finishedAt": now_rfc3339(),
                "message": "fatal: cannot reach postgres.hasura:5432: connection refused",
                "containerID": format!("containerd://{:064x}", restarts),
            }});
        }
        status
    };
    let list = |field: &str| pod["spec"][field].as_array().cloned().unwrap_or_default();
    let statuses: Vec<Value> = list("containers").iter().map(status_of).collect();
    // Init containers: native sidecars run beside the app; the others ran to completion.
    let init_statuses: Vec<Value> = list("initContainers")
        .iter()
        .map(|c| {
            if c["restartPolicy"] == "Always" {
                status_of(c)
            } else {
                json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "restartCount": 0,
                       "started": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}})
            }
        })
        .collect();
    let ready = ready
        && !statuses
            .iter()
            .chain(&init_statuses)
            .any(|s| s["ready"] == false && s["state"]["terminated"].is_null());
    let condition = |kind: &str, ok: bool| json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastTransitionTime": start_time});
    pod["status"] = json!({
        "phase": if started { "Running" } else { "Pending" },
        "hostIP": "10.0.0.1",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": start_time,
        "qosClass": "BestEffort",
        "conditions": [
            condition("Initialized", started || init_statuses.is_empty()),
            condition("Ready", ready),
            condition("ContainersReady", ready),
            condition("PodScheduled", true),
        ],
        "containerStatuses": statuses,
    });
    if !init_statuses.is_empty() {
        pod["status"]["initContainerStatuses"] = json!(init_statuses);
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

/// The highest restart count of the pod's containers (a crash loop counts up from there).
pub(crate) fn restarts_of(pod: &Value) -> u64 {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|f| pod["status"][*f].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["restartCount"].as_u64())
        .max()
        .unwrap_or(0)
}

pub(crate) fn pod_name_of(pod: &Value) -> &str {
    pod["metadata"]["name"].as_str().unwrap_or_default()
}
