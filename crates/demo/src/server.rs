//! The HTTPS front of the demo cluster: a TLS accept loop serving the API router over HTTP/1.1
//! (with upgrades, for port-forward WebSockets), which can be stopped, closing the listener and
//! every connection, and started again on the same address.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::faults::ServerRun;
use super::identity::CertificateCheck;
use super::{Cluster, DemoError};

struct Running {
    run: ServerRun,
    accept_loop: JoinHandle<()>,
    connections: TaskTracker,
}

struct Inner {
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    check: CertificateCheck,
    router: Router,
    cluster: Arc<Cluster>,
    running: Mutex<Option<Running>>,
}

#[derive(Clone)]
pub struct ApiServer(Arc<Inner>);

impl ApiServer {
    pub async fn start(
        listen: SocketAddr,
        tls: Arc<rustls::ServerConfig>,
        check: CertificateCheck,
        router: Router,
        cluster: Arc<Cluster>,
    ) -> Result<ApiServer, DemoError> {
        let listener = bind(listen)?;
        let addr = listener.local_addr().map_err(|source| DemoError::Listen {
            addr: listen,
            source,
        })?;
        let server = ApiServer(Arc::new(Inner {
            addr,
            acceptor: TlsAcceptor::from(tls),
            check,
            router,
            cluster,
            running: Mutex::new(None),
        }));
        server.run(listener);
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    fn run(&self, listener: TcpListener) {
        let run = self.0.cluster.faults.begin_run();
        let stop = run.token().clone();
        let connections = TaskTracker::new();
        let accept_loop = tokio::spawn(accept_loop(
            listener,
            self.0.acceptor.clone(),
            self.0.check.clone(),
            self.0.router.clone(),
            stop.clone(),
            connections.clone(),
        ));
        let previous = self
            .0
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(Running {
                run,
                accept_loop,
                connections,
            });
        if let Some(previous) = previous {
            previous.run.token().cancel();
        }
    }

    /// Closes the listener and every connection, including upgraded streams and open watches, and
    /// returns once they have all ended.
    pub async fn stop(&self) {
        let running = self
            .0
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(running) = running {
            running.run.token().cancel();
            let _ = running.accept_loop.await;
            running.connections.close();
            running.connections.wait().await;
            running.run.stop().await;
        }
    }

    /// Listens again on the same address.
    pub async fn restart(&self) -> Result<(), DemoError> {
        self.stop().await;
        let listener = bind(self.0.addr)?;
        self.run(listener);
        Ok(())
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, DemoError> {
    let err = |source| DemoError::Listen { addr, source };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    // A restart rebinds the address while old connections may sit in TIME_WAIT.
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    socket.listen(1024).map_err(err)
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    check: CertificateCheck,
    router: Router,
    stop: CancellationToken,
    connections: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _peer)) = accepted else {
            // Out of file descriptors and the like: keep serving the connections we have.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, router, stop) = (acceptor.clone(), router.clone(), stop.clone());
        let check = check.clone();
        connections.spawn(async move {
            let serve = async {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // Every request on the connection carries what its certificate says.
                let peer = check.check_peer(tls.get_ref().1.peer_certificates());
                let service = TowerToHyperService::new(tower::ServiceExt::map_request(
                    router,
                    move |mut request: http::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(peer.clone());
                        request
                    },
                ));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            };
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = serve => {}
            }
        });
    }
}
