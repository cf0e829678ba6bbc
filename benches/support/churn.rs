//! Pod churn against a demo-cluster process: deletes pods at a steady rate through the API and
//! notes, for each, the resourceVersion of the change and the moment just before it was asked
//! for. Matched with the dashboard's frames, that gives the delay from change to screen.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, ResourceExt};

pub struct Change {
    pub asked: SystemTime,
    pub rv: u64,
}

/// Deletes `rate` pods a second in `namespace` for `duration`.
pub async fn run(
    client: &kube::Client,
    namespace: &str,
    rate: u32,
    duration: Duration,
) -> Vec<Change> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let names: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .expect("pods")
        .iter()
        .map(|p| p.name_any())
        .collect();
    let count = (rate as f64 * duration.as_secs_f64()) as usize;
    assert!(
        names.len() >= count,
        "{} pods for {count} changes",
        names.len()
    );
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut changes = Vec::with_capacity(count);
    // Every 7th pod, so consecutive changes hit different microservices.
    for i in 0..count {
        tick.tick().await;
        let name = &names[(i * 7) % names.len()];
        let asked = SystemTime::now();
        let Ok(deleted) = pods.delete(name, &DeleteParams::default()).await else {
            continue;
        };
        let rv = deleted
            .left()
            .and_then(|p| p.resource_version())
            .and_then(|rv| rv.parse().ok());
        if let Some(rv) = rv {
            changes.push(Change { asked, rv });
        }
    }
    changes
}

/// For each change, the delay to the first frame showing its resourceVersion or a later one;
/// sorted. Changes no frame showed are counted separately.
pub fn delays(changes: &[Change], frames: &[(SystemTime, u64)]) -> (Vec<Duration>, usize) {
    let mut delays = Vec::with_capacity(changes.len());
    let mut unseen = 0;
    for change in changes {
        match frames.iter().find(|(_, rv)| *rv >= change.rv) {
            Some((at, _)) => delays.push(at.duration_since(change.asked).unwrap_or_default()),
            None => unseen += 1,
        }
    }
    delays.sort();
    (delays, unseen)
}
