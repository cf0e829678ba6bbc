//! Gateway mode: who a forward's HTTP requests claim to come from. In the cluster the Hasura API
//! gateway sets `X-Hasura-Role`, `X-Hasura-User-Id` and `X-Hasura-Allowed-Roles` from the session
//! (`anonymous` with user id `0` when there is none), and services calling each other set them by
//! hand. A forward in gateway mode adds them to every request that lacks them.

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
    pub fn apply(&self, headers: &mut HeaderMap) -> usize {
        let mut added = 0;
        for (name, value) in [
            (ROLE, &self.role),
            (USER_ID, &self.user_id),
            (ALLOWED_ROLES, &self.role),
        ] {
            if !headers.contains_key(&name)
                && let Ok(value) = HeaderValue::from_str(value)
            {
                headers.insert(name, value);
                added += 1;
            }
        }
        added
    }
}

/// Whether a Service port speaks plain HTTP, from what Kubernetes says about it: `appProtocol`
/// first, else the port's name (`http`, `http-*`), else the conventional port numbers. TLS ports
/// (`https`) are not: the forward would have to terminate TLS to read the requests.
pub fn is_http(choice: &PortChoice) -> bool {
    if let Some(protocol) = &choice.app_protocol {
        let protocol = protocol.to_ascii_lowercase();
        return protocol == "http" || protocol == "kubernetes.io/h2c";
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
        assert_eq!(headers[ALLOWED_ROLES], "anonymous");
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
        assert!(!is_http(&port(None, 22, None)));
    }
}
