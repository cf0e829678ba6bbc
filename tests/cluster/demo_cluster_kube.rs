//! The demo cluster through kube-rs over HTTPS: list and watch every kind, watch ordering, 410 and
//! relist, authentication, and port-forward through `Api::portforward`.
use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Namespace, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{client_for, client_from_yaml, eventually, start_demo, start_seed_demo};

const HASURA: [&str; 10] = [
    "auth",
    "data",
    "filestore",
    "gateway",
    "le-agent",
    "notify",
    "platform-sync",
    "postgres",
    "session-redis",
    "sshd",
];

#[tokio::test]
async fn lists_every_kind_with_the_seed_content() {
    let demo = start_seed_demo().await;
    let client = client_for(&demo).await;
    let lp = ListParams::default();

    let namespaces: BTreeSet<String> = Api::<Namespace>::all(client.clone())
        .list(&lp)
        .await
        .unwrap()
        .iter()
        .map(|n| n.name_any())
        .collect();
    assert_eq!(
        namespaces,
        BTreeSet::from(["default".to_string(), "hasura".to_string()])
    );

    let services: Vec<String> = Api::<Service>::namespaced(client.clone(), "hasura")
        .list(&lp)
        .await
        .unwrap()
        .iter()
        .map(|s| s.name_any())
        .collect();
    assert_eq!(services, HASURA);

    let deployments = Api::<Deployment>::namespaced(client.clone(), "hasura")
        .list(&lp)
        .await
        .unwrap();
    let statefulsets = Api::<StatefulSet>::namespaced(client.clone(), "hasura")
        .list(&lp)
        .await
        .unwrap();
    let mut workloads: Vec<String> = deployments
        .iter()
        .map(|d| d.name_any())
        .chain(statefulsets.iter().map(|s| s.name_any()))
        .collect();
    workloads.sort();
    assert_eq!(workloads, HASURA);
    assert!(
        deployments
            .iter()
            .all(|d| d.status.as_ref().and_then(|s| s.ready_replicas) == Some(1))
    );

    let pods = Api::<Pod>::namespaced(client.clone(), "hasura")
        .list(&lp)
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 10);
    assert!(
        pods.iter()
            .all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
    );

    let endpoints = Api::<Endpoints>::namespaced(client.clone(), "hasura")
        .get("data")
        .await
        .unwrap();
    let subset = &endpoints.subsets.unwrap()[0];
    assert_eq!(subset.addresses.as_ref().unwrap().len(), 1);
    assert_eq!(
        subset.ports.as_ref().unwrap()[0].port,
        8080,
        "named targetPort resolved to the container port"
    );

    let conf = Api::<ConfigMap>::namespaced(client.clone(), "hasura")
        .get("hasura-conf")
        .await
        .unwrap();
    let data = conf.data.unwrap();
    assert!(data["routes.yaml"].contains("upstreamService"));
    assert_eq!(data["cluster-name"], "gram29");

    let user: Vec<String> = Api::<Deployment>::namespaced(client.clone(), "default")
        .list(&lp)
        .await
        .unwrap()
        .iter()
        .map(|d| d.name_any())
        .collect();
    assert_eq!(user, ["my-app"]);
    assert!(
        Api::<Ingress>::all(client.clone())
            .list(&lp)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Selectors and pagination.
    let by_label = Api::<Pod>::namespaced(client.clone(), "hasura")
        .list(&ListParams::default().labels("app=data"))
        .await
        .unwrap();
    assert_eq!(by_label.items.len(), 1);
    let by_name = Api::<Service>::namespaced(client.clone(), "hasura")
        .list(&ListParams::default().fields("metadata.name=postgres"))
        .await
        .unwrap();
    assert_eq!(
        by_name.iter().map(|s| s.name_any()).collect::<Vec<_>>(),
        ["postgres"]
    );
    let mut paged = Vec::new();
    let mut params = ListParams::default().limit(3);
    loop {
        let page = Api::<Service>::namespaced(client.clone(), "hasura")
            .list(&params)
            .await
            .unwrap();
        paged.extend(page.iter().map(|s| s.name_any()));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert_eq!(paged, HASURA);
}

#[tokio::test]
async fn every_kind_can_be_watched() {
    let demo = start_seed_demo().await;
    let client = client_for(&demo).await;
    let wp = WatchParams::default().timeout(1);
    async fn first_added<K>(api: Api<K>, wp: &WatchParams) -> String
    where
        K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    {
        let mut stream = api.watch(wp, "0").await.unwrap().boxed();
        match stream.try_next().await.unwrap() {
            Some(WatchEvent::Added(obj)) => obj.name_any(),
            other => panic!("expected an ADDED event, got {other:?}"),
        }
    }
    assert!(
        !first_added(Api::<Namespace>::all(client.clone()), &wp)
            .await
            .is_empty()
    );
    assert_eq!(
        first_added(Api::<Pod>::namespaced(client.clone(), "default"), &wp)
            .await
            .split('-')
            .next(),
        Some("my")
    );
    // In key order, as the API server's watch cache sends its initial state: the API server's
    // own Service, `kubernetes`, comes before `my-app`.
    assert_eq!(
        first_added(Api::<Service>::namespaced(client.clone(), "default"), &wp).await,
        "kubernetes"
    );
    assert_eq!(
        first_added(Api::<Endpoints>::namespaced(client.clone(), "default"), &wp).await,
        "my-app"
    );
    assert_eq!(
        first_added(Api::<ConfigMap>::namespaced(client.clone(), "hasura"), &wp).await,
        "hasura-conf"
    );
    assert_eq!(
        first_added(
            Api::<Deployment>::namespaced(client.clone(), "default"),
            &wp
        )
        .await,
        "my-app"
    );
    assert_eq!(
        first_added(
            Api::<StatefulSet>::namespaced(client.clone(), "hasura"),
            &wp
        )
        .await,
        "postgres"
    );
    demo.faults()
        .apply_manifests("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: default}\nspec:\n  rules:\n    - host: my-app.example.com\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend: {service: {name: my-app, port: {number: 80}}}\n")
        .unwrap();
    assert_eq!(
        first_added(Api::<Ingress>::namespaced(client.clone(), "default"), &wp).await,
        "web"
    );
}

#[tokio::test]
async fn a_watch_sees_a_deleted_pod_and_its_replacement_in_version_order() {
    let demo = start_demo().await;
    let client = client_for(&demo).await;
    let pods = Api::<Pod>::namespaced(client.clone(), "hasura");
    let list = pods
        .list(&ListParams::default().labels("app=data"))
        .await
        .unwrap();
    let old = list.items[0].name_any();
    let rv = list.metadata.resource_version.unwrap();
    let mut stream = pods
        .watch(&WatchParams::default().labels("app=data").timeout(10), &rv)
        .await
        .unwrap()
        .boxed();

    pods.delete(&old, &Default::default()).await.unwrap();

    let mut seen = Vec::new();
    let mut last_rv = 0u64;
    while let Some(event) = stream.try_next().await.unwrap() {
        let (kind, pod) = match event {
            WatchEvent::Added(p) => ("ADDED", p),
            WatchEvent::Modified(p) => ("MODIFIED", p),
            WatchEvent::Deleted(p) => ("DELETED", p),
            _ => continue,
        };
        let rv: u64 = pod.resource_version().unwrap().parse().unwrap();
        assert!(rv > last_rv, "events arrive in resourceVersion order");
        last_rv = rv;
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        seen.push((kind, pod.name_any(), ready));
        let old_gone = seen.iter().any(|(k, n, _)| *k == "DELETED" && *n == old);
        let new_ready = seen.iter().any(|(_, n, r)| *n != old && *r);
        if old_gone && new_ready {
            break;
        }
    }
    assert!(
        seen.iter().any(|(k, n, _)| *k == "ADDED" && *n != old),
        "replacement added: {seen:?}"
    );
    assert!(
        seen.iter().any(|(k, n, _)| *k == "DELETED" && *n == old),
        "old pod deleted: {seen:?}"
    );
    let replacement = seen
        .iter()
        .find(|(k, n, _)| *k == "ADDED" && *n != old)
        .unwrap();
    assert!(
        replacement.1.starts_with("data-"),
        "named like a ReplicaSet's pod: {}",
        replacement.1
    );
}

#[tokio::test]
async fn a_compacted_version_gets_410_and_the_watcher_relists() {
    let demo = start_demo().await;
    let client = client_for(&demo).await;
    let pods = Api::<Pod>::namespaced(client.clone(), "hasura");
    let rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    demo.faults().kill_one_pod("hasura", "auth").unwrap();
    demo.faults().compact();

    let mut raw = pods
        .watch(&WatchParams::default().timeout(2), &rv)
        .await
        .unwrap()
        .boxed();
    match raw.try_next().await {
        Ok(Some(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }

    // kube-rs's watcher recovers by itself: after the fault it relists and sees the pods again.
    let mut events = watcher(pods.clone(), watcher::Config::default()).boxed();
    let mut init_done = 0;
    let mut seen = BTreeSet::new();
    let faults = demo.faults();
    tokio::time::timeout(Duration::from_secs(20), async {
        let mut saw_410 = false;
        while let Some(event) = events.next().await {
            let event = match event {
                // The watcher reports the 410 and relists on the next poll.
                Err(watcher::Error::WatchError(status)) if status.code == 410 => {
                    saw_410 = true;
                    continue;
                }
                other => other.unwrap(),
            };
            match event {
                // The killed pod may still be terminating; count the live ones.
                watcher::Event::InitApply(p) if p.metadata.deletion_timestamp.is_none() => {
                    seen.insert(p.name_any());
                }
                watcher::Event::InitDone => {
                    init_done += 1;
                    assert_eq!(seen.len(), 10, "a full relist: {seen:?}");
                    if init_done == 2 {
                        assert!(saw_410, "the second list followed a 410");
                        return;
                    }
                    seen.clear();
                    // A change the watcher has not seen, then compaction past it: the re-watch
                    // from its last version must get 410. (Synchronous: on this single-threaded
                    // test runtime the watcher cannot read the change in between.)
                    faults.kill_one_pod("hasura", "data").unwrap();
                    faults.compact();
                    faults.drop_watches();
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the watcher relists after 410");
}

#[tokio::test]
async fn a_wrong_token_gets_401_with_a_status() {
    let demo = start_demo().await;
    let yaml = demo
        .kubeconfig_yaml()
        .replace(demo.token(), "not-the-token");
    let client = client_from_yaml(&yaml).await;
    match Api::<Pod>::namespaced(client, "hasura")
        .list(&ListParams::default())
        .await
    {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 401);
            assert_eq!(status.reason, "Unauthorized");
        }
        other => panic!("expected 401, got {other:?}"),
    }
}

async fn pod_of(client: &kube::Client, namespace: &str, app: &str) -> String {
    let pods = Api::<Pod>::namespaced(client.clone(), namespace);
    pods.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items[0]
        .name_any()
}

#[tokio::test]
async fn port_forward_to_data_returns_the_json_echo() {
    let demo = start_demo().await;
    let client = client_for(&demo).await;
    let pod = pod_of(&client, "hasura", "data").await;
    let pods = Api::<Pod>::namespaced(client, "hasura");
    let mut forwarder = pods.portforward(&pod, &[8080]).await.unwrap();
    let mut stream = forwarder.take_stream(8080).unwrap();
    stream
        .write_all(b"GET /x?y=1 HTTP/1.1\r\nHost: data.hasura\r\nX-Hasura-Role: admin\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let echo: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(echo["microservice"], "data");
    assert_eq!(echo["pod"], pod.as_str());
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/x?y=1");
    assert_eq!(echo["headers"]["x-hasura-role"], "admin");
    assert_eq!(echo["headers"]["host"], "data.hasura");
}

#[tokio::test]
async fn ten_mib_through_postgres_come_back_byte_identical() {
    let demo = start_demo().await;
    let client = client_for(&demo).await;
    let pods = Api::<Pod>::namespaced(client, "hasura");
    let mut forwarder = pods.portforward("postgres-0", &[5432]).await.unwrap();
    let stream = forwarder.take_stream(5432).unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let payload: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let sent = payload.clone();
    let writing = tokio::spawn(async move {
        writer.write_all(&sent).await.unwrap();
        writer
    });
    let mut received = vec![0u8; payload.len()];
    reader.read_exact(&mut received).await.unwrap();
    let _writer = writing.await.unwrap();
    assert!(received == payload, "echo differs from what was sent");
}

#[tokio::test]
async fn thirty_two_concurrent_forwards_all_succeed() {
    let demo = start_demo().await;
    let client = client_for(&demo).await;
    let targets = [
        ("hasura", "data", 8080u16),
        ("hasura", "auth", 8080),
        ("default", "my-app", 8080),
        ("hasura", "session-redis", 6379),
    ];
    let mut pods = Vec::new();
    for (ns, app, port) in targets {
        pods.push((ns, pod_of(&client, ns, app).await, port, app));
    }
    let tasks = (0..32).map(|i| {
        let (ns, pod, port, app) = pods[i % pods.len()].clone();
        let client = client.clone();
        tokio::spawn(async move {
            let mut forwarder = Api::<Pod>::namespaced(client, ns)
                .portforward(&pod, &[port])
                .await
                .unwrap();
            let mut stream = forwarder.take_stream(port).unwrap();
            if app == "session-redis" {
                let msg = format!("PING {i}\r\n");
                stream.write_all(msg.as_bytes()).await.unwrap();
                let mut back = vec![0u8; msg.len()];
                stream.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg.as_bytes());
            } else {
                stream
                    .write_all(
                        format!("GET /n/{i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                            .as_bytes(),
                    )
                    .await
                    .unwrap();
                let mut response = String::new();
                stream.read_to_string(&mut response).await.unwrap();
                assert!(response.starts_with("HTTP/1.1 200"), "{response}");
                assert!(
                    response.contains(&format!("\"path\":\"/n/{i}\"")),
                    "{response}"
                );
                assert!(
                    response.contains(&format!("\"microservice\":\"{app}\"")),
                    "{response}"
                );
            }
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    assert!(demo.faults().request_counts().portforward >= 32);
}

#[tokio::test]
async fn port_forward_to_a_missing_pod_is_a_404() {
    let demo = start_demo().await;
    let client = client_for(&demo).await;
    match Api::<Pod>::namespaced(client, "hasura")
        .portforward("nope", &[80])
        .await
    {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 404),
        other => panic!("expected 404, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_scaled_cluster_lists_with_pages() {
    let demo = common::start_demo_with(hasura_tui::demo::DemoOptions {
        scale: 300,
        shapes: false,
        ..Default::default()
    })
    .await;
    let client = client_for(&demo).await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "default");
    let all = deployments
        .list(&ListParams::default().limit(100))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 100);
    assert!(all.metadata.continue_.is_some());
    let store = eventually("the scaled pods", Duration::from_secs(5), || {
        let client = client.clone();
        async move {
            let pods = Api::<Pod>::namespaced(client, "default")
                .list(&ListParams::default())
                .await
                .ok()?;
            (pods.items.len() == 601).then_some(pods.items.len())
        }
    })
    .await;
    assert_eq!(store, 300 * 2 + 1);
}

/// Streaming lists, as kube-runtime's watcher asks for them (`streaming_lists()`:
/// `sendInitialEvents=true`, `resourceVersionMatch=NotOlderThan`, bookmarks): every pod as an
/// initial event, then the `k8s.io/initial-events-end` bookmark that ends the initial state
/// (InitDone), then live changes. Without that bookmark the watcher, like kubectl 1.35+'s
/// informers, waits for ever. Options that break upstream's rules are refused as it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_list_ends_with_the_bookmark_the_watcher_waits_for() {
    let demo = start_seed_demo().await;
    let client = client_for(&demo).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "hasura");
    let listed = pods.list(&ListParams::default()).await.unwrap().items.len();
    let config = watcher::Config::default().streaming_lists();
    let mut events = watcher(pods.clone(), config).boxed();
    let mut initial = 0;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.try_next())
            .await
            .expect("the initial state ends within 10 s")
            .unwrap()
            .expect("the stream goes on");
        match event {
            watcher::Event::Init => {}
            watcher::Event::InitApply(_) => initial += 1,
            watcher::Event::InitDone => break,
            other => panic!("before InitDone: {other:?}"),
        }
    }
    assert_eq!(initial, listed, "every pod once in the initial state");
    // Then live changes: a pod killed is seen.
    let pod = demo.faults().live_pods("hasura", "data").unwrap()[0].clone();
    assert!(demo.faults().kill_pod("hasura", &pod));
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.try_next().await.unwrap() {
            match event {
                watcher::Event::Apply(p) | watcher::Event::Delete(p) if p.name_any() == pod => {
                    return;
                }
                _ => {}
            }
        }
    })
    .await;
    assert!(seen.is_ok(), "the killed pod's change after InitDone");

    // The option needs resourceVersionMatch=NotOlderThan, and the match needs the option, as
    // apimachinery's validateWatchOptions has it: 422 Invalid.
    for query in [
        "watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
        "watch=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
    ] {
        let url = format!(
            "https://{}/api/v1/namespaces/hasura/pods?{query}",
            demo.addr()
        );
        let request = http::Request::get(url).body(Vec::new()).unwrap();
        let refused = client.request_text(request).await.unwrap_err();
        assert!(
            matches!(&refused, kube::Error::Api(s) if s.code == 422),
            "{query}: {refused:?}"
        );
    }
    demo.shutdown().await;
}
