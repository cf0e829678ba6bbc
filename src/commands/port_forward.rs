//! `hasura-tui port-forward NAME`: the dashboard's forward engine, headless, until Ctrl-C or
//! SIGTERM. Prints `Forwarding from 127.0.0.1:6432 -> 5432 (postgres.hasura)`.

use anyhow::bail;

use super::UsageError;
use crate::cli::{GlobalArgs, PortForwardArgs};
use crate::config::ClusterTarget;
use crate::forward::{ForwardManager, ForwardSpec, ForwardState, GatewayIdentity};

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &PortForwardArgs,
) -> anyhow::Result<()> {
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
    let (namespace, name) = super::microservice::resolve(&target, global, &args.target).await?;
    let mut spec = ForwardSpec::new(&namespace, name);
    spec.address = args.address;
    spec.local_port = args.port.map(|(l, _)| l).or(args.local_port);
    spec.remote_port = args.port.map(|(_, r)| r).or(args.remote_port);
    spec.pod = args.pod.clone();
    spec.gateway = gateway;
    let mut manager = ForwardManager::new(target.client.clone());
    if let Some(path) = &args.log_requests {
        let sink = crate::forward::request_file::sink(path, args.log_bodies).map_err(|e| {
            UsageError(format!(
                "--log-requests: cannot open {}: {e}",
                path.display()
            ))
        })?;
        manager = manager.with_request_sink(sink);
    }
    let key = spec.key();
    manager.start(spec.clone());
    let Some(mut status) = manager.status(&key) else {
        bail!("the forward to {} stopped unexpectedly", spec.label())
    };
    // Until it listens: a setup that may pass (the API server unreachable) is waited for,
    // saying so on stderr, as long as nobody interrupts.
    let mut signals = crate::signals::Signals::new();
    let mut said = None;
    let first = loop {
        let now = status.borrow_and_update().clone();
        match &now.state {
            ForwardState::Starting => {}
            ForwardState::Waiting { .. } => tell(&mut said, &now.state),
            _ => break now,
        }
        tokio::select! {
            changed = status.changed() => if changed.is_err() {
                bail!("the forward to {} stopped unexpectedly", spec.label())
            },
            _ = signals.recv() => {
                manager.stop_all().await;
                return Ok(());
            }
        }
    };
    if let ForwardState::Error(e) = &first.state {
        manager.stop_all().await;
        if first.http == Some(false) && spec.gateway.is_some() {
            // The flag does not fit this microservice: a usage error, like a bad port.
            return Err(UsageError(format!("--as-role: {e}")).into());
        }
        bail!("cannot forward {}: {e}", spec.label());
    }
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
