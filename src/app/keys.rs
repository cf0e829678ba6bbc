//! Keys become actions (vim and k9s habits). What a key means depends on the mode: the topmost
//! layer open on the screen. `LAYERS` is the one order of precedence: the first open layer has
//! the keys, and drawing (`ui::draw`) goes through the same list bottom-up. The table's keys and
//! the detail view's are tables of `Binding`s that key handling and the `?` help both read.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{Action, App, LogsAction};

/// What can be open on the screen, top first: the first one open has the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Help,
    RequestLog,
    Logs,
    CopyMenu,
    ForwardsView,
    ContextPicker,
    /// The `:` command line, in the footer.
    Command,
    /// Comes when the pods are listed, after `s`: a popup opened meanwhile keeps the keys.
    PodPicker,
    /// The `R`/`S` question, in the footer.
    Prompt,
    Detail,
    Dialog,
    /// The `/` filter while it is typed, in the footer.
    Filter,
}

/// The order of precedence, top first.
pub const LAYERS: [Layer; 12] = [
    Layer::Help,
    Layer::RequestLog,
    Layer::Logs,
    Layer::CopyMenu,
    Layer::ForwardsView,
    Layer::ContextPicker,
    Layer::Command,
    Layer::PodPicker,
    Layer::Prompt,
    Layer::Detail,
    Layer::Dialog,
    Layer::Filter,
];

/// Who has the keys: the topmost open layer, or the tables under everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Layer(Layer),
    Tables,
}

impl App {
    pub fn is_open(&self, layer: Layer) -> bool {
        match layer {
            Layer::Help => self.help_open,
            Layer::RequestLog => self.request_log.is_some(),
            Layer::Logs => self.logs.is_some(),
            Layer::PodPicker => self.pod_picker.is_some(),
            Layer::Prompt => self.prompt.is_some(),
            Layer::Detail => self.detail.is_some(),
            Layer::CopyMenu => self.copy_menu.is_some(),
            Layer::ForwardsView => self.forwards_view.is_some(),
            Layer::ContextPicker => self.context_picker.is_some(),
            Layer::Command => self.command.is_some(),
            Layer::Dialog => self.dialog.is_some(),
            Layer::Filter => self.filter.editing,
        }
    }

    pub fn mode(&self) -> Mode {
        LAYERS
            .into_iter()
            .find(|&layer| self.is_open(layer))
            .map_or(Mode::Tables, Mode::Layer)
    }

    /// The full-screen pane on top (logs over the detail view), if any: the tables are the
    /// base otherwise.
    pub fn base_pane(&self) -> Option<Layer> {
        [Layer::Logs, Layer::Detail]
            .into_iter()
            .find(|&pane| self.is_open(pane))
    }

    /// The open layers that cover the base pane, bottom first: the order they are drawn in.
    /// A layer below the base in precedence is not drawn over it (it has no keys there).
    pub fn open_layers(&self) -> impl Iterator<Item = Layer> + '_ {
        let above = LAYERS
            .iter()
            .position(|&l| Some(l) == self.base_pane())
            .unwrap_or(LAYERS.len());
        LAYERS[..above]
            .iter()
            .rev()
            .copied()
            .filter(|&layer| self.is_open(layer))
    }
}

/// What one key does in a mode (`None`: nothing, here and now).
pub type Act = fn(&App) -> Option<Action>;

/// One line of help and the keys it describes.
pub struct Binding {
    /// How help writes the keys.
    pub label: &'static str,
    pub help: &'static str,
    /// Each key and what it does (a line may describe keys that do different things).
    pub keys: &'static [(KeyCode, Act)],
    /// Changes the cluster or opens a shell in it: off in read-only mode, and help says so.
    pub acting: bool,
}

const fn binding(
    label: &'static str,
    help: &'static str,
    keys: &'static [(KeyCode, Act)],
) -> Binding {
    Binding {
        label,
        help,
        keys,
        acting: false,
    }
}

