//! The detail of a microservice read once (`hasura-tui describe`), and the pieces the live view
//! starts from: its workload (Deployment or StatefulSet) as a `WorkloadLine`, its Service, and
//! the pod selector.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod, Service};
use kube::Api;
use kube::api::ListParams;

use super::{Detail, Objects, Part, WorkloadLine, build};
use crate::model::{ServiceInfo, ServicePortInfo};

/// A microservice's workload and Service, as found.
pub struct Found {
    pub workload: Option<Workload>,
    pub service: Option<Service>,
}

pub enum Workload {
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
}

impl Found {
    /// The pods' label selector: the workload's, else the Service's.
    pub fn selector(&self) -> Option<String> {
        let labels: Option<BTreeMap<String, String>> = match &self.workload {
            Some(Workload::Deployment(d)) => d
                .spec
                .as_ref()
                .and_then(|s| s.selector.match_labels.clone()),
            Some(Workload::StatefulSet(s)) => s
                .spec
                .as_ref()
                .and_then(|s| s.selector.match_labels.clone()),
            None => self
                .service
                .as_ref()
                .and_then(|s| s.spec.as_ref()?.selector.clone()),
        };
        let labels = labels.filter(|l| !l.is_empty())?;
        Some(
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        )
    }

    /// The Service's ports, as the table keeps them.
    pub fn ports(&self) -> Vec<ServicePortInfo> {
        self.service
            .as_ref()
            .map(|s| ServiceInfo::from(s).ports)
            .unwrap_or_default()
    }

