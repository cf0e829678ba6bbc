//! The dashboard end to end: the real binary on the embedded demo cluster, in a real terminal
//! under tmux, driven by keys and read back from the screen.
use crate::common;

use std::time::Duration;

use common::tmux::{Tmux, forward_address, forward_counters};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

#[test]
fn demo_dashboard_moves_filters_and_quits_leaving_the_terminal_clean() {
    let tmux = Tmux::start(&format!("{BIN} --demo"), 120, 30);
    let screen = tmux.wait_for("my-app on screen", Duration::from_secs(20), |s| {
        s.contains("my-app") && s.contains("synced")
    });
    // The seed's my-app and the Services of other shapes (docs/clusters.md).
    assert!(screen.contains("Custom microservices (7)"), "{screen}");
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
    // The whole word typed: after `se` the count is already 1/10 (only session-redis matches).
    let screen = tmux.wait_for("the filter applied", Duration::from_secs(5), |s| {
        s.contains("Hasura microservices (1/10)") && s.contains("/sess")
    });
    assert!(
        screen.contains("session-redis") && !screen.contains("platform-sync"),
        "{screen}"
    );
    assert!(
        screen.contains("/sess"),
        "the filter is shown while typed:\n{screen}"
    );

    tmux.escape();
    tmux.wait_for("the filter cleared", Duration::from_secs(5), |s| {
        s.contains("Hasura microservices (10)")
    });
    tmux.send(&["?"]);
    tmux.wait_for("help open", Duration::from_secs(5), |s| {
        s.contains("keys (Esc closes)")
    });
    tmux.escape();
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

#[test]
fn f_starts_and_stops_a_forward_and_quitting_closes_every_port() {
    let tmux = Tmux::start(&format!("{BIN} --demo"), 140, 30);
    tmux.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("data.hasura") && s.contains("synced")
    });
    tmux.send(&["Tab"]);
    tmux.send(&["j"]);
    tmux.send(&["f"]);
    let screen = tmux.wait_for("data's forward", Duration::from_secs(10), |s| {
        forward_address(s, "data").is_some()
    });
    let data = forward_address(&screen, "data").unwrap();
    assert!(data.ip().is_loopback(), "{screen}");
    assert!(screen.contains("1 forward"), "{screen}");

    let response = common::http_get(data, "/from/e2e").unwrap();
    assert!(
        response.contains("\"microservice\":\"data\"") && response.contains("/from/e2e"),
        "{response}"
    );
    tmux.wait_for("the counters to move", Duration::from_secs(5), |s| {
        forward_counters(s, "data").is_some_and(|(up, down)| up != "0" && down != "0")
    });

    // f again stops it: the port refuses connections.
    tmux.send(&["f"]);
    tmux.wait_for("the forward gone", Duration::from_secs(5), |s| {
        forward_address(s, "data").is_none() && s.contains("0 forwards")
    });
    assert!(
        common::http_get(data, "/").is_err(),
        "the stopped forward's port is closed"
    );

    // Two forwards active, then quit: both ports close.
    tmux.send(&["f"]);
    tmux.send(&["j"]);
    tmux.send(&["f"]);
    let screen = tmux.wait_for("two forwards", Duration::from_secs(10), |s| {
        forward_address(s, "data").is_some() && forward_address(s, "filestore").is_some()
    });
    let ports = [
        forward_address(&screen, "data").unwrap(),
        forward_address(&screen, "filestore").unwrap(),
    ];
    for addr in ports {
        assert!(
            common::http_get(addr, "/").is_ok(),
            "{addr} serves before quitting"
        );
    }
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
    for addr in ports {
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
            "{addr} still open after quit"
        );
    }
}

