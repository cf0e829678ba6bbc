//! Who runs a program that needs the person (an interactive sign-in plugin): the process
//! itself, on the real terminal, before any screen opens; or, while the dashboard draws, the
//! dashboard's event loop, which suspends the screen (leaves the alternate screen, restores
//! cooked mode, stops reading keys), runs it, and comes back. A program that needs the person
//! never runs behind the drawn screen.

use std::io::Write;
use std::process::Output;
use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot};

/// A program to run on the real terminal, and where its output goes.
pub struct HandOver {
    pub command: tokio::process::Command,
    /// Said on the terminal first, on a line of its own (`signing in to gram29 (exec: aws)…`).
    pub banner: String,
    pub reply: oneshot::Sender<std::io::Result<Output>>,
}

/// Where interactive programs run now.
#[derive(Default)]
pub struct Terminal {
    /// Set while the dashboard owns the terminal.
    dashboard: Mutex<Option<mpsc::Sender<HandOver>>>,
}

impl Terminal {
    /// From now on, hand programs to the dashboard (its event loop receives them).
    pub fn hand_to(&self, dashboard: mpsc::Sender<HandOver>) {
        *self.lock() = Some(dashboard);
    }

    /// The dashboard has let go of the terminal: run programs directly again.
    pub fn take_back(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<HandOver>>> {
        self.dashboard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `command` with the real terminal (stdin and stderr inherited; stdout, where a plugin
    /// writes its credential, captured), after saying `banner` on it.
    pub async fn run(
        &self,
        mut command: tokio::process::Command,
        banner: String,
    ) -> std::io::Result<Output> {
        let dashboard = self.lock().clone();
        if let Some(dashboard) = dashboard {
            let (reply, answer) = oneshot::channel();
            let handed = HandOver {
                command,
                banner,
                reply,
            };
            if dashboard.send(handed).await.is_ok() {
                return answer
                    .await
                    .unwrap_or_else(|_| Err(std::io::Error::other("the dashboard ended")));
            }
            return Err(std::io::Error::other("the dashboard ended"));
        }
        run_here(&mut command, &banner).await
    }
}

/// Runs a program on this process's terminal as it is now (no screen drawn on it).
pub async fn run_here(
    command: &mut tokio::process::Command,
    banner: &str,
) -> std::io::Result<Output> {
    let mut stderr = std::io::stderr();
    let _ = writeln!(stderr, "{banner}");
    let _ = stderr.flush();
    command
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::piped());
    // Not `output()`: it pipes stderr too, and the prompt would never reach the person.
    command.spawn()?.wait_with_output().await
}
