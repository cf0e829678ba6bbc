//! Tests of the demo store: versions, ordered and paged lists, watch replay and compaction.

use super::*;

fn pod(ns: &str, name: &str) -> Value {
    json!({"metadata": {"namespace": ns, "name": name}, "spec": {}})
}

#[test]
fn every_change_bumps_one_cluster_wide_version() {
    let store = Store::new();
    let a = store.create(Kind::Pod, pod("a", "x")).unwrap();
    let b = store.create(Kind::Service, pod("a", "x")).unwrap();
    let rv = |v: &Value| {
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(rv(&b) == rv(&a) + 1);
    assert_eq!(store.current_rv(), rv(&b));
}

#[test]
fn list_is_ordered_and_scoped_and_pages() {
    let store = Store::new();
    for (ns, name) in [("b", "2"), ("a", "2"), ("a", "1"), ("b", "1")] {
        store.create(Kind::Pod, pod(ns, name)).unwrap();
    }
    store.create(Kind::Service, pod("a", "0")).unwrap();
    let names = |items: Vec<Arc<Value>>| {
        items
            .iter()
            .map(|v| {
                format!(
                    "{}/{}",
                    v["metadata"]["namespace"].as_str().unwrap(),
                    v["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(
            store
                .list(Kind::Pod, None, Narrow::Any, None, usize::MAX, |_| true)
                .items
        ),
        ["a/1", "a/2", "b/1", "b/2"]
    );
    assert_eq!(
        names(
            store
                .list(Kind::Pod, Some("b"), Narrow::Any, None, usize::MAX, |_| {
                    true
                })
                .items
        ),
        ["b/1", "b/2"]
    );
    assert_eq!(
        names(
            store
                .list(
                    Kind::Pod,
                    None,
                    Narrow::Any,
                    Some(("a", "2")),
                    usize::MAX,
                    |_| true
                )
                .items
        ),
        ["b/1", "b/2"]
    );
    assert_eq!(
        names(
            store
                .list(
                    Kind::Pod,
                    Some("a"),
                    Narrow::Any,
                    Some(("a", "1")),
                    usize::MAX,
                    |_| true
                )
                .items
        ),
        ["a/2"]
    );
    // A page stops at its limit of the objects kept, and says whether more follow.
    let page = store.list(Kind::Pod, None, Narrow::Any, None, 2, |v| {
        v["metadata"]["name"] == "1"
    });
    assert_eq!(names(page.items), ["a/1", "b/1"]);
    assert!(!page.more);
    let page = store.list(Kind::Pod, None, Narrow::Any, None, 3, |_| true);
    assert_eq!(names(page.items), ["a/1", "a/2", "b/1"]);
    assert!(page.more);
}

/// A list narrowed by name or app gives what the full scan with the same test gives, pages
/// included.
#[test]
fn narrowed_lists_answer_as_the_scan_does() {
    let store = Store::new();
    for (ns, name, app) in [
        ("a", "1", "x"),
        ("a", "2", "y"),
        ("a", "3", "x"),
        ("b", "4", "x"),
    ] {
        let mut p = pod(ns, name);
        p["metadata"]["labels"] = json!({"app": app});
        store.create(Kind::Pod, p).unwrap();
    }
    let names = |page: ListPage| {
        page.items
            .iter()
            .map(|v| v["metadata"]["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let app_x = |v: &Value| v["metadata"]["labels"]["app"] == "x";
    let list =
        |narrow, after, limit| names(store.list(Kind::Pod, Some("a"), narrow, after, limit, app_x));
    assert_eq!(
        list(Narrow::App("x"), None, 10),
        list(Narrow::Any, None, 10)
    );
    assert_eq!(list(Narrow::App("x"), None, 10), ["1", "3"]);
    assert_eq!(list(Narrow::App("x"), Some(("a", "1")), 10), ["3"]);
    let page = store.list(Kind::Pod, Some("a"), Narrow::App("x"), None, 1, app_x);
    assert!(page.more);
    assert_eq!(list(Narrow::Name("3"), None, 10), ["3"]);
    assert_eq!(
        list(Narrow::Name("3"), Some(("a", "3")), 10),
        Vec::<String>::new()
    );
    assert_eq!(list(Narrow::Name("2"), None, 10), Vec::<String>::new());
    assert_eq!(list(Narrow::Name("nope"), None, 10), Vec::<String>::new());
}

#[test]
fn watch_replays_history_then_compaction_gives_gone() {
    let store = Store::new();
    store.create(Kind::Pod, pod("a", "1")).unwrap();
    let since = store.current_rv();
    store
        .update(Kind::Pod, "a", "1", |v| v["spec"]["x"] = json!(1))
        .unwrap();
    store.delete(Kind::Pod, "a", "1").unwrap();
    let start = store.watch(Kind::Pod, Some(since)).unwrap();
    let types: Vec<_> = start.backlog.iter().map(|c| c.event_type).collect();
    assert_eq!(types, [EventType::Modified, EventType::Deleted]);
    store.compact();
    assert!(matches!(
        store.watch(Kind::Pod, Some(since)),
        Err(StoreError::Gone { .. })
    ));
    assert!(store.watch(Kind::Pod, Some(store.current_rv())).is_ok());
}

#[test]
fn an_update_that_changes_nothing_sends_nothing() {
    let store = Store::new();
    store.create(Kind::Pod, pod("a", "1")).unwrap();
    let rv = store.current_rv();
    store.update(Kind::Pod, "a", "1", |_| {}).unwrap();
    assert_eq!(store.current_rv(), rv);
}
