//! Gateway mode: who a forward's HTTP requests claim to come from. In the cluster the Hasura API
//! gateway sets `X-Hasura-Role`, `X-Hasura-User-Id` and `X-Hasura-Allowed-Roles` from the session
//! (`anonymous` with user id `0` when there is none), replacing any `X-Hasura-*` header the client
//! sent, and services calling each other set them by hand. A forward in gateway mode does what the
//! gateway does (or, when asked, keeps the client's own headers), and only for requests from a
//! program on this machine: an identity is a credential.

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

use super::target::PortChoice;

pub const ROLE: HeaderName = HeaderName::from_static("x-hasura-role");
pub const USER_ID: HeaderName = HeaderName::from_static("x-hasura-user-id");
pub const ALLOWED_ROLES: HeaderName = HeaderName::from_static("x-hasura-allowed-roles");
/// The headers an identity puts on a request.
pub const IDENTITY_HEADERS: [HeaderName; 3] = [ROLE, USER_ID, ALLOWED_ROLES];

/// The identity a forward's requests carry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GatewayIdentity {
    pub role: String,
    pub user_id: String,
    /// The client's own `X-Hasura-*` headers win (an explicit choice; the gateway replaces them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_client_headers: bool,
}

/// What adding the identity did to a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The client's own `X-Hasura-*` headers that were dropped, as `name: value`.
    pub replaced: Vec<String>,
}

impl Applied {
    /// `client's X-Hasura-Role: admin replaced`, for the request log.
    pub fn note(&self) -> Option<String> {
        (!self.replaced.is_empty())
            .then(|| format!("client's {} replaced", self.replaced.join(", ")))
    }
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
            keep_client_headers: false,
        }
    }

    /// Checks an identity that did not come from typing (a saved forward): the same rules as
    /// `parse`, the user id included, so nothing invalid is ever shown as the forward's identity
    /// while its requests go out without it.
    pub fn checked(&self) -> Result<Self, String> {
        if self.user_id.is_empty() {
            return Err(format!("user id {:?}: letters, digits, - and _ only", ""));
        }
        let mut identity = GatewayIdentity::parse(&self.role, &self.user_id)?;
        identity.keep_client_headers = self.keep_client_headers;
        Ok(identity)
    }

    /// `admin`, or `admin*` when the client's own headers win.
    pub fn label(&self) -> String {
        if self.keep_client_headers {
            format!("{}*", self.role)
        } else {
            self.role.clone()
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

    /// Puts the three headers on a request. By default, as the gateway does, every `X-Hasura-*`
    /// header the client sent is dropped first (and named in the result); with
    /// `keep_client_headers` the client's own win and only the missing ones are added, the allowed
    /// roles following the role the request goes out with.
    pub fn apply(&self, headers: &mut HeaderMap) -> Applied {
        let mut applied = Applied::default();
        if !self.keep_client_headers {
            applied.replaced = drop_client_headers(headers);
        }
        let role = match headers.get(&ROLE) {
            Some(own) => own.clone(),
            None => match HeaderValue::from_str(&self.role) {
                Ok(role) => role,
                // `parse` and `checked` make this unreachable; send nothing rather than junk.
                Err(_) => return applied,
            },
        };
        for (name, value) in [
            (ROLE, Ok(role.clone())),
            (USER_ID, HeaderValue::from_str(&self.user_id)),
            (ALLOWED_ROLES, Ok(role)),
        ] {
            if !headers.contains_key(&name)
                && let Ok(value) = value
            {
                headers.insert(name, value);
            }
        }
        applied
    }
}

/// Drops every `X-Hasura-*` header a client sent, as the gateway does; what was dropped, as
/// `X-Hasura-Role: admin`. A request that gets no identity (from another machine, or a web page)
/// goes through this too: otherwise it could claim any role itself.
pub fn drop_client_headers(headers: &mut HeaderMap) -> Vec<String> {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("x-hasura-"))
        .cloned()
        .collect();
    let mut dropped = Vec::new();
    for name in names {
        for value in headers.get_all(&name) {
            dropped.push(format!(
                "{}: {}",
                display_name(&name),
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        headers.remove(&name);
    }
    dropped
}

/// `X-Hasura-Role` for `x-hasura-role`: the names as people write them.
fn display_name(name: &HeaderName) -> String {
    name.as_str()
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
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
    fn the_clients_own_hasura_headers_are_replaced_as_the_gateway_does() {
        let mut headers = HeaderMap::new();
        headers.insert(ROLE, HeaderValue::from_static("admin"));
        headers.insert("x-hasura-admin-secret", HeaderValue::from_static("s3cret"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        let applied = GatewayIdentity::anonymous().apply(&mut headers);
        assert_eq!(headers[ROLE], "anonymous", "the stale role does not win");
        assert_eq!(headers[USER_ID], "0");
        assert_eq!(headers[ALLOWED_ROLES], "anonymous");
        assert!(!headers.contains_key("x-hasura-admin-secret"));
        assert_eq!(headers["accept"], "*/*", "other headers pass untouched");
        assert_eq!(
            applied.note().as_deref(),
            Some("client's X-Hasura-Role: admin, X-Hasura-Admin-Secret: s3cret replaced")
        );
        let mut clean = HeaderMap::new();
        assert_eq!(GatewayIdentity::admin().apply(&mut clean).note(), None);
    }

    #[test]
    fn keeping_the_clients_headers_adds_only_missing_ones() {
        let mut headers = HeaderMap::new();
        headers.insert(ROLE, HeaderValue::from_static("user"));
        let mut identity = GatewayIdentity::anonymous();
        identity.keep_client_headers = true;
        assert_eq!(identity.label(), "anonymous*");
        let applied = identity.apply(&mut headers);
        assert_eq!(applied.note(), None);
        assert_eq!(headers[ROLE], "user", "a role the client set is kept");
        assert_eq!(headers[USER_ID], "0");
        assert_eq!(
            headers[ALLOWED_ROLES], "user",
            "and the allowed roles agree with it"
        );
    }

    #[test]
    fn saved_identities_are_checked_like_typed_ones() {
        assert!(GatewayIdentity::new("admin", "0").checked().is_ok());
        let mut kept = GatewayIdentity::new("user", "42");
        kept.keep_client_headers = true;
        assert_eq!(kept.checked(), Ok(kept.clone()));
        for (role, id) in [
            ("a b", "0"),
            ("", "0"),
            ("admin", ""),
            ("admin", "1\r\nX: y"),
            ("ädmin", "0"),
        ] {
            assert!(
                GatewayIdentity::new(role, id).checked().is_err(),
                "{role:?} {id:?}"
            );
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
