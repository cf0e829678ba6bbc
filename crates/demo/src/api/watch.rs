//! Watches: a stream of newline-delimited JSON events from a resourceVersion, with bookmarks,
//! `timeoutSeconds`, `410 Gone` (as an ERROR event) for compacted versions, and an end when the
//! watches are dropped, the server stops or the client goes away.
//!
//! Streaming lists (KEP-3157, `sendInitialEvents=true`, which client-go's informers ask for
//! first from 1.35, kubectl's `rollout status` among them): the current objects as ADDED
//! events, then a BOOKMARK annotated `k8s.io/initial-events-end: "true"` at their version,
//! then the changes after it (apiserver `pkg/storage/cacher`, `cacheWatcher`; the options are
//! checked as apimachinery `pkg/apis/meta/internalversion/validation` `ValidateListOptions`
//! does). Found when the testbed's kubectl 1.36 waited for that bookmark here for ever.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::super::kinds::Kind;
use super::super::selector::Selector;
use super::super::store::{Change, StoreError};
use super::{ApiError, ApiState, table};

/// How often an idle watch with bookmarks enabled gets one (real servers: about a minute).
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);
/// Events buffered towards a slow client before the watch waits for it.
const STREAM_BUFFER: usize = 256;

struct Filter {
    /// The stored kind the changes are of.
    kind: Kind,
    /// The kind asked for (events.k8s.io/v1 Events are stored as core ones).
    shown_as: Kind,
    namespace: Option<String>,
    labels: Selector,
    fields: Selector,
}

impl Filter {
    fn matches(&self, change: &Change) -> bool {
        change.kind == self.kind
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == change.namespace)
            && self.labels.matches_labels(&change.object)
            && self.fields.matches_fields(&change.object)
    }
}