const fn acting(
    label: &'static str,
    help: &'static str,
    keys: &'static [(KeyCode, Act)],
) -> Binding {
    Binding {
        label,
        help,
        keys,
        acting: true,
    }
}

/// The tables' keys, in the order `?` lists them.
pub const TABLE_KEYS: &[Binding] = &[
    binding(
        "↑ ↓  k j",
        "move",
        &[
            (KeyCode::Up, |_| Some(Action::Move(-1))),
            (KeyCode::Char('k'), |_| Some(Action::Move(-1))),
            (KeyCode::Down, |_| Some(Action::Move(1))),
            (KeyCode::Char('j'), |_| Some(Action::Move(1))),
        ],
    ),
    binding(
        "g G  Home End",
        "first / last row",
        &[
            (KeyCode::Char('g'), |_| Some(Action::Top)),
            (KeyCode::Home, |_| Some(Action::Top)),
            (KeyCode::Char('G'), |_| Some(Action::Bottom)),
            (KeyCode::End, |_| Some(Action::Bottom)),
        ],
    ),
    binding(
        "PgUp PgDn",
        "page up / down",
        &[
            (KeyCode::PageUp, |_| Some(Action::Page(-1))),
            (KeyCode::PageDown, |_| Some(Action::Page(1))),
        ],
    ),
    binding(
        "Tab  Shift-Tab",
        "switch between the two tables",
        &[
            (KeyCode::Tab, |_| Some(Action::SwitchTable)),
            (KeyCode::BackTab, |_| Some(Action::SwitchTable)),
        ],
    ),
    binding(
        "/",
        "filter rows by name as you type; Enter keeps it, Esc clears",
        &[
            (KeyCode::Char('/'), |_| Some(Action::StartFilter)),
            (KeyCode::Esc, |app| {
                (!app.filter.text.is_empty()).then_some(Action::ClearFilter)
            }),
        ],
    ),
    binding(
        "f  Enter",
        "start or stop the forward of the selected microservice",
        &[
            (KeyCode::Char('f'), |_| Some(Action::ToggleForward)),
            (KeyCode::Enter, |_| Some(Action::ToggleForward)),
        ],
    ),
    binding(
        "F",
        "forward dialog: local port, remote port, address, gateway role",
        &[(KeyCode::Char('F'), |_| Some(Action::OpenForwardDialog))],
    ),
    binding(
        "a",
        "gateway headers on a forwarded HTTP row: off / anonymous / admin",
        &[(KeyCode::Char('a'), |_| Some(Action::CycleGateway))],
    ),
    binding(
        "r",
        "request log (gateway mode): Enter inspect, p replay, P as role, = compare, y curl",
        &[(KeyCode::Char('r'), |_| Some(Action::ToggleRequestLog))],
    ),
    binding(
        "l",
        "logs of all its pods, following; j k PgUp PgDn g G scroll, c container, Esc back",
        &[(KeyCode::Char('l'), |_| Some(Action::Logs(LogsAction::Open)))],
    ),
    binding(
        "o",
        "open its external URL in the browser",
        &[(KeyCode::Char('o'), |_| Some(Action::OpenExternal))],
    ),
    binding(
        "y  Y",
        "copy its internal URL (OSC 52, over ssh too); Y: URLs, curl, psql, .env menu",
        &[
            (KeyCode::Char('y'), |_| Some(Action::CopyInternal)),
            (KeyCode::Char('Y'), |_| Some(Action::OpenCopyMenu)),
        ],
    ),
    binding(
        "d",
        "detail: workload, pods, events, routes, ports, forward traffic; Esc back",
        &[(KeyCode::Char('d'), |_| Some(Action::OpenDetail))],
    ),
    acting(
        "s",
        "shell in its pod (/bin/bash, else /bin/sh); exit comes back here",
        &[(KeyCode::Char('s'), |_| Some(Action::Shell))],
    ),
    acting(
        "R",
        "restart: pods replaced one by one (kubectl rollout restart), after y",
        &[(KeyCode::Char('R'), |_| Some(Action::Restart))],
    ),
    acting(
        "S",
        "scale: type the replica count, Enter",
        &[(KeyCode::Char('S'), |_| Some(Action::Scale))],
    ),
    binding(
        "p",
        "every forward of every cluster: address, traffic; x stops one",
        &[(KeyCode::Char('p'), |_| Some(Action::OpenForwardsView))],
    ),
    binding(
        "C  :ctx",
        "clusters: the kubeconfig's contexts, the project's aliases first; type to filter, Enter",
        &[
            (KeyCode::Char('C'), |_| Some(Action::OpenContextPicker)),
            (KeyCode::Char(':'), |_| Some(Action::StartCommand)),
        ],
    ),
    binding(
        "?",
        "this help; Esc closes",
        &[(KeyCode::Char('?'), |_| Some(Action::ToggleHelp))],
    ),
    binding(
        "q  Ctrl-C",
        "quit",
        &[(KeyCode::Char('q'), |_| Some(Action::Quit))],
    ),
];

