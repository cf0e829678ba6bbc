//! Following a microservice's logs: a watch of its pods (by label selector) and one log stream
//! per chosen container of each running pod, all sending lines into one channel. A pod that
//! starts later (a replacement for a killed one, a scale-up) gets its streams from their first
//! line; a pod that goes away has its streams stopped. Everything ends when the token is
//! cancelled or the receiver is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::containers;
use super::{LogOptions, LogsError, Selector, not_found_as_pod, selector_string};
use crate::access::{AccessCache, Question};

/// Wait before reconnecting a pod's stream that ended while the pod still runs (API server
/// restart, dropped connection): long enough not to spin on a failing server.
const RESTREAM_DELAY: Duration = Duration::from_secs(1);

/// What a follower sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    Line {
        /// Who wrote it: the pod, or `pod/container` when every container is shown.
        source: Arc<str>,
        text: String,
    },
    /// About the stream itself: a pod started or went away, an error.
    Notice(String),
    /// The containers of the microservice's pods (kubectl's `--all-containers` order) and the
    /// default one, sent when the first pod is seen and whenever they change.
    Containers {
        names: Vec<String>,
        default: Option<String>,
    },
}

/// Follows the pods `selector` matches in `namespace` until `cancel` fires or `tx` closes.
/// Pods present at the start show their last `options.tail` lines; later pods show all of theirs.
pub fn spawn_follow(
    client: kube::Client,
    namespace: &str,
    selector: &Selector,
    options: LogOptions,
    tx: mpsc::Sender<LogEvent>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let api: Api<Pod> = Api::namespaced(client, namespace);
    let config = watcher::Config::default().labels(&selector_string(selector));
    tokio::spawn(follow(api, config, options, tx, cancel))
}

/// Like `spawn_follow` for microservice `name`, first asking whether `get pods/log` is allowed
/// and finding its selector (in the task, so the caller never waits on the API); a refusal or
/// failure arrives as a notice.
pub fn spawn_follow_microservice(
    client: kube::Client,
    access: AccessCache,
    namespace: &str,
    name: &str,
    options: LogOptions,
    tx: mpsc::Sender<LogEvent>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let (namespace, name) = (namespace.to_string(), name.to_string());
    tokio::spawn(async move {
        // Nameless: the follower reads the log of every pod of the microservice.
        let question = Question::new(&namespace, "get", "", "pods").subresource("log");
        let allowed = tokio::select! {
            _ = cancel.cancelled() => return,
            allowed = access.allowed(&client, &question) => allowed,
        };
        if !allowed {
            let notice = format!("forbidden: may not read logs in {namespace}");
            let _ = tx.send(LogEvent::Notice(notice)).await;
            return;
        }
        let selector = tokio::select! {
            _ = cancel.cancelled() => return,
            s = super::selector(&client, &namespace, &name) => s,
        };
        match selector {
            Ok(selector) => {
                let api: Api<Pod> = Api::namespaced(client, &namespace);
                let config = watcher::Config::default().labels(&selector_string(&selector));
                follow(api, config, options, tx, cancel).await;
            }
            Err(e) => {
                let _ = tx.send(LogEvent::Notice(e.to_string())).await;
            }
        }
    })
}

async fn follow(
    api: Api<Pod>,
    config: watcher::Config,
    options: LogOptions,
    tx: mpsc::Sender<LogEvent>,
    cancel: CancellationToken,
) {
    let (ended_tx, ended_rx) = mpsc::unbounded_channel();
    let mut follower = Follower {
        api,
        options,
        tx,
        cancel,
        streams: HashMap::new(),
        running: HashSet::new(),
        refused: HashSet::new(),
        containers: None,
        ended_tx,
    };
    follower.run(config, ended_rx).await;
    // Ends every stream (they hold child tokens).
    follower.cancel.cancel();
}

/// One container's stream: which pod, which container.
type StreamKey = (String, String);

/// A stream that ended by itself, and whether to open it again while its pod runs (not for an
/// init container that has finished its work).
struct Ended {
    key: StreamKey,
    again: bool,
}

struct Follower {
    api: Api<Pod>,
    options: LogOptions,
    tx: mpsc::Sender<LogEvent>,
    /// Cancels the follower and, as parent, every stream.
    cancel: CancellationToken,
    /// Streams open (or about to reopen).
    streams: HashMap<StreamKey, CancellationToken>,
    /// Pods whose containers have started (logs can be read), as last seen by the watch.
    running: HashSet<String>,
    /// Pods whose choice of container failed (said once).
    refused: HashSet<String>,
    /// The containers last announced.
    containers: Option<(Vec<String>, Option<String>)>,
    ended_tx: mpsc::UnboundedSender<Ended>,
}

