//! Where the dashboard's effects are carried out, all of them: forwards started, stopped and
//! switched (through the `ForwardManager`), the logs pane's follower, saving the set of
//! forwards, opening URLs and copying to the clipboard. Each reports back as an `Action`, so the
//! `App` still changes only in `update`.

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::app::{Action, Effect, LogsAction};
use crate::detail::Detail;
use crate::exec::{self, ExecTarget, Prepared};
use crate::forward::ForwardManager;
use crate::forward::persist::running_specs;
use crate::forward::saver::ForwardSaver;
use crate::logs::{self, LogEvent, LogOptions};

/// Lines the pane starts with from each pod already running.
const PANE_TAIL: i64 = 500;
/// Lines handed to `update` at once: a burst makes a few batches, not a frame per line.
const BATCH: usize = 1_000;
/// Lines in flight between the follower and the event loop; the follower waits when full.
const CHANNEL: usize = 4_096;

struct LogsJob {
    session: u64,
    rx: mpsc::Receiver<LogEvent>,
    cancel: CancellationToken,
}

/// What `Jobs::next` hands the event loop.
pub enum JobOutput {
    /// For `update`.
    Action(Action),
    /// A shell that passed its checks: the event loop gives it the terminal.
    Shell(ExecTarget),
}

pub struct Jobs {
    client: kube::Client,
    /// The kubeconfig context (for the audit log) and `--read-only`, for `change`.
    context: String,
    read_only: bool,
    /// What background work came to: restarts' and scales' notices, a shell's pod list.
    notices_tx: mpsc::UnboundedSender<Action>,
    notices: mpsc::UnboundedReceiver<Action>,
    /// Shells checked and ready for the terminal.
    shells_tx: mpsc::UnboundedSender<ExecTarget>,
    shells: mpsc::UnboundedReceiver<ExecTarget>,
    logs: Option<LogsJob>,
    /// The detail view's follower: its latest account, and how to stop it.
    detail: Option<(watch::Receiver<Detail>, CancellationToken)>,
    tables_shown: Option<watch::Sender<bool>>,
    /// Writes the set of forwards when it changes, off this task; its failures come as notices.
    saver: Option<ForwardSaver>,
}

impl Jobs {
    pub fn new(client: kube::Client, saver: Option<ForwardSaver>) -> Self {
        let (notices_tx, notices) = mpsc::unbounded_channel();
        if let Some(saver) = &saver {
            let tx = notices_tx.clone();
            saver.report_to(Box::new(move |text| {
                let _ = tx.send(Action::Notify(text));
            }));
        }
        let (shells_tx, shells) = mpsc::unbounded_channel();
        Jobs {
            client,
            context: String::new(),
            read_only: false,
            notices_tx,
            notices,
            shells_tx,
            shells,
            logs: None,
            detail: None,
            tables_shown: None,
            saver,
        }
    }

    /// Who changes the cluster (the context, in the audit log) and whether it may.
    pub fn with_actor(mut self, context: &str, read_only: bool) -> Self {
        self.context = context.to_string();
        self.read_only = read_only;
        self
    }

    /// Says to the feed whether the tables are on screen (a full-screen pane hides them), so
    /// their CPU and MEM are read only while shown.
    pub fn with_tables_shown(mut self, shown: watch::Sender<bool>) -> Self {
        self.tables_shown = Some(shown);
        self
    }

    /// Runs an effect; returns what `update` should hear of it.
    pub fn run(&mut self, effect: Effect, forwards: &mut ForwardManager) -> Option<Action> {
        let answer = self.run_effect(effect, forwards);
        if let Some(shown) = &self.tables_shown {
            let now = self.logs.is_none() && self.detail.is_none();
            shown.send_if_modified(|was| std::mem::replace(was, now) != now);
        }
        answer
    }

