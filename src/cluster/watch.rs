//! One resilient watch of one kind in one namespace, built on kube-rs's `watcher`, run as
//! client-go's reflector runs its list and watch: a `410 Gone` (the history the watch resumed
//! from was compacted) is routine and only relists, without a word to the screen; any other
//! failure is reported, waited out with a backoff that has jitter and grows to 30 s (5 minutes
//! for a 403, which does not go away by retrying), and followed by a fresh list. A 401 reaches
//! here only after the credential was renewed once (`auth`).
//!
//! Source: client-go `tools/cache/reflector.go` (`ListAndWatch`, `isExpiredError`, the backoff
//! manager's 800 ms initial wait doubling to a 30 s cap with jitter).

use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::watcher;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::backoff::Backoff;

/// First wait after a failure; it doubles with every failure in a row.
const MIN_BACKOFF: Duration = Duration::from_millis(800);
/// The longest wait for failures that may pass (connection refused, 5xx, a stall).
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest wait after a 403: permissions change when a person changes them.
const MAX_FORBIDDEN_BACKOFF: Duration = Duration::from_secs(300);
/// After a 410 outside a running watch (kube-rs would retry the same version), a short pause
/// before the fresh list, so a server that keeps saying 410 is not asked in a tight loop.
const GONE_PAUSE: Duration = Duration::from_millis(100);

/// Why a watch is down, as the header or a table shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 403: this namespace is off limits for these credentials.
    Forbidden(String),
    /// 401: the credentials were rejected.
    Unauthorized(String),
    /// The server could not be reached or answered badly (connection, TLS, 5xx, ...).
    Unreachable(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Forbidden(m) | Failure::Unauthorized(m) | Failure::Unreachable(m) => m,
        }
    }
}

/// What a watch reports, for objects already converted to `T`.
#[derive(Debug)]
pub enum Update<T> {
    /// A complete listing (initial or after a failure): replaces what was known.
    Listed(Vec<T>),
    Applied(T),
    Deleted(String),
    Failed(Failure),
}

/// Runs until the receiver is gone. `convert` slims each object as it arrives, so full objects
/// never outlive the event that carried them.
pub async fn run<K, T, M>(
    api: Api<K>,
    config: watcher::Config,
    convert: fn(&K) -> T,
    wrap: impl Fn(Update<T>, Option<u64>) -> M,
    tx: mpsc::Sender<M>,
) where
    K: Resource + Clone + Debug + DeserializeOwned + Send + 'static,
    T: Send,
    M: Send,
{
    let mut backoff = watch_backoff();
    loop {
        let mut stream = watcher(api.clone(), config.clone()).boxed();
        let mut listing: Vec<T> = Vec::new();
        let failure = loop {
            let message = match stream.next().await {
                None => break None,
                Some(Ok(watcher::Event::Init)) => {
                    listing.clear();
                    continue;
                }
                Some(Ok(watcher::Event::InitApply(object))) => {
                    listing.push(convert(&object));
                    continue;
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    backoff.reset();
                    wrap(Update::Listed(std::mem::take(&mut listing)), None)
                }
                Some(Ok(watcher::Event::Apply(object))) => {
                    let rv = resource_version(&object);
                    wrap(Update::Applied(convert(&object)), rv)
                }
                Some(Ok(watcher::Event::Delete(object))) => {
                    let rv = resource_version(&object);
                    let name = object.meta().name.clone().unwrap_or_default();
                    wrap(Update::Deleted(name), rv)
                }
                // A running watch fell behind the server's history: the watcher relists by
                // itself, and the rows stay as they are until the new list replaces them.
                Some(Err(watcher::Error::WatchError(status))) if status.code == 410 => {
                    tracing::debug!(kind = std::any::type_name::<K>(), "410 Gone: relisting");
                    continue;
                }
                Some(Err(error)) if is_gone(&error) => break Some(Restart::Gone),
                Some(Err(error)) => {
                    let failure = classify(&error);
                    tracing::warn!(
                        kind = std::any::type_name::<K>(),
                        "watch failed: {}",
                        failure.message()
                    );
                    break Some(Restart::Failed(failure));
                }
            };
            if tx.send(message).await.is_err() {
                return;
            }
        };
        let wait = match failure {
            Some(Restart::Gone) => GONE_PAUSE,
            Some(Restart::Failed(failure)) => {
                let wait = wait_after(&mut backoff, &failure);
                if tx.send(wrap(Update::Failed(failure), None)).await.is_err() {
                    return;
                }
                wait
            }
            // The stream ended without an error (it does not, but if it did): list again.
            None => wait_after(
                &mut backoff,
                &Failure::Unreachable("the watch ended".into()),
            ),
        };
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Why a watch starts over.
enum Restart {
    /// 410 where kube-rs would not relist by itself (starting a watch, a list's continue token).
    Gone,
    Failed(Failure),
}

fn is_gone(error: &watcher::Error) -> bool {
    matches!(
        error,
        watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s))
            | watcher::Error::WatchFailed(kube::Error::Api(s)) if s.code == 410
    )
}

