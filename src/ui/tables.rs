//! A microservice table: its title line, column header and the rows in view (only those are
//! built). On a narrow terminal columns are dropped, never NAME: NAME, STATUS and INTERNAL-URL
//! always show; then, as width allows, a forward's FORWARD (in its short form), EXTERNAL-URL,
//! REPLICAS, and, when the cluster serves the metrics API, CPU and MEM (the first to go). A
//! FORWARD that does not fit whole is cut with `…`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use unicode_width::UnicodeWidthStr;

use super::{fit, theme};
use crate::app::widths::{self, ColumnWidths};
use crate::app::{App, layout};
use crate::cluster::{SectionView, WatchState};
use crate::forward::ForwardState;
use crate::model::{Microservice, Section};

const SPACING: u16 = 2;

/// In display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Column {
    Name,
    Status,
    Replicas,
    Cpu,
    Mem,
    Internal,
    External,
    Forward,
}

/// The narrowest a FORWARD column is shown cut rather than dropped.
const MIN_CUT_FORWARD: u16 = 8;

/// The columns that fit `width`, in display order, with their widths. `forward` is the FORWARD
/// column's width, when the table has a forward to show; `usage` says the table has CPU and
/// MEM figures.
fn columns_for(
    width: u16,
    w: &ColumnWidths,
    forward: Option<usize>,
    usage: bool,
) -> Vec<(Column, u16)> {
    let total = |cols: &[(Column, u16)]| -> u32 {
        cols.iter().map(|(_, w)| u32::from(*w)).sum::<u32>()
            + u32::from(SPACING) * (cols.len() as u32).saturating_sub(1)
    };
    let mut chosen = vec![
        (Column::Name, w.name as u16),
        (Column::Status, w.status as u16),
        (Column::Internal, w.internal as u16),
    ];
    let optional = [
        forward.map(|f| (Column::Forward, f as u16)),
        Some((Column::External, w.external as u16)),
        Some((Column::Replicas, w.replicas as u16)),
        usage.then_some((Column::Cpu, w.cpu as u16)),
        usage.then_some((Column::Mem, w.mem as u16)),
    ];
    for candidate in optional.into_iter().flatten() {
        chosen.push(candidate);
        if total(&chosen) > u32::from(width) {
            chosen.pop();
        }
    }
    if forward.is_some() && !chosen.iter().any(|(c, _)| *c == Column::Forward) {
        // A cut forward still says more than REPLICAS: it goes to make room if need be.
        let room = |chosen: &[(Column, u16)]| {
            u32::from(width).saturating_sub(total(chosen) + u32::from(SPACING))
        };
        if room(&chosen) < u32::from(MIN_CUT_FORWARD) {
            chosen.retain(|(c, _)| *c != Column::Replicas);
        }
        let room = room(&chosen);
        if room >= u32::from(MIN_CUT_FORWARD) {
            chosen.push((Column::Forward, room as u16));
        }
    }
    chosen.sort_by_key(|(c, _)| *c);
    chosen
}

fn title(column: Column) -> &'static str {
    match column {
        Column::Name => widths::NAME,
        Column::Status => widths::STATUS,
        Column::Replicas => widths::REPLICAS,
        Column::Internal => widths::INTERNAL_URL,
        Column::External => widths::EXTERNAL_URL,
        Column::Forward => "FORWARD",
        Column::Cpu => widths::CPU,
        Column::Mem => widths::MEM,
    }
}

fn cell<'a>(column: Column, width: u16, m: &'a Microservice, app: &App, color: bool) -> Cell<'a> {
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
                let text = fit::cut(&f.compact(), usize::from(width)).into_owned();
                Cell::from(Span::styled(text, style))
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
        Column::Cpu => Cell::from(m.usage_text().0),
        Column::Mem => Cell::from(m.usage_text().1),
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, section: Section) {
    let view = app.snapshot.section(section);
    let has_notes = !view.notes.is_empty();
    let [title_area, notes_area, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(has_notes)),
        Constraint::Min(0),
    ])
    .areas(area);
    if has_notes {
        render_notes(frame, notes_area, app, view);
    }
    render_title(frame, title_area, app, section);
    if let Some((text, style)) = empty_message(app, section) {
        // The message sits where the first row would be, below the (empty) header line.
        let [_, message_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        frame.render_widget(Paragraph::new(Span::styled(text, style)), message_area);
        return;
    }
    render_rows(
        frame,
        body,
        app,
        section,
        layout::viewport(area.height, has_notes),
    );
}

