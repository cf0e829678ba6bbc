//! Moving between clusters: `C` (or k9s's `:ctx`) opens the context picker, the kubeconfig's
//! contexts with the project's aliases first, filtered as you type; `Enter` asks the event loop
//! to switch. Forwards of the cluster left keep running; the footer counts them.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Effect};
use crate::config::contexts::ContextChoice;

/// The picker while it is open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextPicker {
    pub filter: String,
    /// Index into the filtered list.
    pub selected: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PickerKey {
    Input(char),
    Backspace,
    Move(isize),
    Submit,
    Cancel,
}

/// The `:` command line's words: k9s's for contexts.
const CONTEXT_COMMANDS: [&str; 3] = ["ctx", "context", "contexts"];

/// Keys while the picker is open: typing filters, arrows move.
pub fn picker_key(key: KeyEvent, ctrl: bool) -> Option<Action> {
    let action = match key.code {
        KeyCode::Esc => PickerKey::Cancel,
        KeyCode::Enter => PickerKey::Submit,
        KeyCode::Backspace => PickerKey::Backspace,
        KeyCode::Up | KeyCode::BackTab => PickerKey::Move(-1),
        KeyCode::Down | KeyCode::Tab => PickerKey::Move(1),
        KeyCode::Char(c) if !ctrl => PickerKey::Input(c),
        _ => return None,
    };
    Some(Action::ContextPicker(action))
}

/// Keys while the `:` command line is open.
pub fn command_key(key: KeyEvent, ctrl: bool) -> Option<Action> {
    let action = match key.code {
        KeyCode::Esc => PickerKey::Cancel,
        KeyCode::Enter => PickerKey::Submit,
        KeyCode::Backspace => PickerKey::Backspace,
        KeyCode::Char(c) if !ctrl => PickerKey::Input(c),
        _ => return None,
    };
    Some(Action::Command(action))
}

impl App {
    /// The choices the picker shows now, with their index in `contexts`.
    pub fn visible_contexts(&self) -> Vec<&ContextChoice> {
        let filter = self
            .context_picker
            .as_ref()
            .map_or("", |p| p.filter.as_str());
        self.contexts.iter().filter(|c| c.matches(filter)).collect()
    }

    pub(super) fn open_context_picker(&mut self) -> bool {
        if self.contexts.is_empty() {
            return self.flash("no other contexts: the kubeconfig has this one only".into());
        }
        // The cursor starts on the cluster we are on.
        let selected = self
            .contexts
            .iter()
            .position(|c| c.context == self.connection.context)
            .unwrap_or(0);
        self.context_picker = Some(ContextPicker {
            filter: String::new(),
            selected,
        });
        true
    }

    pub(super) fn update_context_picker(&mut self, key: PickerKey) -> bool {
        let Some(picker) = &mut self.context_picker else {
            return false;
        };
        match key {
            PickerKey::Input(c) => {
                picker.filter.push(c);
                picker.selected = 0;
            }
            PickerKey::Backspace => {
                picker.filter.pop();
                picker.selected = 0;
            }
            PickerKey::Move(delta) => {
                let last = self.visible_contexts().len().saturating_sub(1) as isize;
                let picker = self.context_picker.as_mut().expect("open");
                picker.selected = (picker.selected as isize + delta).clamp(0, last) as usize;
            }
            PickerKey::Cancel => self.context_picker = None,
            PickerKey::Submit => return self.submit_context(),
        }
        true
    }

    fn submit_context(&mut self) -> bool {
        let selected = self.context_picker.as_ref().map_or(0, |p| p.selected);
        let Some(choice) = self.visible_contexts().get(selected).map(|c| (*c).clone()) else {
            return false;
        };
        let name = choice
            .alias
            .clone()
            .unwrap_or_else(|| choice.context.clone());
        if choice.missing {
            // The picker stays open: another choice is one key away.
            return self.flash(format!(
                "{name}: context {:?} is not in the kubeconfig; pick another",
                choice.context
            ));
        }
        self.context_picker = None;
        if choice.context == self.connection.context {
            return true;
        }
        self.effects.push(Effect::SwitchContext(choice.context));
        self.flash(format!("switching to {name}…"))
    }

    pub(super) fn update_command(&mut self, key: PickerKey) -> bool {
        let Some(typed) = &mut self.command else {
            return false;
        };
        match key {
            PickerKey::Input(c) if typed.len() < 64 => typed.push(c),
            PickerKey::Input(_) | PickerKey::Move(_) => return false,
            PickerKey::Backspace => {
                typed.pop();
            }
            PickerKey::Cancel => self.command = None,
            PickerKey::Submit => {
                let typed = self.command.take().unwrap_or_default();
                let word = typed.trim();
                if CONTEXT_COMMANDS.contains(&word) {
                    return self.open_context_picker();
                }
                return self.flash(format!(":{word}: not a command here (try :ctx)"));
            }
        }
        true
    }

    /// The forwards of clusters other than this one, as `(alias or context, how many)` in the
    /// order they were left: `3 forwards (1 on staging)`.
    pub fn forwards_elsewhere(&self) -> Vec<(&str, usize)> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for f in &self.away_forwards {
            match counts.iter_mut().find(|(label, _)| *label == f.label) {
                Some((_, n)) => *n += 1,
                None => counts.push((&f.label, 1)),
            }
        }
        counts
    }
}