    pub fn workload_line(&self) -> Option<WorkloadLine> {
        self.workload.as_ref().map(|w| match w {
            Workload::Deployment(d) => deployment_line(d),
            Workload::StatefulSet(s) => statefulset_line(s),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DetailError {
    #[error("microservice {0} not found (no Deployment, StatefulSet or Service of that name)")]
    NotFound(String),
    #[error("{0}")]
    Api(String),
}

impl From<kube::Error> for DetailError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => DetailError::Api(status.message),
            other => DetailError::Api(format!("cluster unreachable: {other}")),
        }
    }
}

/// Finds the workload and Service of microservice `name`; a kind the credentials may not read
/// counts as absent.
pub async fn find(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Found, DetailError> {
    let deployment = forbidden_is_none(
        Api::<Deployment>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await,
    )?;
    let workload = match deployment {
        Some(d) => Some(Workload::Deployment(Box::new(d))),
        None => forbidden_is_none(
            Api::<StatefulSet>::namespaced(client.clone(), namespace)
                .get_opt(name)
                .await,
        )?
        .map(|s| Workload::StatefulSet(Box::new(s))),
    };
    let service = forbidden_is_none(
        Api::<Service>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await,
    )?;
    if workload.is_none() && service.is_none() {
        return Err(DetailError::NotFound(name.to_string()));
    }
    Ok(Found { workload, service })
}

/// A kind these credentials may not read counts as absent.
fn forbidden_is_none<T>(result: Result<Option<T>, kube::Error>) -> Result<Option<T>, kube::Error> {
    match result {
        Err(kube::Error::Api(s)) if s.code == 403 => Ok(None),
        other => other,
    }
}

/// Everything, read once: the workload and Service first (they say which pods), then the
/// pods, their metrics and the microservice's Events together, then the pods' Events together.
pub async fn fetch(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Detail, DetailError> {
    let found = find(client, namespace, name).await?;
    let selector = found.selector();
    let events_api = Api::<Event>::namespaced(client.clone(), namespace);
    let events_of = |object: String| {
        let events_api = events_api.clone();
        async move {
            let params = ListParams::default().fields(&format!("involvedObject.name={object}"));
            Part::from_result(events_api.list(&params).await.map(|l| l.items))
        }
    };
    let pods = async {
        match &selector {
            Some(selector) => Part::from_result(
                Api::<Pod>::namespaced(client.clone(), namespace)
                    .list(&ListParams::default().labels(selector))
                    .await
                    .map(|l| l.items),
            ),
            None => Part::Ready(Vec::new()),
        }
    };
    let usage = async {
        match &selector {
            Some(selector) => match crate::metrics::read(client, namespace, selector).await {
                crate::metrics::Answer::Pods(usage) => Some(usage),
                _ => None,
            },
            None => None,
        }
    };
    // A Deployment's ReplicaSets carry the Events of pods that could not be made.
    let sets = async {
        match (&found.workload, &selector) {
            (Some(Workload::Deployment(_)), Some(selector)) => {
                Api::<ReplicaSet>::namespaced(client.clone(), namespace)
                    .list(&ListParams::default().labels(selector))
                    .await
                    .map(|l| super::replica_sets::followed(&l.items, name))
                    // Not served or not readable: no ReplicaSet Events, nothing more.
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    };
    let (pods, usage, own_events, sets) =
        tokio::join!(pods, usage, events_of(name.to_string()), sets);
    // The Events of each object they can be about (`kubectl describe`'s field selector), not
    // the whole namespace's.
    let pod_names = pods
        .ready()
        .into_iter()
        .flatten()
        .filter_map(|p| p.metadata.name.clone());
    let objects = pod_names.chain(sets);
    let pod_events = futures::future::join_all(objects.map(events_of)).await;
    let mut events: Part<Vec<Event>> = Part::Ready(Vec::new());
    for part in std::iter::once(own_events).chain(pod_events) {
        match (part, &mut events) {
            (Part::Ready(items), Part::Ready(all)) => all.extend(items),
            (Part::Ready(_), _) => {}
            (refused, _) => {
                events = refused;
                break;
            }
        }
    }
    let ports = found.ports();
    Ok(build(Objects {
        namespace,
        name,
        workload: Part::Ready(found.workload_line()),
        ports: &ports,
        pods: as_slice(&pods),
        events: as_slice(&events),
        usage: usage.as_ref(),
    }))
}

pub fn as_slice<T>(part: &Part<Vec<T>>) -> Part<&[T]> {
    part.map(|items| items.as_slice())
}

fn images(spec: Option<&k8s_openapi::api::core::v1::PodSpec>) -> Vec<String> {
    spec.map(|s| {
        s.containers
            .iter()
            .filter_map(|c| c.image.clone())
            .collect()
    })
    .unwrap_or_default()
}

/// `Available=False (MinimumReplicasUnavailable): …` for each condition not True.
fn untrue(
    conditions: impl Iterator<Item = (String, String, Option<String>, Option<String>)>,
) -> Vec<String> {
    conditions
        .filter(|(_, status, _, _)| status != "True")
        .map(|(kind, status, reason, message)| {
            let mut text = format!("{kind}={status}");
            if let Some(reason) = reason {
                text.push_str(&format!(" ({reason})"));
            }
            if let Some(message) = message {
                text.push_str(&format!(": {message}"));
            }
            text
        })
        .collect()
}

pub fn deployment_line(d: &Deployment) -> WorkloadLine {
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.and_then(|s| s.updated_replicas).unwrap_or(0);
    let replicas = status.and_then(|s| s.replicas).unwrap_or(0);
    let available = status.and_then(|s| s.available_replicas).unwrap_or(0);
    let observed = status.and_then(|s| s.observed_generation) >= d.metadata.generation;
    WorkloadLine {
        kind: "Deployment".into(),
        desired,
        updated,
        ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        available,
        images: images(spec.and_then(|s| s.template.spec.as_ref())),
        created: d.metadata.creation_timestamp.as_ref().map(|t| t.0),
        conditions: untrue(
            status
                .and_then(|s| s.conditions.clone())
                .into_iter()
                .flatten()
                .map(|c| (c.type_, c.status, c.reason, c.message)),
        ),
        // kubectl rollout status's test (`DeploymentStatusViewer`).
        rolled_out: observed && updated >= desired && replicas <= updated && available >= updated,
    }
}

pub fn statefulset_line(s: &StatefulSet) -> WorkloadLine {
    let spec = s.spec.as_ref();
    let status = s.status.as_ref();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.and_then(|s| s.updated_replicas).unwrap_or(0);
    let ready = status.and_then(|s| s.ready_replicas).unwrap_or(0);
    let revisions_match = status.is_some_and(|st| st.update_revision == st.current_revision);
    WorkloadLine {
        kind: "StatefulSet".into(),
        desired,
        updated,
        ready,
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        images: images(spec.and_then(|s| s.template.spec.as_ref())),
        created: s.metadata.creation_timestamp.as_ref().map(|t| t.0),
        conditions: untrue(
            status
                .and_then(|s| s.conditions.clone())
                .into_iter()
                .flatten()
                .map(|c| (c.type_, c.status, c.reason, c.message)),
        ),
        rolled_out: revisions_match && ready >= desired,
    }
}
