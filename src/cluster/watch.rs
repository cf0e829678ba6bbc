//! One resilient watch of one kind in one namespace, built on kube-rs's `watcher`: it lists,
//! watches, and on any failure reports it, waits (exponential backoff with jitter) and starts
//! over with a fresh list. Relisting after a failure (rather than resuming silently) gives the
//! dashboard a clear "back in sync" moment and drops objects that vanished meanwhile.

use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::watcher;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// First wait after a failure; doubles up to `MAX_BACKOFF`, which is short because a failed
/// attempt costs one refused connection, and an API server back from a restart should be seen
/// within seconds.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(3);

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
    let mut backoff = MIN_BACKOFF;
    loop {
        let mut stream = watcher(api.clone(), config.clone()).boxed();
        let mut listing: Vec<T> = Vec::new();
        while let Some(item) = stream.next().await {
            let message = match item {
                Ok(watcher::Event::Init) => {
                    listing.clear();
                    continue;
                }
                Ok(watcher::Event::InitApply(object)) => {
                    listing.push(convert(&object));
                    continue;
                }
                Ok(watcher::Event::InitDone) => {
                    backoff = MIN_BACKOFF;
                    wrap(Update::Listed(std::mem::take(&mut listing)), None)
                }
                Ok(watcher::Event::Apply(object)) => {
                    let rv = resource_version(&object);
                    wrap(Update::Applied(convert(&object)), rv)
                }
                Ok(watcher::Event::Delete(object)) => {
                    let rv = resource_version(&object);
                    let name = object.meta().name.clone().unwrap_or_default();
                    wrap(Update::Deleted(name), rv)
                }
                Err(error) => {
                    let failure = classify(&error);
                    tracing::warn!(
                        kind = std::any::type_name::<K>(),
                        "watch failed: {}",
                        failure.message()
                    );
                    if tx.send(wrap(Update::Failed(failure), None)).await.is_err() {
                        return;
                    }
                    break;
                }
            };
            if tx.send(message).await.is_err() {
                return;
            }
        }
        // The stream failed (or ended): wait, then relist from scratch.
        let jitter = 0.8 + rand::random::<f64>() * 0.4;
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::sleep(backoff.mul_f64(jitter)) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
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
