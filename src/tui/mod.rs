//! The terminal and the event loop: one task owns the `App`, and `tokio::select!`s over key
//! presses, cluster snapshots, sign-in, a slow tick (only while something on screen ages),
//! signals, and programs that need the terminal (`suspend`).
//! Frames are drawn only when something changed: at once for the user's own keys, and at most
//! one per `FRAME_INTERVAL` for what the cluster and the forwards change.
//! The terminal is restored on every way out, panics included.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::Event;
use tokio::sync::{mpsc, watch};

use crate::app::{Action, App, Effect, SwitchedCluster, keys};
use crate::auth::{HandOver, SignIn};
use crate::cluster::Snapshot;
use crate::forward::ForwardManager;
use crate::jobs::{JobOutput, Jobs};
use crate::sessions::{self, Opened, Sessions};
use crate::signals::Signals;
use crate::ui;

/// At most ~30 frames a second, however fast the cluster changes. A key the user pressed is
/// answered by a frame at once (keys come at human speed, and a frame costs well under 1 ms).
const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// The tick for counters on screen ("reconnecting (5s)", forward traffic).
const TICK_INTERVAL: Duration = Duration::from_secs(1);
mod key_reader;
mod suspend;

use key_reader::KeyReader;

/// Runs the dashboard until the user quits (or a signal asks us to), on the cluster `opened`,
/// moving to others through `sessions`. Every forward of every cluster is stopped (ports closed)
/// before this returns.
pub async fn run(
    mut app: App,
    mut opened: Opened,
    mut sessions: Sessions,
    log_path: Option<std::path::PathBuf>,
) -> io::Result<()> {
    let mut terminal = ratatui::init();
    crate::crash::install(log_path.clone());
    let (handovers_tx, handovers) = mpsc::channel(1);
    let mut sources = Sources {
        snapshots: opened.snapshots.clone(),
        sign_in: opened.credentials.as_ref().map(|c| c.sign_in()),
        handovers,
        handovers_tx,
        handed: Vec::new(),
    };
    if let Some(credentials) = &opened.credentials {
        sources.hand_over(credentials);
    }
    let result = event_loop(
        &mut terminal,
        &mut app,
        &mut sources,
        &mut opened,
        &mut sessions,
    )
    .await;
    for credentials in &sources.handed {
        credentials.terminal().take_back();
    }
    let result = result.map_err(|e| match e {
        LoopError::Io(e) => e,
        LoopError::FeedStopped => io::Error::other(format!(
            "internal error: the cluster feed stopped. {}",
            crate::crash::crash_message(log_path.as_deref())
        )),
    });
    opened.stop_feed();
    opened.forwards.stop_all().await;
    sessions.stop_all().await;
    ratatui::restore();
    result
}

/// The event loop's inputs besides keys, signals and the forwards.
struct Sources {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    sign_in: Option<watch::Receiver<SignIn>>,
    handovers: mpsc::Receiver<HandOver>,
    /// For the credential of a cluster switched to.
    handovers_tx: mpsc::Sender<HandOver>,
    /// Every credential whose plugin asks through the dashboard: those of clusters left behind
    /// too, whose forwards still sign in with them. Taken back when the dashboard ends.
    handed: Vec<Arc<crate::auth::Credentials>>,
}

impl Sources {
    fn hand_over(&mut self, credentials: &Arc<crate::auth::Credentials>) {
        // A credential nothing else holds any more (a visit's client, gone) is let go.
        self.handed.retain(|c| Arc::strong_count(c) > 1);
        credentials.terminal().hand_to(self.handovers_tx.clone());
        self.handed.push(credentials.clone());
    }
}

/// Why the event loop ended other than by the user's wish.
enum LoopError {
    Io(io::Error),
    /// The feed task ended while the UI still ran: it panicked (see `crash`).
    FeedStopped,
}

impl From<io::Error> for LoopError {
    fn from(e: io::Error) -> Self {
        LoopError::Io(e)
    }
}

