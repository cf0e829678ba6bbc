//! The footer: the filter being typed, a transient message ("copied …"), or the key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::theme;
use crate::app::App;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let line = if app.filter.editing {
        Line::from(vec![
            Span::styled("/", theme::header_row()),
            Span::raw(app.filter.text.clone()),
            Span::styled("▏", theme::dim(app.color)),
            Span::styled("   Enter keep  Esc clear", theme::dim(app.color)),
        ])
    } else if let Some(flash) = &app.flash {
        Line::from(Span::styled(flash.text.clone(), theme::header_row()))
    } else if app.logs.is_some() {
        Line::from(Span::styled(super::logs::hints(), theme::dim(app.color)))
    } else {
        let mut spans = Vec::new();
        let active = app.forwards.len();
        spans.push(Span::styled(
            format!("{active} forward{}  ", if active == 1 { "" } else { "s" }),
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
        spans.push(Span::styled(
            "↑↓ move  Tab switch  f forward  F forward…  a as  r requests  l logs  / filter  ? help  q quit",
            theme::dim(app.color),
        ));
        Line::from(spans)
    };
    frame.render_widget(line, area);
}
