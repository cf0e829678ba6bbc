//! Keys become actions (vim and k9s habits). What a key means depends on the mode: while the
//! filter is being typed, letters are text; while help is open, only closing keys act.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{Action, App};

pub fn action_for(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    if app.help_open {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {
                Some(Action::ToggleHelp)
            }
            _ => None,
        };
    }
    if let Some(pane) = &app.request_log {
        return super::requests::key(pane, key, ctrl);
    }
    if app.logs.is_some() {
        return super::verbs::logs_key(key);
    }
    if app.detail.is_some() && app.prompt.is_none() && app.pod_picker.is_none() {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('d') => Some(Action::CloseDetail),
            KeyCode::Up | KeyCode::Char('k') => Some(Action::DetailScroll(-1)),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::DetailScroll(1)),
            KeyCode::PageUp => Some(Action::DetailScroll(-10)),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Action::DetailScroll(10)),
            KeyCode::Char('f') => Some(Action::ToggleForward),
            KeyCode::Char('s') => Some(Action::Shell),
            KeyCode::Char('R') => Some(Action::Restart),
            KeyCode::Char('S') => Some(Action::Scale),
            KeyCode::Char('l') => Some(Action::Logs(super::LogsAction::Open)),
            KeyCode::Char('?') => Some(Action::ToggleHelp),
            _ => None,
        };
    }
    if app.copy_menu.is_some() {
        return super::copy_menu::key(key);
    }
    if app.forwards_view.is_some() {
        return super::forwards_view::key(key);
    }
    if app.context_picker.is_some() {
        return super::contexts::picker_key(key, ctrl);
    }
    if app.command.is_some() {
        return super::contexts::command_key(key, ctrl);
    }
    if app.pod_picker.is_some() {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('q') => Some(Action::PickerCancel),
            KeyCode::Enter => Some(Action::PickerSubmit),
            KeyCode::Up | KeyCode::Char('k') | KeyCode::BackTab => Some(Action::PickerMove(-1)),
            KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => Some(Action::PickerMove(1)),
            _ => None,
        };
    }
    if app.prompt.is_some() {
        return match key.code {
            KeyCode::Esc => Some(Action::PromptCancel),
            KeyCode::Enter => Some(Action::PromptSubmit),
            KeyCode::Backspace => Some(Action::PromptBackspace),
            KeyCode::Char(c) if !ctrl => Some(Action::PromptInput(c)),
            _ => None,
        };
    }
    if app.dialog.is_some() {
        return match key.code {
            KeyCode::Esc => Some(Action::DialogCancel),
            KeyCode::Enter => Some(Action::DialogSubmit),
            KeyCode::Tab | KeyCode::Down => Some(Action::DialogMove(1)),
            KeyCode::BackTab | KeyCode::Up => Some(Action::DialogMove(-1)),
            KeyCode::Backspace => Some(Action::DialogBackspace),
            KeyCode::Char(c) if !ctrl => Some(Action::DialogInput(c)),
            _ => None,
        };
    }
    if app.filter.editing {
        return match key.code {
            KeyCode::Esc => Some(Action::ClearFilter),
            KeyCode::Enter => Some(Action::FinishFilter),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Up => Some(Action::Move(-1)),
            KeyCode::Down => Some(Action::Move(1)),
            KeyCode::Char(c) if !ctrl => Some(Action::FilterInput(c)),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Move(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Move(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::PageDown => Action::Page(1),
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Tab | KeyCode::BackTab => Action::SwitchTable,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char('f') | KeyCode::Enter => Action::ToggleForward,
        KeyCode::Char('F') => Action::OpenForwardDialog,
        KeyCode::Char('a') => Action::CycleGateway,
        KeyCode::Char('r') => Action::ToggleRequestLog,
        KeyCode::Char('l') => Action::Logs(super::LogsAction::Open),
        KeyCode::Char('o') => Action::OpenExternal,
        KeyCode::Char('y') => Action::CopyInternal,
        KeyCode::Char('Y') => Action::OpenCopyMenu,
        KeyCode::Char('C') => Action::OpenContextPicker,
        KeyCode::Char('p') => Action::OpenForwardsView,
        KeyCode::Char(':') => Action::StartCommand,
        KeyCode::Char('s') => Action::Shell,
        KeyCode::Char('d') => Action::OpenDetail,
        KeyCode::Char('R') => Action::Restart,
        KeyCode::Char('S') => Action::Scale,
        KeyCode::Esc if !app.filter.text.is_empty() => Action::ClearFilter,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}

/// The help screen: only what works today.
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  k j", "move"),
    ("g G  Home End", "first / last row"),
    ("PgUp PgDn", "page up / down"),
    ("Tab  Shift-Tab", "switch between the two tables"),
    (
        "/",
        "filter rows by name as you type; Enter keeps it, Esc clears",
    ),
    (
        "f  Enter",
        "start or stop the forward of the selected microservice",
    ),
    (
        "F",
        "forward dialog: local port, remote port, address, gateway role",
    ),
    (
        "a",
        "gateway headers on a forwarded HTTP row: off / anonymous / admin",
    ),
    (
        "r",
        "request log (gateway mode): Enter inspect, p replay, P as role, = compare, y curl",
    ),
    (
        "l",
        "logs of all its pods, following; j k PgUp PgDn g G scroll, c container, Esc back",
    ),
    ("o", "open its external URL in the browser"),
    (
        "y  Y",
        "copy its internal URL (OSC 52, over ssh too); Y: URLs, curl, psql, .env menu",
    ),
    (
        "d",
        "detail: workload, pods, events, routes, ports, forward traffic; Esc back",
    ),
    (
        "s",
        "shell in its pod (/bin/bash, else /bin/sh); exit comes back here",
    ),
    (
        "R",
        "restart: pods replaced one by one (kubectl rollout restart), after y",
    ),
    ("S", "scale: type the replica count, Enter"),
    (
        "p",
        "every forward of every cluster: address, traffic; x stops one",
    ),
    (
        "C  :ctx",
        "clusters: the kubeconfig's contexts, the project's aliases first; type to filter, Enter",
    ),
    ("?", "this help; Esc closes"),
    ("q  Ctrl-C", "quit"),
];
