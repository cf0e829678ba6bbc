//! Rendering only: widgets that read `&App` and draw. No I/O, no mutation.

mod detail;
mod dialog;
mod exchange_text;
pub mod fit;
mod footer;
mod forwards;
mod header;
mod help;
mod logs;
mod picker;
mod requests;
mod tables;
mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;

use crate::app::keys::Layer;
use crate::app::{App, layout};
use crate::model::Section;

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if layout::too_small(area.width, area.height) {
        let notice = format!(
            "terminal too small: {}x{} (needs {}x{})",
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        );
        frame.render_widget(
            Paragraph::new(notice).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    // The base (logs over the detail view over the tables), then the layers that cover it
    // bottom-up, in `app::keys::LAYERS`' order reversed; the prompt, the command line and the
    // filter are drawn by the footer.
    match (&app.logs, &app.detail) {
        (Some(pane), _) => {
            let body = pane_frame(frame, area, app);
            logs::render(frame, body, app, pane);
        }
        (None, Some(pane)) => {
            let body = pane_frame(frame, area, app);
            detail::render(frame, body, app, pane);
        }
        (None, None) => draw_tables(frame, area, app),
    }
    for layer in app.open_layers() {
        let area = inset(area);
        match layer {
            Layer::Dialog => app
                .dialog
                .iter()
                .for_each(|d| dialog::render(frame, area, d, app.color)),
            Layer::ContextPicker => picker::render_context_picker(frame, area, app),
            Layer::ForwardsView => forwards::render(frame, area, app),
            Layer::CopyMenu => app
                .copy_menu
                .iter()
                .for_each(|menu| picker::render_copy_menu(frame, area, menu)),
            Layer::PodPicker => app
                .pod_picker
                .iter()
                .for_each(|p| picker::render(frame, area, p)),
            Layer::RequestLog => app
                .request_log
                .iter()
                .for_each(|pane| requests::render(frame, area, app, pane)),
            Layer::Help => help::render(frame, area, app.read_only, app.help_scroll),
            Layer::Logs | Layer::Detail | Layer::Prompt | Layer::Command | Layer::Filter => {}
        }
    }
}

/// The header, both tables and the footer.
fn draw_tables(frame: &mut Frame, area: Rect, app: &App) {
    let notes = |s: Section| !app.snapshot.section(s).notes.is_empty();
    let (custom_height, hasura_height) = layout::table_heights(
        area.height,
        layout::wanted(
            app.view(Section::Custom).visible.len(),
            notes(Section::Custom),
        ),
        layout::wanted(
            app.view(Section::Hasura).visible.len(),
            notes(Section::Hasura),
        ),
    );
    let [header, custom, hasura, footer] = Layout::vertical([
        Constraint::Length(layout::HEADER_LINES),
        Constraint::Length(custom_height),
        Constraint::Length(hasura_height),
        Constraint::Length(layout::FOOTER_LINES),
    ])
    .areas(area);
    header::render(frame, header, app);
    tables::render(frame, custom, app, Section::Custom);
    tables::render(frame, hasura, app, Section::Hasura);
    footer::render(frame, footer, app);
}

/// The header and footer around a full-screen pane (logs, detail); the pane's area between.
fn pane_frame(frame: &mut Frame, area: Rect, app: &App) -> Rect {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(layout::HEADER_LINES),
        Constraint::Min(1),
        Constraint::Length(layout::FOOTER_LINES),
    ])
    .areas(area);
    header::render(frame, header, app);
    footer::render(frame, footer, app);
    body
}

fn inset(area: Rect) -> Rect {
    Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    }
}

/// Clears and returns a rectangle of (at most) `width` x `height`, centred in `area`.
fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16) -> Rect {
    let (width, height) = (width.min(area.width), height.min(area.height));
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(ratatui::widgets::Clear, rect);
    rect
}
