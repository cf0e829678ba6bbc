//! Events, as the kubelet and the controllers record them through client-go's recorder
//! (`tools/record`): one core/v1 Event per object, reason, message and source, named
//! `<object>.<hex unix nanoseconds>`; the same one again raises its `count` and
//! `lastTimestamp` instead of writing a new object (the recorder's `EventCorrelator`
//! aggregation), so a crash loop's `BackOff` is one Event whose count grows.
//!
//! Pods loaded at start-up are taken as long running: a real cluster keeps Events for an hour
//! (`--event-ttl`), so theirs are gone and none is written for them. Events older than that
//! go, and at most `MAX_EVENTS` are kept (the oldest go first), so a demo under churn does not
//! grow without end.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::Cluster;
use super::kinds::Kind;
use super::pod_state::NODE_NAME;
use super::store::now_rfc3339;

/// `Normal` or `Warning`, the two types the API allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// Who writes an Event (`source.component`; the kubelet also names its node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reporter {
    Kubelet,
    Scheduler,
    DeploymentController,
    ReplicaSetController,
    StatefulSetController,
}

impl Reporter {
    fn component(self) -> &'static str {
        match self {
            Reporter::Kubelet => "kubelet",
            Reporter::Scheduler => "default-scheduler",
            Reporter::DeploymentController => "deployment-controller",
            Reporter::ReplicaSetController => "replicaset-controller",
            Reporter::StatefulSetController => "statefulset-controller",
        }
    }
}

/// What one Event says about one object.
pub struct Occurrence<'a> {
    pub object: &'a Value,
    /// `spec.containers{name}` for a container's events.
    pub field_path: Option<String>,
    pub kind: EventType,
    pub reason: &'a str,
    pub message: String,
    pub reporter: Reporter,
}

/// What makes two Events the same: namespace, object uid and field path, reason, message,
/// source.
type SameEvent = (String, String, String, String, String);

/// The API server's default `--event-ttl`.
const EVENT_TTL: Duration = Duration::from_secs(3600);
/// Events kept at most.
const MAX_EVENTS: usize = 10_000;

/// Events already written: by what makes two the same, to their names; and in the order they
/// were written, to let the oldest go.
#[derive(Default)]
pub struct EventIndex(Mutex<Written>);

#[derive(Default)]
struct Written {
    by_key: HashMap<SameEvent, String>,
    order: VecDeque<(Instant, SameEvent)>,
}

impl Cluster {
    /// Writes an Event, or counts one more of the same.
    pub(crate) fn record(&self, occurrence: Occurrence<'_>) {
        let object = occurrence.object;
        let metadata = &object["metadata"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let namespace = text(&metadata["namespace"]);
        let uid = text(&metadata["uid"]);
        let field_path = occurrence.field_path.unwrap_or_default();
        let key = (
            namespace.clone(),
            format!("{uid}/{field_path}"),
            occurrence.reason.to_string(),
            occurrence.message.clone(),
            occurrence.reporter.component().to_string(),
        );
        let now = now_rfc3339();
        let mut index = self.events.0.lock().unwrap_or_else(|p| p.into_inner());
        self.expire_events(&mut index);
        if let Some(name) = index.by_key.get(&key) {
            let counted = self.store.update(Kind::Event, &namespace, name, |event| {
                let count = event["count"].as_i64().unwrap_or(1);
                event["count"] = json!(count + 1);
                event["lastTimestamp"] = json!(now);
            });
            if counted.is_ok() {
                return;
            }
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{}.{nanos:x}", text(&metadata["name"]));
        let kind = text(&object["kind"]);
        let mut involved = json!({
            "kind": kind,
            "namespace": namespace,
            "name": metadata["name"],
            "uid": uid,
            "apiVersion": object["apiVersion"],
            "resourceVersion": metadata["resourceVersion"],
        });
        if !field_path.is_empty() {
            involved["fieldPath"] = json!(field_path);
        }
        let host = (occurrence.reporter == Reporter::Kubelet).then_some(NODE_NAME);
        let mut source = json!({"component": occurrence.reporter.component()});
        if let Some(host) = host {
            source["host"] = json!(host);
        }
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "reason": occurrence.reason,
            "message": occurrence.message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": match occurrence.kind {
                EventType::Normal => "Normal",
                EventType::Warning => "Warning",
            },
            "eventTime": null,
            "reportingComponent": occurrence.reporter.component(),
            "reportingInstance": host.unwrap_or_default(),
        });
        if self.store.create(Kind::Event, event).is_ok() {
            index.order.push_back((Instant::now(), key.clone()));
            index.by_key.insert(key, name);
        }
    }

    /// Deletes Events past their time to live, and the oldest beyond `MAX_EVENTS`.
    fn expire_events(&self, index: &mut Written) {
        while let Some((written, _)) = index.order.front() {
            if written.elapsed() < EVENT_TTL && index.order.len() < MAX_EVENTS {
                break;
            }
            let Some((_, key)) = index.order.pop_front() else {
                break;
            };
            if let Some(name) = index.by_key.remove(&key) {
                let _ = self.store.delete(Kind::Event, &key.0, &name);
            }
        }
    }

    /// The kubelet's events for a pod's containers as they start (images already present, as
    /// with `imagePullPolicy: IfNotPresent` on a node that ran them before).
    pub(crate) fn record_containers_started(&self, pod: &Value) {
        for container in containers(pod) {
            let name = container["name"].as_str().unwrap_or_default();
            let image = container["image"].as_str().unwrap_or_default();
            let path = Some(format!("spec.containers{{{name}}}"));
            for (reason, message) in [
                (
                    "Pulled",
                    format!("Container image \"{image}\" already present on machine"),
                ),
                ("Created", format!("Created container: {name}")),
                ("Started", format!("Started container {name}")),
            ] {
                self.record(Occurrence {
                    object: pod,
                    field_path: path.clone(),
                    kind: EventType::Normal,
                    reason,
                    message,
                    reporter: Reporter::Kubelet,
                });
            }
        }
    }

    /// The kubelet stopping a pod's containers for its deletion.
    pub(crate) fn record_containers_killed(&self, pod: &Value) {
        for container in containers(pod) {
            let name = container["name"].as_str().unwrap_or_default();
            self.record(Occurrence {
                object: pod,
                field_path: Some(format!("spec.containers{{{name}}}")),
                kind: EventType::Normal,
                reason: "Killing",
                message: format!("Stopping container {name}"),
                reporter: Reporter::Kubelet,
            });
        }
    }
}

fn containers(pod: &Value) -> Vec<Value> {
    pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
