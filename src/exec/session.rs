//! A remote command joined to this process's terminal or pipes: its stdout and stderr written
//! here as they come, stdin sent there (closed at its end), and with a TTY the terminal in raw
//! mode and every size change sent on the protocol's resize channel.
//!
//! A program that needs the person (a sign-in plugin renewing the cluster's credential) may
//! come while the session runs: the session steps aside for it (`step_aside`) rather than let
//! it wait, holding the credential's lock and with it every request to the cluster.

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{AttachedProcess, TerminalSize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadHalf, SimplexStream};
use tokio::sync::mpsc;

use super::stdin_pump::StdinPump;
use super::{ExecError, Exit};
use crate::auth::HandOver;
use crate::auth::terminal::run_here;

type StatusFuture = Pin<Box<dyn Future<Output = Option<Status>> + Send>>;

/// How long output sent before the end may take to be written out.
const DRAIN: Duration = Duration::from_secs(2);

/// Where the session's terminal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminal {
    /// Our stdin is the person's terminal: raw mode for the session, sizes sent.
    Raw,
    /// Pipes or a terminal left as it is.
    Plain,
}

/// A started remote command, before it is joined to the terminal.
pub struct Session {
    process: AttachedProcess,
    stdout: Option<ReadHalf<SimplexStream>>,
    stderr: Option<ReadHalf<SimplexStream>>,
    status: StatusFuture,
    /// Output read before the session was joined (while finding out whether it started).
    early: Vec<u8>,
    stdin: bool,
    tty: bool,
}

impl Session {
    pub fn new(mut process: AttachedProcess, stdin: bool, tty: bool) -> Self {
        let stdout = process.stdout();
        let stderr = process.stderr();
        let status: StatusFuture = match process.take_status() {
            Some(status) => Box::pin(status),
            None => Box::pin(std::future::ready(None)),
        };
        Session {
            process,
            stdout,
            stderr,
            status,
            early: Vec::new(),
            stdin,
            tty,
        }
    }

    /// Waits up to `wait` for the program's first output; `Some` when it ended first (a shell
    /// that is not there ends at once, with the runtime's start failure).
    pub async fn ended_before_output(&mut self, wait: Duration) -> Option<Exit> {
        let stdout = self.stdout.as_mut()?;
        let mut buffer = vec![0u8; 4096];
        tokio::select! {
            read = stdout.read(&mut buffer) => match read {
                Ok(n) if n > 0 => {
                    self.early.extend_from_slice(&buffer[..n]);
                    None
                }
                // Output ended without a byte: the status says how.
                _ => Some(Exit::from_status((&mut self.status).await)),
            },
            status = &mut self.status => {
                self.status = Box::pin(std::future::ready(None));
                Some(Exit::from_status(status))
            }
            _ = tokio::time::sleep(wait) => None,
        }
    }
}

/// Runs the session to its end on this process's stdio; the remote command's exit. Programs
/// that need the person arrive on `handovers` while it runs.
pub async fn run_session(
    session: Session,
    terminal: Terminal,
    mut handovers: Option<&mut mpsc::Receiver<HandOver>>,
) -> Result<Exit, ExecError> {
    let Session {
        mut process,
        stdout,
        stderr,
        mut status,
        early,
        stdin,
        tty,
    } = session;
    let raw = terminal == Terminal::Raw && tty;
    let _raw_mode = if raw { Some(RawMode::enter()?) } else { None };
    write_out(&mut std::io::stdout(), &early)?;

    let mut pump = None;
    let mut feeder = None;
    if stdin && let Some(mut writer) = process.stdin() {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
        pump = Some(StdinPump::start(tx));
        feeder = Some(tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if writer.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            // The end of our stdin: v5 tells the remote side, which then sees its own end.
            let _ = writer.shutdown().await;
        }));
    }
    let resizer = if raw {
        process
            .terminal_size()
            .map(|sizes| tokio::spawn(send_sizes(sizes)))
    } else {
        None
    };

    // The copies end when kube-rs closes its end of the output streams, which it does when the
    // command's status came or the connection closed cleanly; when the connection fails it only
    // drops them, which a `SimplexStream` half does not report, so the copies would wait for
    // good. The status (or its absence) is what ends the session; the copies then get a moment
    // to drain what was sent before it.
    let output = OutputGate::default();
    let gate = output.clone();
    let mut copies = tokio::spawn(async move {
        let (out, err) = tokio::join!(
            copy(stdout, std::io::stdout(), &gate),
            copy(stderr, std::io::stderr(), &gate)
        );
        out.and(err)
    });
    let status = loop {
        tokio::select! {
            status = &mut status => break status,
            handed = next_handover(&mut handovers) => match handed {
                Some(handed) => pump = step_aside(handed, pump, &output, raw).await,
                None => handovers = None,
            },
        }
    };
    let copied = match tokio::time::timeout(DRAIN, &mut copies).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Ok(()),
        Err(_) => {
            copies.abort();
            Ok(())
        }
    };

    if let Some(pump) = pump {
        pump.stop().await;
    }
    for task in [feeder, resizer].into_iter().flatten() {
        task.abort();
    }
    process.abort();
    copied?;
    Ok(Exit::from_status(status))
}

