//! The dashboard's state and `update`: keys become actions, and only `update` changes state.
//! Rendering reads `&App`; nothing here does I/O, so all of it is testable without a terminal.

mod action;
mod changes;
pub mod contexts;
pub mod copy_menu;
pub mod detail_pane;
pub mod dialog;
pub mod forwards_view;
pub mod keys;
pub mod layout;
pub mod logs_pane;
pub mod requests;
pub mod selection;
mod shell;
mod switch;
mod tables;
pub mod verbs;
pub mod widths;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::auth::SignIn;
use crate::cluster::{Snapshot, WatchState};
use crate::forward::{ForwardKey, ForwardSpec, ForwardView, GatewayIdentity};
use crate::model::{Microservice, PerSection, Section};

pub use action::{Action, Effect};
pub use changes::{Prompt, PromptKind};
pub use copy_menu::CopyMenu;
pub use detail_pane::DetailPane;
pub use dialog::ForwardDialog;
pub use logs_pane::LogsPane;
pub use requests::{RequestLogPane, RequestView, RequestsAction};
pub use selection::Selection;
pub use shell::{PodPicker, ShellRequest};
pub use switch::SwitchedCluster;
pub use tables::{Filter, TableView};
pub use verbs::{Flash, LogsAction};
pub use widths::ColumnWidths;

/// What the header says about where we are connected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    pub context: String,
    /// The Hasura project's alias for this context (`dev`), when it has one.
    pub alias: Option<String>,
    pub server: String,
    /// The user namespace and why, when it is not simply `default` (`apps (the context's)`).
    pub user_namespace: Option<String>,
}

pub struct App {
    pub connection: Connection,
    pub snapshot: Arc<Snapshot>,
    pub focus: Section,
    pub selections: PerSection<Selection>,
    /// Recomputed when rows or the filter change, so drawing touches only the visible rows.
    pub views: PerSection<TableView>,
    pub filter: Filter,
    pub help_open: bool,
    /// The help's first line shown (it scrolls on a short terminal).
    pub help_scroll: usize,
    pub dialog: Option<ForwardDialog>,
    pub request_log: Option<RequestLogPane>,
    /// Every forward's last reported state, by microservice.
    pub forwards: BTreeMap<ForwardKey, ForwardView>,
    /// Requests for the event loop, drained after each update.
    pub effects: Vec<Effect>,
    pub should_quit: bool,
    /// Terminal size, for paging and scrolling.
    pub size: (u16, u16),
    /// "Now" for ages on screen; set by the event loop, fixed in tests.
    pub now: Instant,
    /// An `Instant` and the wall-clock time it was, to turn `now` into a time of day for ages
    /// of API timestamps (fixed with `now` in tests).
    pub wall_clock: (Instant, k8s_openapi::jiff::Timestamp),
    pub color: bool,
    /// The logs pane, when open (it replaces the tables).
    pub logs: Option<LogsPane>,
    /// Counts logs panes opened, so lines of a closed one are told apart.
    pub logs_session: u64,
    /// The footer's transient message.
    pub flash: Option<Flash>,
    /// Lasting warnings the header shows (e.g. a saved forward refused at start-up).
    pub warnings: Vec<String>,
    /// How signing in to the cluster stands (exec plugins).
    pub sign_in: SignIn,
    /// The `R`/`S` prompt, while it is open.
    pub prompt: Option<Prompt>,
    /// `--read-only`: `s`, `R` and `S` are refused.
    pub read_only: bool,
    /// The `s` pod list, when the microservice runs several pods.
    pub pod_picker: Option<PodPicker>,
    /// The `d` detail view, when open (it replaces the tables).
    pub detail: Option<DetailPane>,
    /// The identity `P` last replayed a request as, offered first next time.
    pub replay_identity: Option<GatewayIdentity>,
    /// The `Y` menu, while it is open.
    pub copy_menu: Option<CopyMenu>,
    /// The clusters the picker offers (the kubeconfig's contexts, the project's aliases first).
    pub contexts: Vec<crate::config::contexts::ContextChoice>,
    /// The `C` / `:ctx` picker, while it is open.
    pub context_picker: Option<contexts::ContextPicker>,
    /// The `:` command line, while it is typed.
    pub command: Option<String>,
    /// The `p` forwards view's selected row, while it is open.
    pub forwards_view: Option<usize>,
    /// The forwards of clusters not on screen, copied while the `p` view is open.
    pub away_forwards: Vec<forwards_view::AwayForward>,
    /// The views of the clusters left, by context, as they were left (see `switch`).
    pub away_views: BTreeMap<String, Box<App>>,
}

