//! The header line: how the watches stand (first, so a narrow terminal still shows it), then
//! context, cluster name and API server, then the detail of any problem. When the line is too
//! wide, the name goes first, then cluster, server and context; a problem is cut with `…`
//! rather than dropped.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;

use super::fit::{Segment, fit_line};
use super::theme;
use crate::app::App;
use crate::auth::SignIn;
use crate::cluster::WatchState;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let snapshot = &app.snapshot;
    let (state, detail, style) = watch_summary(app);
    let mut segments = vec![
        Segment::droppable(Span::styled("hasura-tui  ", theme::header_row()), 6),
        Segment::keep(Span::styled(state, style)),
        Segment::droppable(
            match &app.connection.alias {
                Some(alias) => format!("  {alias} (context {})", app.connection.context),
                None => format!("  context {}", app.connection.context),
            },
            3,
        ),
        Segment::droppable(format!("  cluster {}", snapshot.cluster_name), 5),
        Segment::droppable(format!("  server {}", app.connection.server), 4),
    ];
    if let Some(namespace) = &app.connection.user_namespace {
        segments.push(Segment::droppable(format!("  namespace {namespace}"), 7));
    }
    if let Some(detail) = detail {
        segments.push(Segment::keep(Span::styled(format!("  {detail}"), style)));
    }
    if let Some(error) = &snapshot.routes_error {
        segments.push(Segment::keep(Span::styled(
            format!("  routes skipped: {error}"),
            theme::error(app.color),
        )));
    }
    for warning in &app.warnings {
        segments.push(Segment::keep(Span::styled(
            format!("  {warning}"),
            theme::warning(app.color),
        )));
    }
    frame.render_widget(fit_line(segments, area.width), area);
}

/// One state for both namespaces, the worse winning, and its detail if any. Signing in comes
/// first: until it is done, nothing else can be.
fn watch_summary(app: &App) -> (String, Option<String>, Style) {
    let states = [
        &app.snapshot.sections.custom.state,
        &app.snapshot.sections.hasura.state,
    ];
    match &app.sign_in {
        SignIn::SigningIn(how) => {
            return (
                format!("signing in ({how})…"),
                None,
                theme::warning(app.color),
            );
        }
        SignIn::Failed(error) if states.iter().any(|s| **s != WatchState::Synced) => {
            return (
                "error: sign-in failed".to_string(),
                Some(error.clone()),
                theme::error(app.color),
            );
        }
        _ => {}
    }
    if let Some(WatchState::Reconnecting { since, reason }) = states
        .iter()
        .find(|s| matches!(s, WatchState::Reconnecting { .. }))
        .copied()
    {
        let secs = app.now.saturating_duration_since(*since).as_secs();
        return (
            format!("reconnecting ({secs}s)"),
            Some(reason.clone()),
            theme::warning(app.color),
        );
    }
    if let Some(WatchState::Error(message)) = states
        .iter()
        .find(|s| matches!(s, WatchState::Error(_)))
        .copied()
    {
        return (format!("error: {message}"), None, theme::error(app.color));
    }
    // Until the gateway's routes are known, EXTERNAL-URLs may still be missing: not synced yet.
    if states.iter().any(|s| **s == WatchState::Syncing) || !app.snapshot.routes_listed {
        return ("syncing".to_string(), None, theme::warning(app.color));
    }
    // A forbidden namespace is that table's business; the connection itself is fine.
    ("synced".to_string(), None, Style::default())
}
