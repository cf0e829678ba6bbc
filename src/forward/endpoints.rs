//! Where a forward's connections may go, kept current from a watch. Every new connection reads
//! the latest, so none goes to a pod that is not ready or is terminating.
//!
//! The sources, in order: the Service's EndpointSlices (`kubernetes.io/service-name=<service>`,
//! several per Service), as kube-proxy reads them; its v1 Endpoints where slices are not served
//! (404) or not allowed (403); and where neither may be read, the ready pods of the Service's
//! selector, which is all `kubectl port-forward svc/...` itself needs (it lists pods, never
//! endpoints), so a Role that lets kubectl forward lets us forward too.

use std::collections::BTreeMap;
use std::fmt::Debug;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::target::{self, Backends, PortChoice};

/// The label that ties a slice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Why following could not start.
#[derive(Debug)]
pub enum FollowError {
    /// No source may be read (forbidden, or not served): retrying will not help.
    Refused(String),
    /// The list failed (the API server unreachable, a 5xx): it may pass.
    Failed(String),
}

/// A running follower: its current answer and its task (which ends on cancel).
pub struct Follower {
    pub backends: watch::Receiver<Backends>,
    pub task: JoinHandle<()>,
}

/// Starts following `service`'s ready pods; returns once the first full list is in, so the
/// forward's first state is the truth, or with the API's error when no source could be listed.
pub async fn follow(
    client: kube::Client,
    service: &Service,
    choice: PortChoice,
    cancel: CancellationToken,
) -> Result<Follower, FollowError> {
    let (tx, backends) = watch::channel(Backends::default());
    let (first_tx, first_rx) = oneshot::channel();
    let source = Source {
        client,
        namespace: service.namespace().unwrap_or_default(),
        service: service.name_any(),
        selector: selector_query(service),
        choice,
    };
    let task = tokio::spawn(source.run(tx, first_tx, cancel));
    match first_rx.await {
        Ok(Ok(())) => Ok(Follower { backends, task }),
        Ok(Err(e)) => Err(e),
        // The task ended before its first list: cancelled, so nothing will be forwarded anyway.
        Err(_) => Ok(Follower { backends, task }),
    }
}

/// `spec.selector` as a label query (`a=b,c=d`); `None` for a selector-less Service, whose
/// pods (if any) are only known from its endpoints.
fn selector_query(service: &Service) -> Option<String> {
    let selector = service.spec.as_ref()?.selector.as_ref()?;
    if selector.is_empty() {
        return None;
    }
    Some(
        selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

struct Source {
    client: kube::Client,
    namespace: String,
    service: String,
    selector: Option<String>,
    choice: PortChoice,
}

/// How one watch ended.
enum Outcome {
    Cancelled,
    /// The first list was refused with this status code: try the next source.
    Refused(u16),
}

type First = Option<oneshot::Sender<Result<(), FollowError>>>;

impl Source {
    async fn run(
        self,
        tx: watch::Sender<Backends>,
        first: oneshot::Sender<Result<(), FollowError>>,
        cancel: CancellationToken,
    ) {
        let mut first = Some(first);
        let service = self.service.clone();
        let by_name = |name: &str| format!("metadata.name={name}");
        let slices = watcher::Config::default().labels(&format!("{SERVICE_NAME_LABEL}={service}"));
        let choice = self.choice.clone();
        let outcome = self
            .watch::<EndpointSlice>(slices, &tx, &mut first, &cancel, move |known| {
                target::from_slices(known.values(), &choice)
            })
            .await;
        let Outcome::Refused(code) = outcome else {
            return;
        };
        tracing::info!(namespace = %self.namespace, %service, "EndpointSlices answered {code}: following Endpoints");
        let choice = self.choice.clone();
        let endpoints = watcher::Config::default().fields(&by_name(&service));
        let outcome = self
            .watch::<Endpoints>(endpoints, &tx, &mut first, &cancel, move |known| {
                target::from_endpoints(known.values().next(), &choice)
            })
            .await;
        let Outcome::Refused(code) = outcome else {
            return;
        };
        let Some(selector) = self.selector.clone() else {
            // Selector-less: only endpoints could say where it goes.
            if let Some(first) = first.take() {
                let _ = first.send(Err(FollowError::Refused(refused(
                    code,
                    "endpoints",
                    &self.namespace,
                ))));
            }
            return;
        };
        tracing::info!(namespace = %self.namespace, %service, "Endpoints answered {code}: following the selector's pods");
        let choice = self.choice.clone();
        let pods = watcher::Config::default().labels(&selector);
        let outcome = self
            .watch::<Pod>(pods, &tx, &mut first, &cancel, move |known| {
                target::from_pods(known.values(), &choice)
            })
            .await;
        if let (Outcome::Refused(code), Some(first)) = (outcome, first.take()) {
            let _ = first.send(Err(FollowError::Refused(refused(
                code,
                "pods",
                &self.namespace,
            ))));
        }
    }

    /// Follows one kind until cancelled, sending `backends(known objects)` after every change.
    /// Returns `Refused` when its first list is answered 403 or 404 before anything was sent.
    async fn watch<K>(
        &self,
        config: watcher::Config,
        tx: &watch::Sender<Backends>,
        first: &mut First,
        cancel: &CancellationToken,
        backends: impl Fn(&BTreeMap<String, K>) -> Backends,
    ) -> Outcome
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug
            + Send
            + 'static,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut events = watcher(api, config).default_backoff().boxed();
        let mut known: BTreeMap<String, K> = BTreeMap::new();
        let mut listing: BTreeMap<String, K> = BTreeMap::new();
        loop {
            let event = tokio::select! {
                _ = cancel.cancelled() => return Outcome::Cancelled,
                event = events.next() => event,
            };
            match event {
                Some(Ok(watcher::Event::Init)) => listing.clear(),
                Some(Ok(watcher::Event::InitApply(object))) => {
                    listing.insert(object.name_any(), object);
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    known = std::mem::take(&mut listing);
                    tx.send_replace(backends(&known));
                    if let Some(first) = first.take() {
                        let _ = first.send(Ok(()));
                    }
                }
                Some(Ok(watcher::Event::Apply(object))) => {
                    known.insert(object.name_any(), object);
                    tx.send_replace(backends(&known));
                }
                Some(Ok(watcher::Event::Delete(object))) => {
                    known.remove(&object.name_any());
                    tx.send_replace(backends(&known));
                }
                Some(Err(watcher::Error::InitialListFailed(kube::Error::Api(status))))
                    if first.is_some() && matches!(status.code, 403 | 404) =>
                {
                    return Outcome::Refused(status.code);
                }
                Some(Err(e)) => match first.take() {
                    // Before anything is known, the forward cannot start: say why.
                    Some(first) => {
                        let _ = first.send(Err(FollowError::Failed(message(&e))));
                        return Outcome::Cancelled;
                    }
                    // Retried with backoff by the stream; the last known pods stay in use.
                    None => tracing::debug!("{} of {}: {e}", K::plural(&()), self.service),
                },
                None => return Outcome::Cancelled,
            }
        }
    }
}

/// What the forward's row says when its first list failed: the API's own message.
fn message(e: &watcher::Error) -> String {
    match e {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => {
            format!("{} ({})", status.message, status.code)
        }
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e.to_string(),
        watcher::Error::WatchError(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    }
}

/// The error for a forward that may read none of a Service's endpoints or pods.
fn refused(code: u16, what: &str, namespace: &str) -> String {
    let why = if code == 403 {
        "forbidden"
    } else {
        "not served"
    };
    format!("{what} in {namespace}: {why}, so the pods behind the Service are unknown")
}
