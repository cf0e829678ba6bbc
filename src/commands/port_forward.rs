//! `hasura-tui port-forward NAME`: the dashboard's forward engine, headless, until Ctrl-C or
//! SIGTERM. Prints `Forwarding from 127.0.0.1:6432 -> 5432 (postgres.hasura)`.

use anyhow::bail;
use tokio::sync::watch;

use super::UsageError;
use crate::cli::{GlobalArgs, PortForwardArgs};
use crate::config::ClusterTarget;
use crate::forward::{ForwardManager, ForwardSpec, ForwardState, ForwardStatus, GatewayIdentity};

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &PortForwardArgs,
) -> anyhow::Result<()> {
    let spec = spec_of(&target, global, args).await?;
    let mut manager = manager_for(&target, args)?;
    let key = spec.key();
    manager.start(spec.clone());
    let Some(mut status) = manager.status(&key) else {
        bail!("the forward to {} stopped unexpectedly", spec.label())
    };
    let mut signals = crate::signals::Signals::new();
    let Some(first) = wait_listening(&spec, &mut status, &mut signals).await? else {
        manager.stop_all().await;
        return Ok(());
    };
    if let ForwardState::Error(e) = &first.state {
        manager.stop_all().await;
        if first.http == Some(false) && spec.gateway.is_some() {
            // The flag does not fit this microservice: a usage error, like a bad port.
            return Err(UsageError(format!("--as-role: {e}")).into());
        }
        bail!("cannot forward {}: {e}", spec.label());
    }
    announce(&spec, &first);
    // Then every change of state, one line each, until interrupted or failed.
    let mut said = Some(first.state);
    let failed = loop {
        tokio::select! {
            changed = status.changed() => {
                if changed.is_err() {
                    break None;
                }
                let now = status.borrow_and_update().state.clone();
                if let ForwardState::Error(e) = &now {
                    break Some(e.clone());
                }
                tell(&mut said, &now);
            }
            _ = signals.recv() => break None,
        }
    };
    manager.stop_all().await;
    match failed {
        Some(e) => bail!("forward {} failed: {e}", spec.label()),
        None => Ok(()),
    }
}

/// The forward the arguments ask for, its microservice resolved on the cluster.
async fn spec_of(
    target: &ClusterTarget,
    global: &GlobalArgs,
    args: &PortForwardArgs,
) -> anyhow::Result<ForwardSpec> {
    let gateway = match &args.as_role {
        Some(role) => {
            let mut identity =
                GatewayIdentity::parse(role, args.user_id.as_deref().unwrap_or_default())
                    .map_err(UsageError)?;
            identity.keep_client_headers = args.keep_client_headers;
            Some(identity)
        }
        None => None,
    };
    let (namespace, name) = super::microservice::resolve(target, global, &args.target).await?;
    let mut spec = ForwardSpec::new(&namespace, name);
    spec.address = args.address;
    spec.local_port = args.port.map(|(l, _)| l).or(args.local_port);
    spec.remote_port = args.port.map(|(_, r)| r).or(args.remote_port);
    spec.pod = args.pod.clone();
    spec.gateway = gateway;
    Ok(spec)
}

/// The manager, writing its request log to `--log-requests` when asked.
fn manager_for(target: &ClusterTarget, args: &PortForwardArgs) -> anyhow::Result<ForwardManager> {
    let manager = ForwardManager::new(target.client.clone());
    let Some(path) = &args.log_requests else {
        return Ok(manager);
    };
    let sink = crate::forward::request_file::sink(path, args.log_bodies).map_err(|e| {
        UsageError(format!(
            "--log-requests: cannot open {}: {e}",
            path.display()
        ))
    })?;
    Ok(manager.with_request_sink(sink))
}

/// Waits until the forward listens (or fails). A setup that may pass (the API server
/// unreachable) is waited for, saying so on stderr; `None` when interrupted meanwhile.
async fn wait_listening(
    spec: &ForwardSpec,
    status: &mut watch::Receiver<ForwardStatus>,
    signals: &mut crate::signals::Signals,
) -> anyhow::Result<Option<ForwardStatus>> {
    let mut said = None;
    loop {
        let now = status.borrow_and_update().clone();
        match &now.state {
            ForwardState::Starting => {}
            ForwardState::Waiting { .. } => tell(&mut said, &now.state),
            _ => return Ok(Some(now)),
        }
        tokio::select! {
            changed = status.changed() => if changed.is_err() {
                bail!("the forward to {} stopped unexpectedly", spec.label())
            },
            _ = signals.recv() => return Ok(None),
        }
    }
}

/// `Forwarding from 127.0.0.1:6432 -> 5432 (postgres.hasura)` on stdout, and on stderr what
/// the user should know about it: exposed, its transport, no ready pods yet.
fn announce(spec: &ForwardSpec, first: &ForwardStatus) {
    let local = first.local.map(|a| a.to_string()).unwrap_or_default();
    let remote = first
        .remote_port
        .map(|p| p.to_string())
        .unwrap_or_else(|| "?".into());
    let identity = spec
        .gateway
        .as_ref()
        .map(|id| format!(" as {} (user id {})", id.label(), id.user_id))
        .unwrap_or_default();
    println!(
        "Forwarding from {local} -> {remote} ({}){identity}",
        spec.label()
    );
    if first.exposed {
        eprintln!(
            "warning: listening on {local}, which is reachable from other machines, not just this one"
        );
        if spec.gateway.is_some() {
            eprintln!(
                "warning: gateway headers are added only to requests from this machine; other machines' requests go out without them"
            );
        }
    }
    if let Some(transport) = first.transport {
        eprintln!("connected by {transport}");
    }
    if first.state == ForwardState::NoReadyPods {
        eprintln!(
            "note: {} has no ready pods yet; connections wait for one",
            spec.label()
        );
    }
}

/// One stderr line for a state not said just before: `waiting: …`, `reconnecting: …`,
/// `connected again`, `no ready pods`.
fn tell(said: &mut Option<ForwardState>, state: &ForwardState) {
    let text = match state {
        ForwardState::Waiting { cause, retry_in } => {
            // Only the cause counts: the next retry's wait alone is not news.
            if let Some(ForwardState::Waiting { cause: before, .. }) = said
                && before == cause
            {
                *said = Some(state.clone());
                return;
            }
            crate::forward::waiting_text(cause, *retry_in)
        }
        ForwardState::Reconnecting(why) => format!("reconnecting: {why}"),
        ForwardState::Active => match said {
            Some(ForwardState::Active) => return,
            Some(ForwardState::NoReadyPods) => "a pod is ready".to_string(),
            _ => "connected again".to_string(),
        },
        ForwardState::NoReadyPods => "no ready pods; connections wait for one".to_string(),
        ForwardState::Starting | ForwardState::Stopping | ForwardState::Error(_) => return,
    };
    if said.as_ref() != Some(state) {
        // The causes quote the API server (an admission webhook's message, say).
        eprintln!("{}", crate::terminal_text::escape(&text));
    }
    *said = Some(state.clone());
}
