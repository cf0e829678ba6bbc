//! The footer: the filter being typed, a transient message ("copied …"), or the key hints,
//! the least used dropped first on a narrow terminal, `? help` always kept.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::fit::{Segment, fit_line};
use super::theme;

/// The key hints in the order shown, each with how soon it goes on a narrow terminal (higher:
/// sooner). `? help` is always shown, last: it lists the rest.
const HINTS: &[(&str, u8)] = &[
    ("↑↓ move  ", 9),
    ("Tab switch  ", 8),
    ("f forward  ", 3),
    ("F forward…  ", 6),
    ("a as  ", 7),
    ("r requests  ", 5),
    ("l logs  ", 4),
    ("/ filter  ", 2),
    ("q quit  ", 1),
];
use crate::app::App;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let line = if app.filter.editing {
        Line::from(vec![
            Span::styled("/", theme::header_row()),
            Span::raw(app.filter.text.clone()),
            Span::styled("▏", theme::dim(app.color)),
            Span::styled("   Enter keep  Esc clear", theme::dim(app.color)),
        ])
    } else if let Some(prompt) = &app.prompt {
        Line::from(vec![
            Span::styled(prompt.question(), theme::header_row()),
            Span::raw(prompt.typed().to_string()),
            Span::styled("▏", theme::dim(app.color)),
            Span::styled("   Esc cancel", theme::dim(app.color)),
        ])
    } else if let Some(flash) = &app.flash {
        fit_line(
            vec![Segment::keep(Span::styled(
                flash.text.clone(),
                theme::header_row(),
            ))],
            area.width,
        )
    } else if app.detail.is_some() && app.logs.is_none() {
        fit_line(
            vec![Segment::keep(Span::styled(
                "j k scroll  f forward  l logs  s shell  R restart  S scale  Esc back  ? help",
                theme::dim(app.color),
            ))],
            area.width,
        )
    } else if let Some(pane) = &app.logs {
        fit_line(
            vec![Segment::keep(Span::styled(
                super::logs::hints(pane),
                theme::dim(app.color),
            ))],
            area.width,
        )
    } else {
        let mut spans = Vec::new();
        if let Some(typed) = &app.command {
            spans.push(Span::styled(
                format!(":{typed}█  "),
                theme::warning(app.color),
            ));
        }
        let away = app.away_forwards.len();
        let active = app.forwards.len() + away;
        let elsewhere = match app.forwards_elsewhere().as_slice() {
            [] => String::new(),
            [(label, n)] => format!(" ({n} on {label})"),
            _ => format!(" ({away} on other clusters)"),
        };
        spans.push(Span::styled(
            format!(
                "{active} forward{}{elsewhere}  ",
                if active == 1 { "" } else { "s" }
            ),
            if active > 0 {
                theme::header_row()
            } else {
                theme::dim(app.color)
            },
        ));
        if !app.filter.text.is_empty() {
            spans.push(Span::styled(
                format!("filter: {}  ", app.filter.text),
                theme::warning(app.color),
            ));
        }
        let mut segments: Vec<Segment> = spans.into_iter().map(Segment::keep).collect();
        segments.extend(HINTS.iter().map(|(hint, rank)| {
            Segment::droppable(Span::styled(*hint, theme::dim(app.color)), *rank)
        }));
        segments.push(Segment::keep(Span::styled("? help", theme::dim(app.color))));
        fit_line(segments, area.width)
    };
    frame.render_widget(line, area);
}
