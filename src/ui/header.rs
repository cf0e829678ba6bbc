//! The header line: context, API server, cluster name, and how the watches stand.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::theme;
use crate::app::App;
use crate::cluster::WatchState;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let snapshot = &app.snapshot;
    let mut spans = vec![
        Span::styled("hasura-tui", theme::header_row()),
        Span::raw(format!(
            "  context {}  server {}  cluster {}  ",
            app.connection.context, app.connection.server, snapshot.cluster_name
        )),
    ];
    let (text, style) = watch_summary(app);
    spans.push(Span::styled(text, style));
    if let Some(error) = &snapshot.routes_error {
        spans.push(Span::styled(
            format!("  routes: {error}"),
            theme::error(app.color),
        ));
    }
    frame.render_widget(Line::from(spans), area);
}

/// One word for both namespaces: the worse of the two states wins.
fn watch_summary(app: &App) -> (String, ratatui::style::Style) {
    let states = [&app.snapshot.custom.state, &app.snapshot.hasura.state];
    if let Some(WatchState::Reconnecting { since, reason }) = states
        .iter()
        .find(|s| matches!(s, WatchState::Reconnecting { .. }))
        .copied()
    {
        let secs = app.now.saturating_duration_since(*since).as_secs();
        return (
            format!("reconnecting ({secs}s): {reason}"),
            theme::warning(app.color),
        );
    }
    if let Some(WatchState::Error(message)) = states
        .iter()
        .find(|s| matches!(s, WatchState::Error(_)))
        .copied()
    {
        return (format!("error: {message}"), theme::error(app.color));
    }
    if states.iter().any(|s| **s == WatchState::Syncing) {
        return ("syncing".to_string(), theme::warning(app.color));
    }
    // A forbidden namespace is that table's business; the watches themselves are fine.
    ("synced".to_string(), ratatui::style::Style::default())
}