/// A watch's backoff: 800 ms doubling to 30 s, with jitter.
fn watch_backoff() -> Backoff {
    Backoff::new(MIN_BACKOFF, MAX_BACKOFF).with_jitter()
}

/// The wait after this failure: 800 ms doubling to 30 s (5 minutes for a 403), with jitter.
fn wait_after(backoff: &mut Backoff, failure: &Failure) -> Duration {
    backoff.next_up_to(match failure {
        Failure::Forbidden(_) => MAX_FORBIDDEN_BACKOFF,
        _ => MAX_BACKOFF,
    })
}

fn resource_version<K: Resource>(object: &K) -> Option<u64> {
    object.meta().resource_version.as_deref()?.parse().ok()
}

/// Sorts a watcher error into what the user must know: forbidden, unauthorized, or unreachable
/// with the innermost cause ("connection refused", "invalid peer certificate: UnknownIssuer").
pub fn classify(error: &watcher::Error) -> Failure {
    let api_status = match error {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some((s.code, s.message.clone())),
        watcher::Error::WatchError(s) => Some((s.code, s.message.clone())),
        _ => None,
    };
    if let Some(sign_in) = sign_in_error(error) {
        return Failure::Unauthorized(format!("sign-in failed: {sign_in}"));
    }
    match api_status {
        Some((403, message)) => Failure::Forbidden(message),
        Some((401, _)) => {
            Failure::Unauthorized("unauthorized: the cluster rejected the credentials".to_string())
        }
        Some((code, message)) => Failure::Unreachable(format!("{code}: {message}")),
        None => Failure::Unreachable(root_cause(error)),
    }
}

/// A failed sign-in (an exec plugin that failed, a token file that cannot be read), anywhere in
/// the error's chain.
fn sign_in_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a crate::auth::PluginError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<crate::auth::PluginError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// The innermost error message: what actually went wrong, without the wrapping layers. TLS
/// failures say so, and a rejected certificate points at the kubeconfig's CA: the message alone
/// ("invalid peer certificate: UnknownIssuer") does not tell a user where to look.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    let mut tls = tls_error(current);
    while let Some(source) = current.source() {
        current = source;
        tls = tls.or_else(|| tls_error(current));
    }
    let text = current.to_string();
    let text = if text.is_empty() {
        error.to_string()
    } else {
        text
    };
    match tls {
        Some(rustls::Error::InvalidCertificate(_)) => format!(
            "TLS: the API server's certificate was rejected ({text}); check certificate-authority in the kubeconfig"
        ),
        Some(_) => format!("TLS: {text}"),
        None => text,
    }
}

/// The rustls error inside `error`, if it is one. tokio-rustls hands them up wrapped in
/// io::Errors (sometimes two deep), whose `source()` skips what they wrap.
fn tls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    tls_error(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The waits of `n` failures in a row.
    fn waits(failure: &Failure, n: usize) -> Vec<Duration> {
        let mut backoff = watch_backoff();
        (0..n).map(|_| wait_after(&mut backoff, failure)).collect()
    }

    #[test]
    fn backoff_doubles_from_800ms_with_jitter_to_30s_or_5min_for_403() {
        let forbidden = Failure::Forbidden("no".into());
        let unreachable = Failure::Unreachable("refused".into());
        for _ in 0..50 {
            for (failure, cap) in [
                (&forbidden, MAX_FORBIDDEN_BACKOFF),
                (&unreachable, MAX_BACKOFF),
            ] {
                for (i, wait) in waits(failure, 20).into_iter().enumerate() {
                    let step = (MIN_BACKOFF * (1 << i.min(16))).min(cap);
                    assert!(
                        wait >= step / 2 && wait <= step,
                        "failure {i}: {wait:?} for step {step:?}"
                    );
                }
            }
        }
        // The 403 wait keeps growing past the transport cap.
        assert!(waits(&forbidden, 12)[11] > MAX_BACKOFF);
        // A success starts over.
        let mut backoff = watch_backoff();
        (0..5).for_each(|_| {
            wait_after(&mut backoff, &forbidden);
        });
        backoff.reset();
        assert!(wait_after(&mut backoff, &forbidden) <= MIN_BACKOFF);
    }
}
