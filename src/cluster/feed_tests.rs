//! The feed's coalescing timings, on tokio's paused clock: exact instants, no waiting.

use super::*;

fn config() -> FeedConfig {
    FeedConfig {
        namespaces: Namespaces {
            hasura: "hasura".into(),
            user: "default".into(),
            user_source: "default",
        },
        cluster_name: None,
        cluster_data: None,
        kube_cluster_name: "test".into(),
        project: None,
        pending: PendingRequests::default(),
        metrics: false,
        tables_shown: None,
    }
}

/// A change to the custom table's pods, at resourceVersion `rv`.
fn change(rv: u64) -> Message {
    Message::Objects {
        section: Section::Custom,
        kind: ObjectKind::Pod,
        update: Update::Listed(Vec::new()),
        rv: Some(rv),
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_is_one_snapshot_and_snapshots_are_spaced_by_the_minimum_interval() {
    let (tx, rx) = mpsc::channel(1024);
    let mut feed = Feed::new(config());
    let (out, mut snapshots) = tokio_watch::channel(Arc::new(feed.snapshot()));
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move { feed.run(rx, out, stop).await }
    });
    let start = tokio::time::Instant::now();

    // A hundred changes at once: one snapshot, COALESCE after the first, with all of them.
    for rv in 1..=100 {
        tx.send(change(rv)).await.unwrap();
    }
    snapshots.changed().await.unwrap();
    assert_eq!(start.elapsed(), COALESCE);
    assert_eq!(snapshots.borrow_and_update().resource_version, 100);

    // A change right after it waits out the minimum interval since that build.
    tx.send(change(101)).await.unwrap();
    snapshots.changed().await.unwrap();
    assert_eq!(start.elapsed(), COALESCE + MIN_INTERVAL);
    assert_eq!(snapshots.borrow_and_update().resource_version, 101);

    // After a quiet spell, a change is out COALESCE later again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let quiet = tokio::time::Instant::now();
    tx.send(change(102)).await.unwrap();
    snapshots.changed().await.unwrap();
    assert_eq!(quiet.elapsed(), COALESCE);
    assert!(!snapshots.has_changed().unwrap(), "one snapshot per change");

    stop.cancel();
    task.await.unwrap();
}
