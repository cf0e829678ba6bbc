//! Saving the set of forwards off the UI task. The dashboard offers the running set at every
//! refresh: an unchanged set costs a comparison; a changed one goes to a worker thread that
//! writes it (read the file, merge, temp file, fsync, rename: milliseconds, far more on a slow
//! or networked home directory, and never again on the event loop). A newer set replaces one not
//! yet written, so a burst of changes is one write of the last. Dropping the saver writes what is
//! pending and waits for it: nothing offered before quitting is lost.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::ForwardSpec;
use super::persist::ForwardStore;

/// Told of a save that failed, once per distinct error (a failing disk is not reported every
/// second); the worker logs every failure regardless.
pub type Reporter = Box<dyn Fn(String) + Send>;

pub struct ForwardSaver {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    /// The last set offered, so an unchanged one wakes nobody (unless its save failed: then it
    /// is tried again at the next offer, as the disk may be back).
    offered: Option<Vec<ForwardSpec>>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the worker (a set or closing) and whoever waits for it to be idle.
    changed: Condvar,
    reporter: Mutex<Reporting>,
}

/// Who hears of failed saves, and the last failure told (told once, until someone new listens).
#[derive(Default)]
struct Reporting {
    reporter: Option<Reporter>,
    last_error: Option<String>,
}

#[derive(Default)]
struct State {
    pending: Option<Vec<ForwardSpec>>,
    writing: bool,
    /// The last save failed.
    failed: bool,
    closing: bool,
}

impl ForwardSaver {
    /// Starts the worker that owns `store` from now on.
    pub fn start(mut store: ForwardStore) -> ForwardSaver {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            reporter: Mutex::new(Reporting::default()),
        });
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("forwards-saver".into())
            .spawn(move || worker_shared.run(&mut store))
            .expect("a thread for saving forwards");
        ForwardSaver {
            shared,
            worker: Some(worker),
            offered: None,
        }
    }

    /// Who hears of a failed save from now on (the dashboard of the cluster on screen); a
    /// failure already told to another is told again.
    pub fn report_to(&self, reporter: Reporter) {
        *lock(&self.shared.reporter) = Reporting {
            reporter: Some(reporter),
            last_error: None,
        };
    }

    /// Hands over the set of forwards to save, unless it is the one offered last.
    pub fn offer(&mut self, specs: Vec<ForwardSpec>) {
        let mut state = lock(&self.shared.state);
        if self.offered.as_ref() == Some(&specs) && !state.failed {
            return;
        }
        self.offered = Some(specs.clone());
        state.pending = Some(specs);
        drop(state);
        self.shared.changed.notify_all();
    }

    /// Waits until every set offered so far is written (or failed).
    pub fn flush(&self) {
        let mut state = lock(&self.shared.state);
        while state.pending.is_some() || state.writing {
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for ForwardSaver {
    fn drop(&mut self) {
        lock(&self.shared.state).closing = true;
        self.shared.changed.notify_all();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Shared {
    fn run(&self, store: &mut ForwardStore) {
        loop {
            let specs = {
                let mut state = lock(&self.state);
                loop {
                    if let Some(specs) = state.pending.take() {
                        state.writing = true;
                        break specs;
                    }
                    if state.closing {
                        return;
                    }
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            };
            let saved = store.save(specs);
            let mut reporting = lock(&self.reporter);
            match &saved {
                Ok(_) => reporting.last_error = None,
                Err(e) => {
                    let text = format!("forwards not saved: {e}");
                    tracing::warn!("{text}");
                    if reporting.last_error.as_ref() != Some(&text) {
                        if let Some(report) = &reporting.reporter {
                            report(text.clone());
                        }
                        reporting.last_error = Some(text);
                    }
                }
            }
            drop(reporting);
            let mut state = lock(&self.state);
            state.writing = false;
            state.failed = saved.is_err();
            drop(state);
            self.changed.notify_all();
        }
    }
}

/// A panic while holding the lock (none is expected) must not take saving down with it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::persist::tests::{S, spec};

    #[test]
    fn the_last_set_offered_is_written_and_dropping_flushes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forwards.json");
        let mut saver = ForwardSaver::start(ForwardStore::at(path.clone(), "a", S));
        saver.offer(vec![spec("data", 8080)]);
        saver.flush();
        assert_eq!(
            ForwardStore::at(path.clone(), "a", S).load().unwrap(),
            vec![spec("data", 8080)]
        );
        // Offered and dropped at once, as when the dashboard quits: still written.
        saver.offer(vec![spec("data", 8080), spec("auth", 8081)]);
        drop(saver);
        assert_eq!(
            ForwardStore::at(path, "a", S).load().unwrap(),
            vec![spec("data", 8080), spec("auth", 8081)]
        );
    }

    #[test]
    fn a_failing_save_is_reported_once_per_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: every write fails the same way.
        let path = dir.path().join("forwards.json");
        std::fs::create_dir(&path).unwrap();
        let mut saver = ForwardSaver::start(ForwardStore::at(path, "a", S));
        let (tx, rx) = std::sync::mpsc::channel();
        saver.report_to(Box::new(move |text| tx.send(text).unwrap()));
        for port in [8080, 8081, 8082] {
            saver.offer(vec![spec("data", port)]);
            saver.flush();
        }
        // The dashboard of a cluster come back to is told again.
        let (again_tx, again) = std::sync::mpsc::channel();
        saver.report_to(Box::new(move |text| again_tx.send(text).unwrap()));
        saver.offer(vec![spec("data", 8083)]);
        saver.flush();
        assert_eq!(again.try_iter().count(), 1);
        drop(saver);
        let reports: Vec<String> = rx.try_iter().collect();
        // Each offer was tried (the same set too would be), and reported once.
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(
            reports[0].starts_with("forwards not saved: "),
            "{reports:?}"
        );
    }

    /// Two clusters' savers (the one on screen, one left) writing the same file at once: each
    /// context's last set is there, and the file stays whole.
    #[test]
    fn savers_of_two_clusters_never_write_over_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forwards.json");
        let savers = ["a", "b"].map(|context| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut saver = ForwardSaver::start(ForwardStore::at(path, context, S));
                for port in 8000..8100 {
                    saver.offer(vec![spec("data", port)]);
                    if port % 7 == 0 {
                        saver.flush();
                    }
                }
            })
        });
        for saver in savers {
            saver.join().unwrap();
        }
        for context in ["a", "b"] {
            assert_eq!(
                ForwardStore::at(path.clone(), context, S).load().unwrap(),
                vec![spec("data", 8099)],
                "{context}"
            );
        }
    }
}
