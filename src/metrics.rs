//! CPU and memory of pods from `metrics.k8s.io` (metrics-server), when the cluster serves it,
//! for the tables' CPU and MEM columns and the detail view. The API cannot be watched: it is
//! listed once per `INTERVAL` (the resolution metrics-server itself has), and only while a
//! screen shows the figures; without the API nothing more is asked.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often the figures are read again.
pub const INTERVAL: Duration = Duration::from_secs(15);

/// One pod's use, summed over its containers, and each container's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub cpu_millis: u64,
    pub memory_bytes: u64,
    pub containers: Vec<(String, u64, u64)>,
}

/// What asking gave, with `T` the figures.
pub enum Answer<T = BTreeMap<String, Usage>> {
    /// Usage by pod name.
    Pods(T),
    /// The cluster has no metrics API (404): do not ask again.
    NotServed,
    /// These credentials may not read it (403): do not ask again either.
    Forbidden(String),
    /// Refused or failed; say nothing, try again later.
    Failed(String),
}

/// The pods' metrics in `namespace` matching `selector` (every pod's when it is empty).
pub async fn read(client: &kube::Client, namespace: &str, selector: &str) -> Answer {
    match read_text(client, namespace, selector).await {
        Answer::Pods(text) => match serde_json::from_str::<ListWire>(&text) {
            Ok(list) => Answer::Pods(usage_by_pod(list)),
            Err(e) => Answer::Failed(e.to_string()),
        },
        Answer::NotServed => Answer::NotServed,
        Answer::Forbidden(why) => Answer::Forbidden(why),
        Answer::Failed(why) => Answer::Failed(why),
    }
}

/// The PodMetricsList as a stream of bytes, for a caller that parses it as it arrives.
pub async fn read_stream(
    client: &kube::Client,
    namespace: &str,
) -> Answer<impl futures::AsyncBufRead + Unpin + Send + use<>> {
    let path = format!("/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods");
    let request = match http::Request::get(path).body(Vec::new()) {
        Ok(request) => request,
        Err(e) => return Answer::Failed(e.to_string()),
    };
    match client.request_stream(request).await {
        Ok(stream) => Answer::Pods(Box::pin(stream)),
        Err(kube::Error::Api(status)) if status.code == 404 => Answer::NotServed,
        Err(kube::Error::Api(status)) if status.code == 403 => Answer::Forbidden(status.message),
        Err(e) => Answer::Failed(e.to_string()),
    }
}

/// The PodMetricsList as text, for a caller that parses it its own way.
pub async fn read_text(client: &kube::Client, namespace: &str, selector: &str) -> Answer<String> {
    let mut path = format!("/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods");
    if !selector.is_empty() {
        path.push_str(&format!("?labelSelector={}", form_urlencoded(selector)));
    }
    let request = match http::Request::get(path).body(Vec::new()) {
        Ok(request) => request,
        Err(e) => return Answer::Failed(e.to_string()),
    };
    match client.request_text(request).await {
        Ok(text) => Answer::Pods(text),
        Err(kube::Error::Api(status)) if status.code == 404 => Answer::NotServed,
        Err(kube::Error::Api(status)) if status.code == 403 => Answer::Forbidden(status.message),
        Err(e) => Answer::Failed(e.to_string()),
    }
}

fn form_urlencoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A PodMetricsList as it arrives: only the fields read (a namespace of 10,000 pods is a few
/// MiB every `INTERVAL`; a typed parse skips the rest without building it).
#[derive(Deserialize)]
pub struct ListWire {
    #[serde(default)]
    items: Vec<PodWire>,
}

#[derive(Deserialize)]
struct PodWire {
    metadata: MetaWire,
    #[serde(default)]
    containers: Vec<ContainerWire>,
}

#[derive(Deserialize)]
struct MetaWire {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct ContainerWire {
    #[serde(default)]
    name: String,
    #[serde(default)]
    usage: UsageWire,
}

#[derive(Default, Deserialize)]
struct UsageWire {
    #[serde(default)]
    cpu: String,
    #[serde(default)]
    memory: String,
}

fn usage_by_pod(list: ListWire) -> BTreeMap<String, Usage> {
    let mut pods = BTreeMap::new();
    for item in list.items {
        let mut usage = Usage::default();
        let mut nanos = 0.0;
        for c in item.containers {
            let cpu = cpu_nanos(&c.usage.cpu);
            let memory = bytes(&c.usage.memory);
            nanos += cpu;
            usage.memory_bytes += memory;
            usage.containers.push((c.name, millis(cpu), memory));
        }
        usage.cpu_millis = millis(nanos);
        pods.insert(item.metadata.name, usage);
    }
    pods
}

/// A CPU quantity in millicores, rounded up as `kubectl top` rounds it (`12345678n` is 13m).
pub fn cpu_millis(quantity: &str) -> u64 {
    millis(cpu_nanos(quantity))
}

/// Nanocores rounded up to millicores: `kubectl top pods` adds the containers' quantities
/// exactly and rounds the sum (`Quantity.MilliValue`), so sums are kept in nanocores.
pub fn millis(nanos: f64) -> u64 {
    (nanos / 1e6).ceil() as u64
}

/// A CPU quantity in nanocores.
pub fn cpu_nanos(quantity: &str) -> f64 {
    let (number, unit) = split(quantity);
    match unit {
        "n" => number,
        "u" => number * 1e3,
        "m" => number * 1e6,
        "" => number * 1e9,
        "k" => number * 1e12,
        _ => 0.0,
    }
}

/// A memory quantity in bytes (`Ki`, `Mi`, `Gi`, `k`, `M`, `G` or none).
pub fn bytes(quantity: &str) -> u64 {
    let (number, unit) = split(quantity);
    let factor = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        _ => 0.0,
    };
    (number * factor) as u64
}

fn split(quantity: &str) -> (f64, &str) {
    let end = quantity
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(quantity.len());
    (quantity[..end].parse().unwrap_or(0.0), &quantity[end..])
}

/// `13m`, `1.2`, as kubectl prints cores; `49Mi` as it prints memory (rounded down to Mi).
pub fn cpu_text(millis: u64) -> String {
    format!("{millis}m")
}

pub fn memory_text(bytes: u64) -> String {
    format!("{}Mi", bytes / (1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_kubectl_top_reads_them() {
        assert_eq!(cpu_millis("12345678n"), 13);
        assert_eq!(cpu_millis("250m"), 250);
        assert_eq!(cpu_millis("1"), 1000);
        assert_eq!(bytes("123456Ki"), 123456 * 1024);
        assert_eq!(memory_text(bytes("49Mi") + 1000), "49Mi");
        let list = serde_json::json!({"items": [{"metadata": {"name": "p"}, "containers": [
            {"name": "a", "usage": {"cpu": "1000000n", "memory": "24Mi"}},
            {"name": "b", "usage": {"cpu": "12345678n", "memory": "1Mi"}}]}]});
        let usage = &usage_by_pod(serde_json::from_value(list).unwrap())["p"];
        assert_eq!(
            (usage.cpu_millis, usage.memory_bytes / (1024 * 1024)),
            // 13,345,678n together, rounded up once, as kubectl top does.
            (14, 25)
        );
    }
}
