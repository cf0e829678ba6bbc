//! The tables' CPU and MEM: a namespace's PodMetrics read once per `metrics::INTERVAL` (the
//! metrics API cannot be watched; metrics-server's own resolution is 15 s), only when the
//! feed is asked for them. A cluster without the API (404), or credentials that may not read
//! it (403), end the reading at the first answer: nothing more is asked.

use std::borrow::Cow;

use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::metrics::{self, Answer};
use crate::model::PodUsage;
use crate::model::fast_hash::FastMap;

pub enum UsageUpdate {
    /// CPU and memory by pod name.
    Read(FastMap<String, PodUsage>),
    /// No figures to show: the API is not served, may not be read, or failed before any
    /// figures came (the reason is logged here).
    Unavailable,
}

/// Reads `namespace`'s figures until the feed is gone, sending each as `wrap(update)`, from
/// when `listed` says the namespace's objects have been listed (the rows exist by then, and
/// the first figures do not compete with the first lists).
pub async fn run<M>(
    client: kube::Client,
    namespace: String,
    mut listed: watch::Receiver<bool>,
    wrap: impl Fn(UsageUpdate) -> M,
    tx: mpsc::Sender<M>,
) {
    if listed.wait_for(|listed| *listed).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(metrics::INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ever_read = false;
    loop {
        tick.tick().await;
        let update = match metrics::read_text(&client, &namespace, "").await {
            Answer::Pods(text) => match sums(&text) {
                Ok(pods) => {
                    ever_read = true;
                    UsageUpdate::Read(pods)
                }
                Err(why) if !ever_read => {
                    tracing::info!("metrics of {namespace}: {why}; no CPU or MEM");
                    UsageUpdate::Unavailable
                }
                Err(why) => {
                    tracing::debug!("metrics of {namespace}: {why}");
                    continue;
                }
            },
            Answer::NotServed => {
                tracing::info!("no metrics API: no CPU or MEM");
                let _ = tx.send(wrap(UsageUpdate::Unavailable)).await;
                return;
            }
            Answer::Forbidden(why) => {
                tracing::info!("metrics of {namespace}: forbidden ({why}); no CPU or MEM");
                let _ = tx.send(wrap(UsageUpdate::Unavailable)).await;
                return;
            }
            Answer::Failed(why) => {
                if ever_read {
                    tracing::debug!("metrics of {namespace}: {why}");
                    // The last figures stay; the next tick tries again.
                    continue;
                }
                tracing::info!("metrics of {namespace}: {why}; no CPU or MEM");
                UsageUpdate::Unavailable
            }
        };
        if tx.send(wrap(update)).await.is_err() {
            return;
        }
    }
}

/// A PodMetricsList as this reader needs it: pod names and quantities borrowed from the text
/// (a namespace of 10,000 pods is a few MiB every 15 s; copying each string out of it cost
/// more CPU and memory than the whole table's rebuild).
#[derive(Deserialize)]
struct ListRef<'a> {
    #[serde(borrow, default)]
    items: Vec<PodRef<'a>>,
}

#[derive(Deserialize)]
struct PodRef<'a> {
    #[serde(borrow)]
    metadata: MetaRef<'a>,
    #[serde(borrow, default)]
    containers: Vec<ContainerRef<'a>>,
}

#[derive(Deserialize)]
struct MetaRef<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ContainerRef<'a> {
    #[serde(borrow)]
    usage: UsageRef<'a>,
}

#[derive(Deserialize)]
struct UsageRef<'a> {
    #[serde(borrow, default)]
    cpu: Cow<'a, str>,
    #[serde(borrow, default)]
    memory: Cow<'a, str>,
}

/// Each pod's CPU and memory, summed over its containers.
fn sums(text: &str) -> Result<FastMap<String, PodUsage>, String> {
    let list: ListRef<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = FastMap::default();
    out.reserve(list.items.len());
    for pod in list.items {
        let nanos: f64 = pod
            .containers
            .iter()
            .map(|c| metrics::cpu_nanos(&c.usage.cpu))
            .sum();
        let usage = PodUsage {
            cpu_millis: metrics::millis(nanos),
            memory_bytes: pod
                .containers
                .iter()
                .map(|c| metrics::bytes(&c.usage.memory))
                .sum(),
        };
        out.insert(pod.metadata.name.into_owned(), usage);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_over_the_containers_as_kubectl_top_rounds_them() {
        let text = r#"{"kind":"PodMetricsList","items":[{"metadata":{"name":"p","labels":{"app":"x"}},
            "timestamp":"2026-11-30T10:00:00Z","window":"15s","containers":[
            {"name":"a","usage":{"cpu":"1000000n","memory":"24Mi"}},
            {"name":"b","usage":{"cpu":"12345678n","memory":"1Mi"}}]}]}"#;
        let pods = sums(text).unwrap();
        assert_eq!(
            pods["p"],
            PodUsage {
                // 13,345,678n in all, rounded up once.
                cpu_millis: 14,
                memory_bytes: 25 * 1024 * 1024
            }
        );
    }
}
