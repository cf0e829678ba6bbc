//! The pods' log output, per container: a few lines when a container starts, one a second with
//! `--churn`, kept per container (bounded) and broadcast to followers of `pods/log?follow=true`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::store::now_rfc3339;

/// Lines kept per container; older lines fall off, as a container runtime's log rotation does.
const LINES_PER_CONTAINER: usize = 1_000;

/// A line written by a pod, for followers.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub namespace: Arc<str>,
    pub pod: Arc<str>,
    pub container: Arc<str>,
    pub line: Arc<str>,
}

/// Each container's recent lines, by (namespace, pod, container).
type PodLines = HashMap<(String, String, String), VecDeque<Arc<str>>>;

pub struct LogBook {
    pods: Mutex<PodLines>,
    tx: broadcast::Sender<LogLine>,
}

impl Default for LogBook {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(4096);
        LogBook {
            pods: Mutex::new(HashMap::new()),
            tx,
        }
    }
}

impl LogBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, PodLines> {
        // Single-operation critical sections: a poisoned map is still consistent.
        self.pods.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn write(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        let line: Arc<str> = Arc::from(format!("{} {text}", now_rfc3339()));
        {
            let mut pods = self.lock();
            let lines = pods
                .entry((
                    namespace.to_string(),
                    pod.to_string(),
                    container.to_string(),
                ))
                .or_default();
            lines.push_back(line.clone());
            if lines.len() > LINES_PER_CONTAINER {
                lines.pop_front();
            }
        }
        // Nobody following is normal.
        let _ = self.tx.send(LogLine {
            namespace: Arc::from(namespace),
            pod: Arc::from(pod),
            container: Arc::from(container),
            line,
        });
    }

    /// What a container says as it starts: the microservice's own, or a sidecar's.
    pub fn container_started(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        microservice: &str,
        sidecar: bool,
    ) {
        if !sidecar {
            self.write(
                namespace,
                pod,
                container,
                &format!("INFO starting {microservice} (pod {pod})"),
            );
            self.write(namespace, pod, container, "INFO configuration loaded");
            self.write(namespace, pod, container, "INFO listening for connections");
        } else {
            self.write(
                namespace,
                pod,
                container,
                &format!("info sidecar {container} starting for {microservice} (pod {pod})"),
            );
            self.write(namespace, pod, container, "info proxy ready");
        }
    }

    pub fn pod_deleted(&self, namespace: &str, pod: &str) {
        self.lock()
            .retain(|(ns, p, _), _| !(ns == namespace && p == pod));
    }

    /// The last `tail` lines of a container (all when `None`), and a receiver for the lines
    /// after them.
    pub fn read(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        tail: Option<usize>,
    ) -> (Vec<Arc<str>>, broadcast::Receiver<LogLine>) {
        let pods = self.lock();
        let receiver = self.tx.subscribe();
        let lines = pods
            .get(&(
                namespace.to_string(),
                pod.to_string(),
                container.to_string(),
            ))
            .map(|lines| {
                let skip = tail.map_or(0, |t| lines.len().saturating_sub(t));
                lines.iter().skip(skip).cloned().collect()
            })
            .unwrap_or_default();
        (lines, receiver)
    }

    /// Every (namespace, pod, container) that has written.
    pub fn containers(&self) -> Vec<(String, String, String)> {
        self.lock().keys().cloned().collect()
    }
}
