//! What a panic does to the dashboard. A panic on the UI's own thread ends the program: the
//! terminal is restored (ratatui's hook), then the message says where the log is. A panic in a
//! background task (a forward, a watch, a log follower) must not touch the terminal the UI is
//! still drawing on: it is written to the log with its backtrace, and the task's owner shows
//! `internal error` (a forward's row) or ends the program cleanly (the cluster feed).

use std::path::{Path, PathBuf};
use std::thread::ThreadId;

/// Test-only: makes a chosen part panic, so the end-to-end drills can check what a panic does.
/// `1` panics the UI right after its first frame; `forward` panics every forward's task as it
/// starts. Not for users.
pub const TEST_PANIC_ENV: &str = "HASURA_TUI_TEST_PANIC";

/// Panics at `point` when `HASURA_TUI_TEST_PANIC` names it (see above).
pub fn test_panic(point: &str) {
    if std::env::var_os(TEST_PANIC_ENV).is_some_and(|v| v == point) {
        panic!("{TEST_PANIC_ENV}={point}: a deliberate panic, for the crash drills");
    }
}

/// Installs the hook. Call it on the UI thread, after `ratatui::init()` (whose restoring hook
/// this one wraps and calls only for the UI thread's panics).
pub fn install(log_path: Option<PathBuf>) {
    let ui_thread: ThreadId = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let backtrace = std::backtrace::Backtrace::force_capture();
        let thread = std::thread::current();
        if thread.id() != ui_thread {
            tracing::error!(
                thread = thread.name().unwrap_or("unnamed"),
                "panic in a background task: {info}\n{backtrace}"
            );
            return;
        }
        previous(info);
        tracing::error!("panic: {info}\n{backtrace}");
        eprintln!("{}", crash_message(log_path.as_deref()));
    }));
}

/// What the user reads after a crash.
pub fn crash_message(log_path: Option<&Path>) -> String {
    match log_path {
        Some(path) => format!(
            "hasura-tui crashed; the terminal was restored. Log: {}",
            path.display()
        ),
        None => "hasura-tui crashed; the terminal was restored.".to_string(),
    }
}
