//! The `s` pod picker: the microservice's running pods, the chosen one highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme;
use crate::app::PodPicker;

pub fn render(frame: &mut Frame, area: Rect, picker: &PodPicker) {
    let title = format!(" shell in which pod of {}? ", picker.request.name);
    let lines: Vec<Line> = picker
        .pods
        .iter()
        .enumerate()
        .map(|(i, pod)| {
            let style = if i == picker.selected {
                theme::selected(true)
            } else {
                ratatui::style::Style::default()
            };
            Line::from(Span::styled(format!(" {pod} "), style))
        })
        .chain([Line::from(Span::raw(" j k move  Enter open  Esc cancel "))])
        .collect();
    let width = lines
        .iter()
        .map(Line::width)
        .chain([title.chars().count()])
        .max()
        .unwrap_or(0) as u16
        + 2;
    let popup = super::popup(frame, area, width, lines.len() as u16 + 2);
    let block = Block::default().borders(Borders::ALL).title(title);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
