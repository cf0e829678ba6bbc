#![warn(missing_docs)]
//! SPDY/3.1, the multiplexing protocol `kubectl port-forward` speaks to the API server and the
//! kubelet (Kubernetes `httpstream/spdy`, built on github.com/moby/spdystream), for both ends:
//! the forward's client and the demo cluster's server. Frames and header blocks (`frame`,
//! `headers`), a connection with streams that half-close (`session`), and the byte stream inside
//! a WebSocket that KEP-4006 tunnels SPDY through (`ws_io`).
//!
//! Written here rather than taken from a crate: the crates that exist (`spdy-mux`,
//! `kube-portforward`) are GPL-3.0, client-only (the demo needs the server side too), and wait
//! for flow-control windows that spdystream never sends, which stalls an upload to a real
//! kubelet after the first window.

mod dictionary;
pub mod frame;
pub mod headers;
pub mod session;
pub mod ws_io;

pub use frame::Frame;
pub use headers::Headers;
pub use session::{Incoming, Role, Session, Stream};

/// Why a connection cannot go on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpdyError {
    /// Something spdystream would kill the connection for.
    #[error("SPDY protocol error: {0}")]
    Protocol(&'static str),
}
