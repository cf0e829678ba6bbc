//! `s`: a shell in the selected microservice's pod. The event loop checks access and lists
//! the running pods; with several, the person picks one here (`j`/`k`, Enter, Esc); the pod's
//! default container is used, as kubectl picks it. Refused at once in read-only mode.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Effect};

/// The pod picker's keys.
pub fn picker_key(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => Some(Action::PickerCancel),
        KeyCode::Enter => Some(Action::PickerSubmit),
        KeyCode::Up | KeyCode::Char('k') | KeyCode::BackTab => Some(Action::PickerMove(-1)),
        KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => Some(Action::PickerMove(1)),
        _ => None,
    }
}
use crate::change::ChangeError;

/// The microservice to open a shell in, and the pod once one is picked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellRequest {
    pub namespace: String,
    pub name: String,
    pub pod: Option<String>,
}

/// The list of pods to pick from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodPicker {
    pub request: ShellRequest,
    pub pods: Vec<String>,
    pub selected: usize,
}

impl App {
    /// `s` on the selected row.
    pub(super) fn open_shell(&mut self) -> bool {
        if self.read_only {
            return self.flash(ChangeError::ReadOnly("shell").to_string());
        }
        let Some(m) = self.selected() else {
            return false;
        };
        let request = ShellRequest {
            namespace: m.namespace.clone(),
            name: m.name.clone(),
            pod: None,
        };
        let text = format!("opening a shell in {}…", m.name);
        self.effects.push(Effect::Shell(request));
        self.flash(text)
    }

    /// Several pods run: the person picks one.
    pub(super) fn pick_pod(&mut self, request: ShellRequest, pods: Vec<String>) -> bool {
        self.flash = None;
        self.pod_picker = Some(PodPicker {
            request,
            pods,
            selected: 0,
        });
        true
    }

    pub(super) fn picker_move(&mut self, delta: isize) -> bool {
        let Some(picker) = &mut self.pod_picker else {
            return false;
        };
        let last = picker.pods.len().saturating_sub(1) as isize;
        picker.selected = (picker.selected as isize + delta).clamp(0, last) as usize;
        true
    }

    pub(super) fn picker_submit(&mut self) -> bool {
        let Some(picker) = self.pod_picker.take() else {
            return false;
        };
        let Some(pod) = picker.pods.get(picker.selected).cloned() else {
            return true;
        };
        let text = format!("opening a shell in {pod}…");
        self.effects.push(Effect::Shell(ShellRequest {
            pod: Some(pod),
            ..picker.request
        }));
        self.flash(text)
    }

    pub(super) fn picker_cancel(&mut self) -> bool {
        self.pod_picker.take().is_some()
    }
}