/// The detail view's keys (`d`): scrolling, and the row's verbs that make sense beside it.
pub const DETAIL_KEYS: &[Binding] = &[
    binding(
        "Esc  q  d",
        "back to the tables",
        &[
            (KeyCode::Esc, |_| Some(Action::CloseDetail)),
            (KeyCode::Char('q'), |_| Some(Action::CloseDetail)),
            (KeyCode::Char('d'), |_| Some(Action::CloseDetail)),
        ],
    ),
    binding(
        "↑ ↓  k j  PgUp PgDn Space",
        "scroll",
        &[
            (KeyCode::Up, |_| Some(Action::DetailScroll(-1))),
            (KeyCode::Char('k'), |_| Some(Action::DetailScroll(-1))),
            (KeyCode::Down, |_| Some(Action::DetailScroll(1))),
            (KeyCode::Char('j'), |_| Some(Action::DetailScroll(1))),
            (KeyCode::PageUp, |_| Some(Action::DetailScroll(-10))),
            (KeyCode::PageDown, |_| Some(Action::DetailScroll(10))),
            (KeyCode::Char(' '), |_| Some(Action::DetailScroll(10))),
        ],
    ),
    binding(
        "f",
        "start or stop its forward",
        &[(KeyCode::Char('f'), |_| Some(Action::ToggleForward))],
    ),
    binding(
        "l",
        "its logs",
        &[(KeyCode::Char('l'), |_| Some(Action::Logs(LogsAction::Open)))],
    ),
    acting(
        "s  R  S",
        "shell, restart, scale",
        &[
            (KeyCode::Char('s'), |_| Some(Action::Shell)),
            (KeyCode::Char('R'), |_| Some(Action::Restart)),
            (KeyCode::Char('S'), |_| Some(Action::Scale)),
        ],
    ),
    binding(
        "?",
        "help",
        &[(KeyCode::Char('?'), |_| Some(Action::ToggleHelp))],
    ),
];

/// Lines of help a terminal `height` rows tall shows: the popup sits inside a one-cell margin
/// and has a border.
pub fn help_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(4))
}

/// The furthest the help scrolls: its last line at the bottom of the popup.
pub fn help_scroll_limit(height: u16) -> usize {
    TABLE_KEYS.len().saturating_sub(help_rows(height))
}

/// The action a binding table gives a key, if any.
pub fn lookup(table: &[Binding], app: &App, code: KeyCode) -> Option<Action> {
    table
        .iter()
        .flat_map(|b| b.keys)
        .find(|(key, _)| *key == code)
        .and_then(|(_, act)| act(app))
}