pub fn respond(
    state: &ApiState,
    kind: Kind,
    namespace: Option<String>,
    query: &HashMap<String, String>,
    as_table: bool,
) -> Result<Response, ApiError> {
    let (labels, fields) = Selector::from_query(query, kind).map_err(ApiError::bad_request)?;
    let since = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let send_initial_events = send_initial_events(query)?;
    let since = match (send_initial_events, since) {
        // The current state, which is at least as new as any version asked for.
        (Some(true), _) => None,
        // `false` without a version: only what happens from now.
        (Some(false), None) => Some(state.store.current_rv()),
        // Without the option, an unset version sends the current objects first too.
        (_, since) => since,
    };
    let initial_events = send_initial_events == Some(true);
    let filter = Filter {
        kind: kind.stored_as(),
        shown_as: kind,
        namespace,
        labels,
        fields,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    match state.store.watch(kind.stored_as(), since) {
        Ok(start) => {
            // The bookmark that ends the initial state goes only to who asked for bookmarks
            // (apiserver `pkg/storage/cacher/cacher.go`: `SendInitialEvents && AllowWatchBookmarks`).
            let initial_end = (initial_events && bookmarks).then_some(start.rv);
            tokio::spawn(stream_changes(
                state.clone(),
                filter,
                start.backlog,
                start.receiver,
                tx,
                timeout,
                bookmarks,
                initial_end,
                as_table,
            ));
        }
        Err(StoreError::Gone { requested, oldest }) => {
            // Like the API server's watch cache: a 200 whose only event is a 410 Status.
            let status =
                ApiError::gone(format!("too old resource version: {requested} ({oldest})")).body();
            let _ = tx.try_send(event_line("ERROR", &status));
        }
        Err(other) => return Err(other.into()),
    }
    // The guard lives in the body: the gauge counts the watch until the client lets it go.
    let open = state.faults.watch_opened();
    let body = Body::from_stream(futures::stream::unfold(
        (rx, open),
        |(mut rx, open)| async move {
            rx.recv()
                .await
                .map(|bytes| (Ok::<_, Infallible>(bytes), (rx, open)))
        },
    ));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `sendInitialEvents`, checked with `resourceVersionMatch` as apimachinery's
/// `validateWatchOptions` checks them (`pkg/apis/meta/internalversion/validation`): either needs
/// the other, and the match must be `NotOlderThan`.
fn send_initial_events(query: &HashMap<String, String>) -> Result<Option<bool>, ApiError> {
    let send = query.get("sendInitialEvents").map(|s| s == "true");
    let matching = query.get("resourceVersionMatch").map(String::as_str);
    let forbidden = |message: &str| {
        let message = format!("resourceVersionMatch: Forbidden: {message}");
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            message,
        ))
    };
    match (send, matching) {
        (None, None) => Ok(None),
        (None, Some(_)) => forbidden(
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ),
        (Some(_), Some("NotOlderThan")) => Ok(send),
        (Some(_), _) => {
            forbidden("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
        }
    }
}

/// A BOOKMARK at `rv`; `initial_end` marks the end of a streamed initial state.
fn bookmark(kind: Kind, rv: u64, initial_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let object = json!({
        "kind": kind.name(),
        "apiVersion": kind.group_version().api_version(),
        "metadata": metadata,
    });
    event_line("BOOKMARK", &object)
}

fn event_line(event_type: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": event_type, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

#[allow(clippy::too_many_arguments)]
async fn stream_changes(
    state: ApiState,
    filter: Filter,
    backlog: Vec<Arc<Change>>,
    mut receiver: broadcast::Receiver<Arc<Change>>,
    tx: mpsc::Sender<Bytes>,
    timeout: Option<Duration>,
    bookmarks: bool,
    // With `sendInitialEvents`: the version of the initial state, for the bookmark that ends it.
    initial_end: Option<u64>,
    as_table: bool,
) {
    let run = state.faults.current_run();
    let mut drops = state.faults.watch_drops();
    drops.mark_unchanged();
    let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(u64::from(u32::MAX))));
    tokio::pin!(deadline);
    let mut idle = tokio::time::interval(BOOKMARK_INTERVAL);
    idle.reset();
    let mut first_table = true;
    let mut last_rv = state.store.current_rv();
    let mut encode = |change: &Change| -> Bytes {
        let object = if as_table {
            let t = table::table(change.kind, [&*change.object], change.rv, None, first_table);
            first_table = false;
            t
        } else if filter.shown_as == Kind::EventV1 {
            super::super::events_v1::from_core(&change.object)
        } else {
            (*change.object).clone()
        };
        event_line(change.event_type.as_str(), &object)
    };
    for change in backlog.iter().filter(|c| filter.matches(c)) {
        last_rv = change.rv;
        if tx.send(encode(change)).await.is_err() {
            return;
        }
    }
    if let Some(last) = backlog.last() {
        last_rv = last.rv;
    }
    if let Some(rv) = initial_end {
        last_rv = rv;
        if tx.send(bookmark(filter.shown_as, rv, true)).await.is_err() {
            return;
        }
    }
    loop {
        let line = tokio::select! {
            _ = run.cancelled() => return,
            _ = drops.changed() => return,
            _ = &mut deadline => return,
            _ = tx.closed() => return,
            _ = idle.tick(), if bookmarks => {
                bookmark(filter.shown_as, last_rv.max(state.store.current_rv()), false)
            }
            received = receiver.recv() => match received {
                Ok(change) => {
                    // Skip what the backlog already sent (subscribed while reading it).
                    if backlog.last().is_some_and(|b| change.rv <= b.rv) {
                        continue;
                    }
                    last_rv = change.rv;
                    if !filter.matches(&change) {
                        continue;
                    }
                    encode(&change)
                }
                // Fell too far behind: end the watch; the client re-watches from its last version.
                Err(_) => return,
            },
        };
        if tx.send(line).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::store::EventType;
    use super::*;

    #[test]
    fn event_lines_are_newline_delimited_json() {
        let line = event_line(EventType::Added.as_str(), &json!({"a": 1}));
        assert_eq!(&line[..], b"{\"object\":{\"a\":1},\"type\":\"ADDED\"}\n");
    }
}