/// Carries out what `update` asked for, then shows the forwards' new state. Nothing here waits
/// on the network or a forward's task: keys keep answering whatever the effects do.
fn run_effects(
    app: &mut App,
    forwards: &mut ForwardManager,
    jobs: &mut Jobs,
    deferred: &mut Vec<Effect>,
) -> bool {
    let effects = std::mem::take(&mut app.effects);
    let mut dirty = false;
    for effect in effects {
        // Moving to another cluster replaces the forwards and jobs, and a cluster left behind
        // is not at hand here: the loop does these after.
        if matches!(effect, Effect::SwitchContext(_) | Effect::StopForwardOn(..)) {
            deferred.push(effect);
            continue;
        }
        if let Some(action) = jobs.run(effect, forwards) {
            dirty |= app.update(action);
        }
    }
    refresh_forwards(app, forwards, jobs) | dirty
}

/// Shows the forwards' state, and saves the set when it changed (so it survives a restart).
fn refresh_forwards(app: &mut App, forwards: &ForwardManager, jobs: &mut Jobs) -> bool {
    let views = forwards.views().map(|(k, v)| (k.clone(), v)).collect();
    let mut dirty = app.update(Action::Forwards(views));
    // The open request log is copied only when its forward has seen new requests.
    if let Some(pane) = &app.request_log {
        let total = app.forwards.get(&pane.key).map_or(0, |v| v.requests);
        if total != pane.seen {
            let entries = forwards.requests(&pane.key);
            dirty |= app.update(Action::Requests(entries, total));
        }
    }
    jobs.save_forwards(forwards);
    dirty
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    sources: &mut Sources,
    opened: &mut Opened,
    sessions: &mut Sessions,
) -> Result<(), LoopError> {
    let size = terminal.size()?;
    app.update(Action::Resize(size.width, size.height));
    let mut events = KeyReader::default();
    let mut tick = tokio::time::interval(TICK_INTERVAL);
    let mut dirty = true;
    // A key changed the screen: draw now, not when the interval allows.
    let mut keyed = false;
    let mut last_draw: Option<Instant> = None;
    let mut frames: u64 = 0;
    let mut signals = Signals::new();
    loop {
        let now = Instant::now();
        if dirty && (keyed || last_draw.is_none_or(|t| now.duration_since(t) >= FRAME_INTERVAL)) {
            app.update(Action::Clock(now));
            terminal.draw(|frame| ui::draw(frame, app))?;
            frames += 1;
            tracing::debug!(target: "hasura_tui::frames", frames, rv = app.snapshot.resource_version, "frame drawn");
            // After the first frame the terminal is in its dashboard state: the worst moment.
            if frames == 1 {
                crate::crash::test_panic("1");
            }
            dirty = false;
            keyed = false;
            last_draw = Some(now);
        }
        if app.should_quit {
            return Ok(());
        }
        let next_frame = last_draw.map(|t| t + FRAME_INTERVAL).unwrap_or(now);
        let forwards_changed = opened.forwards.changed();
        let (forwards, jobs) = (&mut opened.forwards, &mut opened.jobs);
        let mut deferred = Vec::new();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    if let Some(action) = keys::action_for(app, key) {
                        let opens_log = matches!(action, Action::ToggleRequestLog);
                        let mut changed = app.update(action);
                        if !app.effects.is_empty() {
                            changed |= run_effects(app, forwards, jobs, &mut deferred);
                        }
                        if opens_log {
                            changed |= refresh_forwards(app, forwards, jobs);
                        }
                        dirty |= changed;
                        keyed |= changed;
                    }
                }
                Some(Ok(Event::Resize(width, height))) => dirty |= app.update(Action::Resize(width, height)),
                Some(Ok(_)) => {}
                // The terminal is gone: nothing left to show.
                Some(Err(_)) | None => return Ok(()),
            },
            changed = sources.snapshots.changed() => {
                if changed.is_err() {
                    // The feed ends only when told to, after this loop: it panicked.
                    return Err(LoopError::FeedStopped);
                }
                let snapshot = sources.snapshots.borrow_and_update().clone();
                dirty |= app.update(Action::Snapshot(snapshot));
            }
            Some(sign_in) = next_sign_in(&mut sources.sign_in) => {
                dirty |= app.update(Action::SignIn(sign_in));
            }
            Some(handed) = sources.handovers.recv() => {
                suspend::run_with_terminal(terminal, &mut events, handed).await?;
                dirty = true;
            }
            _ = forwards_changed.notified() => {
                forwards.reap();
                dirty |= refresh_forwards(app, forwards, jobs);
            }
            _ = sleep_until_some(forwards.next_stop_deadline()) => {
                forwards.reap();
                dirty |= refresh_forwards(app, forwards, jobs);
            }
            output = jobs.next() => match output {
                JobOutput::Action(action) => dirty |= app.update(action),
                JobOutput::Shell(target) => {
                    let (client, context) = jobs.exec_client();
                    let (client, context) = (client.clone(), context.to_string());
                    let said = suspend::run_shell(
                        terminal, &mut events, &mut sources.handovers, &client, &context, target,
                    ).await?;
                    // The terminal may have been resized meanwhile.
                    let size = terminal.size()?;
                    app.update(Action::Resize(size.width, size.height));
                    app.update(Action::Notify(said));
                    // Ticks missed while the shell ran would come in a burst and wipe the
                    // notice at once.
                    tick.reset();
                    dirty = true;
                }
            },
            _ = tick.tick(), if app.needs_ticks() || !forwards.is_empty() => {
                dirty |= app.update(Action::Tick(Instant::now()));
                dirty |= refresh_forwards(app, forwards, jobs);
            }
            _ = tokio::time::sleep_until(next_frame.into()), if dirty => {}
            _ = signals.recv() => {
                app.update(Action::Quit);
            }
        }
        for effect in deferred {
            match effect {
                Effect::SwitchContext(context) => {
                    switch(app, opened, sessions, sources, context).await;
                }
                Effect::StopForwardOn(context, key) => sessions.stop_away(&context, &key),
                _ => {}
            }
            dirty = true;
            keyed = true;
        }
        if app.forwards_view.is_some() {
            dirty |= app.update(Action::AwayForwards(sessions.away_forwards()));
        }
    }
}

