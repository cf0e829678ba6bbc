//! The STATUS column: one word per microservice from its workload and pods (docs/status.md).

use std::fmt;

use super::objects::{PodInfo, WorkloadInfo};

/// Waiting reasons that will not fix themselves; everything else is a normal step on the way up.
const ERROR_WAITING_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerError",
    "CreateContainerConfigError",
    "InvalidImageName",
    "RunContainerError",
];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Stopped,
    Error(String),
    Waiting(String),
    Pending,
    Updating,
    Running,
    Starting,
    /// A Service without a Deployment or StatefulSet of its name.
    NoWorkload,
    /// A Service whose workload cannot be seen (its kind is forbidden to these credentials).
    Unknown,
    /// A Service of `type: ExternalName`: a DNS name outside the cluster.
    ExternalName(String),
}

/// How a status should be coloured; the text carries the same meaning without colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    Ok,
    Warn,
    Error,
    Off,
}

impl Status {
    pub fn severity(&self) -> Severity {
        match self {
            Status::Running => Severity::Ok,
            Status::Waiting(_) | Status::Starting | Status::Updating | Status::Pending => {
                Severity::Warn
            }
            Status::Error(_) => Severity::Error,
            Status::Stopped | Status::NoWorkload | Status::Unknown | Status::ExternalName(_) => {
                Severity::Off
            }
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Stopped => f.write_str("Stopped"),
            Status::Error(reason) => write!(f, "Error({reason})"),
            Status::Waiting(reason) => write!(f, "Waiting({reason})"),
            Status::Pending => f.write_str("Pending"),
            Status::Updating => f.write_str("Updating"),
            Status::Running => f.write_str("Running"),
            Status::Starting => f.write_str("Starting"),
            Status::NoWorkload => f.write_str("No workload"),
            Status::Unknown => f.write_str("Unknown"),
            Status::ExternalName(name) => write!(f, "external: {name}"),
        }
    }
}

/// The error a terminated container reports, if its exit was a failure.
///
/// Kubernetes' generic reason for a non-zero exit is literally "Error", which would read as
/// `Error(Error)`; the exit code says more, so that reason is replaced by it.
fn terminated_error(reason: Option<&str>, exit_code: i32) -> Option<String> {
    if exit_code == 0 {
        return None;
    }
    Some(match reason {
        Some(r) if !r.is_empty() && r != "Error" => r.to_string(),
        _ => format!("exit code {exit_code}"),
    })
}

