//! Handing the real terminal to another program and taking it back: the dashboard stops
//! reading keys (so none are stolen from the program), leaves the alternate screen and raw
//! mode, runs the program on the terminal as the person left it, then enters both again and
//! redraws everything. Used for sign-in plugins that need the person mid-session, and for a
//! shell in a pod (`s`).

use std::io;

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
/// returns what the footer says after (how it ended).
pub async fn run_shell(
    terminal: &mut ratatui::DefaultTerminal,
    keys: &mut KeyReader,
    client: &kube::Client,
    context: &str,
    target: ExecTarget,
) -> io::Result<String> {
    keys.stop();
    ratatui::restore();
    execute!(io::stdout(), Clear(ClearType::All), MoveTo(0, 0))?;
    let said = shell(client, context, &target).await;
    take_back(terminal)?;
    Ok(said)
}

async fn shell(client: &kube::Client, context: &str, target: &ExecTarget) -> String {
    let pod = &target.pod;
    let (session, shell) = match exec::open_shell(client, target).await {
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
    match exec::run_session(session, Terminal::Raw).await {
        Ok(Exit::Code(code)) => format!("{shell} in {pod} ended (exit {code})"),
        Ok(Exit::Failed(why)) => format!("{shell} in {pod}: {why}"),
        Err(e) => format!("{shell} in {pod}: {e}"),
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
