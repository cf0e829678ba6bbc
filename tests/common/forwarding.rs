//! Forwards through the product's engine for tests: start one and wait for it, and the echo
//! traffic the drills send through it.

use std::net::SocketAddr;

use hasura_tui::forward::{ForwardManager, ForwardSpec, ForwardState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Starts a forward of `namespace/service` on a free local port; its address once active.
pub async fn forward(manager: &mut ForwardManager, namespace: &str, service: &str) -> SocketAddr {
    let mut spec = ForwardSpec::new(namespace, service);
    spec.local_port = Some(0);
    let key = spec.key();
    manager.start(spec);
    let status = manager.wait_started(&key).await.expect("a state");
    assert_eq!(status.state, ForwardState::Active, "{status:?}");
    status.local.expect("a local address")
}

/// `len` bytes that differ with `seed`, so a mixed-up stream shows.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// Writes `payload` and reads as much back, concurrently, on one connection.
pub async fn echo(addr: SocketAddr, payload: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let (mut reader, mut writer) = TcpStream::connect(addr).await?.into_split();
    let len = payload.len();
    let writing = tokio::spawn(async move { writer.write_all(&payload).await.map(|_| writer) });
    let mut back = vec![0u8; len];
    reader.read_exact(&mut back).await?;
    writing.await.map_err(std::io::Error::other)??;
    Ok(back)
}
