//! A network in userspace, since this kernel has no `netem`: a TCP proxy on loopback that delays
//! every byte by a one-way latency each way and limits each direction to a bandwidth shared by
//! all its connections, as a laptop's link to a cloud region would. Clients (hasura-tui,
//! kubectl) are pointed at the proxy instead of the demo cluster; TLS passes through untouched
//! (the demo's certificate names 127.0.0.1, which the proxy is too). It counts the bytes that
//! crossed it each way.
//!
//! Each chunk read is scheduled on its direction's link: it starts when the link is free,
//! occupies it for `len / rate`, and arrives `delay` later. Nothing else (loss, reordering,
//! TCP's own slow start on the far side) is emulated.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

/// Bytes read at a time: small enough that pacing is smooth at a few Mbit/s.
const CHUNK: usize = 16 * 1024;

/// The link's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// One way; the round trip is twice this.
    pub delay: Duration,
    /// Each direction, in bits per second; 0 is unlimited.
    pub bits_per_sec: u64,
}

impl Shape {
    pub fn rtt(&self) -> Duration {
        self.delay * 2
    }
}

/// One direction of the link: when it is next free to put bytes on the wire.
struct Link {
    shape: Shape,
    free_at: Mutex<Instant>,
    bytes: AtomicU64,
}

impl Link {
    fn new(shape: Shape) -> Self {
        Link {
            shape,
            free_at: Mutex::new(Instant::now()),
            bytes: AtomicU64::new(0),
        }
    }

    /// When `len` bytes read now arrive at the far end.
    async fn schedule(&self, len: usize) -> Instant {
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
        let on_wire = match self.shape.bits_per_sec {
            0 => Duration::ZERO,
            bps => Duration::from_secs_f64(len as f64 * 8.0 / bps as f64),
        };
        let mut free_at = self.free_at.lock().await;
        let start = (*free_at).max(Instant::now());
        *free_at = start + on_wire;
        start + on_wire + self.shape.delay
    }
}

pub struct DelayProxy {
    pub addr: SocketAddr,
    up: Arc<Link>,
    down: Arc<Link>,
    task: tokio::task::JoinHandle<()>,
}

impl DelayProxy {
    /// A proxy to `target` on a free loopback port.
    pub async fn start(target: SocketAddr, shape: Shape) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (up, down) = (Arc::new(Link::new(shape)), Arc::new(Link::new(shape)));
        let (up2, down2) = (up.clone(), down.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (up, down) = (up2.clone(), down2.clone());
                tokio::spawn(async move {
                    // The connection itself takes a round trip to set up.
                    tokio::time::sleep(up.shape.delay + down.shape.delay).await;
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    let upload = pipe(client_read, server_write, up);
                    let download = pipe(server_read, client_write, down);
                    tokio::join!(upload, download);
                });
            }
        });
        DelayProxy {
            addr,
            up,
            down,
            task,
        }
    }

    /// Bytes that went client to server, and server to client, so far.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.up.bytes.load(Ordering::Relaxed),
            self.down.bytes.load(Ordering::Relaxed),
        )
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies one direction through the link; the far side is shut for writing when this side ends.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: Arc<Link>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(4096);
    let reader = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let arrives = link.schedule(n).await;
            if tx.send((arrives, buf[..n].to_vec())).await.is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((arrives, bytes)) = rx.recv().await {
            tokio::time::sleep_until(arrives).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
