//! The tables' CPU and MEM: a namespace's PodMetrics read once per `metrics::INTERVAL` (the
//! metrics API cannot be watched; metrics-server's own resolution is 15 s), only when the
//! feed is asked for them. A cluster without the API (404), or credentials that may not read
//! it (403), end the reading at the first answer: nothing more is asked.

use tokio::sync::mpsc;

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

/// Reads `namespace`'s figures until the feed is gone, sending each as `wrap(update)`.
pub async fn run<M>(
    client: kube::Client,
    namespace: String,
    wrap: impl Fn(UsageUpdate) -> M,
    tx: mpsc::Sender<M>,
) {
    let mut tick = tokio::time::interval(metrics::INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ever_read = false;
    loop {
        tick.tick().await;
        let update = match metrics::read(&client, &namespace, "").await {
            Answer::Pods(pods) => {
                ever_read = true;
                UsageUpdate::Read(
                    pods.into_iter()
                        .map(|(name, u)| {
                            let usage = PodUsage {
                                cpu_millis: u.cpu_millis,
                                memory_bytes: u.memory_bytes,
                            };
                            (name, usage)
                        })
                        .collect(),
                )
            }
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
