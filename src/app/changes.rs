//! `R` restart and `S` scale: a one-line prompt in the footer (`restart data? (rolling, pods
//! replaced one by one) y/N`, `scale data to (now 2): `), then an effect the event loop carries
//! out through `change` (read-only mode, the access review, the audit log). Refused at once
//! in read-only mode and on a row without a workload.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Effect};

/// The `R`/`S` question's keys: text until Enter or Esc.
pub fn prompt_key(key: KeyEvent, ctrl: bool) -> Option<Action> {
    match key.code {
        KeyCode::Esc => Some(Action::PromptCancel),
        KeyCode::Enter => Some(Action::PromptSubmit),
        KeyCode::Backspace => Some(Action::PromptBackspace),
        KeyCode::Char(c) if !ctrl => Some(Action::PromptInput(c)),
        _ => None,
    }
}
use crate::change::{Change, ChangeError, Workload};

/// Replica counts above this are a typo, not a wish (five digits are accepted as typed).
const MAX_DIGITS: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Restart,
    /// The count typed so far, and the workload's current one.
    Scale {
        typed: String,
        current: i32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub workload: Workload,
    pub kind: PromptKind,
}

impl Prompt {
    /// The question, as the footer shows it (the typed count follows it).
    pub fn question(&self) -> String {
        let name = &self.workload.name;
        match &self.kind {
            PromptKind::Restart => {
                format!("restart {name}? (rolling, pods replaced one by one) y/N ")
            }
            PromptKind::Scale { current, .. } => format!("scale {name} to (now {current}): "),
        }
    }

    pub fn typed(&self) -> &str {
        match &self.kind {
            PromptKind::Restart => "",
            PromptKind::Scale { typed, .. } => typed,
        }
    }
}

impl App {
    /// `R` or `S` on the selected row: the prompt, or one line saying why not.
    pub(super) fn open_change_prompt(&mut self, scale: bool) -> bool {
        let word = if scale { "scale" } else { "restart" };
        if self.read_only {
            return self.flash(ChangeError::ReadOnly(word).to_string());
        }
        let Some(m) = self.selected() else {
            return false;
        };
        let Some(kind) = m.workload_kind else {
            let text = format!("{} has no Deployment or StatefulSet to {word}", m.name);
            return self.flash(text);
        };
        let workload = Workload {
            kind,
            namespace: m.namespace.clone(),
            name: m.name.clone(),
        };
        let kind = if scale {
            PromptKind::Scale {
                typed: String::new(),
                current: m.desired,
            }
        } else {
            PromptKind::Restart
        };
        self.prompt = Some(Prompt { workload, kind });
        true
    }

    /// A key typed at the prompt: `y` answers a restart (anything else is no); digits make
    /// the count.
    pub(super) fn prompt_input(&mut self, c: char) -> bool {
        let Some(prompt) = &mut self.prompt else {
            return false;
        };
        match &mut prompt.kind {
            PromptKind::Restart if matches!(c, 'y' | 'Y') => self.prompt_submit(),
            PromptKind::Restart => self.prompt_cancel(),
            PromptKind::Scale { typed, .. } => {
                if c.is_ascii_digit() && typed.len() < MAX_DIGITS {
                    typed.push(c);
                }
                true
            }
        }
    }

    pub(super) fn prompt_backspace(&mut self) -> bool {
        if let Some(Prompt {
            kind: PromptKind::Scale { typed, .. },
            ..
        }) = &mut self.prompt
        {
            typed.pop();
        }
        true
    }

    pub(super) fn prompt_submit(&mut self) -> bool {
        let Some(prompt) = self.prompt.take() else {
            return false;
        };
        let change = match &prompt.kind {
            PromptKind::Restart => Change::Restart,
            PromptKind::Scale { typed, .. } => match typed.parse() {
                Ok(n) => Change::Scale(n),
                Err(_) => {
                    // Nothing typed: ask again rather than guess.
                    self.prompt = Some(prompt);
                    return true;
                }
            },
        };
        self.effects.push(Effect::Change(prompt.workload, change));
        true
    }

    pub(super) fn prompt_cancel(&mut self) -> bool {
        self.prompt = None;
        true
    }
}
