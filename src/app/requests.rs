//! The request log pane (`r`): the last requests of one forward in gateway mode, newest first.
//! The entries are a copy the event loop refreshes while the pane is open. `Enter` inspects one,
//! `p` replays it as it went out, `P` as another role and user id, `=` compares a request with
//! its replay, `y` copies it as a `curl` command.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Effect};
use crate::forward::{ForwardKey, GatewayIdentity, RequestEntry};

/// Keys while the pane is open.
pub fn key(pane: &RequestLogPane, key: KeyEvent, ctrl: bool) -> Option<Action> {
    use RequestsAction as A;
    if pane.asking.is_some() {
        let action = match key.code {
            KeyCode::Esc => A::Cancel,
            KeyCode::Enter => A::Submit,
            KeyCode::Backspace => A::Backspace,
            KeyCode::Char(c) if !ctrl => A::Input(c),
            _ => return None,
        };
        return Some(Action::RequestLog(action));
    }
    let listing = pane.view == RequestView::List;
    let action = match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('r') if listing => {
            return Some(Action::ToggleRequestLog);
        }
        KeyCode::Esc | KeyCode::Char('q') => A::Back,
        KeyCode::Up | KeyCode::Char('k') => A::Scroll(-1),
        KeyCode::Down | KeyCode::Char('j') => A::Scroll(1),
        KeyCode::PageUp => A::Scroll(-10),
        KeyCode::PageDown | KeyCode::Char(' ') => A::Scroll(10),
        KeyCode::Home | KeyCode::Char('g') if listing => A::Top,
        KeyCode::End | KeyCode::Char('G') if listing => A::Bottom,
        KeyCode::Enter if listing => A::Inspect,
        KeyCode::Char('p') => A::Replay,
        KeyCode::Char('P') => A::AskIdentity,
        KeyCode::Char('=') => A::Compare,
        KeyCode::Char('y') => A::CopyCurl,
        KeyCode::Char('?') => return Some(Action::ToggleHelp),
        _ => return None,
    };
    Some(Action::RequestLog(action))
}

/// What the pane shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestView {
    List,
    /// One request, scrolled down `scroll` lines.
    Inspect {
        seq: u64,
        scroll: usize,
    },
    /// A request and its replay.
    Compare {
        left: u64,
        right: u64,
        scroll: usize,
    },
}

/// The pane's own keys, once `keys` has read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestsAction {
    Move(isize),
    Top,
    Bottom,
    /// `Enter`: inspect the selected request.
    Inspect,
    /// `Esc` in the inspector or the comparison: back to the list.
    Back,
    Scroll(isize),
    /// `p`: send it again as it went out.
    Replay,
    /// `P`: ask for a role and user id first.
    AskIdentity,
    Input(char),
    Backspace,
    Submit,
    Cancel,
    /// `=`: the request and its replay side by side.
    Compare,
    /// `y`: copy it as a `curl` command.
    CopyCurl,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLogPane {
    pub key: ForwardKey,
    /// Oldest first, as the forward keeps them.
    pub entries: Vec<RequestEntry>,
    /// The forward's request count when `entries` was copied, to skip copies that change nothing.
    pub seen: u64,
    /// The request the cursor is on; the newest while `None` (new requests keep it on top).
    pub selected: Option<u64>,
    pub view: RequestView,
    /// `P`'s question, while it is asked: `role user-id` as typed so far.
    pub asking: Option<String>,
    /// The request `P` was pressed on: the one replayed, however many arrive meanwhile.
    pub asking_for: Option<u64>,
}

impl RequestLogPane {
    pub fn new(key: ForwardKey) -> Self {
        RequestLogPane {
            key,
            entries: Vec::new(),
            seen: 0,
            selected: None,
            view: RequestView::List,
            asking: None,
            asking_for: None,
        }
    }

    /// `data.hasura`
    pub fn label(&self) -> String {
        self.key.to_string()
    }

    pub fn entry(&self, seq: u64) -> Option<&RequestEntry> {
        self.entries.iter().find(|e| e.seq == seq)
    }

    /// The selected row's index, newest first (0 when the selected request is gone).
    pub fn selected_row(&self) -> usize {
        self.selected
            .and_then(|seq| self.entries.iter().rev().position(|e| e.seq == seq))
            .unwrap_or(0)
    }

    /// The request the keys act on: the inspected one, else the selected row's.
    pub fn current(&self) -> Option<&RequestEntry> {
        match self.view {
            RequestView::Inspect { seq, .. } => self.entry(seq),
            RequestView::Compare { left, .. } => self.entry(left),
            RequestView::List => self.entries.iter().rev().nth(self.selected_row()),
        }
    }

    fn move_by(&mut self, delta: isize) {
        let last = self.entries.len().saturating_sub(1) as isize;
        let row = (self.selected_row() as isize + delta).clamp(0, last.max(0)) as usize;
        self.selected = match row {
            0 => None,
            row => self.entries.iter().rev().nth(row).map(|e| e.seq),
        };
    }

