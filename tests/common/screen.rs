//! The dashboard drawn without a terminal: an `App` on a snapshot, rendered to text with
//! ratatui's TestBackend, colours off, for view snapshots and assertions on the screen.

use std::sync::Arc;
use std::time::Instant;

use hasura_tui::app::{Action, App, Connection};
use hasura_tui::cluster::Snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The app as the event loop would start it on `snapshot`, sized `width` x `height`.
pub fn app(snapshot: Arc<Snapshot>, width: u16, height: u16, now: Instant) -> App {
    let connection = Connection {
        alias: None,
        context: "gram29".into(),
        server: "https://127.0.0.1:6443".into(),
        user_namespace: None,
    };
    let mut app = App::new(connection, snapshot, (width, height), now);
    app.color = false;
    app.update(Action::Resize(width, height));
    app
}

/// One frame of `app`, as text.
pub fn draw(app: &App) -> String {
    let (width, height) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| hasura_tui::ui::draw(frame, app))
        .unwrap();
    terminal.backend().to_string()
}
