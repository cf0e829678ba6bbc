//! The detail view: the microservice's sections (`detail::text`) scrolled as a whole, and, when
//! it is forwarded, the forward's line and two sparklines of bytes per second (to the pod,
//! from it) over the last two minutes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::theme;
use crate::app::{App, DetailPane};
use crate::detail::text::{self, Mark};
use crate::forward::ForwardView;

/// Lines the forward's part takes: its summary, then a sparkline each way.
const FORWARD_LINES: u16 = 3;

pub fn render(frame: &mut Frame, area: Rect, app: &App, pane: &DetailPane) {
    let forward = app.forwards.get(&crate::forward::ForwardKey::new(
        &pane.namespace,
        &pane.name,
    ));
    let (body, traffic) = match forward {
        Some(_) if area.height > FORWARD_LINES + 4 => {
            let [body, traffic] =
                Layout::vertical([Constraint::Min(1), Constraint::Length(FORWARD_LINES)])
                    .areas(area);
            (body, Some(traffic))
        }
        _ => (area, None),
    };
    let now = app.wall_now();
    let lines: Vec<Line> = text::lines(&pane.detail, now)
        .into_iter()
        .skip(pane.scroll)
        .take(body.height as usize)
        .map(|l| {
            let style = match l.mark {
                Mark::Heading => theme::header_row(),
                Mark::Warning => theme::warning(app.color),
                Mark::Note => theme::dim(app.color),
                Mark::Plain => Style::default(),
            };
            Line::styled(l.text, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), body);
    if let (Some(area), Some(view)) = (traffic, forward) {
        render_traffic(frame, area, app, pane, view);
    }
}

fn render_traffic(frame: &mut Frame, area: Rect, app: &App, pane: &DetailPane, view: &ForwardView) {
    let [summary, up, down] = Layout::vertical([Constraint::Length(1); 3]).areas(area);
    frame.render_widget(
        Line::from(vec![
            Span::styled("forward  ", theme::header_row()),
            Span::raw(view.summary()),
            Span::styled("  (last 2 minutes, bytes/s)", theme::dim(app.color)),
        ]),
        summary,
    );
    let label_width = 8;
    for (row, label, pick) in [(up, "  ▲ sent ", 0usize), (down, "  ▼ recv ", 1usize)] {
        let [label_area, spark] =
            Layout::horizontal([Constraint::Length(label_width + 1), Constraint::Min(1)])
                .areas(row);
        frame.render_widget(Span::styled(label, theme::dim(app.color)), label_area);
        // The newest second on the right; as many seconds as fit.
        let data: Vec<u64> = pane
            .traffic
            .iter()
            .map(|(s, r)| if pick == 0 { *s } else { *r })
            .collect();
        let start = data.len().saturating_sub(spark.width as usize);
        frame.render_widget(Sparkline::default().data(&data[start..]), spark);
    }
}
