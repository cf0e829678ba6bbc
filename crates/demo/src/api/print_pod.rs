//! The READY, STATUS and RESTARTS cells of `kubectl get pods`, computed as the API server's
//! printer computes them (`pkg/printers/internalversion/printers.go`, `printPod`): native
//! sidecars (init containers with `restartPolicy: Always`) count in READY, init containers give
//! `Init:…` statuses, the lowest-index failing container names the status, a completed
//! container beside a running one reads `NotReady` unless the pod is Ready, and a pod being
//! deleted reads `Terminating`.

use serde_json::Value;

use super::age::age;

/// READY, STATUS, RESTARTS.
pub fn cells(pod: &Value) -> (String, String, String) {
    let spec = &pod["spec"];
    let status = &pod["status"];
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let init_specs = list(&spec["initContainers"]);
    let sidecars: Vec<&str> = init_specs
        .iter()
        .filter(|c| c["restartPolicy"] == "Always")
        .filter_map(|c| c["name"].as_str())
        .collect();
    let init_statuses = list(&status["initContainerStatuses"]);
    let statuses = list(&status["containerStatuses"]);

    let mut total = list(&spec["containers"]).len() + sidecars.len();
    if total == 0 {
        total = statuses.len();
    }
    let mut ready = 0;
    let mut restarts = 0u64;
    let mut last_restart: Option<String> = None;
    let mut note_restarts = |c: &Value| {
        restarts += c["restartCount"].as_u64().unwrap_or(0);
        if let Some(at) = c["lastState"]["terminated"]["finishedAt"].as_str()
            && last_restart.as_deref().is_none_or(|l| at > l)
        {
            last_restart = Some(at.to_string());
        }
    };

    let mut reason = status["reason"]
        .as_str()
        .or(status["phase"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut initializing = false;
    for (i, c) in init_statuses.iter().enumerate() {
        let name = c["name"].as_str().unwrap_or_default();
        let is_sidecar = sidecars.contains(&name);
        if is_sidecar {
            note_restarts(c);
            if c["started"] == true && c["ready"] == true {
                ready += 1;
            }
        }
        let terminated = &c["state"]["terminated"];
        let waiting = &c["state"]["waiting"];
        if terminated.is_object() && terminated["exitCode"].as_i64() == Some(0) {
            continue;
        }
        if is_sidecar && c["started"] == true {
            continue;
        }
        initializing = true;
        reason = if terminated.is_object() {
            match terminated["reason"].as_str().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => match terminated["signal"].as_i64().filter(|s| *s != 0) {
                    Some(signal) => format!("Init:Signal:{signal}"),
                    None => format!("Init:ExitCode:{}", terminated["exitCode"]),
                },
            }
        } else if let Some(r) = waiting["reason"]
            .as_str()
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            format!("Init:{r}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        break;
    }
    let initialized = condition(status, "Initialized");
    if !initializing || initialized {
        let mut has_running = false;
        for c in statuses.iter().rev() {
            note_restarts(c);
            let state = &c["state"];
            if let Some(r) = state["waiting"]["reason"]
                .as_str()
                .filter(|r| !r.is_empty())
            {
                reason = r.to_string();
            } else if state["terminated"].is_object() {
                let t = &state["terminated"];
                reason = match t["reason"].as_str().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None => match t["signal"].as_i64().filter(|s| *s != 0) {
                        Some(signal) => format!("Signal:{signal}"),
                        None => format!("ExitCode:{}", t["exitCode"]),
                    },
                };
            } else if c["ready"] == true && state["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition(status, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }
    let phase = status["phase"].as_str().unwrap_or_default();
    if !pod["metadata"]["deletionTimestamp"].is_null() && phase != "Succeeded" && phase != "Failed"
    {
        reason = if status["reason"] == "NodeLost" {
            "Unknown".to_string()
        } else {
            "Terminating".to_string()
        };
    }
    let restarts = match last_restart {
        Some(at) if restarts > 0 => {
            format!("{restarts} ({} ago)", age(&Value::String(at)))
        }
        _ => restarts.to_string(),
    };
    (format!("{ready}/{total}"), reason, restarts)
}

fn condition(status: &Value, kind: &str) -> bool {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn running(name: &str) -> Value {
        json!({"name": name, "ready": true, "started": true, "restartCount": 0, "state": {"running": {}}})
    }

    #[test]
    fn a_mesh_sidecar_counts_and_a_crashing_one_names_the_status() {
        let pod = json!({
            "metadata": {"name": "data-x"},
            "spec": {"containers": [{"name": "data"}, {"name": "istio-proxy"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [running("data"), running("istio-proxy")]},
        });
        assert_eq!(cells(&pod), ("2/2".into(), "Running".into(), "0".into()));
        let mut crashing = pod.clone();
        crashing["status"]["containerStatuses"][1] = json!({"name": "istio-proxy", "ready": false,
            "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2020-01-01T00:00:00Z"}}});
        let (ready, status, restarts) = cells(&crashing);
        assert_eq!(
            (ready.as_str(), status.as_str()),
            ("1/2", "CrashLoopBackOff")
        );
        assert!(restarts.starts_with("4 ("), "{restarts}");
    }

    #[test]
    fn a_native_sidecar_counts_in_ready_and_init_containers_show_progress() {
        let pod = json!({
            "metadata": {"name": "filestore-x"},
            "spec": {"initContainers": [{"name": "cloud-sql-proxy", "restartPolicy": "Always"}],
                     "containers": [{"name": "filestore"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                "initContainerStatuses": [running("cloud-sql-proxy")],
                "containerStatuses": [running("filestore")]},
        });
        assert_eq!(cells(&pod).0, "2/2");
        assert_eq!(cells(&pod).1, "Running");
        let mut starting = pod.clone();
        starting["status"]["initContainerStatuses"][0] = json!({"name": "cloud-sql-proxy", "started": false, "state": {"waiting": {"reason": "PodInitializing"}}});
        starting["status"]["conditions"] = json!([]);
        starting["status"]["phase"] = json!("Pending");
        assert_eq!(cells(&starting).1, "Init:0/1");
    }

    #[test]
    fn a_pod_being_deleted_is_terminating() {
        let pod = json!({
            "metadata": {"name": "x", "deletionTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "x"}]},
            "status": {"phase": "Running", "containerStatuses": [running("x")]},
        });
        assert_eq!(cells(&pod).1, "Terminating");
    }
}
