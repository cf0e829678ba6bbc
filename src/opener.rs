//! Opening a URL in the user's browser: the command in `HASURA_TUI_BROWSER`, else `$BROWSER`
//! (the common convention), else the platform's opener (`xdg-open`, `open`, `start`). The
//! environment variable also lets tests put a double in place of a real browser.

use std::process::{Command, Stdio};

/// Names the command run with the URL as its last argument; whitespace separates arguments.
pub const BROWSER_ENV: &str = "HASURA_TUI_BROWSER";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "cannot run {program} to open the URL: {source} (set {BROWSER_ENV} or BROWSER to a browser command)"
    )]
    Launch {
        program: String,
        source: std::io::Error,
    },
    /// External URLs come from the cluster (annotations, Ingresses, routes), which others may
    /// write: only a plain http(s) URL is handed to a program.
    #[error(
        "not opening {0:?}: only http:// and https:// URLs without spaces or quotes are opened"
    )]
    Refused(String),
}

/// A URL safe to pass as one argument to a browser or the platform's opener: http(s), and no
/// characters a shell (Windows' `start` goes through cmd) or an option parser could act on.
fn checked(url: &str) -> Result<&str, OpenError> {
    let lower = url.to_ascii_lowercase();
    let scheme_ok = lower.starts_with("http://") || lower.starts_with("https://");
    let plain = url
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '`' | '^' | '|' | '<' | '>'));
    if scheme_ok && plain {
        Ok(url)
    } else {
        Err(OpenError::Refused(url.to_string()))
    }
}

/// The program and leading arguments to open a URL with.
fn launcher() -> Vec<String> {
    for var in [BROWSER_ENV, "BROWSER"] {
        if let Some(value) = std::env::var_os(var) {
            let words: Vec<String> = value
                .to_string_lossy()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !words.is_empty() {
                return words;
            }
        }
    }
    let default: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        // Not `cmd /C start`: cmd would read `&` in a query string as a command separator.
        &["rundll32", "url.dll,FileProtocolHandler"]
    } else {
        &["xdg-open"]
    };
    default.iter().map(|s| s.to_string()).collect()
}

/// Starts the browser on `url` and returns without waiting for it. Its output is discarded so
/// it cannot draw over the dashboard; a thread reaps it so no zombie is left behind.
pub fn open(url: &str) -> Result<(), OpenError> {
    let url = checked(url)?;
    let words = launcher();
    let (program, args) = words
        .split_first()
        .expect("launcher() never returns an empty list");
    let mut child = Command::new(program)
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| OpenError::Launch {
            program: program.clone(),
            source,
        })?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// `url` with `path` appended, one slash between them (`open NAME -p /console`).
pub fn with_path(url: &str, path: Option<&str>) -> String {
    match path.map(|p| p.trim_start_matches('/')) {
        None | Some("") => url.to_string(),
        Some(path) => format!("{}/{path}", url.trim_end_matches('/')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_are_opened() {
        assert!(checked("http://data.gram29.hasura-app.io/v1?a=1&b=2").is_ok());
        assert!(checked("HTTPS://x.io").is_ok());
        for bad in [
            "file:///etc/passwd",
            "--renderer-cmd-prefix=sh",
            "javascript:alert(1)",
            "http://x.io/ a",
            "http://x.io/\"|calc",
            "http://x.io/`id`",
        ] {
            assert!(checked(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_join_with_one_slash() {
        let url = "http://data.gram29.hasura-app.io";
        assert_eq!(with_path(url, None), url);
        assert_eq!(with_path(url, Some("/")), url);
        assert_eq!(
            with_path(&format!("{url}/"), Some("/v1/query")),
            format!("{url}/v1/query")
        );
        assert_eq!(with_path(url, Some("console")), format!("{url}/console"));
    }
}
