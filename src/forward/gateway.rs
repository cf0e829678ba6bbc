//! Gateway mode: who a forward's HTTP requests claim to come from. In the cluster the Hasura API
//! gateway sets `X-Hasura-Role`, `X-Hasura-User-Id` and `X-Hasura-Allowed-Roles` from the session
//! (`anonymous` with user id `0` when there is none), and services calling each other set them by
//! hand. A forward in gateway mode adds them to every request that lacks them.

use std::net::IpAddr;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

use super::target::PortChoice;

pub const ROLE: HeaderName = HeaderName::from_static("x-hasura-role");
pub const USER_ID: HeaderName = HeaderName::from_static("x-hasura-user-id");
pub const ALLOWED_ROLES: HeaderName = HeaderName::from_static("x-hasura-allowed-roles");

/// The identity a forward's requests carry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GatewayIdentity {
    pub role: String,
    pub user_id: String,
}

impl GatewayIdentity {
    /// What the gateway sets when a request has no session.
    pub fn anonymous() -> Self {
        GatewayIdentity::new("anonymous", "0")
    }

    /// What services calling each other use for full access.
    pub fn admin() -> Self {
        GatewayIdentity::new("admin", "0")
    }

    pub fn new(role: &str, user_id: &str) -> Self {
        GatewayIdentity {
            role: role.to_string(),
            user_id: user_id.to_string(),
        }
    }

    /// Checks what a person typed: header-safe, like Hasura's role names (letters, digits, `-_`).
    pub fn parse(role: &str, user_id: &str) -> Result<Self, String> {
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !valid(role) {
            return Err(format!("role {role:?}: letters, digits, - and _ only"));
        }
        let user_id = if user_id.is_empty() { "0" } else { user_id };
        if !valid(user_id) {
            return Err(format!(
                "user id {user_id:?}: letters, digits, - and _ only"
            ));
        }
        Ok(GatewayIdentity::new(role, user_id))
    }

    /// The `a` key's cycle: off, anonymous, admin, off. A typed role goes back to off.
    pub fn cycle(current: Option<&GatewayIdentity>) -> Option<GatewayIdentity> {
        match current {
            None => Some(GatewayIdentity::anonymous()),
            Some(id) if *id == GatewayIdentity::anonymous() => Some(GatewayIdentity::admin()),
            Some(_) => None,
        }
    }

    /// Adds the three headers where the client did not set them itself; returns how many it added.
    /// The allowed roles follow the role the request goes out with, so a client that names its
    /// own role is not contradicted by the identity's.
    pub fn apply(&self, headers: &mut HeaderMap) -> usize {
        let role = match headers.get(&ROLE) {
            Some(own) => own.clone(),
            None => match HeaderValue::from_str(&self.role) {
                Ok(role) => role,
                Err(_) => return 0,
            },
        };
        let mut added = 0;
        for (name, value) in [
            (ROLE, Ok(role.clone())),
            (USER_ID, HeaderValue::from_str(&self.user_id)),
            (ALLOWED_ROLES, Ok(role)),
        ] {
            if !headers.contains_key(&name)
                && let Ok(value) = value
            {
                headers.insert(name, value);
                added += 1;
            }
        }
        added
    }
}

/// Whether a request comes from a program on this machine that meant to call the forward, as
/// opposed to a web page in the user's browser (a cross-site request, or DNS rebinding: a
/// foreign host name pointed at 127.0.0.1). Only such requests get the identity's headers;
/// anything else would let any open web page act as `admin` on the cluster.
pub fn from_this_machine(headers: &HeaderMap, local_ip: IpAddr) -> bool {
    let local_host = |host: &str| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        host == "localhost"
            || host.ends_with(".localhost")
            || host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip == local_ip)
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

/// Whether a Service port speaks plain HTTP, from what Kubernetes says about it: `appProtocol`
/// first, else the port's name (`http`, `http-*`), else the conventional port numbers. TLS ports
/// (`https`) are not: the forward would have to terminate TLS to read the requests.
pub fn is_http(choice: &PortChoice) -> bool {
    if let Some(protocol) = &choice.app_protocol {
        // Only HTTP/1.1: the proxy does not speak h2c (gRPC), which must stay a raw forward.
        return protocol.eq_ignore_ascii_case("http");
    }
    match choice.name.as_deref() {
        Some(name) => name == "http" || name.starts_with("http-"),
        None => matches!(choice.service_port, 80 | 8080),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::target::Target;

    fn port(name: Option<&str>, number: u16, app_protocol: Option<&str>) -> PortChoice {
        PortChoice {
            name: name.map(str::to_string),
            service_port: number,
            target: Target::Number(number),
            app_protocol: app_protocol.map(str::to_string),
        }
    }

    #[test]
    fn adds_only_missing_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(ROLE, HeaderValue::from_static("user"));
        let added = GatewayIdentity::anonymous().apply(&mut headers);
        assert_eq!(added, 2);
        assert_eq!(headers[ROLE], "user", "a role the client set is kept");
        assert_eq!(headers[USER_ID], "0");
        assert_eq!(
            headers[ALLOWED_ROLES], "user",
            "and the allowed roles agree with it"
        );
    }

    #[test]
    fn only_requests_from_this_machine_get_the_identity() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (name, value) in pairs {
                h.insert(*name, HeaderValue::from_static(value));
            }
            h
        };
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
            assert!(from_this_machine(&ok, local), "{ok:?}");
        }
        for refused in [
            headers(&[]),
            headers(&[("host", "evil.example:8080")]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]),
            headers(&[("host", "localhost:8080"), ("sec-fetch-site", "cross-site")]),
        ] {
            assert!(!from_this_machine(&refused, local), "{refused:?}");
        }
    }

    #[test]
    fn cycles_off_anonymous_admin() {
        let anonymous = GatewayIdentity::cycle(None);
        assert_eq!(anonymous, Some(GatewayIdentity::anonymous()));
        let admin = GatewayIdentity::cycle(anonymous.as_ref());
        assert_eq!(admin, Some(GatewayIdentity::admin()));
        assert_eq!(GatewayIdentity::cycle(admin.as_ref()), None);
        let typed = GatewayIdentity::new("editor", "42");
        assert_eq!(GatewayIdentity::cycle(Some(&typed)), None);
    }

    #[test]
    fn typed_identities_are_checked() {
        assert_eq!(
            GatewayIdentity::parse("editor", ""),
            Ok(GatewayIdentity::new("editor", "0"))
        );
        assert!(GatewayIdentity::parse("", "1").is_err());
        assert!(GatewayIdentity::parse("a b", "1").is_err());
        assert!(GatewayIdentity::parse("user", "1\r\nX: y").is_err());
    }

    #[test]
    fn http_ports_are_recognised() {
        assert!(is_http(&port(Some("http"), 80, None)));
        assert!(is_http(&port(Some("http-metrics"), 9090, None)));
        assert!(is_http(&port(None, 8080, None)));
        assert!(is_http(&port(Some("web"), 3000, Some("http"))));
        assert!(!is_http(&port(Some("pg"), 5432, None)));
        assert!(!is_http(&port(Some("https"), 443, None)));
        assert!(!is_http(&port(Some("http"), 80, Some("tcp"))));
        assert!(!is_http(&port(Some("grpc"), 80, Some("kubernetes.io/h2c"))));
        assert!(!is_http(&port(None, 22, None)));
    }
}
