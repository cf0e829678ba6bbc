//! One cluster's fetched credential: the current token, shared by every request (watches,
//! forwards, logs), fetched by one caller while the others wait (client-go holds its lock
//! while the plugin runs: "it could be interactive, so it is only called once"), renewed
//! shortly before it expires, forgotten on a 401 unless someone already replaced it, and after
//! a failure not fetched again until a backoff has passed.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Mutex, watch};

use super::exec::{Cred, ExecPlugin, PluginError};
use super::oidc::OidcProvider;
use super::terminal::Terminal;
use crate::backoff::Backoff;

/// Renew this long before expiry at most (so a request never carries a token about to lapse)...
const MAX_MARGIN: Duration = Duration::from_secs(10);
/// ...and at most this share of the credential's life (a 15 s token is renewed at 13.5 s).
const MARGIN_SHARE: u32 = 10;
/// How often a token file is read again (client-go's `NewCachedFileTokenSource`).
const TOKEN_FILE_PERIOD: Duration = Duration::from_secs(60);
/// After a failed fetch, callers get the failure until this has passed; it doubles to the max.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where the token comes from.
#[derive(Clone, Debug)]
pub enum Source {
    Exec(Box<ExecPlugin>),
    /// `tokenFile`: read again every minute, trimmed (a file ending in a newline is the norm).
    TokenFile(PathBuf),
    /// The `oidc` auth-provider: its id-token, refreshed at the identity provider.
    Oidc(Arc<OidcProvider>),
}

/// How signing in stands, for the dashboard's header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SignIn {
    /// Nothing fetched yet.
    #[default]
    NotYet,
    /// A plugin is running (`exec: aws`).
    SigningIn(String),
    SignedIn,
    /// The last fetch failed (one line).
    Failed(String),
}

struct State {
    current: Option<Arc<Cred>>,
    failure: Option<Failure>,
}

struct Failure {
    at: Instant,
    /// How long after `at` the plugin is not run again.
    wait: Duration,
    /// The waits so far: the next failure waits longer.
    backoff: Backoff,
    error: PluginError,
}

pub struct Credentials {
    source: Source,
    terminal: Arc<Terminal>,
    state: Mutex<State>,
    sign_in: watch::Sender<SignIn>,
    runs: AtomicU64,
}

impl Credentials {
    pub fn new(source: Source, terminal: Arc<Terminal>) -> Self {
        Credentials {
            source,
            terminal,
            state: Mutex::new(State {
                current: None,
                failure: None,
            }),
            sign_in: watch::channel(SignIn::NotYet).0,
            runs: AtomicU64::new(0),
        }
    }

    /// The plugin, when the credential comes from one.
    pub fn plugin(&self) -> Option<&ExecPlugin> {
        match &self.source {
            Source::Exec(plugin) => Some(plugin),
            Source::TokenFile(_) | Source::Oidc(_) => None,
        }
    }

    /// Whether fetching may need the person (an interactive plugin with a terminal).
    pub fn needs_terminal(&self) -> bool {
        self.plugin()
            .is_some_and(|p| p.interactive().unwrap_or(false))
    }

    /// How signing in stands, as it changes.
    pub fn sign_in(&self) -> watch::Receiver<SignIn> {
        self.sign_in.subscribe()
    }

    /// The terminal interactive plugins are given.
    pub fn terminal(&self) -> &Arc<Terminal> {
        &self.terminal
    }

    /// How many times the plugin (or the token file) has been asked.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// The current credential, fetched (once, for every caller) when there is none or it is
    /// about to expire.
    pub async fn current(&self) -> Result<Arc<Cred>, PluginError> {
        let mut state = self.state.lock().await;
        if let Some(cred) = &state.current
            && fresh(cred)
        {
            return Ok(cred.clone());
        }
        if let Some(failure) = &state.failure
            && failure.at.elapsed() < failure.wait
        {
            return Err(failure.error.clone());
        }
        self.runs.fetch_add(1, Ordering::Relaxed);
        if let Source::Exec(plugin) = &self.source {
            self.sign_in
                .send_replace(SignIn::SigningIn(format!("exec: {}", plugin.command())));
        }
        match self.fetch().await {
            Ok(cred) => {
                let cred = Arc::new(cred);
                state.current = Some(cred.clone());
                state.failure = None;
                self.sign_in.send_replace(SignIn::SignedIn);
                Ok(cred)
            }
            Err(error) => {
                tracing::warn!("sign-in failed: {error}");
                let mut backoff = state
                    .failure
                    .take()
                    .map_or(Backoff::new(FIRST_BACKOFF, MAX_BACKOFF), |f| f.backoff);
                state.failure = Some(Failure {
                    at: Instant::now(),
                    wait: backoff.next_wait(),
                    backoff,
                    error: error.clone(),
                });
                self.sign_in.send_replace(SignIn::Failed(error.to_string()));
                Err(error)
            }
        }
    }