pub fn action_for(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    let Mode::Layer(layer) = app.mode() else {
        return lookup(TABLE_KEYS, app, key.code);
    };
    match layer {
        Layer::Help => help_key(key),
        Layer::RequestLog => super::requests::key(app.request_log.as_ref()?, key, ctrl),
        Layer::Logs => super::verbs::logs_key(key),
        Layer::PodPicker => super::shell::picker_key(key),
        Layer::Prompt => super::changes::prompt_key(key, ctrl),
        Layer::Detail => lookup(DETAIL_KEYS, app, key.code),
        Layer::CopyMenu => super::copy_menu::key(key),
        Layer::ForwardsView => super::forwards_view::key(key),
        Layer::ContextPicker => super::contexts::picker_key(key, ctrl),
        Layer::Command => super::contexts::command_key(key, ctrl),
        Layer::Dialog => super::dialog::key(key, ctrl),
        Layer::Filter => super::tables::filter_key(key, ctrl),
    }
}

/// While help is open: closing keys, and scrolling when it is taller than the screen.
fn help_key(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {
            Some(Action::ToggleHelp)
        }
        KeyCode::Up | KeyCode::Char('k') => Some(Action::HelpScroll(-1)),
        KeyCode::Down | KeyCode::Char('j') => Some(Action::HelpScroll(1)),
        KeyCode::PageUp => Some(Action::HelpScroll(-10)),
        KeyCode::PageDown | KeyCode::Char(' ') => Some(Action::HelpScroll(10)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::App;

    fn press(app: &App, code: KeyCode) -> Option<Action> {
        action_for(app, KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn same(a: &Option<Action>, b: &Option<Action>) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    /// Every key a table lists does, in its mode, what the table says: nothing shadows it.
    fn check_table(app: &App, table: &[Binding]) {
        for binding in table {
            for (code, act) in binding.keys {
                let listed = act(app);
                assert!(
                    same(&press(app, *code), &listed),
                    "{code:?} ({}): pressed gives {:?}, the table says {listed:?}",
                    binding.label,
                    press(app, *code)
                );
            }
        }
    }

    #[test]
    fn every_key_of_the_tables_and_the_detail_view_does_what_its_table_says() {
        let mut app = crate::app::tests::app_with_rows();
        assert_eq!(app.mode(), Mode::Tables);
        check_table(&app, TABLE_KEYS);
        // Esc clears a filter only when there is one.
        assert!(press(&app, KeyCode::Esc).is_none());
        app.update(Action::StartFilter);
        app.update(Action::FilterInput('a'));
        app.update(Action::FinishFilter);
        assert!(matches!(
            press(&app, KeyCode::Esc),
            Some(Action::ClearFilter)
        ));
        check_table(&app, TABLE_KEYS);

        app.update(Action::OpenDetail);
        assert_eq!(app.mode(), Mode::Layer(Layer::Detail));
        check_table(&app, DETAIL_KEYS);
    }

    #[test]
    fn the_topmost_open_layer_has_the_keys_and_is_drawn_last() {
        let mut app = crate::app::tests::app_with_rows();
        app.update(Action::OpenDetail);
        app.update(Action::ToggleHelp);
        assert_eq!(app.mode(), Mode::Layer(Layer::Help));
        assert_eq!(app.base_pane(), Some(Layer::Detail));
        assert_eq!(app.open_layers().collect::<Vec<_>>(), [Layer::Help]);
        assert!(matches!(
            press(&app, KeyCode::Char('j')),
            Some(Action::HelpScroll(1))
        ));
        assert!(matches!(
            press(&app, KeyCode::Esc),
            Some(Action::ToggleHelp)
        ));
        app.update(Action::ToggleHelp);
        assert!(matches!(
            press(&app, KeyCode::Esc),
            Some(Action::CloseDetail)
        ));
    }

    #[test]
    fn ctrl_c_quits_in_every_mode() {
        let mut app = crate::app::tests::app_with_rows();
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for open in [
            Action::StartFilter,
            Action::OpenForwardDialog,
            Action::ToggleHelp,
        ] {
            app.update(open);
            assert!(matches!(action_for(&app, ctrl_c), Some(Action::Quit)));
        }
    }
}
