//! Handing the real terminal to another program and taking it back: the dashboard stops
//! reading keys (so none are stolen from the program), leaves the alternate screen and raw
//! mode, runs the program on the terminal as the person left it, then enters both again and
//! redraws everything. Used for sign-in plugins that need the person mid-session.

use std::io;

use crossterm::execute;
use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, enable_raw_mode};

use crate::auth::HandOver;
use crate::auth::terminal::run_here;

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
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, Clear(ClearType::All))?;
    // A new terminal has an empty last frame, so the next draw paints every cell.
    // `Terminal::clear` would do that too, but it first asks the terminal where its cursor is,
    // and after a hand-over that answer did not come in time under tmux (the e2e test saw it);
    // a new terminal asks nothing.
    *terminal = ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(io::stdout()))?;
    Ok(())
}
