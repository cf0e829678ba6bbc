//! A small HTTP CONNECT proxy on loopback, as a corporate proxy would be: it opens a tunnel to
//! whatever address the client asks for and counts the tunnels, so a test can tell that traffic
//! really went through it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct ConnectProxy {
    pub addr: SocketAddr,
    tunnels: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectProxy {
    pub async fn start() -> ConnectProxy {
        Self::start_resolving(&[]).await
    }

    /// A proxy that knows names the machine does not (`kubernetes.default.svc` → `127.0.0.1`),
    /// as a proxy inside a private network does: only through it is such a name reachable.
    pub async fn start_resolving(names: &[(&str, &str)]) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tunnels = Arc::new(AtomicUsize::new(0));
        let counted = tunnels.clone();
        let names: Arc<Vec<(String, String)>> = Arc::new(
            names
                .iter()
                .map(|(n, a)| (n.to_string(), a.to_string()))
                .collect(),
        );
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (counted, names) = (counted.clone(), names.clone());
                tokio::spawn(async move {
                    let _ = tunnel(client, &counted, &names).await;
                });
            }
        });
        ConnectProxy {
            addr,
            tunnels,
            task,
        }
    }

    /// Tunnels opened so far.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::Relaxed)
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tunnel(
    mut client: TcpStream,
    counted: &AtomicUsize,
    names: &[(String, String)],
) -> std::io::Result<()> {
    // The request head, up to the blank line (a CONNECT has no body).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let target = match target.rsplit_once(':') {
        Some((host, port)) => match names.iter().find(|(name, _)| name == host) {
            Some((_, address)) => format!("{address}:{port}"),
            None => target.to_string(),
        },
        None => target.to_string(),
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    counted.fetch_add(1, Ordering::Relaxed);
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
