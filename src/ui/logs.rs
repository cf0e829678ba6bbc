//! The logs pane: a title line (microservice, pods, following or scrolled) over the newest lines
//! that fit, each with its pod as `[pod]`, coloured per pod so interleaved pods read apart.
//! Long lines are cut at the edge rather than wrapped, so one line stays one row.

use std::collections::BTreeSet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme;
use crate::app::{App, LogsPane};

/// Pod prefix colours, picked by pod name so a pod keeps its colour for the pane's lifetime.
const POD_COLOURS: [Color; 6] = [
    Color::Cyan,
    Color::Magenta,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::LightRed,
];

pub fn render(frame: &mut Frame, area: Rect, app: &App, pane: &LogsPane) {
    let [title, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(title_line(app, pane), title);
    let lines: Vec<Line> = pane
        .window(body.height as usize)
        .map(|line| match &line.source {
            Some(source) => Line::from(vec![
                Span::styled(format!("[{source}] "), pod_style(source, app.color)),
                Span::raw(line.text.as_str()),
            ]),
            None => Line::styled(format!("── {}", line.text), theme::dim(app.color)),
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Line::styled("waiting for log lines…", theme::dim(app.color)),
            body,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), body);
    }
}

fn title_line(app: &App, pane: &LogsPane) -> Line<'static> {
    let pods: BTreeSet<&str> = pane
        .lines
        .iter()
        .filter_map(|l| l.source.as_deref())
        .map(|source| source.split_once('/').map_or(source, |(pod, _)| pod))
        .collect();
    let state = if pane.following() {
        Span::styled("following", theme::header_row())
    } else {
        Span::styled(
            format!("scrolled ({} newer lines below, G follows)", pane.offset),
            theme::warning(app.color),
        )
    };
    Line::from(vec![
        Span::styled(
            format!("Logs of {}.{}", pane.name, pane.namespace),
            theme::title(true),
        ),
        Span::raw(format!(
            "  {} pod{}  {}{} lines  ",
            pods.len(),
            if pods.len() == 1 { "" } else { "s" },
            pane.shown_containers()
                .map(|c| format!("{c}  "))
                .unwrap_or_default(),
            pane.lines.len()
        )),
        state,
    ])
}

fn pod_style(pod: &str, color: bool) -> Style {
    if !color {
        return theme::header_row();
    }
    let hash = pod
        .bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
    Style::default().fg(POD_COLOURS[hash % POD_COLOURS.len()])
}

/// The footer's hints while the pane is open (`c` only where there is a container to pick).
pub fn hints(pane: &LogsPane) -> &'static str {
    if pane.containers.len() > 1 {
        "↑↓ scroll  PgUp PgDn page  g top  G follow  c container  Esc back  ? help"
    } else {
        "↑↓ scroll  PgUp PgDn page  g top  G follow  Esc back  ? help"
    }
}