    /// Keeps the cursor on `seq` while new requests (its replay) arrive on top, in the list.
    fn pin(&mut self, seq: u64) {
        if self.view == RequestView::List {
            self.selected = Some(seq);
        }
    }

    /// The pair `=` compares for `entry`: it and its newest replay, or its original and it.
    fn pair(&self, entry: &RequestEntry) -> Option<(u64, u64)> {
        if let Some(of) = entry.replay_of {
            return Some((of, entry.seq));
        }
        self.entries
            .iter()
            .rev()
            .find(|e| e.replay_of == Some(entry.seq))
            .map(|replay| (entry.seq, replay.seq))
    }
}

impl App {
    pub(super) fn update_requests(&mut self, action: RequestsAction) -> bool {
        let last_identity = self.replay_identity.clone();
        let Some(pane) = &mut self.request_log else {
            return false;
        };
        if pane.asking.is_some() {
            return self.answer_identity(action);
        }
        match action {
            RequestsAction::Move(delta) => pane.move_by(delta),
            RequestsAction::Top => pane.selected = None,
            RequestsAction::Bottom => pane.selected = pane.entries.first().map(|e| e.seq),
            RequestsAction::Inspect => {
                if let Some(seq) = pane.current().map(|e| e.seq) {
                    pane.view = RequestView::Inspect { seq, scroll: 0 };
                }
            }
            RequestsAction::Back => pane.view = RequestView::List,
            RequestsAction::Scroll(delta) => match &mut pane.view {
                RequestView::Inspect { scroll, .. } | RequestView::Compare { scroll, .. } => {
                    *scroll = scroll.saturating_add_signed(delta);
                }
                RequestView::List => pane.move_by(delta),
            },
            RequestsAction::Replay => {
                let Some(seq) = pane.current().map(|e| e.seq) else {
                    return false;
                };
                pane.pin(seq);
                self.effects
                    .push(Effect::Replay(pane.key.clone(), seq, None));
            }
            RequestsAction::AskIdentity => {
                let Some(seq) = pane.current().map(|e| e.seq) else {
                    return false;
                };
                pane.pin(seq);
                pane.asking_for = Some(seq);
                pane.asking = Some(
                    last_identity
                        .map(|id| format!("{} {}", id.role, id.user_id))
                        .unwrap_or_default(),
                );
            }
            RequestsAction::Compare => {
                let Some(entry) = pane.current() else {
                    return false;
                };
                match pane.pair(entry) {
                    Some((left, right)) => {
                        pane.view = RequestView::Compare {
                            left,
                            right,
                            scroll: 0,
                        }
                    }
                    None => {
                        let text =
                            format!("#{} has no replay yet: p or P sends it again", entry.seq);
                        return self.flash(text);
                    }
                }
            }
            RequestsAction::CopyCurl => {
                let Some(entry) = pane.current() else {
                    return false;
                };
                let local = self.forwards.get(&pane.key).and_then(|f| f.status.local);
                let Some(local) = local else {
                    let text = format!("{} has no local port now", pane.label());
                    return self.flash(text);
                };
                let text = match crate::copy_as::curl(entry, local) {
                    Ok(command) => {
                        let seq = entry.seq;
                        self.effects.push(Effect::Copy(command));
                        format!("copied #{seq} as a curl command")
                    }
                    Err(why) => why,
                };
                return self.flash(text);
            }
            RequestsAction::Input(_)
            | RequestsAction::Backspace
            | RequestsAction::Submit
            | RequestsAction::Cancel => return false,
        }
        true
    }

    /// Keys while `P` asks `role user-id`.
    fn answer_identity(&mut self, action: RequestsAction) -> bool {
        let Some(pane) = &mut self.request_log else {
            return false;
        };
        let Some(typed) = &mut pane.asking else {
            return false;
        };
        match action {
            RequestsAction::Input(c) if typed.len() < 130 => typed.push(c),
            RequestsAction::Backspace => {
                typed.pop();
            }
            RequestsAction::Cancel => pane.asking = None,
            RequestsAction::Submit => {
                let mut words = typed.split_whitespace();
                let (role, user) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let identity = match GatewayIdentity::parse(role, user) {
                    Ok(identity) => identity,
                    Err(e) => return self.flash(e),
                };
                let Some(seq) = pane.asking_for else {
                    return false;
                };
                pane.asking = None;
                if pane.entry(seq).is_none() {
                    let text = format!("#{seq} is no longer kept (the log keeps the last 200)");
                    return self.flash(text);
                }
                self.effects.push(Effect::Replay(
                    pane.key.clone(),
                    seq,
                    Some(identity.clone()),
                ));
                self.replay_identity = Some(identity);
            }
            _ => return false,
        }
        true
    }
}
