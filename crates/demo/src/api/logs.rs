//! `pods/log`: a container's lines as plain text, the last `tailLines` of them, and with
//! `follow=true` the lines it writes after, until the pod is gone, the server stops or the
//! client leaves. A pod with several containers needs `container`, as the API server requires
//! (`pkg/registry/core/pod/strategy.go`, `LogLocation`; kubectl picks one itself, other clients
//! get the 400 below).

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::super::kinds::Kind;
use super::{ApiError, ApiState, Verb};

/// How often a follower checks whether its pod still exists while the pod is quiet.
const POD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

pub async fn handle(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state.faults.count(Verb::Log);
    let Some(pod) = state.store.get(Kind::Pod, &namespace, &name) else {
        return ApiError::not_found("pods", &name).into_response();
    };
    let container = match choose_container(&pod, query.get("container").map(String::as_str)) {
        Ok(container) => container,
        Err(e) => return e.into_response(),
    };
    let tail = query.get("tailLines").and_then(|t| t.parse::<usize>().ok());
    let follow = query.get("follow").is_some_and(|f| f == "true" || f == "1");
    let (lines, mut receiver) = state.logs.read(&namespace, &name, &container, tail);
    let mut text = String::new();
    for line in &lines {
        text.push_str(line);
        text.push('\n');
    }
    if !follow {
        return ([(header::CONTENT_TYPE, "text/plain")], text).into_response();
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let _ = tx.try_send(Bytes::from(text));
    let run = state.faults.current_run();
    run.spawn(async move {
        let mut check = tokio::time::interval(POD_CHECK_INTERVAL);
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = check.tick() => {
                    if state.store.get(Kind::Pod, &namespace, &name).is_none() {
                        return;
                    }
                }
                line = receiver.recv() => match line {
                    Ok(line) if *line.namespace == *namespace && *line.pod == *name && *line.container == *container => {
                        if tx.send(Bytes::from(format!("{}\n", line.line))).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                },
            }
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    }));
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// The container to read, as kube-apiserver decides it (`validateContainer` in
/// pkg/registry/core/pod/strategy.go): the one asked for, which must exist; else the only app
/// container (init containers do not count); else 400 naming every container as
/// `podutil.VisitContainers` lists them (init, then app, then ephemeral) in Go's `[a b]` form.
pub(super) fn choose_container(
    pod: &serde_json::Value,
    asked: Option<&str>,
) -> Result<String, ApiError> {
    let names = |field: &str| -> Vec<String> {
        pod["spec"][field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    };
    let (init, containers, ephemeral) = (
        names("initContainers"),
        names("containers"),
        names("ephemeralContainers"),
    );
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let mut all = init.iter().chain(&containers).chain(&ephemeral);
    match asked {
        Some(name) if all.any(|c| c == name) => Ok(name.to_string()),
        Some(name) => Err(ApiError::bad_request(format!(
            "container {name} is not valid for pod {pod_name}"
        ))),
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None if containers.is_empty() => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {pod_name}"
        ))),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {pod_name}, choose one of: [{}]",
            all.cloned().collect::<Vec<_>>().join(" ")
        ))),
    }
}