/// Held while a program that needs the person has the terminal: the remote output waits (in
/// the connection's buffers, then the pod's) instead of writing over its prompt.
type OutputGate = Arc<tokio::sync::Mutex<()>>;

async fn next_handover(handovers: &mut Option<&mut mpsc::Receiver<HandOver>>) -> Option<HandOver> {
    match handovers {
        Some(handovers) => handovers.recv().await,
        None => std::future::pending().await,
    }
}

/// Gives the terminal to `handed` for as long as it runs: the remote output held, keys no
/// longer read for the pod, raw mode left; then all of it back, in reverse.
async fn step_aside(
    handed: HandOver,
    pump: Option<StdinPump>,
    output: &OutputGate,
    raw: bool,
) -> Option<StdinPump> {
    // The pump first, while the output still flows: with the output held, the connection's
    // loop could block on it, stdin back up behind it, and the pump never get to stop.
    let sender = match pump {
        Some(pump) => pump.stop().await,
        None => None,
    };
    let held = output.lock().await;
    if raw {
        let _ = crossterm::terminal::disable_raw_mode();
    }
    let HandOver {
        mut command,
        banner,
        reply,
    } = handed;
    // The banner on a line of its own, whatever the shell left on the current one.
    let _ = write_out(&mut std::io::stderr(), b"\r\n");
    let _ = reply.send(run_here(&mut command, &banner).await);
    if raw {
        let _ = crossterm::terminal::enable_raw_mode();
    }
    let _ = write_out(
        &mut std::io::stderr(),
        b"hasura-tui: back to the session (^L redraws a shell's screen)\r\n",
    );
    drop(held);
    sender.map(StdinPump::start)
}

/// Copies a remote stream here as it comes (flushed at once: a prompt has no newline).
async fn copy(
    from: Option<impl AsyncRead + Unpin>,
    mut to: impl Write,
    gate: &OutputGate,
) -> Result<(), ExecError> {
    let Some(mut from) = from else {
        return Ok(());
    };
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        let _open = gate.lock().await;
        write_out(&mut to, &buffer[..n])?;
    }
}

fn write_out(to: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    to.write_all(bytes)?;
    to.flush()
}

/// Sends the terminal's size now and after every change (SIGWINCH).
async fn send_sizes(mut sizes: futures::channel::mpsc::Sender<TerminalSize>) {
    use futures::SinkExt;
    let Ok(mut changes) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
    else {
        return;
    };
    loop {
        if let Ok((width, height)) = crossterm::terminal::size()
            && sizes.send(TerminalSize { width, height }).await.is_err()
        {
            return;
        }
        if changes.recv().await.is_none() {
            return;
        }
    }
}

/// Raw mode for as long as it lives: keys go to the remote terminal as typed (`^C` included).
struct RawMode;

impl RawMode {
    fn enter() -> std::io::Result<RawMode> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}
