//! The dashboard end to end: the real binary on the embedded demo cluster, in a real terminal
//! under tmux, driven by keys and read back from the screen.

mod common;

use std::time::Duration;

use common::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

#[test]
fn demo_dashboard_moves_filters_and_quits_leaving_the_terminal_clean() {
    let tmux = Tmux::start(&format!("{BIN} --demo"), 120, 30);
    let screen = tmux.wait_for("my-app on screen", Duration::from_secs(20), |s| {
        s.contains("my-app") && s.contains("synced")
    });
    assert!(screen.contains("Custom microservices (1)"), "{screen}");
    assert!(screen.contains("Hasura microservices (10)"), "{screen}");
    assert!(
        screen.contains("http://data.gram29.hasura-app.io"),
        "{screen}"
    );
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "the dashboard uses the alternate screen"
    );

    tmux.send(&["Tab"]);
    tmux.send(&["j"]);
    tmux.send(&["/"]);
    tmux.type_text("sess");
    let screen = tmux.wait_for("the filter applied", Duration::from_secs(5), |s| {
        s.contains("Hasura microservices (1/10)")
    });
    assert!(
        screen.contains("session-redis") && !screen.contains("platform-sync"),
        "{screen}"
    );
    assert!(
        screen.contains("/sess"),
        "the filter is shown while typed:\n{screen}"
    );

    std::thread::sleep(Duration::from_millis(100));
    tmux.send(&["Escape"]);
    tmux.wait_for("the filter cleared", Duration::from_secs(5), |s| {
        s.contains("Hasura microservices (10)")
    });
    std::thread::sleep(Duration::from_millis(100));
    tmux.send(&["?"]);
    tmux.wait_for("help open", Duration::from_secs(5), |s| {
        s.contains("keys (Esc closes)")
    });
    std::thread::sleep(Duration::from_millis(100));
    tmux.send(&["Escape"]);
    tmux.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("keys (Esc closes)")
    });

    tmux.send(&["q"]);
    let status = tmux.wait_exit(Duration::from_secs(10));
    assert_eq!(status, 0, "clean exit");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "back from the alternate screen"
    );
    assert_eq!(
        tmux.display("#{cursor_flag}"),
        "1",
        "the cursor is visible again"
    );
}

#[test]
fn a_bad_kubeconfig_fails_before_the_screen_opens() {
    let tmux = Tmux::start(
        &format!("{BIN} --kubeconfig /nonexistent/kubeconfig"),
        200,
        10,
    );
    let status = tmux.wait_exit(Duration::from_secs(10));
    assert_eq!(status, 2);
    let screen = tmux.screen();
    assert!(
        screen.contains("/nonexistent/kubeconfig") && screen.contains("--demo"),
        "{screen}"
    );
    assert_eq!(tmux.display("#{alternate_on}"), "0");
}
