//! `hasura-tui logs NAME`: a microservice's logs, every pod's lines prefixed `[pod]` as
//! `kubectl logs --prefix` does (no prefix with `-p POD`). With `-f` it follows until Ctrl-C,
//! picking up pods that start later (a killed pod's replacement), like the dashboard's pane.
//! Containers are chosen as kubectl chooses them: `-c NAME`, else the pod's default container;
//! `--all-containers` reads each one, prefixed `[pod/container]`.

use std::io::Write;

use anyhow::Context;
use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{GlobalArgs, LogsArgs};
use crate::config::ClusterTarget;
use crate::logs::{self, ContainerChoice, LogEvent, LogOptions, containers};

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &LogsArgs,
) -> anyhow::Result<()> {
    let (namespace, name) = super::microservice::resolve(&target, global, &args.target).await?;
    let options = LogOptions {
        tail: args.tail.map(i64::from),
        containers: ContainerChoice::from_args(args.container.as_deref(), args.all_containers),
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
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        for container in
            containers::chosen(&pod, &options.containers).map_err(anyhow::Error::msg)?
        {
            let text = match logs::read(client, &namespace, &pod_name, &container, &options).await {
                Ok(text) => text,
                // Gone between the listing and the read: the others still print.
                Err(logs::LogsError::PodNotFound(_)) => break,
                Err(e) => {
                    return Err(e).context(format!("reading the logs of pod {pod_name}"));
                }
            };
            let source = options.source(&pod_name, &container);
            for line in text.lines() {
                if !emit(&mut out, Some(&source), line)? {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// `-p POD`: its lines without a prefix (with `[pod/container]` for all containers), read
/// or followed until the containers' streams end.
async fn one_pod(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    options: &LogOptions,
    follow: bool,
) -> anyhow::Result<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let object = api
        .get_opt(pod)
        .await
        .map_err(logs::LogsError::from)?
        .ok_or_else(|| logs::LogsError::PodNotFound(pod.to_string()))?;
    let chosen = containers::chosen(&object, &options.containers).map_err(anyhow::Error::msg)?;
    let prefix = |container: &str| {
        (options.containers == ContainerChoice::All).then(|| options.source(pod, container))
    };
    if !follow {
        let mut out = std::io::stdout().lock();
        for container in &chosen {
            let text = logs::read(client, namespace, pod, container, options).await?;
            for line in text.lines() {
                if !emit(&mut out, prefix(container).as_deref(), line)? {
                    return Ok(());
                }
            }
        }
        return Ok(());
    }
    let cancel = CancellationToken::new();
    let streams = chosen.iter().map(|container| {
        let prefix = prefix(container);
        logs::stream_pod(&api, pod, container, options, &cancel, move |line| {
            let keep = emit(&mut std::io::stdout().lock(), prefix.as_deref(), &line);
            async move { keep.unwrap_or(false) }
        })
    });
    tokio::select! {
        results = join_all(streams) => {
            results.into_iter().collect::<Result<Vec<()>, _>>()?;
        }
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
            Some(LogEvent::Line { source, text }) => {
                if !emit(&mut std::io::stdout().lock(), Some(&source), &text)? {
                    break;
                }
            }
            Some(LogEvent::Notice(text)) => {
                eprintln!("{}", crate::terminal_text::escape(&text))
            }
            Some(LogEvent::Containers { .. }) => {}
            None => break,
        }
    }
    cancel.cancel();
    Ok(())
}

/// Writes one line; false when stdout is closed (`| head`), which ends the command quietly.
fn emit(out: &mut impl Write, source: Option<&str>, line: &str) -> anyhow::Result<bool> {
    let result = match source {
        Some(source) => writeln!(out, "[{source}] {line}"),
        None => writeln!(out, "{line}"),
    }
    .and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("writing to stdout"),
    }
}
