//! A microservice table: its title line, column header and the rows in view (only those are
//! built), with columns dropped on narrow terminals (EXTERNAL-URL, then REPLICAS) before NAME
//! is ever cut.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::theme;
use crate::app::widths::{self, ColumnWidths};
use crate::app::{App, layout};
use crate::cluster::WatchState;
use crate::forward::ForwardState;
use crate::model::{Microservice, Section};

const SPACING: u16 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Status,
    Replicas,
    Internal,
    External,
    Forward,
}

/// The columns that fit `width`, widest first to go.
/// `forward` is the FORWARD column's width, when the table has a forward to show.
fn columns_for(width: u16, w: &ColumnWidths, forward: Option<usize>) -> Vec<(Column, u16)> {
    let mut all = vec![
        (Column::Name, w.name),
        (Column::Status, w.status),
        (Column::Replicas, w.replicas),
        (Column::Internal, w.internal),
        (Column::External, w.external),
    ];
    if let Some(forward) = forward {
        all.insert(4, (Column::Forward, forward));
    }
    let mut columns: Vec<(Column, u16)> = all.iter().map(|(c, w)| (*c, *w as u16)).collect();
    let total = |cols: &[(Column, u16)]| -> u32 {
        cols.iter().map(|(_, w)| u32::from(*w)).sum::<u32>()
            + u32::from(SPACING) * (cols.len() as u32 - 1)
    };
    for drop in [Column::External, Column::Replicas] {
        if total(&columns) > u32::from(width) {
            columns.retain(|(c, _)| *c != drop);
        }
    }
    columns
}

fn title(column: Column) -> &'static str {
    match column {
        Column::Name => widths::NAME,
        Column::Status => widths::STATUS,
        Column::Replicas => widths::REPLICAS,
        Column::Internal => widths::INTERNAL_URL,
        Column::External => widths::EXTERNAL_URL,
        Column::Forward => "FORWARD",
    }
}

fn cell<'a>(column: Column, m: &'a Microservice, app: &App, color: bool) -> Cell<'a> {
    match column {
        Column::Forward => match app.forward_of(m) {
            Some(f) => {
                let style = match f.status.state {
                    ForwardState::Error(_) => theme::error(color),
                    ForwardState::Active if !f.status.exposed => {
                        theme::severity(crate::model::Severity::Ok, color)
                    }
                    _ => theme::warning(color),
                };
                Cell::from(Span::styled(f.summary(), style))
            }
            None => Cell::from(""),
        },
        Column::Name => Cell::from(m.name.as_str()),
        Column::Status => Cell::from(Span::styled(
            m.status.to_string(),
            theme::severity(m.status.severity(), color),
        )),
        Column::Replicas => Cell::from(m.replicas()),
        Column::Internal => Cell::from(m.internal_url.as_deref().unwrap_or("")),
        Column::External => Cell::from(m.external_url.as_deref().unwrap_or("")),
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, section: Section) {
    let view = app.snapshot.section(section);
    let table = app.view(section);
    let focused = app.focus == section;
    let [title_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);

    let count = if app.filter.text.is_empty() {
        format!("{}", view.rows.len())
    } else {
        format!("{}/{}", table.visible.len(), view.rows.len())
    };
    let mut title_spans = vec![
        Span::styled(
            format!("{} ({count})", section.heading()),
            theme::title(focused),
        ),
        Span::styled(
            format!("  namespace {}", view.namespace),
            theme::dim(app.color),
        ),
    ];
    if view.stale {
        title_spans.push(Span::styled(
            "  stale: showing rows from before the connection was lost",
            theme::warning(app.color),
        ));
    }
    frame.render_widget(Line::from(title_spans), title_area);

    let message = match &view.state {
        WatchState::Forbidden(m) => Some((m.clone(), theme::error(app.color))),
        WatchState::Error(m) if view.rows.is_empty() => {
            Some((format!("error: {m}"), theme::error(app.color)))
        }
        WatchState::Syncing if view.rows.is_empty() => {
            Some(("syncing…".to_string(), theme::dim(app.color)))
        }
        WatchState::Reconnecting { reason, .. } if view.rows.is_empty() => {
            Some((format!("reconnecting: {reason}"), theme::warning(app.color)))
        }
        _ if view.rows.is_empty() => Some((
            format!("no microservices in namespace {}", view.namespace),
            theme::dim(app.color),
        )),
        _ if table.visible.is_empty() => Some((
            format!("nothing matches /{}", app.filter.text),
            theme::dim(app.color),
        )),
        _ => None,
    };
    if let Some((text, style)) = message {
        // The message sits where the first row would be, below the (empty) header line.
        let [_, message_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        frame.render_widget(Paragraph::new(Span::styled(text, style)), message_area);
        return;
    }

    let forward_width = app
        .forwards
        .iter()
        .filter(|((ns, _), _)| *ns == view.namespace)
        .map(|(_, f)| f.summary().chars().count().min(48))
        .max()
        .map(|w| w.max("FORWARD".len()));
    let columns = columns_for(body.width, &table.widths, forward_width);
    let selection = app.selection(section);
    let viewport = layout::viewport(area.height);
    let rows_style = if view.stale {
        theme::dim(app.color)
    } else {
        ratatui::style::Style::default()
    };
    let rows = app
        .visible_rows(section)
        .enumerate()
        .skip(selection.offset)
        .take(viewport)
        .map(|(i, m)| {
            let row = Row::new(
                columns
                    .iter()
                    .map(|(c, _)| cell(*c, m, app, app.color && !view.stale)),
            )
            .style(rows_style);
            if i == selection.index && selection.name.is_some() {
                row.style(theme::selected(focused))
            } else {
                row
            }
        });
    let header =
        Row::new(columns.iter().map(|(c, _)| Cell::from(title(*c)))).style(theme::header_row());
    let constraints: Vec<Constraint> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, w))| {
            if i + 1 == columns.len() {
                Constraint::Min(*w)
            } else {
                Constraint::Length(*w)
            }
        })
        .collect();
    frame.render_widget(
        Table::new(rows, constraints)
            .header(header)
            .column_spacing(SPACING),
        body,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_drop_external_then_replicas_before_name() {
        let w = ColumnWidths {
            name: 13,
            status: 7,
            replicas: 8,
            internal: 20,
            external: 33,
        };
        let names = |width| {
            columns_for(width, &w, None)
                .into_iter()
                .map(|(c, _)| title(c))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(200),
            ["NAME", "STATUS", "REPLICAS", "INTERNAL-URL", "EXTERNAL-URL"]
        );
        assert_eq!(names(80), ["NAME", "STATUS", "REPLICAS", "INTERNAL-URL"]);
        assert_eq!(names(54), ["NAME", "STATUS", "REPLICAS", "INTERNAL-URL"]);
        assert_eq!(names(53), ["NAME", "STATUS", "INTERNAL-URL"]);
        assert_eq!(names(30), ["NAME", "STATUS", "INTERNAL-URL"]);
    }
}