impl Follower {
    async fn run(&mut self, config: watcher::Config, mut ended: mpsc::UnboundedReceiver<Ended>) {
        let mut pods = watcher(self.api.clone(), config).default_backoff().boxed();
        let mut first_listing = true;
        let mut listed: HashSet<String> = HashSet::new();
        let mut last_error = None;
        loop {
            let event = tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = self.tx.closed() => return,
                Some(Ended { key, again }) = ended.recv() => {
                    self.streams.remove(&key);
                    if again && self.running.contains(&key.0) {
                        // Only lines from now on: the earlier ones were shown already.
                        self.start(key, Some(0), true, RESTREAM_DELAY);
                    }
                    continue;
                }
                event = pods.next() => match event {
                    Some(event) => event,
                    None => return,
                },
            };
            match event {
                Ok(watcher::Event::Init) => listed.clear(),
                Ok(watcher::Event::InitApply(pod)) => {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    listed.insert(name);
                    let tail = if first_listing {
                        self.options.tail
                    } else {
                        None
                    };
                    self.seen(&pod, tail, false);
                }
                Ok(watcher::Event::InitDone) => {
                    first_listing = false;
                    last_error = None;
                    // Pods that vanished while the watch was down.
                    let gone: Vec<String> = self
                        .running
                        .iter()
                        .filter(|p| !listed.contains(*p))
                        .cloned()
                        .collect();
                    for pod in gone {
                        self.gone(&pod).await;
                    }
                }
                Ok(watcher::Event::Apply(pod)) => self.seen(&pod, None, true),
                Ok(watcher::Event::Delete(pod)) => {
                    self.gone(&pod.metadata.name.unwrap_or_default()).await;
                }
                Err(e) => {
                    let message = format!("watching pods: {e}");
                    if last_error.as_ref() != Some(&message) {
                        let _ = self.tx.send(LogEvent::Notice(message.clone())).await;
                        last_error = Some(message);
                    }
                }
            }
        }
    }

    /// A pod as the watch reports it: start its streams once its containers have started.
    /// Sends are `try_send`: with the channel full a notice is dropped rather than the watch
    /// stalled.
    fn seen(&mut self, pod: &Pod, tail: Option<i64>, announce: bool) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        self.announce_containers(pod);
        // Pending pods have no container to read from yet; the watch reports them again.
        let started = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|phase| phase != "Pending");
        if !started {
            return;
        }
        let chosen = match containers::chosen(pod, &self.options.containers) {
            Ok(chosen) => chosen,
            Err(message) => {
                if self.refused.insert(name) {
                    let _ = self.tx.try_send(LogEvent::Notice(message));
                }
                return;
            }
        };
        let new = self.running.insert(name.clone());
        if announce && new {
            let _ = self
                .tx
                .try_send(LogEvent::Notice(format!("pod {name} started")));
        }
        for container in chosen {
            let key = (name.clone(), container);
            if !self.streams.contains_key(&key) {
                let again = keeps_running(pod, &key.1);
                self.start(key, tail, again, Duration::ZERO);
            }
        }
    }

    fn announce_containers(&mut self, pod: &Pod) {
        let names = containers::all_containers(pod);
        if names.is_empty() {
            return;
        }
        let current = (names, containers::default_container(pod));
        if self.containers.as_ref() != Some(&current) {
            let (names, default) = current.clone();
            self.containers = Some(current);
            let _ = self.tx.try_send(LogEvent::Containers { names, default });
        }
    }

    async fn gone(&mut self, pod: &str) {
        self.running.remove(pod);
        self.refused.remove(pod);
        let keys: Vec<StreamKey> = self
            .streams
            .keys()
            .filter(|k| k.0 == pod)
            .cloned()
            .collect();
        for key in &keys {
            if let Some(token) = self.streams.remove(key) {
                token.cancel();
            }
        }
        if !keys.is_empty() {
            let _ = self
                .tx
                .send(LogEvent::Notice(format!("pod {pod} gone")))
                .await;
        }
    }

    fn start(&mut self, key: StreamKey, tail: Option<i64>, again: bool, delay: Duration) {
        let token = self.cancel.child_token();
        self.streams.insert(key.clone(), token.clone());
        let options = LogOptions {
            tail,
            ..self.options.clone()
        };
        let (api, tx, ended) = (self.api.clone(), self.tx.clone(), self.ended_tx.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let (pod, container) = &key;
            let source: Arc<str> = Arc::from(options.source(pod, container));
            let result = stream_pod(&api, pod, container, &options, &token, |text| {
                let tx = tx.clone();
                let source = source.clone();
                async move { tx.send(LogEvent::Line { source, text }).await.is_ok() }
            })
            .await;
            if let Err(e) = result {
                let _ = tx.send(LogEvent::Notice(format!("{source}: {e}"))).await;
            }
            if !token.is_cancelled() {
                let _ = ended.send(Ended { key, again });
            }
        });
    }
}

/// Whether a container keeps running while its pod does: all but init containers that are
/// not native sidecars (`restartPolicy: Always`), which finish before the others start.
fn keeps_running(pod: &Pod, container: &str) -> bool {
    let one_shot = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.name == container && c.restart_policy.as_deref() != Some("Always"));
    !one_shot
}

/// Streams one container's lines (following) into `emit` until the stream ends, `cancel`
/// fires, or `emit` returns false (nobody listens any more).
pub async fn stream_pod<F, Fut>(
    api: &Api<Pod>,
    pod: &str,
    container: &str,
    options: &LogOptions,
    cancel: &CancellationToken,
    mut emit: F,
) -> Result<(), LogsError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let params = options.params(container, true);
    let reader = tokio::select! {
        _ = cancel.cancelled() => return Ok(()),
        reader = api.log_stream(pod, &params) => {
            reader.map_err(|e| not_found_as_pod(e, pod))?
        }
    };
    let mut lines = reader.lines();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            line = lines.try_next() => match line {
                Ok(Some(text)) => {
                    if !emit(text).await {
                        return Ok(());
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => return Err(LogsError::Api(format!("log stream of {pod}: {e}"))),
            },
        }
    }
}
