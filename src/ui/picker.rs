//! The `s` pod picker (the microservice's running pods) and the `Y` copy menu: a short list,
//! the chosen entry highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme;
use crate::app::{App, CopyMenu, PodPicker};

/// The context picker: `* dev  context gram29  cluster gram29  https://…  gram29-admin`, the
/// cluster on screen marked `*`, the filter typed so far in the title.
pub fn render_context_picker(frame: &mut Frame, area: Rect, app: &App) {
    let Some(picker) = &app.context_picker else {
        return;
    };
    let title = format!(" clusters (type to filter: {}█) ", picker.filter);
    let room = area.width.saturating_sub(4) as usize;
    let visible = app.visible_contexts();
    let mut lines: Vec<Line> = visible
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let style = if i == picker.selected {
                theme::selected(true)
            } else {
                ratatui::style::Style::default()
            };
            let mark = if c.context == app.connection.context {
                "*"
            } else {
                " "
            };
            let name = match (&c.alias, &c.cluster_name) {
                (Some(alias), Some(cluster)) => {
                    format!("{alias} → context {}, cluster {cluster}", c.context)
                }
                _ => format!("context {}", c.context),
            };
            let place = if c.missing {
                "not in the kubeconfig".to_string()
            } else {
                format!("{}  {}", c.server, c.user)
            };
            let text = format!(" {mark} {name:<52} {place} ");
            Line::from(Span::styled(
                crate::ui::fit::cut(&text, room).into_owned(),
                style,
            ))
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(" no context matches "));
    }
    lines.push(Line::from(Span::raw(
        " ↑ ↓ move  Enter switch (forwards keep running)  Esc cancel ",
    )));
    list_popup(frame, area, title, lines);
}

/// The `Y` menu: each entry's digit, what it is, and the start of the text it copies.
pub fn render_copy_menu(frame: &mut Frame, area: Rect, menu: &CopyMenu) {
    let title = format!(" copy from {} ", menu.name);
    let room = area.width.saturating_sub(4) as usize;
    let lines: Vec<Line> = menu
        .choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let style = if i == menu.selected {
                theme::selected(true)
            } else {
                ratatui::style::Style::default()
            };
            let first = choice.text.lines().next().unwrap_or_default();
            let more = if choice.text.lines().count() > 1 {
                " …"
            } else {
                ""
            };
            let text = format!(" {} {:<22}{first}{more} ", i + 1, choice.label);
            Line::from(Span::styled(
                crate::ui::fit::cut(&text, room).into_owned(),
                style,
            ))
        })
        .chain([Line::from(Span::raw(
            " j k move  Enter or 1-9 copy  Esc cancel ",
        ))])
        .collect();
    list_popup(frame, area, title, lines);
}

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
    list_popup(frame, area, title, lines);
}

/// A bordered popup just wide and tall enough for `lines` (and the title), centred in `area`.
fn list_popup(frame: &mut Frame, area: Rect, title: String, lines: Vec<Line>) {
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