#[test]
fn nothing_is_drawn_while_nothing_changes() {
    let tmux = Tmux::start(
        &format!("env HASURA_TUI_LOG=hasura_tui::frames=debug {BIN} --demo"),
        120,
        30,
    );
    tmux.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("sshd") && s.contains("synced")
    });
    let log = tmux.home().join("state/hasura-tui/hasura-tui.log");
    let frames = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("frame drawn")
            .count()
    };
    // The start-up is over once the frame count holds still (with a deadline); then an idle
    // dashboard is watched for two seconds: no frame may be drawn in them.
    let before = settled(&frames);
    assert!(
        before > 0,
        "frames are logged at debug level to {}",
        log.display()
    );
    assert_unchanged_for(
        Duration::from_secs(2),
        &frames,
        "an idle dashboard draws no frames",
    );
    // A key that changes the screen draws exactly what it needs: its frame comes (deadline),
    // and no more than one follows.
    tmux.send(&["j"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while frames() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the key drew no frame"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let after_key = settled(&frames);
    assert!(
        after_key > before && after_key <= before + 2,
        "{before} -> {after_key}"
    );
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_cycles_gateway_headers_that_curl_sees_and_r_shows_the_requests() {
    let tmux = Tmux::start(&format!("{BIN} --demo"), 140, 30);
    tmux.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("data.hasura") && s.contains("synced")
    });
    tmux.send(&["Tab"]);
    tmux.send(&["j"]);
    tmux.send(&["f"]);
    let screen = tmux.wait_for("data's forward", Duration::from_secs(10), |s| {
        forward_address(s, "data").is_some()
    });
    let data = forward_address(&screen, "data").unwrap();
    // The role the pod saw, asked with the machine's curl.
    let role = |path: &str| {
        let output = std::process::Command::new("curl")
            .args(["-sS", "--max-time", "10", &format!("http://{data}{path}")])
            .output()
            .expect("curl runs");
        assert!(output.status.success(), "curl {path}: {output:?}");
        let echo: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(echo["path"], path);
        echo["headers"]["x-hasura-role"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(role("/off"), None);

    tmux.send(&["a"]);
    tmux.wait_for("as anonymous", Duration::from_secs(5), |s| {
        s.lines()
            .any(|l| l.starts_with("data ") && l.contains(" anon "))
    });
    assert_eq!(role("/as/anonymous").as_deref(), Some("anonymous"));
    tmux.send(&["a"]);
    tmux.wait_for("as admin", Duration::from_secs(5), |s| {
        s.lines()
            .any(|l| l.starts_with("data ") && l.contains(" admin "))
    });
    assert_eq!(role("/as/admin").as_deref(), Some("admin"));

    tmux.send(&["r"]);
    let pane = tmux.wait_for("the request log", Duration::from_secs(5), |s| {
        s.contains("requests: data.hasura") && s.contains("/as/admin")
    });
    assert!(
        pane.contains("/as/anonymous") && pane.contains("as admin (user id 0)"),
        "{pane}"
    );
    // The transport in use, kubectl's first choice against a 1.33 API server.
    assert!(pane.contains("via SPDY over WebSocket"), "{pane}");
    // Requests made while the pane is open appear in it.
    role("/while/open");
    tmux.wait_for("a new request in the log", Duration::from_secs(5), |s| {
        s.contains("/while/open")
    });
    tmux.escape();
    tmux.wait_for("the log closed", Duration::from_secs(5), |s| {
        !s.contains("requests: data.hasura")
    });

    // A third `a` turns the headers off again.
    tmux.send(&["a"]);
    tmux.wait_for("gateway mode off", Duration::from_secs(5), |s| {
        s.lines()
            .any(|l| l.starts_with("data ") && !l.contains(" as "))
    });
    assert_eq!(role("/off/again"), None);
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
}

/// The JSON echo the pod sent back to a shell command (curl), without who answered it.
fn echo_of(command: &str) -> serde_json::Value {
    let output = std::process::Command::new("sh")
        .args(["-c", command])
        .output()
        .expect("sh runs");
    assert!(output.status.success(), "{command}: {output:?}");
    let mut echo: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{command}: {e}: {output:?}"));
    echo.as_object_mut().unwrap().remove("pod");
    echo
}

#[test]
fn r_inspects_a_request_replays_it_as_user_42_compares_and_copies_it_as_curl() {
    let tmux = Tmux::start(&format!("{BIN} --demo"), 140, 40);
    tmux.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("data.hasura") && s.contains("synced")
    });
    // tmux turns an application's OSC 52 into a paste buffer when set-clipboard is on.
    assert!(
        tmux.run(&["set-option", "-s", "set-clipboard", "on"])
            .status
            .success()
    );
    tmux.send(&["Tab"]);
    tmux.send(&["j"]);
    tmux.send(&["f"]);
    let screen = tmux.wait_for("data's forward", Duration::from_secs(10), |s| {
        forward_address(s, "data").is_some()
    });
    let data = forward_address(&screen, "data").unwrap();
    tmux.send(&["a"]);
    tmux.send(&["a"]);
    tmux.wait_for("as admin", Duration::from_secs(5), |s| {
        s.lines()
            .any(|l| l.starts_with("data ") && l.contains(" admin "))
    });
    let post = format!(
        "curl -sS --max-time 10 -H 'content-type: application/json' \
         --data '{{\"type\":\"select\",\"args\":{{\"table\":\"article\"}}}}' \
         http://{data}/v1/query"
    );
    let original = echo_of(&post);
    assert_eq!(original["headers"]["x-hasura-role"], "admin");

    // Enter: the request as the pod got it, the added headers marked, the body pretty-printed.
    tmux.send(&["r"]);
    tmux.wait_for("the request in the log", Duration::from_secs(5), |s| {
        s.contains("requests: data.hasura") && s.contains("/v1/query")
    });
    tmux.send(&["Enter"]);
    let inspected = tmux.wait_for("the inspector", Duration::from_secs(5), |s| {
        s.contains("request headers")
    });
    assert!(inspected.contains("+ x-hasura-role: admin"), "{inspected}");
    assert!(inspected.contains("+ x-hasura-user-id: 0"), "{inspected}");
    assert!(
        inspected.contains("  content-type: application/json"),
        "{inspected}"
    );
    assert!(
        inspected.contains("\"type\": \"select\","),
        "pretty-printed: {inspected}"
    );
    assert!(inspected.contains("\"table\": \"article\""), "{inspected}");

    // P: replayed as user 42; the log shows it beside the original, and = the difference.
    tmux.send(&["P"]);
    tmux.wait_for("the question", Duration::from_secs(5), |s| {
        s.contains("replay as (role user-id")
    });
    tmux.type_text("user 42");
    tmux.send(&["Enter"]);
    tmux.escape();
    tmux.wait_for("the replay in the log", Duration::from_secs(10), |s| {
        s.contains("replay of #1 as user 42")
    });
    tmux.send(&["="]);
    let compared = tmux.wait_for("the comparison", Duration::from_secs(5), |s| {
        s.contains("response body: - #1  + #2")
    });
    assert!(compared.contains("admin 0"), "{compared}");
    assert!(compared.contains("user 42"), "{compared}");
    assert!(
        compared.contains("-     \"x-hasura-role\": \"admin\","),
        "{compared}"
    );
    assert!(
        compared.contains("+     \"x-hasura-role\": \"user\","),
        "the echo of the replay carries the role: {compared}"
    );
    assert!(
        compared.contains("+     \"x-hasura-user-id\": \"42\""),
        "and the user id: {compared}"
    );

    // y on the original: a curl command that gets the same echo as the original request.
    tmux.escape();
    tmux.send(&["j"]);
    tmux.send(&["y"]);
    tmux.wait_for("copied", Duration::from_secs(5), |s| {
        s.contains("copied #1 as a curl command")
    });
    let command = String::from_utf8_lossy(&tmux.run(&["show-buffer"]).stdout).into_owned();
    assert!(command.starts_with("curl "), "{command}");
    assert_eq!(echo_of(&command), original, "{command}");

    // Y on the row: the .env block of every forward.
    tmux.escape();
    tmux.wait_for("the log closed", Duration::from_secs(5), |s| {
        !s.contains("requests: data.hasura")
    });
    tmux.send(&["Y"]);
    let menu = tmux.wait_for("the copy menu", Duration::from_secs(5), |s| {
        s.contains("copy from data")
    });
    assert!(menu.contains(&format!("http://{data}")), "{menu}");
    let env = menu
        .lines()
        .find_map(|l| {
            let at = l.find(".env of every forward")?;
            l[..at].trim_end().rsplit(' ').next().map(str::to_string)
        })
        .expect("an .env entry");
    tmux.send(&[&env]);
    tmux.wait_for("copied", Duration::from_secs(5), |s| {
        s.contains("copied .env of every forward")
    });
    let block = String::from_utf8_lossy(&tmux.run(&["show-buffer"]).stdout).into_owned();
    assert_eq!(block, format!("DATA_URL=http://{data}\n"));
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
}

/// The value of `count` once it has held still for 300 ms (within 10 s).
fn settled(count: &dyn Fn() -> usize) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut last = count();
    let mut since = std::time::Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let now = count();
        if now != last {
            (last, since) = (now, std::time::Instant::now());
        } else if since.elapsed() >= Duration::from_millis(300) {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still drawing after 10 s ({now} frames)"
        );
    }
}

/// Fails as soon as `count` changes within `window` (watched throughout, not only at its end).
fn assert_unchanged_for(window: Duration, count: &dyn Fn() -> usize, what: &str) {
    let start = count();
    let until = std::time::Instant::now() + window;
    while std::time::Instant::now() < until {
        assert_eq!(count(), start, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(count(), start, "{what}");
}