/// Applies the rules of docs/status.md in order; the first one that holds wins.
///
/// `pods` are the workload's pods; the caller passes them in a stable order (by name) so that
/// when several pods disagree the same reason is shown on every refresh. Pods being deleted are
/// ignored: during a rollout or after a kill they linger briefly and would otherwise flash their
/// final state (often a terminated container) into the row.
pub fn derive_status(workload: &WorkloadInfo, pods: &[&PodInfo]) -> Status {
    if workload.desired == 0 {
        return Status::Stopped;
    }
    let live = || pods.iter().filter(|p| !p.deleting);
    let containers = || live().flat_map(|p| p.containers.iter());

    for c in containers() {
        if let Some(reason) = &c.waiting_reason
            && ERROR_WAITING_REASONS.contains(&reason.as_str())
        {
            return Status::Error(reason.clone());
        }
        if let Some((reason, code)) = &c.terminated
            && let Some(err) = terminated_error(reason.as_deref(), *code)
        {
            return Status::Error(err);
        }
    }
    if let Some(reason) = containers().find_map(|c| c.waiting_reason.as_ref()) {
        return Status::Waiting(reason.clone());
    }
    if live().any(|p| !p.scheduled || p.phase == "Pending") {
        return Status::Pending;
    }
    // What the workload's own conditions say (the only word when its pods cannot be seen).
    if let Some(failure) = &workload.failure {
        return Status::Error(failure.clone());
    }
    if workload.updated < workload.desired {
        return Status::Updating;
    }
    if workload.ready == workload.desired {
        return Status::Running;
    }
    Status::Starting
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objects::{ContainerInfo, WorkloadKind};

    fn workload(desired: i32, ready: i32, updated: i32) -> WorkloadInfo {
        WorkloadInfo {
            kind: WorkloadKind::Deployment,
            name: "data".into(),
            namespace: "hasura".into(),
            desired,
            ready,
            updated,
            selector: [("app", "data")].into_iter().collect(),
            created: None,
            failure: None,
        }
    }

    fn pod(containers: Vec<ContainerInfo>) -> PodInfo {
        PodInfo {
            name: "data-1".into(),
            namespace: "hasura".into(),
            labels: crate::model::Labels::default(),
            phase: "Running".into(),
            scheduled: true,
            ready: true,
            deleting: false,
            containers,
            container_ports: vec![],
            created: None,
        }
    }

    fn running() -> ContainerInfo {
        ContainerInfo {
            name: "c".into(),
            waiting_reason: None,
            terminated: None,
        }
    }

    fn waiting(reason: &str) -> ContainerInfo {
        ContainerInfo {
            waiting_reason: Some(reason.into()),
            ..running()
        }
    }

    fn terminated(reason: Option<&str>, code: i32) -> ContainerInfo {
        ContainerInfo {
            terminated: Some((reason.map(Into::into), code)),
            ..running()
        }
    }

    fn status(w: &WorkloadInfo, pods: &[PodInfo]) -> Status {
        let refs: Vec<&PodInfo> = pods.iter().collect();
        derive_status(w, &refs)
    }

    #[test]
    fn scale_zero_is_stopped_even_when_crashing() {
        let crashing = pod(vec![waiting("CrashLoopBackOff")]);
        assert_eq!(status(&workload(0, 0, 0), &[crashing]), Status::Stopped);
    }

    #[test]
    fn every_error_waiting_reason_is_an_error() {
        for reason in ERROR_WAITING_REASONS {
            let p = pod(vec![running(), waiting(reason)]);
            assert_eq!(
                status(&workload(1, 0, 1), &[p]),
                Status::Error(reason.to_string())
            );
        }
    }

    #[test]
    fn terminated_non_zero_is_an_error() {
        let oom = pod(vec![terminated(Some("OOMKilled"), 137)]);
        assert_eq!(
            status(&workload(1, 0, 1), &[oom]),
            Status::Error("OOMKilled".into())
        );
        let generic = pod(vec![terminated(Some("Error"), 2)]);
        assert_eq!(
            status(&workload(1, 0, 1), &[generic]),
            Status::Error("exit code 2".into())
        );
        let no_reason = pod(vec![terminated(None, 1)]);
        assert_eq!(
            status(&workload(1, 0, 1), &[no_reason]).to_string(),
            "Error(exit code 1)"
        );
    }

    #[test]
    fn terminated_zero_is_not_an_error() {
        // A completed init container is the normal case.
        let p = pod(vec![terminated(Some("Completed"), 0), running()]);
        assert_eq!(status(&workload(1, 1, 1), &[p]), Status::Running);
    }

    #[test]
    fn error_beats_waiting_across_pods() {
        let a = pod(vec![waiting("ContainerCreating")]);
        let b = pod(vec![waiting("ImagePullBackOff")]);
        assert_eq!(
            status(&workload(2, 0, 2), &[a, b]),
            Status::Error("ImagePullBackOff".into())
        );
    }

    #[test]
    fn other_waiting_reasons_are_waiting() {
        let p = pod(vec![waiting("ContainerCreating")]);
        let s = status(&workload(1, 0, 1), &[p]);
        assert_eq!(s.to_string(), "Waiting(ContainerCreating)");
    }

    #[test]
    fn init_container_waiting_counts() {
        // Init containers come first in `containers`; their waiting state blocks the pod.
        let p = pod(vec![waiting("PodInitializing"), waiting("PodInitializing")]);
        assert_eq!(
            status(&workload(1, 0, 1), &[p]),
            Status::Waiting("PodInitializing".into())
        );
        let init_crash = pod(vec![
            waiting("CrashLoopBackOff"),
            waiting("PodInitializing"),
        ]);
        assert_eq!(
            status(&workload(1, 0, 1), &[init_crash]),
            Status::Error("CrashLoopBackOff".into())
        );
    }

    #[test]
    fn waiting_beats_pending() {
        let mut p = pod(vec![waiting("ContainerCreating")]);
        p.phase = "Pending".into();
        assert_eq!(
            status(&workload(1, 0, 1), &[p]),
            Status::Waiting("ContainerCreating".into())
        );
    }

    #[test]
    fn unscheduled_or_pending_pod_is_pending() {
        let mut unscheduled = pod(vec![]);
        unscheduled.scheduled = false;
        assert_eq!(status(&workload(1, 0, 1), &[unscheduled]), Status::Pending);
        let mut pending = pod(vec![]);
        pending.phase = "Pending".into();
        assert_eq!(status(&workload(1, 0, 1), &[pending]), Status::Pending);
    }

    #[test]
    fn pending_beats_updating() {
        let mut p = pod(vec![]);
        p.phase = "Pending".into();
        assert_eq!(status(&workload(2, 1, 1), &[p]), Status::Pending);
    }

    #[test]
    fn rollout_in_progress_is_updating() {
        let p = pod(vec![running()]);
        assert_eq!(status(&workload(2, 2, 1), &[p]), Status::Updating);
    }

    #[test]
    fn all_ready_is_running() {
        let p = pod(vec![running()]);
        assert_eq!(status(&workload(1, 1, 1), &[p]), Status::Running);
        // Scaled down but the extra pod still reports: updated above desired is no rollout.
        assert_eq!(status(&workload(1, 1, 2), &[]), Status::Running);
    }

    #[test]
    fn otherwise_starting() {
        let p = pod(vec![running()]);
        assert_eq!(status(&workload(2, 1, 2), &[p]), Status::Starting);
        assert_eq!(status(&workload(1, 0, 1), &[]), Status::Starting);
    }

    #[test]
    fn deleting_pods_are_ignored() {
        let mut dying = pod(vec![
            terminated(Some("Error"), 143),
            waiting("CrashLoopBackOff"),
        ]);
        dying.deleting = true;
        dying.phase = "Pending".into();
        let fine = pod(vec![running()]);
        assert_eq!(status(&workload(1, 1, 1), &[dying, fine]), Status::Running);
    }

    #[test]
    fn display_and_severity() {
        let cases = [
            (Status::Stopped, "Stopped", Severity::Off),
            (
                Status::Error("CrashLoopBackOff".into()),
                "Error(CrashLoopBackOff)",
                Severity::Error,
            ),
            (
                Status::Waiting("ContainerCreating".into()),
                "Waiting(ContainerCreating)",
                Severity::Warn,
            ),
            (Status::Pending, "Pending", Severity::Warn),
            (Status::Updating, "Updating", Severity::Warn),
            (Status::Running, "Running", Severity::Ok),
            (Status::Starting, "Starting", Severity::Warn),
            (Status::NoWorkload, "No workload", Severity::Off),
        ];
        for (s, text, sev) in cases {
            assert_eq!(s.to_string(), text);
            assert_eq!(s.severity(), sev);
        }
    }
}
