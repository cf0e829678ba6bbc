//! A watch that meets 410 Gone on the real API server relists silently. The testbed serves
//! StatefulSets without the watch cache and compacts etcd every 10 s (scripts/testbed-up), so a
//! StatefulSet watch of a namespace that has none keeps the resourceVersion of its list, and
//! once the history before it is compacted, resuming from it is refused with 410 (apiserver
//! `storage/etcd3/watcher.go`, a compacted revision). The dashboard's watches here end every
//! 2 s (`HASURA_TUI_WATCH_TIMEOUT`) so they resume within the test: the header must never say
//! `reconnecting`, and a fresh list must follow, the rows kept as they were.

use std::time::{Duration, Instant};

use crate::common::testbed::testbed;
use crate::{BIN, namespace_with_web};

#[test]
fn a_watch_that_meets_410_gone_relists_silently() {
    let tb = testbed();
    let ns = "t-gone";
    namespace_with_web(tb, ns);
    let tmux = crate::common::tmux::Tmux::start(
        &format!(
            "env HASURA_TUI_WATCH_TIMEOUT=2 {BIN} --kubeconfig {} --user-namespace {ns}",
            tb.admin.display()
        ),
        140,
        30,
    );
    let web_rows = |s: &str| s.lines().filter(|l| l.starts_with("web ")).count();
    tmux.wait_for("synced with web Running", Duration::from_secs(30), |s| {
        s.contains("synced") && web_rows(s) == 1
    });
    let statefulset_lists = || {
        tb.audit("kubernetes-admin")
            .into_iter()
            .filter(|e| {
                e["userAgent"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("hasura-tui/")
                    && e["verb"] == "list"
                    && e["objectRef"]["resource"] == "statefulsets"
                    && e["objectRef"]["namespace"] == ns
            })
            .count()
    };
    assert_eq!(statefulset_lists(), 1, "one list at start");
    // Compaction every 10 s: within 60 s the resumed watch meets it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while statefulset_lists() < 2 {
        let screen = tmux.screen();
        assert!(
            !screen.contains("reconnecting"),
            "a 410 is routine:\n{screen}"
        );
        assert_eq!(web_rows(&screen), 1, "rows kept:\n{screen}");
        assert!(
            Instant::now() < deadline,
            "no relist within 60 s:\n{screen}"
        );
        // The audit log is read whole each time: a slow step keeps CI's two cores for the tests.
        std::thread::sleep(Duration::from_millis(500));
    }
    let screen = tmux.screen();
    assert!(
        screen.contains("synced") && !screen.contains("reconnecting"),
        "{screen}"
    );
    assert_eq!(web_rows(&screen), 1, "{screen}");
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
}
