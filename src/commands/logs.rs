//! `hasura-tui logs NAME`: a microservice's logs, every pod's lines prefixed `[pod]` as
//! `kubectl logs --prefix` does (no prefix with `-p POD`). With `-f` it follows until Ctrl-C,
//! picking up pods that start later (a killed pod's replacement), like the dashboard's pane.

use std::io::Write;

use anyhow::Context;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{GlobalArgs, LogsArgs};
use crate::config::ClusterTarget;
use crate::logs::{self, LogEvent, LogOptions};

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &LogsArgs,
) -> anyhow::Result<()> {
    let (namespace, name) = super::microservice::resolve(&target, global, &args.target).await?;
    let options = LogOptions {
        tail: args.tail.map(i64::from),
        container: args.container.clone(),
    };
    let client = &target.client;
    if let Some(pod) = &args.pod {
        return one_pod(client, &namespace, pod, &options, args.follow).await;
    }
    let selector = logs::selector(client, &namespace, name).await?;
    if args.follow {
        return follow(client, &namespace, &selector, options).await;
    }
    let pods = logs::pods(client, &namespace, &selector).await?;
    if pods.is_empty() {
        eprintln!("note: {name} has no pods");
    }
    let mut out = std::io::stdout().lock();
    for pod in pods {
        let text = match logs::read(client, &namespace, &pod, &options).await {
            Ok(text) => text,
            // Gone between the listing and the read: the others still print.
            Err(logs::LogsError::PodNotFound(_)) => continue,
            Err(e) => return Err(e).context(format!("reading the logs of pod {pod}")),
        };
        for line in text.lines() {
            if !emit(&mut out, Some(&pod), line)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

async fn one_pod(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    options: &LogOptions,
    follow: bool,
) -> anyhow::Result<()> {
    if !follow {
        let text = logs::read(client, namespace, pod, options).await?;
        let mut out = std::io::stdout().lock();
        for line in text.lines() {
            if !emit(&mut out, None, line)? {
                break;
            }
        }
        return Ok(());
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let cancel = CancellationToken::new();
    let stream = logs::stream_pod(&api, pod, options, &cancel, |line| {
        let keep = emit(&mut std::io::stdout().lock(), None, &line);
        async move { keep.unwrap_or(false) }
    });
    tokio::select! {
        result = stream => result?,
        _ = crate::signals::shutdown() => cancel.cancel(),
    }
    Ok(())
}

async fn follow(
    client: &kube::Client,
    namespace: &str,
    selector: &logs::Selector,
    options: LogOptions,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel(1_024);
    let cancel = CancellationToken::new();
    logs::spawn_follow(
        client.clone(),
        namespace,
        selector,
        options,
        tx,
        cancel.clone(),
    );
    let signal = crate::signals::shutdown();
    tokio::pin!(signal);
    loop {
        let event = tokio::select! {
            _ = &mut signal => break,
            event = rx.recv() => event,
        };
        match event {
            Some(LogEvent::Line { pod, text }) => {
                if !emit(&mut std::io::stdout().lock(), Some(&pod), &text)? {
                    break;
                }
            }
            Some(LogEvent::Notice(text)) => eprintln!("{text}"),
            None => break,
        }
    }
    cancel.cancel();
    Ok(())
}

/// Writes one line; false when stdout is closed (`| head`), which ends the command quietly.
fn emit(out: &mut impl Write, pod: Option<&str>, line: &str) -> anyhow::Result<bool> {
    let result = match pod {
        Some(pod) => writeln!(out, "[{pod}] {line}"),
        None => writeln!(out, "{line}"),
    }
    .and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("writing to stdout"),
    }
}