impl App {
    pub fn new(
        connection: Connection,
        snapshot: Arc<Snapshot>,
        size: (u16, u16),
        now: Instant,
    ) -> App {
        let mut app = App {
            connection,
            snapshot,
            focus: Section::Custom,
            selections: PerSection::default(),
            views: PerSection::default(),
            filter: Filter::default(),
            help_open: false,
            help_scroll: 0,
            dialog: None,
            request_log: None,
            forwards: BTreeMap::new(),
            effects: Vec::new(),
            should_quit: false,
            size,
            now,
            wall_clock: (now, k8s_openapi::jiff::Timestamp::now()),
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            logs: None,
            logs_session: 0,
            flash: None,
            warnings: Vec::new(),
            sign_in: SignIn::NotYet,
            prompt: None,
            read_only: false,
            pod_picker: None,
            detail: None,
            replay_identity: None,
            copy_menu: None,
            contexts: Vec::new(),
            context_picker: None,
            command: None,
            forwards_view: None,
            away_forwards: Vec::new(),
            away_views: BTreeMap::new(),
        };
        app.refresh_views();
        app
    }

    /// The forward of a microservice, if any.
    pub fn forward_of(&self, m: &Microservice) -> Option<&ForwardView> {
        self.forwards.get(&ForwardKey::new(&m.namespace, &m.name))
    }

    /// `now` as a time of day.
    pub fn wall_now(&self) -> k8s_openapi::jiff::Timestamp {
        let (at, wall) = self.wall_clock;
        let since = self.now.saturating_duration_since(at);
        k8s_openapi::jiff::SignedDuration::try_from(since)
            .ok()
            .and_then(|d| wall.checked_add(d).ok())
            .unwrap_or(wall)
    }

    /// Whether any table waits on a reconnect (its counter needs a tick a second).
    pub fn needs_ticks(&self) -> bool {
        self.snapshot
            .sections
            .iter()
            .any(|s| matches!(s.state, WatchState::Reconnecting { .. }))
            || self.flash.is_some()
            || self.forwards_view.is_some()
            || self.detail.as_ref().is_some_and(|d| {
                self.forwards
                    .contains_key(&ForwardKey::new(&d.namespace, &d.name))
            })
    }

    /// Applies an action. Returns whether the screen must be redrawn.
    pub fn update(&mut self, action: Action) -> bool {
        match action {
            Action::Move(delta) => self.move_selection(delta),
            Action::Page(pages) => {
                let step = self.viewport(self.focus).max(1) as isize;
                self.move_selection(pages * step);
            }
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::SwitchTable => {
                self.focus = self.focus.other();
            }
            Action::StartFilter => self.filter.editing = true,
            Action::FilterInput(c) => {
                self.filter.text.push(c);
                self.refresh_views();
            }
            Action::FilterBackspace => {
                self.filter.text.pop();
                self.refresh_views();
            }
            Action::FinishFilter => self.filter.editing = false,
            Action::ClearFilter => {
                self.filter = Filter::default();
                self.refresh_views();
            }
            Action::ToggleHelp => {
                self.help_open = !self.help_open;
                self.help_scroll = 0;
            }
            Action::HelpScroll(delta) => {
                let last = keys::help_scroll_limit(self.size.1);
                let scroll = self.help_scroll.saturating_add_signed(delta).min(last);
                if scroll == self.help_scroll {
                    return false;
                }
                self.help_scroll = scroll;
            }
            Action::Quit => self.should_quit = true,
            Action::Clock(now) => {
                self.now = now;
                return false;
            }
            Action::SwitchedCluster(to) => return self.switch_cluster(*to),
            Action::Resize(width, height) => {
                self.size = (width, height);
                self.resolve_selections();
            }
            Action::Snapshot(snapshot) => self.take_snapshot(snapshot),
            Action::Tick(now) => {
                self.now = now;
                let flash_gone = self.tick_flash();
                self.sample_traffic();
                return flash_gone || self.needs_ticks();
            }
            Action::ToggleForward => {
                let Some(m) = self.selected() else {
                    return false;
                };
                if let crate::model::Status::ExternalName(target) = &m.status {
                    let text = format!(
                        "{}.{} is an ExternalName Service for {target}: a name outside the cluster, nothing to forward to",
                        m.name, m.namespace
                    );
                    return self.flash(text);
                }
                self.effects.push(Effect::ToggleForward(ForwardSpec::new(
                    &m.namespace,
                    &m.name,
                )));
            }
            Action::OpenForwardDialog => {
                let Some(m) = self.selected() else {
                    return false;
                };
                self.dialog = Some(ForwardDialog::for_microservice(m));
            }
            Action::DialogInput(c) => self.dialog.iter_mut().for_each(|d| d.input(c)),
            Action::DialogBackspace => self.dialog.iter_mut().for_each(ForwardDialog::backspace),
            Action::DialogMove(delta) => self.dialog.iter_mut().for_each(|d| d.move_focus(delta)),
            Action::DialogSubmit => {
                let Some(dialog) = &mut self.dialog else {
                    return false;
                };
                match dialog.spec() {
                    Ok(spec) => {
                        self.effects.push(Effect::StartForward(spec));
                        self.dialog = None;
                    }
                    Err(e) => dialog.error = Some(e),
                }
            }
            Action::DialogCancel => self.dialog = None,
            Action::Forwards(forwards) => {
                if forwards == self.forwards {
                    return false;
                }
                self.forwards = forwards;
            }
            Action::CycleGateway => self.cycle_gateway(),
            Action::ToggleRequestLog => {
                if self.request_log.take().is_none() {
                    self.open_request_log();
                }
            }
            Action::Requests(entries, seen) => {
                let Some(pane) = &mut self.request_log else {
                    return false;
                };
                pane.entries = entries;
                pane.seen = seen;
            }
            Action::RequestLog(action) => return self.update_requests(action),
            Action::OpenCopyMenu => return self.open_copy_menu(),
            Action::OpenContextPicker => return self.open_context_picker(),
            Action::ContextPicker(key) => return self.update_context_picker(key),
            Action::StartCommand => self.command = Some(String::new()),
            Action::OpenForwardsView => self.forwards_view = Some(0),
            Action::ForwardsView(key) => return self.update_forwards_view(key),
            Action::AwayForwards(forwards) => {
                if forwards == self.away_forwards {
                    return false;
                }
                self.away_forwards = forwards;
            }
            Action::Command(key) => return self.update_command(key),
            Action::CopyMenu(action) => return self.update_copy_menu(action),
            Action::Logs(action) => return self.update_logs(action),
            Action::OpenExternal => return self.open_external(),
            Action::CopyInternal => return self.copy_internal(),
            Action::Notify(text) => return self.flash(text),
            Action::Restart => return self.open_change_prompt(false),
            Action::Scale => return self.open_change_prompt(true),
            Action::PromptInput(c) => return self.prompt_input(c),
            Action::PromptBackspace => return self.prompt_backspace(),
            Action::PromptSubmit => return self.prompt_submit(),
            Action::PromptCancel => return self.prompt_cancel(),
            Action::Shell => return self.open_shell(),
            Action::OpenDetail => return self.open_detail(),
            Action::CloseDetail => return self.close_detail(),
            Action::Detail(detail) => return self.take_detail(*detail),
            Action::DetailScroll(delta) => return self.scroll_detail(delta),
            Action::PickPod(request, pods) => return self.pick_pod(request, pods),
            Action::PickerMove(delta) => return self.picker_move(delta),
            Action::PickerSubmit => return self.picker_submit(),
            Action::PickerCancel => return self.picker_cancel(),
            Action::Warn(text) => self.warnings.push(text),
            Action::SignIn(state) => {
                if state == self.sign_in {
                    return false;
                }
                self.sign_in = state;
            }
        }
        true
    }

