//! One microservice in detail, to answer "what is wrong and where does it go": its workload,
//! pods (with the last termination of a crashing container), Events, ports and the endpoints
//! behind them. Built from API objects by pure functions, so the dashboard's live view
//! (`live`), `hasura-tui describe` (`fetch`) and the tests share one account of it; `text`
//! words it for both screens.

mod event_watches;
pub mod events;
pub mod fetch;
pub mod live;
pub mod pods;
mod replica_sets;
pub mod routes;
pub mod text;
mod watched;

use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::model::ServicePortInfo;

pub use events::EventLine;
pub use pods::{PodLine, Termination};

/// A part of the view that may not be readable with these credentials.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", content = "items", rename_all = "lowercase")]
pub enum Part<T> {
    Loading,
    Ready(T),
    /// The API server refused (403): the rest still shows.
    Forbidden(String),
    Failed(String),
}

impl<T> Part<T> {
    pub fn from_result(result: Result<T, kube::Error>) -> Part<T> {
        match result {
            Ok(value) => Part::Ready(value),
            Err(kube::Error::Api(status)) if status.code == 403 => Part::Forbidden(status.message),
            Err(e) => Part::Failed(e.to_string()),
        }
    }

    /// The same part with its value made into another.
    pub fn map<'a, U>(&'a self, f: impl FnOnce(&'a T) -> U) -> Part<U> {
        match self {
            Part::Ready(value) => Part::Ready(f(value)),
            Part::Loading => Part::Loading,
            Part::Forbidden(why) => Part::Forbidden(why.clone()),
            Part::Failed(why) => Part::Failed(why.clone()),
        }
    }

    pub fn ready(&self) -> Option<&T> {
        match self {
            Part::Ready(value) => Some(value),
            _ => None,
        }
    }
}

/// The workload's side: counts, rollout, images, conditions that are not true.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkloadLine {
    pub kind: String,
    pub desired: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    pub images: Vec<String>,
    pub created: Option<Timestamp>,
    /// `Available=False (MinimumReplicasUnavailable): Deployment does not have minimum availability.`
    pub conditions: Vec<String>,
    /// Whether the newest template has rolled out everywhere.
    pub rolled_out: bool,
}

/// One Service port: where it goes and which pods are behind it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PortLine {
    pub name: Option<String>,
    pub port: i32,
    /// The targetPort as written (`8080` or `http`).
    pub target: String,
    /// The container port it resolves to on the pods.
    pub container_port: Option<i32>,
    pub ready: Vec<String>,
    pub not_ready: Vec<String>,
    pub terminating: Vec<String>,
}

/// Where the microservice is reached, as the tables say it, and every route that leads to it
/// (`routes::urls`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Urls {
    pub internal: Option<String>,
    pub external: Option<String>,
    pub routes: Vec<routes::RouteLine>,
}

/// Everything the view shows of one microservice.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detail {
    pub namespace: String,
    pub name: String,
    /// The Deployment or StatefulSet; `Ready(None)` for a Service without one.
    pub workload: Part<Option<WorkloadLine>>,
    pub pods: Part<Vec<PodLine>>,
    pub events: Part<Vec<EventLine>>,
    pub ports: Vec<PortLine>,
    pub urls: Urls,
}

impl Detail {
    pub fn loading(namespace: &str, name: &str) -> Detail {
        Detail {
            namespace: namespace.to_string(),
            name: name.to_string(),
            workload: Part::Loading,
            pods: Part::Loading,
            events: Part::Loading,
            ports: Vec::new(),
            urls: Urls::default(),
        }
    }
}

/// What the view is built from.
pub struct Objects<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub workload: Part<Option<WorkloadLine>>,
    /// The Service's ports (none without a Service).
    pub ports: &'a [ServicePortInfo],
    pub pods: Part<&'a [Pod]>,
    pub events: Part<&'a [Event]>,
    /// CPU and memory by pod, when the cluster serves the metrics API.
    pub usage: Option<&'a std::collections::BTreeMap<String, crate::metrics::Usage>>,
}

pub fn build(objects: Objects<'_>) -> Detail {
    let pods = objects.pods.map(|pods| {
        pods.iter()
            .map(|p| {
                let mut line = pods::line(p);
                line.usage = objects.usage.and_then(|u| u.get(&line.name)).cloned();
                line
            })
            .collect()
    });
    let pod_names: Vec<String> = objects
        .pods
        .ready()
        .into_iter()
        .flat_map(|p| p.iter())
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    let kind = objects.workload.ready().and_then(|w| w.as_ref());
    let events = objects.events.map(|events| {
        events::lines(
            events,
            objects.name,
            &pod_names,
            kind.map(|w| w.kind.as_str()),
        )
    });
    let ports = pods::ports(
        objects.ports,
        objects.pods.ready().copied().unwrap_or_default(),
    );
    Detail {
        namespace: objects.namespace.to_string(),
        name: objects.name.to_string(),
        workload: objects.workload,
        pods,
        events,
        ports,
        urls: Urls::default(),
    }
}