/// What a table cannot show, on the line under its title.
fn render_notes(frame: &mut Frame, area: Rect, app: &App, view: &SectionView) {
    frame.render_widget(
        fit::fit_line(
            vec![fit::Segment::keep(Span::styled(
                view.notes.join("; "),
                theme::warning(app.color),
            ))],
            area.width,
        ),
        area,
    );
}

/// `Custom microservices (3)  namespace default`, and whether the rows are stale.
fn render_title(frame: &mut Frame, area: Rect, app: &App, section: Section) {
    let view = app.snapshot.section(section);
    let table = app.view(section);
    let focused = app.focus == section;
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
    frame.render_widget(Line::from(title_spans), area);
}

/// What a table without rows to show says instead, and in which style.
fn empty_message(app: &App, section: Section) -> Option<(String, Style)> {
    let view = app.snapshot.section(section);
    let table = app.view(section);
    match &view.state {
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
    }
}

/// The header row and the visible rows, the selected one marked.
fn render_rows(frame: &mut Frame, body: Rect, app: &App, section: Section, viewport: usize) {
    let view = app.snapshot.section(section);
    let table = app.view(section);
    let focused = app.focus == section;
    let forward_width = app
        .forwards
        .iter()
        .filter(|(key, _)| key.namespace == view.namespace)
        .map(|(_, f)| f.compact().width().min(48))
        .max()
        .map(|w| w.max("FORWARD".len()));
    let usage = view.metrics == crate::cluster::Metrics::Served;
    let columns = columns_for(body.width, &table.widths, forward_width, usage);
    let selection = app.selection(section);
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
                    .map(|(c, w)| cell(*c, *w, m, app, app.color && !view.stale)),
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
    fn narrow_terminals_drop_columns_never_the_name() {
        let w = ColumnWidths {
            name: 13,
            status: 7,
            replicas: 8,
            internal: 20,
            external: 37,
            cpu: 4,
            mem: 4,
        };
        let columns = |width, forward, usage| {
            columns_for(width, &w, forward, usage)
                .into_iter()
                .map(|(c, _)| title(c))
                .collect::<Vec<_>>()
        };
        let names = |width, forward| columns(width, forward, false);
        let all = ["NAME", "STATUS", "REPLICAS", "INTERNAL-URL", "EXTERNAL-URL"];
        assert_eq!(names(200, None), all);
        assert_eq!(names(93, None), all);
        // CPU and MEM sit after REPLICAS and are the first to go.
        assert_eq!(
            columns(105, None, true),
            [
                "NAME",
                "STATUS",
                "REPLICAS",
                "CPU",
                "MEM",
                "INTERNAL-URL",
                "EXTERNAL-URL"
            ]
        );
        assert_eq!(
            columns(104, None, true),
            [
                "NAME",
                "STATUS",
                "REPLICAS",
                "CPU",
                "INTERNAL-URL",
                "EXTERNAL-URL"
            ]
        );
        assert_eq!(columns(98, None, true), all);
        assert_eq!(
            names(92, None),
            ["NAME", "STATUS", "INTERNAL-URL", "EXTERNAL-URL"]
        );
        assert_eq!(
            names(80, None),
            ["NAME", "STATUS", "REPLICAS", "INTERNAL-URL"]
        );
        assert_eq!(
            names(54, None),
            ["NAME", "STATUS", "REPLICAS", "INTERNAL-URL"]
        );
        assert_eq!(names(53, None), ["NAME", "STATUS", "INTERNAL-URL"]);
        assert_eq!(names(30, None), ["NAME", "STATUS", "INTERNAL-URL"]);
        // The seed cluster with a forward at 120 columns: every column, FORWARD last.
        let mut with_forward = all.to_vec();
        with_forward.push("FORWARD");
        assert_eq!(names(120, Some(21)), with_forward);
        // Narrower, the forward stays before the external URL and the replicas.
        assert_eq!(
            names(100, Some(21)),
            ["NAME", "STATUS", "REPLICAS", "INTERNAL-URL", "FORWARD"]
        );
        // Too narrow for the whole forward: it is cut to the room left.
        let cut = columns_for(60, &w, Some(21), false);
        assert_eq!(cut.last(), Some(&(Column::Forward, 14)), "{cut:?}");
        assert_eq!(cut.len(), 4, "REPLICAS made way: {cut:?}");
        assert_eq!(names(50, Some(21)), ["NAME", "STATUS", "INTERNAL-URL"]);
    }
}
