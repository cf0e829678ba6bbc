//! Running a command in a microservice's pod, as `hasura microservice exec` and `kubectl exec`
//! do, through kube-rs's `Api::exec` (WebSocket, `v5.channel.k8s.io` where the server offers
//! it so stdin can be closed, else `v4`): which pod and container, whether the user may
//! (`create pods/exec`, asked first), the shell to open (`/bin/bash`, then `/bin/sh`, as k9s
//! tries them), and what the remote status means as an exit code.

mod session;
mod stdin_pump;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::{AttachParams, AttachedProcess};

use crate::access::{AccessCache, Question};
use crate::logs::containers::default_container;

pub use session::{Session, Terminal, run_session};

/// The shells an interactive session tries, in order.
pub const SHELLS: [&str; 2] = ["/bin/bash", "/bin/sh"];

/// Where a command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecTarget {
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("not allowed: you may not create pods/exec in namespace {0} (asked the API server)")]
    Forbidden(String),
    #[error("{0} has no running pod")]
    NoRunningPod(String),
    #[error("pod {pod} is not one of {name}'s running pods ({running})")]
    NotItsPod {
        pod: String,
        name: String,
        running: String,
    },
    #[error("pod {pod} has no container {container} (it has {all})")]
    NoSuchContainer {
        pod: String,
        container: String,
        all: String,
    },
    #[error("no shell in {0}: neither /bin/bash nor /bin/sh could be started")]
    NoShell(String),
    #[error("{0}")]
    Api(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<kube::Error> for ExecError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => ExecError::Api(status.message),
            other => ExecError::Api(other.to_string()),
        }
    }
}

impl From<crate::logs::LogsError> for ExecError {
    fn from(e: crate::logs::LogsError) -> Self {
        ExecError::Api(e.to_string())
    }
}

/// Asks the API server whether the user may exec in `target`'s pod (kubectl's request,
/// `POST pods/NAME/exec`, is authorized as `create pods/exec` on that pod, over SPDY and, from
/// Kubernetes 1.35, over WebSocket too).
pub async fn check_allowed(
    client: &kube::Client,
    access: &AccessCache,
    target: &ExecTarget,
) -> Result<(), ExecError> {
    let question = Question::new(&target.namespace, "create", "", "pods")
        .subresource("exec")
        .named(&target.pod);
    if access.allowed(client, &question).await {
        Ok(())
    } else {
        Err(ExecError::Forbidden(target.namespace.clone()))
    }
}

/// The running pods of microservice `name`, by name.
pub async fn running_pods(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Vec<Pod>, ExecError> {
    let selector = crate::logs::selector(client, namespace, name).await?;
    let pods = crate::logs::pods(client, namespace, &selector).await?;
    Ok(pods
        .into_iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        })
        .collect())
}

/// The pod and container to run in: `pod` when given (one of the running ones), else the
/// first running pod; `container` when given, else the pod's default one, as kubectl picks it.
pub fn choose(
    namespace: &str,
    name: &str,
    pods: &[Pod],
    pod: Option<&str>,
    container: Option<&str>,
) -> Result<ExecTarget, ExecError> {
    let pod_name = |p: &Pod| p.metadata.name.clone().unwrap_or_default();
    let chosen = match pod {
        Some(wanted) => {
            pods.iter()
                .find(|p| pod_name(p) == wanted)
                .ok_or_else(|| ExecError::NotItsPod {
                    pod: wanted.to_string(),
                    name: name.to_string(),
                    running: pods.iter().map(pod_name).collect::<Vec<_>>().join(", "),
                })?
        }
        None => pods
            .first()
            .ok_or_else(|| ExecError::NoRunningPod(name.to_string()))?,
    };
    let all = crate::logs::containers::all_containers(chosen);
    let container = match container {
        Some(c) if all.iter().any(|a| a == c) => c.to_string(),
        Some(c) => {
            return Err(ExecError::NoSuchContainer {
                pod: pod_name(chosen),
                container: c.to_string(),
                all: all.join(", "),
            });
        }
        None => default_container(chosen).ok_or_else(|| ExecError::NoRunningPod(name.into()))?,
    };
    Ok(ExecTarget {
        namespace: namespace.to_string(),
        pod: pod_name(chosen),
        container,
    })
}

/// Starts `command` in the target with the streams asked for.
pub async fn start(
    client: &kube::Client,
    target: &ExecTarget,
    command: &[String],
    stdin: bool,
    tty: bool,
) -> Result<AttachedProcess, ExecError> {
    let params = AttachParams::default()
        .container(target.container.clone())
        .stdin(stdin)
        .stdout(true)
        .stderr(!tty)
        .tty(tty);
    let api: Api<Pod> = Api::namespaced(client.clone(), &target.namespace);
    Ok(api.exec(&target.pod, command.to_vec(), &params).await?)
}

