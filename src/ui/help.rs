//! The help overlay: every key that works, and nothing that does not yet.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme;
use crate::app::keys::HELP;

/// Keys that change the cluster (or open a shell in it): off in read-only mode.
const ACTING_KEYS: [&str; 3] = ["s", "R", "S"];

pub fn render(frame: &mut Frame, area: Rect, read_only: bool) {
    let key_width = HELP
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(key, what)| {
            let key_text = format!(" {key:<key_width$}  ");
            if read_only && ACTING_KEYS.contains(key) {
                let off =
                    ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::DIM);
                return Line::from(vec![
                    Span::styled(key_text, off),
                    Span::styled(format!("(off: read-only) {what}"), off),
                ]);
            }
            Line::from(vec![
                Span::styled(key_text, theme::header_row()),
                Span::raw(*what),
            ])
        })
        .collect();
    let width = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 3;
    let popup = super::popup(frame, area, width, lines.len() as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" keys (Esc closes) ");
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
