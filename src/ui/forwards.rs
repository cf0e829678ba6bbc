//! The `p` view: every forward of every cluster, the cluster on screen first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::theme;
use crate::app::App;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some(selected) = app.forwards_view else {
        return;
    };
    let rows = app.forward_rows();
    let title = format!(" forwards: {} on {} clusters (Esc closes) ", rows.len(), {
        let mut clusters: Vec<&str> = rows.iter().map(|r| r.cluster.as_str()).collect();
        clusters.dedup();
        clusters.len()
    });
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_bottom(Line::from(Span::styled(
            " j k move  x stop  Esc close ",
            theme::dim(app.color),
        )));
    let height = (rows.len() as u16 + 4).max(5);
    let popup = super::popup(frame, area, area.width, height);
    if rows.is_empty() {
        let hint = Line::from(Span::styled(
            "no forwards: f on a row starts one",
            theme::dim(app.color),
        ));
        frame.render_widget(Paragraph::new(hint).block(block), popup);
        return;
    }
    let header = Row::new(["CLUSTER", "MICROSERVICE", "FORWARD"]).style(theme::header_row());
    let lines: Vec<Row> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let row = Row::new(vec![
                Cell::from(r.cluster.clone()),
                Cell::from(r.key.to_string()),
                Cell::from(r.view.summary()),
            ]);
            if i == selected {
                row.style(theme::selected(true))
            } else {
                row
            }
        })
        .collect();
    let widths = [
        Constraint::Length(16),
        Constraint::Length(28),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(lines, widths).header(header).block(block), popup);
}
