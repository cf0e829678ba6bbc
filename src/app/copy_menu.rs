//! `Y` on a row: a small menu of things to copy about the microservice (its internal, external
//! and local URL, `curl` with the forward's identity, `psql` for a postgres forward) and an `.env`
//! block of every forward. Enter (or the entry's digit) copies through OSC 52, as `y` does.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Effect};
use crate::copy_as::{self, EnvForward, Speaks};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyChoice {
    pub label: &'static str,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyMenu {
    /// The microservice's name, for the title.
    pub name: String,
    pub choices: Vec<CopyChoice>,
    pub selected: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuAction {
    Move(isize),
    /// Copy the selected entry (Enter) or entry N (its digit, 0-based here).
    Submit(Option<usize>),
    Cancel,
}

/// Keys while the menu is open.
pub fn key(key: KeyEvent) -> Option<Action> {
    let action = match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('Y') => MenuAction::Cancel,
        KeyCode::Enter => MenuAction::Submit(None),
        KeyCode::Up | KeyCode::Char('k') | KeyCode::BackTab => MenuAction::Move(-1),
        KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => MenuAction::Move(1),
        KeyCode::Char(c @ '1'..='9') => MenuAction::Submit(Some(c as usize - '1' as usize)),
        _ => return None,
    };
    Some(Action::CopyMenu(action))
}

impl App {
    pub(super) fn open_copy_menu(&mut self) -> bool {
        let Some(m) = self.selected() else {
            return false;
        };
        let mut choices = Vec::new();
        let mut choice = |label, text: Option<String>| {
            if let Some(text) = text {
                choices.push(CopyChoice { label, text });
            }
        };
        choice("internal URL", m.internal_url.clone());
        choice("external URL", m.external_url.clone());
        let forward = self.forward_of(m);
        if let Some((view, local)) = forward.and_then(|f| Some((f, f.status.local?))) {
            let speaks = Speaks::guess(&m.name, view.status.http, view.status.remote_port);
            choice("local URL", Some(copy_as::local_url(speaks, local)));
            if speaks == Speaks::Http {
                let curl = copy_as::curl_root(local, view.gateway.as_ref());
                choice("curl", Some(curl));
            }
            if speaks == Speaks::Postgres {
                choice("psql", Some(copy_as::psql(local)));
            }
        }
        let every: Vec<EnvForward> = self
            .forwards
            .iter()
            .filter_map(|(key, view)| {
                Some(EnvForward {
                    namespace: key.namespace.clone(),
                    name: key.name.clone(),
                    speaks: Speaks::guess(&key.name, view.status.http, view.status.remote_port),
                    local: view.status.local?,
                })
            })
            .collect();
        if !every.is_empty() {
            choice(".env of every forward", Some(copy_as::env_block(&every)));
        }
        let name = m.name.clone();
        if choices.is_empty() {
            return self.flash(format!(
                "{name} has nothing to copy: no Service, no forward"
            ));
        }
        self.copy_menu = Some(CopyMenu {
            name,
            choices,
            selected: 0,
        });
        true
    }

    pub(super) fn update_copy_menu(&mut self, action: MenuAction) -> bool {
        let Some(menu) = &mut self.copy_menu else {
            return false;
        };
        match action {
            MenuAction::Move(delta) => {
                let last = menu.choices.len() as isize - 1;
                menu.selected = (menu.selected as isize + delta).clamp(0, last) as usize;
                true
            }
            MenuAction::Cancel => {
                self.copy_menu = None;
                true
            }
            MenuAction::Submit(pick) => {
                let Some(choice) = menu.choices.get(pick.unwrap_or(menu.selected)).cloned() else {
                    return false;
                };
                self.copy_menu = None;
                self.effects.push(Effect::Copy(choice.text));
                self.flash(format!("copied {}", choice.label))
            }
        }
    }
}
