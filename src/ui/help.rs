//! The help overlay: the tables' key table (`app::keys::TABLE_KEYS`, the one key handling reads),
//! scrolled from `scroll` when the terminal is too short to show it whole.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme;
use crate::app::keys::{self, TABLE_KEYS};

pub fn render(frame: &mut Frame, area: Rect, read_only: bool, scroll: usize) {
    let key_width = TABLE_KEYS
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = TABLE_KEYS
        .iter()
        .map(|binding| {
            let key_text = format!(" {:<key_width$}  ", binding.label);
            if read_only && binding.acting {
                let off =
                    ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::DIM);
                return Line::from(vec![
                    Span::styled(key_text, off),
                    Span::styled(format!("(off: read-only) {}", binding.help), off),
                ]);
            }
            Line::from(vec![
                Span::styled(key_text, theme::header_row()),
                Span::raw(binding.help),
            ])
        })
        .collect();
    let width = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 3;
    // `area` is the screen inside a one-cell margin: the same rows `keys::help_rows` counts.
    let shown = keys::help_rows(area.height + 2);
    let scroll = scroll.min(keys::help_scroll_limit(area.height + 2));
    let title = if shown < lines.len() {
        let last = (scroll + shown).min(lines.len());
        format!(
            " keys {}-{last} of {} (j k scroll, Esc closes) ",
            scroll + 1,
            lines.len()
        )
    } else {
        " keys (Esc closes) ".to_string()
    };
    let popup = super::popup(frame, area, width, lines.len() as u16 + 2);
    let block = Block::default().borders(Borders::ALL).title(title);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll as u16, 0)),
        popup,
    );
}
