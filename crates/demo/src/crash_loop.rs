//! What the kubelet keeps doing to a pod in a fault as time passes: a crashing container is
//! restarted after its back-off (`restartCount` up by one, `lastState.terminated` the new exit,
//! a `BackOff` Warning counted once more), and a failing readiness probe reports `Unhealthy`
//! again. One tick for all of them, every `DemoOptions::restart_backoff` (the kubelet's back-off
//! starts at 10 s and doubles to 5 min; the demo keeps the first step so that the loop shows).

use std::sync::Arc;

use serde_json::Value;

use super::Cluster;
use super::events::{EventType, Occurrence, Reporter};
use super::pod_state::{self, PodFault, is_deleting, pod_name_of, restarts_of};

impl Cluster {
    pub(crate) fn spawn_crash_loop(self: &Arc<Self>) {
        let cluster = Arc::downgrade(self);
        let period = self.options.restart_backoff;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(cluster) = cluster.upgrade() else {
                    return;
                };
                for ((namespace, workload), fault) in cluster.faults_now() {
                    cluster.fault_goes_on(&namespace, &workload, fault, true);
                }
            }
        });
    }

    /// One more round of a fault on the workload's running pods: restarts counted when
    /// `restart`, and the kubelet's events for it.
    pub(crate) fn fault_goes_on(
        self: &Arc<Self>,
        namespace: &str,
        workload: &str,
        fault: PodFault,
        restart: bool,
    ) {
        let Some(kind) = self.workload_kind(namespace, workload) else {
            return;
        };
        for pod in self.pods_of(kind, namespace, workload) {
            if is_deleting(&pod) || pod["status"]["phase"] != "Running" {
                continue;
            }
            let crashing = crashing_containers(&pod, fault);
            let pod = if restart && !crashing.is_empty() {
                let restarts = restarts_of(&pod) + 1;
                match self.restate_pod(namespace, pod_name_of(&pod), Some(fault), restarts) {
                    Ok(pod) => pod,
                    Err(_) => continue,
                }
            } else {
                pod
            };
            self.record_fault_events(&pod, fault, &crashing);
        }
        self.refresh_workload_status(kind, namespace, workload);
    }

    fn record_fault_events(&self, pod: &Value, fault: PodFault, crashing: &[String]) {
        let name = pod_name_of(pod);
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
        if fault == PodFault::NotReady {
            let container = pod_state::main_container(pod).unwrap_or_default();
            self.record(Occurrence {
                object: pod,
                field_path: Some(format!("spec.containers{{{container}}}")),
                kind: EventType::Warning,
                reason: "Unhealthy",
                message: "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
                reporter: Reporter::Kubelet,
            });
            return;
        }
        for container in crashing {
            // kubelet `kuberuntime_manager.go` (`doBackOff`).
            self.record(Occurrence {
                object: pod,
                field_path: Some(format!("spec.containers{{{container}}}")),
                kind: EventType::Warning,
                reason: "BackOff",
                message: format!(
                    "Back-off restarting failed container {container} in pod {name}_{namespace}({uid})"
                ),
                reporter: Reporter::Kubelet,
            });
        }
    }
}

/// The containers a fault crashes (none for NotReady).
fn crashing_containers(pod: &Value, fault: PodFault) -> Vec<String> {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|f| pod["status"][*f].as_array().cloned().unwrap_or_default())
        .filter(|s| {
            fault != PodFault::NotReady && s["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        })
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect()
}
