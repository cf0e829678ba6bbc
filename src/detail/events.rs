//! The Events of one microservice: its workload's, its ReplicaSets' (`<name>-<hash>`), its pods'
//! and its Service's, newest first, as `kubectl describe` counts them (`x12 over 8m`).

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EventLine {
    pub warning: bool,
    pub reason: String,
    /// `Pod/data-5d9c7b-x2k4q`, `Deployment/data`.
    pub object: String,
    pub message: String,
    pub count: i32,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// `kubelet`, `deployment-controller`.
    pub source: String,
}

/// Events at most kept for the view (the newest).
const MAX_EVENTS: usize = 50;

/// The events that concern microservice `name`, newest first.
pub fn lines(events: &[Event], name: &str, pods: &[String], kind: Option<&str>) -> Vec<EventLine> {
    let replica_set_prefix = format!("{name}-");
    let mut lines: Vec<EventLine> = events
        .iter()
        .filter(|e| {
            let object = &e.involved_object;
            let object_name = object.name.as_deref().unwrap_or_default();
            match object.kind.as_deref().unwrap_or_default() {
                "Pod" => {
                    pods.iter().any(|p| p == object_name)
                    // A pod already gone still explains what happened.
                    || object_name.starts_with(&replica_set_prefix)
                }
                "ReplicaSet" => object_name.starts_with(&replica_set_prefix),
                "Service" => object_name == name,
                other => object_name == name && kind.is_none_or(|k| k == other),
            }
        })
        .map(line)
        .collect();
    lines.sort_by_key(|l| std::cmp::Reverse(l.last));
    lines.truncate(MAX_EVENTS);
    lines
}

fn line(e: &Event) -> EventLine {
    let first = e
        .first_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0));
    let last = e.last_timestamp.as_ref().map(|t| t.0).or(first);
    let source = e
        .source
        .as_ref()
        .and_then(|s| s.component.clone())
        .filter(|c| !c.is_empty())
        .or_else(|| e.reporting_component.clone())
        .unwrap_or_default();
    EventLine {
        warning: e.type_.as_deref() == Some("Warning"),
        reason: e.reason.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            e.involved_object.kind.as_deref().unwrap_or_default(),
            e.involved_object.name.as_deref().unwrap_or_default()
        ),
        message: e.message.clone().unwrap_or_default().trim().to_string(),
        count: e.count.unwrap_or(1).max(1),
        first,
        last,
        source,
    }
}
