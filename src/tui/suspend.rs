//! Handing the real terminal to another program and taking it back: the dashboard stops
//! reading keys (so none are stolen from the program), leaves the alternate screen and raw
//! mode, runs the program on the terminal as the person left it, then enters both again and
//! redraws everything. Used for sign-in plugins that need the person mid-session, and for a
//! shell in a pod (`s`).

use std::io;

use tokio::sync::mpsc;

use crossterm::cursor::MoveTo;
use crossterm::execute;
use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, enable_raw_mode};

use crate::auth::HandOver;
use crate::auth::terminal::run_here;
use crate::exec::{self, ExecTarget, Exit, Terminal};

use super::KeyReader;

/// Runs `handed` on the real terminal with the dashboard suspended; `keys` is the key reader,
/// stopped during the run and started afresh when the event loop next reads.
pub async fn run_with_terminal(
    terminal: &mut ratatui::DefaultTerminal,
    keys: &mut KeyReader,
    handed: HandOver,
) -> io::Result<()> {
    let HandOver {
        mut command,
        banner,
        reply,
    } = handed;
    keys.stop();
    ratatui::restore();
    let output = run_here(&mut command, &banner).await;
    let _ = reply.send(output);
    take_back(terminal)
}

/// Runs an interactive shell in `target` on the real terminal, the dashboard suspended;
/// returns what the footer says after (how it ended). Programs that need the person (a
/// sign-in plugin renewing the credential, even the one opening the shell needs) arrive on
/// `handovers` meanwhile and get the terminal at once: the event loop that serves them
/// otherwise is waiting here.
pub async fn run_shell(
    terminal: &mut ratatui::DefaultTerminal,
    keys: &mut KeyReader,
    handovers: &mut mpsc::Receiver<HandOver>,
    client: &kube::Client,
    context: &str,
    target: ExecTarget,
) -> io::Result<String> {
    keys.stop();
    ratatui::restore();
    execute!(io::stdout(), Clear(ClearType::All), MoveTo(0, 0))?;
    let said = shell(client, context, &target, handovers).await;
    take_back(terminal)?;
    Ok(said)
}

async fn shell(
    client: &kube::Client,
    context: &str,
    target: &ExecTarget,
    handovers: &mut mpsc::Receiver<HandOver>,
) -> String {
    let pod = &target.pod;
    let opening = serving(handovers, exec::open_shell(client, target)).await;
    let (session, shell) = match opening {
        Ok(opened) => opened,
        Err(e) => return format!("no shell in {pod}: {e}"),
    };
    let (audit_client, context, audited) = (client.clone(), context.to_string(), target.clone());
    tokio::spawn(async move {
        exec::audit(&audit_client, &context, &audited, &[shell.to_string()]).await;
    });
    let banner = format!(
        "hasura-tui: {shell} in {pod} (container {}, namespace {}); exit returns to the dashboard\r\n",
        target.container, target.namespace
    );
    if io::Write::write_all(&mut io::stdout(), banner.as_bytes()).is_err() {
        return format!("no shell in {pod}: the terminal is gone");
    }
    match exec::run_session(session, Terminal::Raw, Some(handovers)).await {
        Ok(Exit::Code(code)) => format!("{shell} in {pod} ended (exit {code})"),
        Ok(Exit::Failed(why)) => format!("{shell} in {pod}: {why}"),
        Err(e) => format!("{shell} in {pod}: {e}"),
    }
}

/// Runs `work` to its end, running each program that needs the person on the terminal as it
/// is (the dashboard already stepped aside) as it comes.
async fn serving<T>(handovers: &mut mpsc::Receiver<HandOver>, work: impl Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            Some(handed) = handovers.recv() => {
                let HandOver { mut command, banner, reply } = handed;
                let _ = reply.send(run_here(&mut command, &banner).await);
            }
        }
    }
}

/// The dashboard takes the terminal back: raw mode, the alternate screen, a full redraw.
fn take_back(terminal: &mut ratatui::DefaultTerminal) -> io::Result<()> {
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, Clear(ClearType::All))?;
    // A new terminal has an empty last frame, so the next draw paints every cell.
    // `Terminal::clear` would do that too, but it first asks the terminal where its cursor is,
    // and after a hand-over that answer did not come in time under tmux (the e2e test saw it);
    // a new terminal asks nothing.
    *terminal = ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(io::stdout()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deadlock this prevents: opening a shell needs a renewal, whose plugin needs the
    /// person, and the only one serving hand-overs is the event loop waiting for the shell.
    #[tokio::test]
    async fn a_program_handed_over_while_the_work_waits_for_it_is_run() {
        let (handovers, mut handed) = mpsc::channel(1);
        let work = async move {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let command = tokio::process::Command::new("true");
            let banner = "signing in (test)…".to_string();
            handovers
                .send(HandOver {
                    command,
                    banner,
                    reply,
                })
                .await
                .unwrap();
            answer.await.unwrap().unwrap().status.success()
        };
        let deadline = std::time::Duration::from_secs(20);
        let ran = tokio::time::timeout(deadline, serving(&mut handed, work)).await;
        assert_eq!(ran, Ok(true), "the plugin ran and the work went on");
    }
}
