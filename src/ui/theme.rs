//! Colours that carry meaning (green Running, yellow in progress, red Error, grey Stopped), and
//! none at all under NO_COLOR: the text always says the same thing on its own.

use ratatui::style::{Color, Modifier, Style};

use crate::model::Severity;

pub fn severity(severity: Severity, color: bool) -> Style {
    if !color {
        return Style::default();
    }
    Style::default().fg(match severity {
        Severity::Ok => Color::Green,
        Severity::Warn => Color::Yellow,
        Severity::Error => Color::Red,
        Severity::Off => Color::DarkGray,
    })
}

pub fn error(color: bool) -> Style {
    if color {
        Style::default().fg(Color::Red)
    } else {
        Style::default()
    }
}

pub fn warning(color: bool) -> Style {
    if color {
        Style::default().fg(Color::Yellow)
    } else {
        Style::default()
    }
}

pub fn dim(color: bool) -> Style {
    if color {
        Style::default().fg(Color::DarkGray)
    } else {
        Style::default().add_modifier(Modifier::DIM)
    }
}

pub fn title(focused: bool) -> Style {
    let style = Style::default().add_modifier(Modifier::BOLD);
    if focused {
        style.add_modifier(Modifier::UNDERLINED)
    } else {
        style
    }
}

pub fn header_row() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// The selected row: reversed in the focused table, bold in the other, colour or not.
pub fn selected(focused: bool) -> Style {
    if focused {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default().add_modifier(Modifier::BOLD)
    }
}
