//! The Hasura CLI's other daily verbs on the selected row: `l` logs (the pane's actions and
//! keys), `o` open the external URL, `y` copy the internal URL, and the footer's transient
//! message that says how it went. Like the rest of `app`, pure: effects go to the event loop.

use crossterm::event::{KeyCode, KeyEvent};

use super::logs_pane::LogsPane;
use super::{Action, App, Effect, layout};
use crate::logs::{ContainerChoice, LogEvent};
use crate::model::Microservice;
use crate::model::objects::EXTERNAL_URL_ANNOTATION;

/// Ticks (about a second each) a footer message stays.
pub const FLASH_TICKS: u8 = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogsAction {
    /// `l`: the selected microservice's logs.
    Open,
    Close,
    Scroll(isize),
    Page(isize),
    Top,
    /// `G`: back to the newest line, following.
    Follow,
    /// `c`: the next container (then all of them) of the microservice's pods.
    NextContainer,
    /// Lines (and notices) from the follower of pane `session`.
    Events(u64, Vec<LogEvent>),
}

/// A message in the footer for a few seconds ("copied data.hasura").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub ticks_left: u8,
}

/// Keys while the logs pane is open.
pub fn logs_key(key: KeyEvent) -> Option<Action> {
    let action = match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('l') => LogsAction::Close,
        KeyCode::Up | KeyCode::Char('k') => LogsAction::Scroll(-1),
        KeyCode::Down | KeyCode::Char('j') => LogsAction::Scroll(1),
        KeyCode::PageUp => LogsAction::Page(-1),
        KeyCode::PageDown | KeyCode::Char(' ') => LogsAction::Page(1),
        KeyCode::Home | KeyCode::Char('g') => LogsAction::Top,
        KeyCode::End | KeyCode::Char('G') => LogsAction::Follow,
        KeyCode::Char('c') => LogsAction::NextContainer,
        KeyCode::Char('?') => return Some(Action::ToggleHelp),
        _ => return None,
    };
    Some(Action::Logs(action))
}

/// Why there is nothing to open, naming the three things that would give an external URL.
pub fn no_external_url(m: &Microservice) -> String {
    format!(
        "{} has no external URL: add a routes.yaml route, an Ingress, or the {EXTERNAL_URL_ANNOTATION} annotation",
        m.name
    )
}

impl App {
    /// Lines of log text the pane shows (its title takes one line).
    pub fn logs_viewport(&self) -> usize {
        self.size
            .1
            .saturating_sub(layout::HEADER_LINES + layout::FOOTER_LINES + 1) as usize
    }

    pub(super) fn update_logs(&mut self, action: LogsAction) -> bool {
        let viewport = self.logs_viewport();
        match action {
            LogsAction::Open => {
                let Some(m) = self.selected() else {
                    return false;
                };
                let (namespace, name) = (m.namespace.clone(), m.name.clone());
                self.logs_session += 1;
                let session = self.logs_session;
                self.logs = Some(LogsPane::new(&namespace, &name, session));
                self.effects.push(Effect::StartLogs {
                    session,
                    namespace,
                    name,
                    containers: ContainerChoice::Default,
                });
            }
            LogsAction::NextContainer => {
                let Some(pane) = &self.logs else {
                    return false;
                };
                let Some(choice) = pane.next_choice() else {
                    let text = format!("{} has one container", pane.name);
                    return self.flash(text);
                };
                self.logs_session += 1;
                let pane = pane.with_choice(choice.clone(), self.logs_session);
                self.effects.push(Effect::StartLogs {
                    session: pane.session,
                    namespace: pane.namespace.clone(),
                    name: pane.name.clone(),
                    containers: choice,
                });
                self.logs = Some(pane);
            }
            LogsAction::Close => {
                if self.logs.take().is_none() {
                    return false;
                }
                self.effects.push(Effect::StopLogs);
            }
            LogsAction::Events(session, events) => {
                let Some(pane) = self.logs.as_mut().filter(|p| p.session == session) else {
                    return false;
                };
                let moved = pane.following();
                events.into_iter().for_each(|e| pane.push(e));
                // Scrolled back, new lines change only the title's count: still worth a frame.
                return moved || !pane.following();
            }
            other => {
                let Some(pane) = self.logs.as_mut() else {
                    return false;
                };
                match other {
                    LogsAction::Scroll(delta) => pane.scroll(delta, viewport),
                    LogsAction::Page(pages) => {
                        pane.scroll(pages * viewport.max(1) as isize, viewport)
                    }
                    LogsAction::Top => pane.top(viewport),
                    _ => pane.follow(),
                }
            }
        }
        true
    }

    pub(super) fn open_external(&mut self) -> bool {
        let Some(m) = self.selected() else {
            return false;
        };
        match &m.external_url {
            Some(url) => {
                let url = url.clone();
                self.effects.push(Effect::OpenUrl(url));
                false
            }
            None => {
                let text = no_external_url(m);
                self.flash(text)
            }
        }
    }

    pub(super) fn copy_internal(&mut self) -> bool {
        let Some(m) = self.selected() else {
            return false;
        };
        match &m.internal_url {
            Some(url) => {
                let url = url.clone();
                self.effects.push(Effect::Copy(url.clone()));
                self.flash(format!("copied {url}"))
            }
            None => {
                let text = format!("{} has no Service, so no internal URL", m.name);
                self.flash(text)
            }
        }
    }

    pub(super) fn flash(&mut self, text: String) -> bool {
        self.flash = Some(Flash {
            text,
            ticks_left: FLASH_TICKS,
        });
        true
    }

    /// Counts a tick down on the footer message; true when it just went away.
    pub(super) fn tick_flash(&mut self) -> bool {
        let Some(flash) = &mut self.flash else {
            return false;
        };
        flash.ticks_left = flash.ticks_left.saturating_sub(1);
        if flash.ticks_left == 0 {
            self.flash = None;
            return true;
        }
        false
    }
}
