//! Who may have a gateway-mode forward's identity: a program on this machine, decided by the
//! accepted connection's peer address, and not a web page in the user's browser. An identity is
//! a credential: without this, any machine on the network (a forward bound beyond loopback) or
//! any open web page could act as `admin` on the cluster.

use std::net::IpAddr;

use http::HeaderMap;

/// Whether a request gets the identity, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Apply,
    /// The connection comes from another machine (the forward listens beyond loopback).
    OtherMachine(IpAddr),
    /// A web page in a browser on this machine: cross-site, or a foreign Host (DNS rebinding).
    WebPage,
}

impl Verdict {
    /// Why the headers were withheld, and which of the client's own were dropped, for the
    /// request log.
    pub fn note_dropping(&self, dropped: &[String]) -> Option<String> {
        let why = self.note()?;
        if dropped.is_empty() {
            return Some(why);
        }
        Some(format!("{why}; client's {} dropped", dropped.join(", ")))
    }

    /// Why the headers were withheld, for the request log.
    pub fn note(&self) -> Option<String> {
        match self {
            Verdict::Apply => None,
            Verdict::OtherMachine(peer) => Some(format!(
                "no gateway headers: {peer} is another machine (only this machine gets them)"
            )),
            Verdict::WebPage => {
                Some("no gateway headers: a web page (cross-site or foreign Host)".to_string())
            }
        }
    }
}

/// Whether a request gets the identity. Only a program on this machine may have it: decided by
/// the accepted connection's peer address (loopback), never by what the request says about itself.
/// Even then a web page in the user's browser may not (a cross-site request, or DNS rebinding: a
/// foreign host name pointed at 127.0.0.1): the Host must be a loopback name or address, and
/// Origin and Sec-Fetch-Site must not name another site. Anything else would let any machine on
/// the network, or any open web page, act as `admin` on the cluster.
pub fn decide(peer: IpAddr, headers: &HeaderMap) -> Verdict {
    if !is_loopback(peer) {
        return Verdict::OtherMachine(peer);
    }
    if from_this_machine(headers) {
        Verdict::Apply
    } else {
        Verdict::WebPage
    }
}

/// Loopback, IPv4-mapped IPv6 included (a dual-stack `[::]` listener sees `::ffff:127.0.0.1`).
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
    }
}

/// Whether a request from a loopback peer is what a program meant to send to the forward, as
/// opposed to a web page in the user's browser (see `decide`).
fn from_this_machine(headers: &HeaderMap) -> bool {
    let local_host = |host: &str| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        host == "localhost"
            || host.ends_with(".localhost")
            || host.parse::<IpAddr>().is_ok_and(is_loopback)
    };
    let host_of = |authority: &str| -> String {
        // `[::1]:8080`, `127.0.0.1:8080`, `localhost`
        match authority.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => {
                host.to_string()
            }
            _ => authority.to_string(),
        }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host_ok = header("host").is_some_and(|h| local_host(&host_of(h)));
    let origin_ok = header("origin").is_none_or(|origin| {
        origin
            .split_once("://")
            .is_some_and(|(_, authority)| local_host(&host_of(authority.trim_end_matches('/'))))
    });
    let site_ok = header("sec-fetch-site").is_none_or(|site| site != "cross-site");
    host_ok && origin_ok && site_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn only_loopback_peers_get_the_identity_whatever_the_request_says() {
        let curl = headers(&[("host", "127.0.0.1:8080"), ("user-agent", "curl/8")]);
        for peer in ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"] {
            let peer: IpAddr = peer.parse().unwrap();
            assert_eq!(decide(peer, &curl), Verdict::Apply, "{peer}");
        }
        // Another machine, even one that names this machine's address or localhost as Host.
        for (peer, host) in [
            ("192.168.1.20", "192.168.1.10:8080"),
            ("10.0.0.2", "localhost:8080"),
            ("10.0.0.2", "127.0.0.1:8080"),
            ("fe80::1", "[::1]:8080"),
            ("::ffff:10.0.0.2", "127.0.0.1:8080"),
            ("0.0.0.0", "127.0.0.1:8080"),
        ] {
            let peer: IpAddr = peer.parse().unwrap();
            let mut h = HeaderMap::new();
            h.insert("host", HeaderValue::from_str(host).unwrap());
            assert_eq!(
                decide(peer, &h),
                Verdict::OtherMachine(peer),
                "{peer} {host}"
            );
            assert!(
                Verdict::OtherMachine(peer)
                    .note()
                    .unwrap()
                    .contains("another machine")
            );
        }
    }

    #[test]
    fn web_pages_on_this_machine_get_no_identity() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        for ok in [
            headers(&[("host", "localhost:8080")]),
            headers(&[("host", "127.0.0.1:8080"), ("user-agent", "curl/8")]),
            headers(&[("host", "[::1]:8080")]),
            headers(&[("host", "app.localhost")]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://localhost:3000"),
            ]),
            headers(&[("host", "localhost:8080"), ("sec-fetch-site", "same-site")]),
        ] {
            assert_eq!(decide(local, &ok), Verdict::Apply, "{ok:?}");
        }
        for refused in [
            headers(&[]),
            headers(&[("host", "evil.example:8080")]),
            // The interface's own address is not a loopback name: a rebinding page could use it.
            headers(&[("host", "192.168.1.10:8080")]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]),
            headers(&[("host", "localhost:8080"), ("sec-fetch-site", "cross-site")]),
        ] {
            assert_eq!(decide(local, &refused), Verdict::WebPage, "{refused:?}");
        }
    }
}
