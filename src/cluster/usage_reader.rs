//! The tables' CPU and MEM: a namespace's PodMetrics read once per `metrics::INTERVAL` (the
//! metrics API cannot be watched; metrics-server's own resolution is 15 s), only when the
//! feed is asked for them and only while the tables are on screen. A cluster without the API
//! (404), or credentials that may not read it (403), end the reading at the first answer:
//! nothing more is asked.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
    mut shown: Option<watch::Receiver<bool>>,
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
        // Hidden behind a full-screen pane: nothing is read until the tables show again (the
        // tick missed meanwhile fires at once then, so the figures are fresh on return).
        if let Some(shown) = &mut shown
            && shown.wait_for(|shown| *shown).await.is_err()
        {
            return;
        }
        let update = match metrics::read_stream(&client, &namespace).await {
            Answer::Pods(stream) => match parse_on_blocking_thread(stream).await {
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

/// Parses the stream on a blocking thread (serde_json reads synchronously).
async fn parse_on_blocking_thread(
    stream: impl futures::AsyncRead + Unpin + Send + 'static,
) -> Result<FastMap<String, PodUsage>, String> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || sums(Blocking(stream, handle)))
        .await
        .map_err(|e| e.to_string())?
}

/// Each pod's CPU and memory, summed over its containers, parsed as the list arrives: a
/// namespace of 10,000 pods is a few MiB every 15 s, and holding it whole (kube's
/// `request_text` copies it twice on the way) raised the dashboard's peak memory by about
/// 15 MiB at N=5,000. Only the map is kept.
fn sums(reader: impl std::io::Read) -> Result<FastMap<String, PodUsage>, String> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let list = SumsList::deserialize(&mut de).map_err(|e| e.to_string())?;
    Ok(list.0)
}

/// The list's `items`, summed into the map one pod at a time.
struct SumsList(FastMap<String, PodUsage>);

impl<'de> Deserialize<'de> for SumsList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = SumsList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a PodMetricsList")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SumsList, A::Error> {
                let mut pods = SumsList(FastMap::default());
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "items" {
                        pods = map.next_value::<SumsList>()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(pods)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SumsList, A::Error> {
                let mut pods = FastMap::default();
                while let Some(pod) = seq.next_element::<PodOwned>()? {
                    let nanos: f64 = pod.containers.iter().map(|c| c.usage.cpu.0).sum();
                    let usage = PodUsage {
                        cpu_millis: metrics::millis(nanos),
                        memory_bytes: pod.containers.iter().map(|c| c.usage.memory.0).sum(),
                    };
                    pods.insert(pod.metadata.name, usage);
                }
                Ok(SumsList(pods))
            }
        }
        // The list is a map; its `items` a sequence: one visitor for both.
        d.deserialize_any(ListVisitor)
    }
}

#[derive(Deserialize)]
struct PodOwned {
    metadata: MetaOwned,
    #[serde(default)]
    containers: Vec<ContainerOwned>,
}

#[derive(Deserialize)]
struct MetaOwned {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct ContainerOwned {
    usage: UsageOwned,
}

/// A container's quantities, read as numbers straight from the text (no string is kept).
#[derive(Deserialize)]
struct UsageOwned {
    #[serde(default)]
    cpu: Nanocores,
    #[serde(default)]
    memory: Bytes,
}

#[derive(Default)]
struct Nanocores(f64);

#[derive(Default)]
struct Bytes(u64);

impl<'de> Deserialize<'de> for Nanocores {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(QuantityVisitor(metrics::cpu_nanos))
            .map(Nanocores)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(QuantityVisitor(metrics::bytes))
            .map(Bytes)
    }
}

/// Reads a quantity from the text as it goes by, without allocating it.
struct QuantityVisitor<F>(F);

impl<'de, T, F: Fn(&str) -> T> Visitor<'de> for QuantityVisitor<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a quantity")
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        Ok((self.0)(text))
    }
}

/// A blocking reader of an async stream, for serde_json's reader on a blocking thread.
struct Blocking<R>(R, tokio::runtime::Handle);

impl<R: futures::AsyncRead + Unpin> std::io::Read for Blocking<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use futures::AsyncReadExt;
        self.1.block_on(self.0.read(buf))
    }
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
        let pods = sums(text.as_bytes()).unwrap();
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