    fn run_effect(&mut self, effect: Effect, forwards: &mut ForwardManager) -> Option<Action> {
        match effect {
            Effect::ToggleForward(spec) => {
                forwards.toggle(spec);
                None
            }
            Effect::StopForward(key) => {
                forwards.stop(&key);
                None
            }
            Effect::StartForward(spec) => {
                forwards.start(spec);
                None
            }
            Effect::SetGateway(key, identity) => forwards
                .set_gateway(&key, identity)
                .err()
                .map(|e| Action::Notify(e.to_string())),
            // The event loop switches clusters itself (`tui::switch`).
            Effect::SwitchContext(_) | Effect::StopForwardOn(..) => None,
            Effect::Replay(key, seq, identity) => {
                Some(Action::Notify(match forwards.replay(&key, seq, identity) {
                    Ok(said) | Err(said) => said,
                }))
            }
            Effect::StartLogs {
                session,
                namespace,
                name,
                containers,
            } => {
                self.stop_logs();
                let (tx, rx) = mpsc::channel(CHANNEL);
                let cancel = CancellationToken::new();
                let options = LogOptions {
                    tail: Some(PANE_TAIL),
                    containers,
                };
                logs::spawn_follow_microservice(
                    self.client.clone(),
                    forwards.access(),
                    &namespace,
                    &name,
                    options,
                    tx,
                    cancel.clone(),
                );
                self.logs = Some(LogsJob {
                    session,
                    rx,
                    cancel,
                });
                None
            }
            Effect::StopLogs => {
                self.stop_logs();
                None
            }
            Effect::StartDetail(seed) => {
                self.stop_detail();
                let (tx, rx) = watch::channel(Detail::loading(&seed.namespace, &seed.name));
                let cancel = CancellationToken::new();
                crate::detail::live::spawn(self.client.clone(), seed, tx, cancel.clone());
                self.detail = Some((rx, cancel));
                None
            }
            Effect::StopDetail => {
                self.stop_detail();
                None
            }
            Effect::OpenUrl(url) => Some(Action::Notify(match crate::opener::open(&url) {
                Ok(()) => format!("opened {url}"),
                Err(e) => e.to_string(),
            })),
            Effect::Change(workload, change) => {
                let under_way = format!("{} {}…", change_word(change), workload.name);
                let (client, access) = (self.client.clone(), forwards.access());
                let (context, read_only) = (self.context.clone(), self.read_only);
                let notices = self.notices_tx.clone();
                tokio::spawn(async move {
                    let actor = crate::change::Actor {
                        context: &context,
                        read_only,
                    };
                    let outcome =
                        crate::change::apply(&client, &access, &actor, &workload, change).await;
                    let text = outcome.unwrap_or_else(|e| e.to_string());
                    let _ = notices.send(Action::Notify(text));
                });
                Some(Action::Notify(under_way))
            }
            Effect::Shell(request) => {
                if self.read_only {
                    let text = crate::change::ChangeError::ReadOnly("shell").to_string();
                    return Some(Action::Notify(text));
                }
                let (client, access) = (self.client.clone(), forwards.access());
                let (notices, shells) = (self.notices_tx.clone(), self.shells_tx.clone());
                tokio::spawn(async move {
                    let prepared = exec::prepare(
                        &client,
                        &access,
                        &request.namespace,
                        &request.name,
                        request.pod.as_deref(),
                    )
                    .await;
                    let _ = match prepared {
                        Ok(Prepared::Ready(target)) => shells.send(target).map_err(drop),
                        Ok(Prepared::PickPod(pods)) => {
                            notices.send(Action::PickPod(request, pods)).map_err(drop)
                        }
                        Err(e) => notices.send(Action::Notify(e.to_string())).map_err(drop),
                    };
                });
                None
            }
            Effect::Copy(text) => {
                let result = crate::clipboard::copy(&mut std::io::stdout(), &text);
                result
                    .err()
                    .map(|e| Action::Notify(format!("cannot copy: {e}")))
            }
        }
    }

    fn stop_detail(&mut self) {
        if let Some((_, cancel)) = self.detail.take() {
            cancel.cancel();
        }
    }

    fn stop_logs(&mut self) {
        if let Some(job) = self.logs.take() {
            job.cancel.cancel();
        }
    }

    /// What background work came to: the next lines for the logs pane, a restart's or
    /// scale's notice, a shell's pod list, or a shell ready for the terminal; pending while
    /// nothing is under way. Cancel-safe: nothing is lost when another branch of a `select!`
    /// wins.
    pub async fn next(&mut self) -> JobOutput {
        tokio::select! {
            action = next_logs(&mut self.logs) => JobOutput::Action(action),
            detail = next_detail(&mut self.detail) => JobOutput::Action(Action::Detail(Box::new(detail))),
            // The senders live in `self`: the channels never close while this runs.
            Some(action) = self.notices.recv() => JobOutput::Action(action),
            Some(target) = self.shells.recv() => JobOutput::Shell(target),
        }
    }

    /// The cluster client and the context, for a shell run on the terminal.
    pub fn exec_client(&self) -> (&kube::Client, &str) {
        (&self.client, &self.context)
    }

    /// Gives up the forwards' saver (the cluster is left; its forwards keep being saved).
    pub fn take_saver(&mut self) -> Option<ForwardSaver> {
        self.saver.take()
    }

    /// Saves the running forwards when they changed (written off this task; a failure comes
    /// back once, as a notice).
    pub fn save_forwards(&mut self, manager: &ForwardManager) {
        if let Some(saver) = &mut self.saver {
            saver.offer(running_specs(manager));
        }
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.stop_logs();
        self.stop_detail();
    }
}

fn change_word(change: crate::change::Change) -> &'static str {
    match change {
        crate::change::Change::Restart => "restarting",
        crate::change::Change::Scale(_) => "scaling",
    }
}

/// The detail follower's next account; pending while there is none (or it ended).
async fn next_detail(detail: &mut Option<(watch::Receiver<Detail>, CancellationToken)>) -> Detail {
    let Some((rx, _)) = detail else {
        return std::future::pending().await;
    };
    if rx.changed().await.is_err() {
        *detail = None;
        return std::future::pending().await;
    }
    rx.borrow_and_update().clone()
}

/// The next lines of the logs pane's follower; pending while there is none.
async fn next_logs(logs: &mut Option<LogsJob>) -> Action {
    let Some(job) = logs else {
        return std::future::pending().await;
    };
    let Some(first) = job.rx.recv().await else {
        // The follower ended (e.g. no such microservice); its notice came before.
        *logs = None;
        return std::future::pending().await;
    };
    let mut batch = vec![first];
    while batch.len() < BATCH {
        match job.rx.try_recv() {
            Ok(event) => batch.push(event),
            Err(_) => break,
        }
    }
    Action::Logs(LogsAction::Events(job.session, batch))
}
