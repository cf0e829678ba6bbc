//! The `F` forward dialog: local port, remote port (for multi-port services), bind address and
//! gateway mode's identity, validated as typed, turned into a `ForwardSpec` on Enter.

use std::net::IpAddr;

use crossterm::event::{KeyCode, KeyEvent};

use super::Action;

use crate::forward::{ForwardSpec, GatewayIdentity};
use crate::model::{Microservice, TargetPort};

pub const FIELDS: [&str; 6] = [
    "local port",
    "remote port",
    "address",
    "as role",
    "user id",
    "X-Hasura-*",
];
/// Field indices.
const LOCAL: usize = 0;
const REMOTE: usize = 1;
const ADDRESS: usize = 2;
const ROLE: usize = 3;
const USER_ID: usize = 4;
/// Empty: the client's own `X-Hasura-*` headers are replaced (as the gateway does); `keep`: they win.
const CLIENT_HEADERS: usize = 5;
pub const KEEP: &str = "keep";

/// The forward dialog's keys: Tab moves between fields, letters are text.
pub fn key(key: KeyEvent, ctrl: bool) -> Option<Action> {
    match key.code {
        KeyCode::Esc => Some(Action::DialogCancel),
        KeyCode::Enter => Some(Action::DialogSubmit),
        KeyCode::Tab | KeyCode::Down => Some(Action::DialogMove(1)),
        KeyCode::BackTab | KeyCode::Up => Some(Action::DialogMove(-1)),
        KeyCode::Backspace => Some(Action::DialogBackspace),
        KeyCode::Char(c) if !ctrl => Some(Action::DialogInput(c)),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardDialog {
    pub namespace: String,
    pub service: String,
    /// Local port, remote port, address, role, user id, client headers: the text typed so far.
    pub values: [String; 6],
    pub focus: usize,
    /// The Service's ports, as a hint (`80->http, 443->8443`).
    pub ports_hint: String,
    pub error: Option<String>,
}

impl ForwardDialog {
    pub fn for_microservice(m: &Microservice) -> Self {
        let hint = m
            .ports
            .iter()
            .map(|p| match &p.target {
                TargetPort::Number(n) => format!("{}->{n}", p.port),
                TargetPort::Name(name) => format!("{}->{name}", p.port),
            })
            .collect::<Vec<_>>()
            .join(", ");
        ForwardDialog {
            namespace: m.namespace.clone(),
            service: m.name.clone(),
            values: [
                String::new(),
                String::new(),
                "127.0.0.1".to_string(),
                String::new(),
                String::new(),
                String::new(),
            ],
            focus: 0,
            ports_hint: hint,
            error: None,
        }
    }

    pub fn input(&mut self, c: char) {
        if self.focus == CLIENT_HEADERS {
            // Any key toggles between replacing the client's headers and keeping them.
            let value = &mut self.values[CLIENT_HEADERS];
            *value = if value.is_empty() {
                KEEP.to_string()
            } else {
                String::new()
            };
            self.error = None;
            return;
        }
        let allowed = match self.focus {
            LOCAL | REMOTE => c.is_ascii_digit(),
            ADDRESS => c.is_ascii_hexdigit() || c == '.' || c == ':',
            _ => c.is_ascii_alphanumeric() || c == '-' || c == '_',
        };
        if allowed && self.values[self.focus].len() < 45 {
            self.values[self.focus].push(c);
            self.error = None;
        }
    }

    pub fn backspace(&mut self) {
        self.values[self.focus].pop();
        self.error = None;
    }

    pub fn move_focus(&mut self, delta: isize) {
        self.focus = (self.focus as isize + delta).rem_euclid(FIELDS.len() as isize) as usize;
    }

    /// A warning to show while the address is not loopback.
    pub fn warning(&self) -> Option<&'static str> {
        match self.values[ADDRESS].parse::<IpAddr>() {
            Ok(ip) if !ip.is_loopback() && !self.values[ROLE].is_empty() => Some(
                "reachable from other machines; gateway headers apply only to this machine's requests",
            ),
            Ok(ip) if !ip.is_loopback() => Some("this address is reachable from other machines"),
            _ => None,
        }
    }

    /// The forward asked for, or why not (shown in the dialog).
    pub fn spec(&self) -> Result<ForwardSpec, String> {
        let port = |text: &str, what: &str| -> Result<Option<u16>, String> {
            if text.is_empty() {
                return Ok(None);
            }
            match text.parse::<u16>() {
                Ok(p) if p > 0 => Ok(Some(p)),
                _ => Err(format!("{what} must be 1 to 65535")),
            }
        };
        let mut spec = ForwardSpec::new(&self.namespace, &self.service);
        spec.local_port = port(&self.values[LOCAL], "local port")?;
        spec.remote_port = port(&self.values[REMOTE], "remote port")?;
        spec.address = self.values[ADDRESS]
            .parse()
            .map_err(|_| format!("{:?} is not an IP address", self.values[ADDRESS]))?;
        // No role: a plain forward. A role turns gateway mode on; the user id defaults to 0.
        if !self.values[ROLE].is_empty() {
            let mut identity = GatewayIdentity::parse(&self.values[ROLE], &self.values[USER_ID])?;
            identity.keep_client_headers = self.values[CLIENT_HEADERS] == KEEP;
            spec.gateway = Some(identity);
        } else if !self.values[USER_ID].is_empty() {
            return Err("a user id needs a role (anonymous, admin, ...)".to_string());
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog() -> ForwardDialog {
        ForwardDialog {
            namespace: "hasura".into(),
            service: "gateway".into(),
            values: [
                String::new(),
                String::new(),
                "127.0.0.1".into(),
                String::new(),
                String::new(),
                String::new(),
            ],
            focus: 0,
            ports_hint: String::new(),
            error: None,
        }
    }

    #[test]
    fn validates_ports_and_address() {
        let mut d = dialog();
        assert_eq!(d.spec().unwrap().local_port, None);
        for c in "70000".chars() {
            d.input(c);
        }
        assert_eq!(d.spec().unwrap_err(), "local port must be 1 to 65535");
        d.values[0] = "9443".into();
        d.values[1] = "443".into();
        let spec = d.spec().unwrap();
        assert_eq!((spec.local_port, spec.remote_port), (Some(9443), Some(443)));
        d.values[2] = "0.0.0.0".into();
        assert!(d.warning().is_some());
        d.values[2] = "nope".into();
        assert!(d.spec().is_err());
        d.input('x');
        assert_eq!(d.values[0], "9443", "letters never reach a port field");
    }

    #[test]
    fn a_role_turns_gateway_mode_on() {
        let mut d = dialog();
        assert_eq!(d.spec().unwrap().gateway, None);
        d.values[USER_ID] = "7".into();
        assert!(d.spec().is_err(), "a user id alone is a mistake");
        d.focus = ROLE;
        for c in "admin: x".chars() {
            d.input(c);
        }
        assert_eq!(
            d.values[ROLE], "adminx",
            "only header-safe characters are typed"
        );
        d.values[ROLE] = "admin".into();
        assert_eq!(
            d.spec().unwrap().gateway,
            Some(GatewayIdentity::new("admin", "7"))
        );
        d.values[USER_ID].clear();
        assert_eq!(
            d.spec().unwrap().gateway,
            Some(GatewayIdentity::new("admin", "0"))
        );
        d.focus = CLIENT_HEADERS;
        d.input(' ');
        let kept = d.spec().unwrap().gateway.unwrap();
        assert!(kept.keep_client_headers, "the field turns client-wins on");
        d.input(' ');
        assert!(!d.spec().unwrap().gateway.unwrap().keep_client_headers);
        d.values[ADDRESS] = "0.0.0.0".into();
        assert!(d.warning().unwrap().contains("only to this machine"));
    }
}
