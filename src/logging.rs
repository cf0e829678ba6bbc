//! Logs go to a file in the user's state directory, never to the screen, created mode 0600.
//! Level from `HASURA_TUI_LOG` (an env-filter, default `info`). Nothing logged here carries
//! tokens or certificate data: we log our own events, never kubeconfig contents or headers.

use std::path::PathBuf;

use tracing_subscriber::EnvFilter;

/// `$XDG_STATE_HOME/hasura-tui/hasura-tui.log` (or the platform's equivalent).
pub fn log_path() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("hasura-tui")
        .join("hasura-tui.log")
}

/// Starts logging to the file; returns its path. Failing to log is not fatal.
pub fn init() -> Option<PathBuf> {
    let path = log_path();
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path).ok()?;
    let filter =
        EnvFilter::try_from_env("HASURA_TUI_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .ok()?;
    Some(path)
}
