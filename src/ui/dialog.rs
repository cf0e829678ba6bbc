//! The `F` forward dialog: its fields, the Service's ports as a hint, errors and warnings.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme;
use crate::app::dialog::{FIELDS, ForwardDialog};

pub fn render(frame: &mut Frame, area: Rect, dialog: &ForwardDialog, color: bool) {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "ports: {}",
            if dialog.ports_hint.is_empty() {
                "-"
            } else {
                &dialog.ports_hint
            }
        ),
        theme::dim(color),
    ))];
    for (i, label) in FIELDS.iter().enumerate() {
        let value = &dialog.values[i];
        let shown = match (value.is_empty(), i) {
            (true, 0 | 1) => "auto".to_string(),
            (true, 3) => "off (anonymous, admin or any role)".to_string(),
            (true, 4) => "0".to_string(),
            (true, 5) => "replaced, as the gateway does (any key: keep)".to_string(),
            (false, 5) => "the client's own win (any key: replace)".to_string(),
            _ => value.clone(),
        };
        let style = if i == dialog.focus {
            ratatui::style::Style::default().add_modifier(Modifier::REVERSED)
        } else {
            ratatui::style::Style::default()
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{label:>12}: ")),
            Span::styled(format!(" {shown} "), style),
        ]));
    }
    if let Some(warning) = dialog.warning() {
        lines.push(Line::from(Span::styled(
            format!("⚠ {warning}"),
            theme::warning(color),
        )));
    }
    if let Some(error) = &dialog.error {
        lines.push(Line::from(Span::styled(error.clone(), theme::error(color))));
    }
    lines.push(Line::from(Span::styled(
        "Tab next field  Enter start  Esc cancel",
        theme::dim(color),
    )));
    let width = (lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 4).max(30);
    let popup = super::popup(frame, area, width, lines.len() as u16 + 2);
    let title = format!(" forward {}.{} ", dialog.service, dialog.namespace);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        popup,
    );
}
