//! `pods/log`: a pod's lines as plain text, the last `tailLines` of them, and with `follow=true`
//! the lines it writes after, until the pod is gone, the server stops or the client leaves.

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
    if state.faults.is_forbidden(&namespace) {
        return ApiError::forbidden("pods/log", &namespace).into_response();
    }
    let Some(pod) = state.store.get(Kind::Pod, &namespace, &name) else {
        return ApiError::not_found("pods", &name).into_response();
    };
    if let Some(container) = query.get("container") {
        let known = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["name"] == container.as_str());
        if !known {
            return ApiError::bad_request(format!(
                "container {container} is not valid for pod {name}"
            ))
            .into_response();
        }
    }
    let tail = query.get("tailLines").and_then(|t| t.parse::<usize>().ok());
    let follow = query.get("follow").is_some_and(|f| f == "true" || f == "1");
    let (lines, mut receiver) = state.logs.read(&namespace, &name, tail);
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
    tokio::spawn(async move {
        let mut check = tokio::time::interval(POD_CHECK_INTERVAL);
        loop {
            tokio::select! {
                _ = run.cancelled() => return,
                _ = tx.closed() => return,
                _ = check.tick() => {
                    if state.store.get(Kind::Pod, &namespace, &name).is_none() {
                        return;
                    }
                }
                line = receiver.recv() => match line {
                    Ok(line) if *line.namespace == *namespace && *line.pod == *name => {
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