    /// The selected row's forward, or a footer message saying there is none.
    fn selected_forward(&mut self) -> Option<(ForwardKey, ForwardView)> {
        let m = self.selected()?;
        let key = ForwardKey::new(&m.namespace, &m.name);
        match self.forwards.get(&key) {
            Some(view) => Some((key, view.clone())),
            None => {
                self.flash(format!("{} is not forwarded: press f first", key.name));
                None
            }
        }
    }

    fn cycle_gateway(&mut self) {
        let Some((key, view)) = self.selected_forward() else {
            return;
        };
        match view.status.http {
            Some(true) => {}
            Some(false) => {
                self.flash(format!(
                    "{key} is not an HTTP service: gateway headers need HTTP"
                ));
                return;
            }
            // Not known until the forward has read its Service.
            None => {
                self.flash(format!("{} is still starting: try again", key.name));
                return;
            }
        }
        let next = GatewayIdentity::cycle(view.gateway.as_ref());
        self.effects.push(Effect::SetGateway(key, next));
    }

    fn open_request_log(&mut self) {
        if let Some((key, _)) = self.selected_forward() {
            self.request_log = Some(RequestLogPane::new(key));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cluster::{Metrics, SectionView};
    use crate::model::{Status, WorkloadKind};

    fn row(section: Section, namespace: &str, name: &str) -> Arc<Microservice> {
        Arc::new(Microservice {
            name: name.into(),
            namespace: namespace.into(),
            section,
            workload_kind: Some(WorkloadKind::Deployment),
            status: Status::Running,
            ready: 1,
            desired: 1,
            internal_url: Some(format!("{name}.{namespace}")),
            external_url: None,
            external_source: None,
            usage: None,
            ports: Vec::new(),
            created: None,
            selector: Default::default(),
        })
    }

    /// An app on a synced snapshot of two rows: `my-app` (custom) and `data` (hasura).
    pub fn app_with_rows() -> App {
        let section = |section, namespace: &str, name| SectionView {
            section,
            namespace: namespace.into(),
            rows: Arc::new(vec![row(section, namespace, name)]),
            state: WatchState::Synced,
            stale: false,
            notes: Vec::new(),
            metrics: Metrics::Off,
        };
        let snapshot = Snapshot {
            sections: PerSection {
                custom: section(Section::Custom, "default", "my-app"),
                hasura: section(Section::Hasura, "hasura", "data"),
            },
            routes_error: None,
            routes_listed: true,
            route_sources: Default::default(),
            cluster_name: "gram29".into(),
            resource_version: 1,
            generation: 1,
        };
        App::new(
            Connection::default(),
            Arc::new(snapshot),
            (120, 30),
            Instant::now(),
        )
    }
}