/// What the dashboard's `s` needs next: the person to pick among several pods, or nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prepared {
    PickPod(Vec<String>),
    Ready(ExecTarget),
}

/// Checks and choices before a shell: the access review, the running pods, and `pod` when
/// the person picked one (else the only one, or the list to pick from).
pub async fn prepare(
    client: &kube::Client,
    access: &AccessCache,
    namespace: &str,
    name: &str,
    pod: Option<&str>,
) -> Result<Prepared, ExecError> {
    let pods = running_pods(client, namespace, name).await?;
    if pod.is_none() && pods.len() > 1 {
        // No request names a pod yet: the review is asked once one is picked.
        let names = pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        return Ok(Prepared::PickPod(names));
    }
    let target = choose(namespace, name, &pods, pod, None)?;
    check_allowed(client, access, &target).await?;
    Ok(Prepared::Ready(target))
}

/// Starts an interactive shell with a TTY: `/bin/bash`, else `/bin/sh` when bash could not
/// be started. Returns the session (its first output kept) and the shell it runs.
pub async fn open_shell(
    client: &kube::Client,
    target: &ExecTarget,
) -> Result<(Session, &'static str), ExecError> {
    for shell in SHELLS {
        let process = start(client, target, &[shell.to_string()], true, true).await?;
        let mut session = Session::new(process, true, true);
        match session.ended_before_output(SHELL_START_WAIT).await {
            Some(exit) if exit.did_not_start() => continue,
            Some(Exit::Failed(why)) => return Err(ExecError::Api(why)),
            Some(Exit::Code(code)) => {
                return Err(ExecError::Api(format!(
                    "{shell} ended at once (exit {code})"
                )));
            }
            None => return Ok((session, shell)),
        }
    }
    Err(ExecError::NoShell(target.pod.clone()))
}

/// How long a shell may stay silent before it counts as started (a shell prints its prompt at
/// once; one that cannot start is refused within a round trip).
const SHELL_START_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Writes an exec to the audit log: who (as the API server knows us), where, what.
pub async fn audit(client: &kube::Client, context: &str, target: &ExecTarget, command: &[String]) {
    let user = crate::change::user_name(client).await;
    tracing::info!(
        target: "hasura_tui::audit",
        user,
        context,
        namespace = %target.namespace,
        pod = %target.pod,
        container = %target.container,
        "exec {}",
        command.join(" ")
    );
}

/// How a remote command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// It did not run, or the server could not say (the message says why).
    Failed(String),
}

impl Exit {
    /// From the status the server sends when the command ends (`None`: the connection ended
    /// without one).
    pub fn from_status(status: Option<Status>) -> Exit {
        let Some(status) = status else {
            return Exit::Failed("the connection ended before the command's status came".into());
        };
        if status.status.as_deref() == Some("Success") {
            return Exit::Code(0);
        }
        if status.reason.as_deref() == Some("NonZeroExitCode") {
            let code = status
                .details
                .as_ref()
                .and_then(|d| d.causes.as_ref())
                .into_iter()
                .flatten()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
                .and_then(|c| c.message.as_deref())
                .and_then(|m| m.parse::<i32>().ok());
            if let Some(code) = code {
                return Exit::Code(code);
            }
        }
        Exit::Failed(
            status
                .message
                .unwrap_or_else(|| "the command failed".into()),
        )
    }

    /// Whether the program never started (so the next shell may be tried): the runtime's
    /// start failure, which the kubelet reports as an internal error.
    pub fn did_not_start(&self) -> bool {
        matches!(self, Exit::Failed(m) if m.contains("unable to start container process")
            || m.contains("executable file not found")
            || m.contains("no such file or directory"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};

    #[test]
    fn exit_codes_come_from_the_status() {
        let ok = Status {
            status: Some("Success".into()),
            ..Status::default()
        };
        assert_eq!(Exit::from_status(Some(ok)), Exit::Code(0));
        let three = Status {
            status: Some("Failure".into()),
            reason: Some("NonZeroExitCode".into()),
            details: Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ExitCode".into()),
                    message: Some("3".into()),
                    ..StatusCause::default()
                }]),
                ..StatusDetails::default()
            }),
            ..Status::default()
        };
        assert_eq!(Exit::from_status(Some(three)), Exit::Code(3));
        let missing = Status {
            status: Some("Failure".into()),
            reason: Some("InternalError".into()),
            message: Some("Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"x\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"/bin/bash\": stat /bin/bash: no such file or directory: unknown".into()),
            ..Status::default()
        };
        let exit = Exit::from_status(Some(missing));
        assert!(exit.did_not_start());
        assert!(!Exit::Code(127).did_not_start());
        assert!(matches!(Exit::from_status(None), Exit::Failed(_)));
    }
}