    /// The server refused `used` (401): forget it, unless another caller already replaced it,
    /// so that a burst of 401s for one credential renews it once (client-go's
    /// `maybeRefreshCreds`). A failure backoff does not hold a renewal asked for by a 401.
    pub async fn rejected(&self, used: &Arc<Cred>) {
        let mut state = self.state.lock().await;
        if state.current.as_ref().is_some_and(|c| Arc::ptr_eq(c, used)) {
            tracing::info!("the cluster refused the credential; renewing it");
            state.current = None;
        }
    }

    async fn fetch(&self) -> Result<Cred, PluginError> {
        match &self.source {
            Source::Exec(plugin) => plugin.run(&self.terminal).await,
            Source::TokenFile(path) => read_token_file(path),
            Source::Oidc(provider) => provider.fetch().await,
        }
    }
}

/// Still good for a new request: no expiry, or not within the renewal margin of it.
fn fresh(cred: &Cred) -> bool {
    let Some(expires) = cred.expires else {
        return true;
    };
    let life = expires
        .duration_since(cred.obtained)
        .unwrap_or(Duration::ZERO);
    let margin = MAX_MARGIN.min(life / MARGIN_SHARE);
    SystemTime::now() + margin < expires
}

fn read_token_file(path: &PathBuf) -> Result<Cred, PluginError> {
    let error = |reason: String| PluginError::Run {
        command: format!("tokenFile {}", path.display()),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(error("the file is empty".into()));
    }
    let now = SystemTime::now();
    Ok(Cred {
        token: token.to_string(),
        // Read again after the period (the file may be rotated), with no renewal margin.
        expires: Some(now + TOKEN_FILE_PERIOD + TOKEN_FILE_PERIOD / (MARGIN_SHARE - 1)),
        obtained: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(life: Duration, age: Duration) -> Cred {
        let obtained = SystemTime::now() - age;
        Cred {
            token: "t".into(),
            expires: Some(obtained + life),
            obtained,
        }
    }

    #[test]
    fn a_credential_is_renewed_shortly_before_it_expires() {
        let fifteen = Duration::from_secs(15);
        assert!(fresh(&cred(fifteen, Duration::from_secs(13))));
        assert!(!fresh(&cred(fifteen, Duration::from_millis(13_600))));
        let hour = Duration::from_secs(3600);
        assert!(fresh(&cred(hour, Duration::from_secs(3585))));
        assert!(!fresh(&cred(hour, Duration::from_secs(3591))));
        assert!(fresh(&Cred {
            token: "t".into(),
            expires: None,
            obtained: SystemTime::now() - hour
        }));
    }

    #[tokio::test]
    async fn token_files_are_trimmed_and_read_once_per_period() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let credentials = Credentials::new(Source::TokenFile(path.clone()), Arc::default());
        let first = credentials.current().await.unwrap();
        assert_eq!(first.token, "s3cret");
        std::fs::write(&path, "rotated\n").unwrap();
        assert_eq!(
            credentials.current().await.unwrap().token,
            "s3cret",
            "cached"
        );
        assert_eq!(credentials.runs(), 1);
        credentials.rejected(&first).await;
        assert_eq!(
            credentials.current().await.unwrap().token,
            "rotated",
            "a 401 rereads"
        );
        std::fs::write(&path, " \n").unwrap();
        let renewed = credentials.current().await.unwrap();
        credentials.rejected(&renewed).await;
        let empty = credentials.current().await.unwrap_err().to_string();
        assert!(empty.contains("empty"), "{empty}");
    }
}
