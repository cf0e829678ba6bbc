//! The request log pane: a forward's last requests in gateway mode, newest first; one request
//! inspected; a request and its replay compared.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::{exchange_text, theme};
use crate::app::{App, RequestLogPane, RequestView};
use crate::forward::{RequestEntry, human_bytes};

/// The keys, at the pane's foot.
const LIST_KEYS: &str =
    " j k move  Enter inspect  p replay  P replay as…  = compare  y copy as curl  Esc close ";
const DETAIL_KEYS: &str =
    " j k PgUp PgDn scroll  p replay  P replay as…  = compare  y copy as curl  Esc back ";

pub fn render(frame: &mut Frame, area: Rect, app: &App, pane: &RequestLogPane) {
    let forward = app.forwards.get(&pane.key);
    let mode = match forward.and_then(|f| f.gateway.as_ref()) {
        Some(identity) => format!(
            "as {} (user id {}{})",
            identity.label(),
            identity.user_id,
            if identity.keep_client_headers {
                "; the client's own X-Hasura-* headers win"
            } else {
                ""
            }
        ),
        None if forward.is_some() => "gateway mode off: press a".to_string(),
        None => "forward stopped".to_string(),
    };
    let total = forward.map_or(pane.seen, |f| f.requests);
    let via = forward
        .and_then(|f| f.status.transport)
        .map(|t| format!("  via {t}"))
        .unwrap_or_default();
    let title = format!(
        " requests: {}  {mode}{via}  {total} in all, last {} kept  (Esc closes) ",
        pane.label(),
        crate::forward::request_log::CAPACITY
    );
    let header = Row::new([
        "#", "METHOD", "PATH", "STATUS", "TIME", "SIZE", "ROLE", "NOTE",
    ])
    .style(theme::header_row());
    // Only as many rows as fit are built: the ring may hold more than the pane shows.
    let fits = area.height.saturating_sub(4) as usize;
    // The page that holds the selected row.
    let selected = pane.selected_row();
    let first = selected / fits.max(1) * fits.max(1);
    let rows: Vec<Row> = pane
        .entries
        .iter()
        .rev()
        .enumerate()
        .skip(first)
        .take(fits)
        .map(|(i, e)| {
            let row = row(e, app.color);
            if i == selected {
                row.style(theme::selected(true))
            } else {
                row
            }
        })
        .collect();
    let keys = match pane.view {
        RequestView::List => LIST_KEYS,
        _ => DETAIL_KEYS,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_bottom(bottom_line(pane, keys, app.color));
    let popup = super::popup(frame, area, area.width, area.height);
    match &pane.view {
        RequestView::List => {}
        RequestView::Inspect { seq, scroll } => {
            let lines = match pane.entry(*seq) {
                Some(entry) => exchange_text::inspect_lines(entry, app.color),
                None => vec![Line::from(format!("#{seq} is no longer kept"))],
            };
            return scrolled(frame, popup, block, lines, *scroll);
        }
        RequestView::Compare {
            left,
            right,
            scroll,
        } => {
            let lines = match (pane.entry(*left), pane.entry(*right)) {
                (Some(a), Some(b)) => exchange_text::compare_lines(a, b, app.color),
                _ => vec![Line::from(format!("#{left} or #{right} is no longer kept"))],
            };
            return scrolled(frame, popup, block, lines, *scroll);
        }
    }
    if rows.is_empty() {
        let hint = Line::from(Span::styled(
            "no requests yet: requests through this forward in gateway mode show here",
            theme::dim(app.color),
        ));
        frame.render_widget(ratatui::widgets::Paragraph::new(hint).block(block), popup);
        return;
    }
    let widths = [
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Fill(2),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(12),
        Constraint::Fill(3),
    ];
    frame.render_widget(Table::new(rows, widths).header(header).block(block), popup);
}

/// The pane's foot: `P`'s question while it is asked, else the keys.
fn bottom_line(pane: &RequestLogPane, keys: &'static str, color: bool) -> Line<'static> {
    match &pane.asking {
        Some(typed) => Line::from(vec![
            Span::styled(
                " replay as (role user-id, Enter sends, Esc cancels): ",
                theme::warning(color),
            ),
            Span::raw(format!("{typed}█ ")),
        ]),
        None => Line::from(Span::styled(keys, theme::dim(color))),
    }
}

/// Lines in the pane from `scroll` on (kept so that the last line can reach the bottom).
fn scrolled(frame: &mut Frame, area: Rect, block: Block, lines: Vec<Line<'static>>, scroll: usize) {
    let room = area.height.saturating_sub(2) as usize;
    let scroll = scroll.min(lines.len().saturating_sub(room));
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(room).collect();
    frame.render_widget(Paragraph::new(shown).block(block), area);
}

fn row(entry: &RequestEntry, color: bool) -> Row<'static> {
    let status = match entry.status {
        Some(code) if entry.complete => Cell::from(code.to_string()),
        Some(code) => Cell::from(format!("{code} cut")).style(theme::error(color)),
        None => Cell::from("502").style(theme::error(color)),
    };
    let status = match entry.status {
        Some(code) if code >= 500 => status.style(theme::error(color)),
        Some(code) if code >= 400 => status.style(theme::warning(color)),
        _ => status,
    };
    Row::new(vec![
        Cell::from(entry.seq.to_string()),
        Cell::from(entry.method.clone()),
        Cell::from(entry.path.clone()),
        status,
        Cell::from(duration(entry.duration)),
        Cell::from(human_bytes(entry.bytes)),
        Cell::from(entry.role.clone().unwrap_or_else(|| "-".into())),
        Cell::from(entry.note.clone().unwrap_or_default()).style(theme::warning(color)),
    ])
}

/// `0.8ms`, `12ms`, `1.2s`
fn duration(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}
