//! Following a microservice's logs: a watch of its pods (by label selector) and one log stream
//! per running pod, all sending lines into one channel. A pod that starts later (a replacement
//! for a killed one, a scale-up) gets a stream from its first line; a pod that goes away has its
//! stream stopped. Everything ends when the token is cancelled or the receiver is dropped.

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

use super::{LogOptions, LogsError, Selector, not_found_as_pod, selector_string};

/// Wait before reconnecting a pod's stream that ended while the pod still runs (API server
/// restart, dropped connection): long enough not to spin on a failing server.
const RESTREAM_DELAY: Duration = Duration::from_secs(1);

/// What a follower sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    Line {
        pod: Arc<str>,
        text: String,
    },
    /// About the stream itself: a pod started or went away, an error.
    Notice(String),
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

/// Like `spawn_follow` for microservice `name`, finding its selector first (in the task, so
/// the caller never waits on the API); a failure arrives as a notice.
pub fn spawn_follow_microservice(
    client: kube::Client,
    namespace: &str,
    name: &str,
    options: LogOptions,
    tx: mpsc::Sender<LogEvent>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let (namespace, name) = (namespace.to_string(), name.to_string());
    tokio::spawn(async move {
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
        ended_tx,
    };
    follower.run(config, ended_rx).await;
    // Ends every pod stream (they hold child tokens).
    follower.cancel.cancel();
}

struct Follower {
    api: Api<Pod>,
    options: LogOptions,
    tx: mpsc::Sender<LogEvent>,
    /// Cancels the follower and, as parent, every pod stream.
    cancel: CancellationToken,
    /// Pods with a stream open (or about to reopen).
    streams: HashMap<String, CancellationToken>,
    /// Pods whose containers have started (logs can be read), as last seen by the watch.
    running: HashSet<String>,
    ended_tx: mpsc::UnboundedSender<String>,
}

impl Follower {
    async fn run(&mut self, config: watcher::Config, mut ended: mpsc::UnboundedReceiver<String>) {
        let mut pods = watcher(self.api.clone(), config).default_backoff().boxed();
        let mut first_listing = true;
        let mut listed: HashSet<String> = HashSet::new();
        let mut last_error = None;
        loop {
            let event = tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = self.tx.closed() => return,
                Some(pod) = ended.recv() => {
                    self.streams.remove(&pod);
                    if self.running.contains(&pod) {
                        // Only lines from now on: the earlier ones were shown already.
                        self.start(&pod, Some(0), RESTREAM_DELAY);
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

    /// A pod as the watch reports it: start its stream once its containers have started.
    fn seen(&mut self, pod: &Pod, tail: Option<i64>, announce: bool) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        // Pending pods have no container to read from yet; the watch reports them again.
        let started = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|phase| phase != "Pending");
        if !started || self.streams.contains_key(&name) {
            return;
        }
        let new = self.running.insert(name.clone());
        if announce && new {
            // try_send: with the channel full the notice is dropped rather than the watch stalled.
            let _ = self
                .tx
                .try_send(LogEvent::Notice(format!("pod {name} started")));
        }
        self.start(&name, tail, Duration::ZERO);
    }

    async fn gone(&mut self, pod: &str) {
        self.running.remove(pod);
        if let Some(token) = self.streams.remove(pod) {
            token.cancel();
            let _ = self
                .tx
                .send(LogEvent::Notice(format!("pod {pod} gone")))
                .await;
        }
    }

    fn start(&mut self, pod: &str, tail: Option<i64>, delay: Duration) {
        let token = self.cancel.child_token();
        self.streams.insert(pod.to_string(), token.clone());
        let options = LogOptions {
            tail,
            ..self.options.clone()
        };
        let (api, tx, ended) = (self.api.clone(), self.tx.clone(), self.ended_tx.clone());
        let pod = pod.to_string();
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let prefix: Arc<str> = Arc::from(pod.as_str());
            let result = stream_pod(&api, &pod, &options, &token, |text| {
                let tx = tx.clone();
                let pod = prefix.clone();
                async move { tx.send(LogEvent::Line { pod, text }).await.is_ok() }
            })
            .await;
            if let Err(e) = result {
                let _ = tx.send(LogEvent::Notice(format!("{pod}: {e}"))).await;
            }
            if !token.is_cancelled() {
                let _ = ended.send(pod);
            }
        });
    }
}

/// Streams one pod's lines (following) into `emit` until the stream ends, `cancel` fires, or
/// `emit` returns false (nobody listens any more).
pub async fn stream_pod<F, Fut>(
    api: &Api<Pod>,
    pod: &str,
    options: &LogOptions,
    cancel: &CancellationToken,
    mut emit: F,
) -> Result<(), LogsError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let params = options.params(true, true);
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
