//! API-level faults and bookkeeping: the bearer token (and its revocation), forbidden
//! namespaces, stalled responses, dropped watches, the server's current run (so that stopping it
//! also ends upgraded streams), and counts of the requests served by verb.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Requests served, by verb, for benchmarks to read the load a client puts on the cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestCounts {
    pub list: u64,
    pub watch: u64,
    pub get: u64,
    pub portforward: u64,
    pub log: u64,
    pub discovery: u64,
    /// Requests refused with 403 (RBAC, or the `forbid` fault), whatever their verb.
    pub forbidden: u64,
    pub other: u64,
    /// Watches open now: a gauge, as the API server's `apiserver_longrunning_requests`
    /// (k8s.io/apiserver `pkg/endpoints/metrics`: "Gauge of all active long-running apiserver
    /// requests"), for watches only. A watch ends when its response body is dropped: the
    /// client closed it or went away.
    pub watches_open: u64,
}

#[derive(Clone, Copy, Debug)]
pub enum Verb {
    List,
    Watch,
    Get,
    PortForward,
    Log,
    Discovery,
    Forbidden,
    Other,
}

#[derive(Default)]
struct Counters([AtomicU64; 8]);

/// One request refused with 403, for tests that check how often a client asks again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub at: std::time::Instant,
    pub user: String,
    /// `list statefulsets.apps in hasura`: the verb, resource and namespace refused.
    pub what: String,
}

/// Refusals kept; older ones fall off.
const MAX_REFUSALS: usize = 10_000;

pub struct ApiFaults {
    token: String,
    revoked: AtomicBool,
    forbidden: RwLock<HashSet<String>>,
    stalled: watch::Sender<bool>,
    /// Port-forward connections stop echoing PINGs: a connection that died somewhere on the
    /// way (a NAT that forgot it, a VPN that dropped) without either end seeing it close.
    pings_lost: watch::Sender<bool>,
    watch_generation: watch::Sender<u64>,
    run: Mutex<ServerRun>,
    counters: Counters,
    refusals: Mutex<std::collections::VecDeque<Refusal>>,
    watches_open: Arc<AtomicU64>,
}

/// One run of the API server, from start to stop. Streams that outlive their HTTP connection
/// (upgraded port-forwards and execs, followed logs) run as its tasks, so that stopping the
/// server ends them before `stop` returns: a client must not reach a pod through a server that
/// is already down.
#[derive(Clone, Default)]
pub struct ServerRun {
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl ServerRun {
    /// Runs `work` until it ends or the run stops.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = work => {}
            }
        });
    }

    pub async fn cancelled(&self) {
        self.stop.cancelled().await
    }

    pub fn token(&self) -> &CancellationToken {
        &self.stop
    }

    /// Its tasks alive now: upgraded connections and followed logs.
    pub fn tasks_open(&self) -> usize {
        self.tasks.len()
    }

    /// Cancels the run and waits until every task of it has ended.
    pub async fn stop(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Holds one watch in the `watches_open` gauge while it lives.
pub struct OpenWatch(Arc<AtomicU64>);

impl Drop for OpenWatch {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub fn random_token() -> String {
    use rand::RngExt;
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ApiFaults {
    pub fn new(token: String) -> Self {
        ApiFaults {
            token,
            revoked: AtomicBool::new(false),
            forbidden: RwLock::new(HashSet::new()),
            stalled: watch::channel(false).0,
            pings_lost: watch::channel(false).0,
            watch_generation: watch::channel(0).0,
            run: Mutex::default(),
            counters: Counters::default(),
            watches_open: Arc::default(),
            refusals: Mutex::default(),
        }
    }

    /// Whether a bearer token may use the API (never once revoked).
    /// The `revoke` fault: no bearer token works.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Relaxed)
    }

    /// The admin path accepts the original token even while the API's is revoked.
    pub fn admin_token_ok(&self, presented: &str) -> bool {
        // Length first, then every byte, so timing does not leak a prefix.
        presented.len() == self.token.len()
            && presented
                .bytes()
                .zip(self.token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    pub fn revoke(&self, revoked: bool) {
        self.revoked.store(revoked, Ordering::Relaxed);
        if revoked {
            // Open watches were authorised before; a real server ends them when credentials go.
            self.drop_watches();
        }
    }

    pub fn is_forbidden(&self, namespace: &str) -> bool {
        self.forbidden
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(namespace)
    }

    pub fn forbid(&self, namespace: &str, forbidden: bool) {
        {
            let mut set = self.forbidden.write().unwrap_or_else(|p| p.into_inner());
            if forbidden {
                set.insert(namespace.to_string());
            } else {
                set.remove(namespace);
            }
        }
        if forbidden {
            self.drop_watches();
        }
    }

    pub fn stall(&self, stalled: bool) {
        self.stalled.send_replace(stalled);
    }

    pub fn lose_pings(&self, lost: bool) {
        self.pings_lost.send_replace(lost);
    }

    pub fn pings_lost(&self) -> watch::Receiver<bool> {
        self.pings_lost.subscribe()
    }

    /// Waits while responses are stalled (returns at once when they are not).
    pub async fn wait_unstalled(&self) {
        let mut rx = self.stalled.subscribe();
        // The sender lives as long as self, so wait_for cannot fail while we are called.
        let _ = rx.wait_for(|stalled| !stalled).await;
    }

    pub fn drop_watches(&self) {
        self.watch_generation.send_modify(|g| *g += 1);
    }

    /// A receiver that changes when watches are to be dropped.
    pub fn watch_drops(&self) -> watch::Receiver<u64> {
        self.watch_generation.subscribe()
    }

    /// The server's current run: cancelled when it stops.
    pub fn current_run(&self) -> ServerRun {
        self.run.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts a new run (after a restart) and returns it.
    pub fn begin_run(&self) -> ServerRun {
        let run = ServerRun::default();
        *self.run.lock().unwrap_or_else(|p| p.into_inner()) = run.clone();
        run
    }

    pub fn count(&self, verb: Verb) {
        self.counters.0[verb as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a 403 and keeps what was refused to whom.
    pub fn refused(&self, user: &str, what: String) {
        self.count(Verb::Forbidden);
        let mut refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        if refusals.len() == MAX_REFUSALS {
            refusals.pop_front();
        }
        refusals.push_back(Refusal {
            at: std::time::Instant::now(),
            user: user.to_string(),
            what,
        });
    }

    pub fn refusals(&self) -> Vec<Refusal> {
        let refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        refusals.iter().cloned().collect()
    }

    pub fn counts(&self) -> RequestCounts {
        let c = |v: Verb| self.counters.0[v as usize].load(Ordering::Relaxed);
        RequestCounts {
            list: c(Verb::List),
            watch: c(Verb::Watch),
            get: c(Verb::Get),
            portforward: c(Verb::PortForward),
            log: c(Verb::Log),
            discovery: c(Verb::Discovery),
            forbidden: c(Verb::Forbidden),
            other: c(Verb::Other),
            watches_open: self.watches_open.load(Ordering::Relaxed),
        }
    }

    /// Counts a watch as open until the returned guard is dropped (with its response body).
    pub fn watch_opened(&self) -> OpenWatch {
        self.watches_open.fetch_add(1, Ordering::Relaxed);
        OpenWatch(self.watches_open.clone())
    }
}
