//! The pod's side of a port-forward, as the kubelet and its container runtime run it, for
//! every protocol the API server speaks.
//!
//! - The kubelet's CRI streaming server names the pod by its sandbox id, with an empty uid, in
//!   `error forwarding port %d to pod %s, uid %v: %v` (kubelet `cri/streaming/server.go`
//!   `servePortForward`, `portforward/httpstream.go` `portForward`).
//! - containerd dials `localhost:PORT` inside the pod's network namespace; a port nothing
//!   listens on fails the dial (`internal/cri/server/sandbox_portforward_linux.go`
//!   `portForward`; its error is wrapped as `failed to execute portforward in network namespace
//!   "…": …`).
//! - containerd copies both ways; when either direction ends it waits at most one second for
//!   the other, then closes the connection to the container outright (no half-close toward
//!   the container). So a client's FIN gives the application one second to answer.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::super::ApiState;

/// How long containerd waits for the second direction once the first has ended.
pub const RUNTIME_LINGER: Duration = Duration::from_secs(1);

/// One pod, as the runtime knows it.
pub struct PodSandbox {
    state: ApiState,
    pod: Arc<Value>,
    namespace: String,
    name: String,
    /// The CRI sandbox id the kubelet names the pod by (64 hex digits, from the pod's uid).
    sandbox: String,
    netns: String,
}

impl PodSandbox {
    pub fn new(state: ApiState, pod: Arc<Value>) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let uid = text(&pod["metadata"]["uid"]);
        let digest = ring::digest::digest(&ring::digest::SHA256, uid.as_bytes());
        let sandbox: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let netns = format!("/var/run/netns/cni-{}", uid.get(..36).unwrap_or(&uid));
        PodSandbox {
            namespace: text(&pod["metadata"]["namespace"]),
            name: text(&pod["metadata"]["name"]),
            state,
            pod,
            sandbox,
            netns,
        }
    }

    /// Whether PINGs go unanswered now, and when that changes.
    pub fn pings_lost(&self) -> tokio::sync::watch::Receiver<bool> {
        self.state.faults.pings_lost()
    }

    /// Connects to `port` inside the pod, or containerd's account of why not.
    pub async fn connect(&self, port: u16) -> Result<TcpStream, String> {
        let connected = match self.state.backends.address(&self.pod, port).await {
            Ok(address) => TcpStream::connect(address).await,
            Err(e) => Err(e),
        };
        match connected {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Err(_) if !self.is_running() => Err(format!(
                "network namespace for sandbox \"{}\" is closed",
                self.sandbox
            )),
            Err(_) => Err(self.in_netns(format!(
                "failed to connect to localhost:{port} inside namespace \"{sandbox}\", IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused ",
                sandbox = self.sandbox
            ))),
        }
    }

    /// What the copy saw when the pod's processes were killed under it.
    pub fn reset_cause(&self, port: u16) -> String {
        self.in_netns(format!(
            "read tcp4 127.0.0.1:{}->127.0.0.1:{port}: read: connection reset by peer",
            40000 + port % 20000
        ))
    }

    fn in_netns(&self, cause: String) -> String {
        format!(
            "failed to execute portforward in network namespace \"{}\": {cause}",
            self.netns
        )
    }

    /// The kubelet's message on the error stream (or channel).
    pub fn error_message(&self, port: u16, cause: &str) -> String {
        format!(
            "error forwarding port {port} to pod {}, uid : {cause}",
            self.sandbox
        )
    }

    /// Whether the pod's processes still run: false once they were killed (the pod died, or
    /// its grace period ended).
    pub fn is_running(&self) -> bool {
        self.state.backends.is_serving(&self.namespace, &self.name)
    }
}

/// containerd's copy between a client's stream and the connection to the container: both ways
/// until one direction ends, then at most `RUNTIME_LINGER` for the other, then the connection
/// is closed. The first direction's error, else the second's, is the forward's (`errFwd` in
/// `sandbox_portforward_linux.go`); the linger's end is no error. `alive` says whether the pod's processes still run: a first direction that ended
/// because they were killed is the cut a client must see (`ConnectionReset`); a pod killed
/// after the container had answered and closed is not.
pub async fn copy_as_containerd<S>(
    stream: S,
    container: TcpStream,
    alive: impl Fn() -> bool,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite,
{
    let (mut stream_read, mut stream_write) = tokio::io::split(stream);
    let (mut container_read, mut container_write) = container.into_split();
    let to_client = async {
        let copied = tokio::io::copy(&mut container_read, &mut stream_write).await;
        let _ = stream_write.flush().await;
        copied.map(|_| ())
    };
    let to_container = async {
        tokio::io::copy(&mut stream_read, &mut container_write)
            .await
            .map(|_| ())
    };
    tokio::pin!(to_client, to_container);
    let (first, other_done) = tokio::select! {
        r = &mut to_client => (r, false),
        r = &mut to_container => (r, true),
    };
    if !alive() {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "the pod's processes were killed",
        ));
    }
    let linger = tokio::time::sleep(RUNTIME_LINGER);
    let second = if other_done {
        tokio::select! {
            r = &mut to_client => r,
            _ = linger => Ok(()),
        }
    } else {
        tokio::select! {
            r = &mut to_container => r,
            _ = linger => Ok(()),
        }
    };
    // Dropping both halves closes the connection to the container (no shutdown first).
    first.and(second)
}
