//! A kubeconfig file someone else wrote (a cloud CLI, a colleague), read and merged as the
//! program reads `--kubeconfig`, and its `oidc` user entry as read before a token refresh. No
//! panic: a bad file is an error naming it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("hasura-tui-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("kubeconfig");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = hasura_tui::config::kubeconfig::load(Some(&path));
    // The entry a refreshed OIDC token is written back to, read again before each refresh.
    let entry = hasura_tui::auth::UserEntry {
        file: path,
        user: "me".into(),
    };
    let _ = entry.read();
});
