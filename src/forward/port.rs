//! Choosing and binding the local port (docs/forwards.md): the port asked for, exactly; otherwise
//! `8000+port` for remote ports below 1024 (80 becomes 8080), else the same number; if that is
//! taken, that plus 1000 (5432 becomes 6432, as in the Hasura docs); else whatever the OS gives.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpListener, TcpSocket};

use super::ForwardError;

/// The ports tried, in order, when none was asked for (0 means "let the OS choose").
pub fn candidates(remote_port: u16) -> [u16; 3] {
    let first = if remote_port < 1024 {
        8000 + remote_port
    } else {
        remote_port
    };
    [first, first.checked_add(1000).unwrap_or(0), 0]
}

/// Binds the listener for a forward.
pub fn bind(
    address: IpAddr,
    requested: Option<u16>,
    remote_port: u16,
) -> Result<TcpListener, ForwardError> {
    if let Some(port) = requested {
        return bind_one(SocketAddr::new(address, port));
    }
    let mut last = None;
    for port in candidates(remote_port) {
        match bind_one(SocketAddr::new(address, port)) {
            Ok(listener) => return Ok(listener),
            // Taken or not allowed: try the next candidate.
            Err(e @ (ForwardError::PortInUse(_) | ForwardError::PermissionDenied(_))) => {
                last = Some(e)
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(ForwardError::PortInUse(remote_port)))
}

fn bind_one(addr: SocketAddr) -> Result<TcpListener, ForwardError> {
    let map = |e: std::io::Error| match e.kind() {
        ErrorKind::AddrInUse => ForwardError::PortInUse(addr.port()),
        ErrorKind::PermissionDenied => ForwardError::PermissionDenied(addr.port()),
        ErrorKind::AddrNotAvailable => ForwardError::AddressUnavailable(addr.ip()),
        _ => ForwardError::Bind(addr, e.to_string()),
    };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(map)?;
    // SO_REUSEADDR on unix only: there it lets us bind while connections of an earlier run
    // linger in TIME_WAIT (a forward restored right after a restart would otherwise say "in
    // use" for a minute), and still refuses a port another socket listens on, so a taken port
    // is reported, not shared. On Windows it would share a listening port, so not there.
    #[cfg(unix)]
    socket.set_reuseaddr(true).map_err(map)?;
    socket.bind(addr).map_err(map)?;
    socket.listen(1024).map_err(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_the_product_rule() {
        assert_eq!(candidates(80), [8080, 9080, 0]);
        assert_eq!(candidates(22), [8022, 9022, 0]);
        assert_eq!(candidates(5432), [5432, 6432, 0]);
        assert_eq!(candidates(8080), [8080, 9080, 0]);
        assert_eq!(candidates(65000), [65000, 0, 0]);
    }

    #[tokio::test]
    async fn a_taken_port_moves_on_and_an_asked_for_port_does_not() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        // Hold a port, then ask for a forward whose first candidate is that port.
        let held = bind(loopback, Some(0), 0).unwrap();
        let taken = held.local_addr().unwrap().port();
        let moved = bind(loopback, None, taken).unwrap();
        assert_ne!(moved.local_addr().unwrap().port(), taken);
        match bind(loopback, Some(taken), 0) {
            Err(ForwardError::PortInUse(p)) => assert_eq!(p, taken),
            other => panic!("expected port in use, got {other:?}"),
        }
    }
}
