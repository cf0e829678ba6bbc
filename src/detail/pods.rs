//! A pod as `kubectl get pods` words it (READY, STATUS, RESTARTS, AGE, NODE, IP; printers.go
//! `printPod`, simplified to what microservices show), with the last termination of its most
//! restarted container, and a Service's ports with the pods behind them.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use super::PortLine;
use crate::model::objects::pod_is_ready;
use crate::model::{ServicePortInfo, TargetPort};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PodLine {
    pub name: String,
    pub ready: u32,
    pub containers: u32,
    /// `Running`, `CrashLoopBackOff`, `Terminating`, `ContainerCreating`, …
    pub status: String,
    pub restarts: u32,
    pub last_restart: Option<Timestamp>,
    pub created: Option<Timestamp>,
    pub node: Option<String>,
    pub ip: Option<String>,
    pub terminating: bool,
    pub last_termination: Option<Termination>,
    /// From the metrics API, when served.
    pub usage: Option<crate::metrics::Usage>,
}

/// How a container last ended, for one that restarts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Termination {
    pub container: String,
    pub reason: String,
    pub exit_code: i32,
    pub finished: Option<Timestamp>,
    /// The first line of its termination message.
    pub message: Option<String>,
}

pub fn line(pod: &Pod) -> PodLine {
    let status = pod.status.as_ref();
    let statuses: &[ContainerStatus] = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let containers = pod.spec.as_ref().map_or(0, |s| s.containers.len()) as u32;
    let ready = statuses.iter().filter(|c| c.ready).count() as u32;
    let restarts = statuses.iter().map(|c| c.restart_count.max(0) as u32).sum();
    // The most restarted container; among equals the first, the app before its sidecars.
    let most_restarted = statuses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.restart_count > 0)
        .max_by_key(|(i, c)| (c.restart_count, std::cmp::Reverse(*i)))
        .map(|(_, c)| c);
    let last_termination = most_restarted.and_then(|c| {
        let terminated = c.last_state.as_ref()?.terminated.as_ref()?;
        Some(Termination {
            container: c.name.clone(),
            reason: terminated.reason.clone().unwrap_or_default(),
            exit_code: terminated.exit_code,
            finished: terminated.finished_at.as_ref().map(|t| t.0),
            message: terminated
                .message
                .as_deref()
                .and_then(|m| m.lines().find(|l| !l.trim().is_empty()))
                .map(|l| l.trim().to_string()),
        })
    });
    let terminating = pod.metadata.deletion_timestamp.is_some();
    PodLine {
        name: pod.metadata.name.clone().unwrap_or_default(),
        ready,
        containers,
        status: status_word(pod, statuses, terminating),
        restarts,
        last_restart: last_termination.as_ref().and_then(|t| t.finished),
        created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        ip: status.and_then(|s| s.pod_ip.clone()),
        terminating,
        last_termination,
        usage: None,
    }
}

/// kubectl's STATUS: Terminating for a pod being deleted, else the first waiting or terminated
/// reason of a container, else the phase.
fn status_word(pod: &Pod, statuses: &[ContainerStatus], terminating: bool) -> String {
    if terminating {
        return "Terminating".into();
    }
    let status = pod.status.as_ref();
    if let Some(reason) = status.and_then(|s| s.reason.clone()) {
        return reason;
    }
    for c in statuses.iter().rev() {
        let state = c.state.as_ref();
        if let Some(reason) = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
        {
            return reason;
        }
        if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
            return terminated
                .reason
                .clone()
                .unwrap_or_else(|| format!("ExitCode:{}", terminated.exit_code));
        }
    }
    status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into())
}

/// Each Service port, the container port its targetPort resolves to, and the pods behind it
/// as the EndpointSlice controller sorts them: ready, not ready, terminating.
pub fn ports(ports: &[ServicePortInfo], pods: &[Pod]) -> Vec<PortLine> {
    ports
        .iter()
        .map(|port| {
            let container_port = |pod: &Pod| -> Option<i32> {
                match &port.target {
                    TargetPort::Number(n) => Some(*n),
                    TargetPort::Name(name) => pod
                        .spec
                        .as_ref()?
                        .containers
                        .iter()
                        .flat_map(|c| c.ports.iter().flatten())
                        .find(|p| p.name.as_deref() == Some(name.as_str()))
                        .map(|p| p.container_port),
                }
            };
            let mut line = PortLine {
                name: port.name.clone(),
                port: port.port,
                target: match &port.target {
                    TargetPort::Number(n) => n.to_string(),
                    TargetPort::Name(s) => s.clone(),
                },
                container_port: pods.iter().find_map(container_port),
                ..PortLine::default()
            };
            for pod in pods {
                let name = pod.metadata.name.clone().unwrap_or_default();
                if pod.metadata.deletion_timestamp.is_some() {
                    line.terminating.push(name);
                } else if pod_is_ready(pod) {
                    line.ready.push(name);
                } else {
                    line.not_ready.push(name);
                }
            }
            line
        })
        .collect()
}