/// Moves the view to `context`: the cluster on screen is left behind (its watches stop, its
/// forwards go on), and the other one opens with the forwards it had, or its saved ones.
async fn switch(
    app: &mut App,
    opened: &mut Opened,
    sessions: &mut Sessions,
    sources: &mut Sources,
    context: String,
) {
    let Some(contexts) = &sessions.contexts else {
        app.update(Action::Notify(
            "this dashboard cannot switch clusters".into(),
        ));
        return;
    };
    let (target, global) = match contexts.connect(&context).await {
        Ok(connected) => connected,
        Err(e) => {
            app.update(Action::Notify(format!("cannot switch to {context}: {e}")));
            return;
        }
    };
    // Before its watches start: a plugin that needs the person must never run behind the
    // drawn screen, and the first requests may run it.
    if let Some(credentials) = &target.credentials {
        sources.hand_over(credentials);
    }
    let alias = contexts.alias_of(&context);
    let coming_back = sessions.away.remove(&context);
    let new = sessions::open(target, &global, alias, &sessions.options, coming_back).await;
    // The credential of the cluster left stays handed to the dashboard: its forwards still
    // sign in with it, and a plugin that asks must never write over the screen.
    let old = std::mem::replace(opened, new);
    sessions.away.insert(old.context.clone(), old.leave());
    sources.snapshots = opened.snapshots.clone();
    sources.sign_in = opened.credentials.as_ref().map(|c| c.sign_in());
    // The other cluster's view: as it was left, else a fresh one.
    let snapshot = sources.snapshots.borrow().clone();
    app.update(Action::SwitchedCluster(Box::new(SwitchedCluster {
        connection: opened.connection.clone(),
        snapshot,
    })));
    app.update(Action::AwayForwards(sessions.away_forwards()));
    for notice in std::mem::take(&mut opened.notices) {
        app.update(notice);
    }
    // A view come back to asks for its panes' followers again (nothing it asks is deferred).
    run_effects(app, &mut opened.forwards, &mut opened.jobs, &mut Vec::new());
    tracing::info!(context, "switched cluster");
}

/// The next sign-in state, when there is a credential to watch; never resolves otherwise.
async fn next_sign_in(sign_in: &mut Option<watch::Receiver<SignIn>>) -> Option<SignIn> {
    let Some(receiver) = sign_in else {
        return std::future::pending().await;
    };
    if receiver.changed().await.is_err() {
        *sign_in = None;
        return None;
    }
    Some(receiver.borrow_and_update().clone())
}

/// Sleeps until `deadline`; never resolves without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
