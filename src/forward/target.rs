//! What a forward connects to: which Service port (named `http`, else the first, else the one
//! asked for), and from the Service's Endpoints the Ready pods behind it and the container port
//! that port resolves to (Endpoints carry the resolved number, named targetPorts included).

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ForwardError;

/// The Service port a forward uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortChoice {
    pub name: Option<String>,
    /// The Service's port number (or the container port when asked for one directly).
    pub service_port: u16,
    pub target: Target,
    /// The port's `appProtocol`, which says whether it speaks HTTP (see `gateway::is_http`).
    pub app_protocol: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Number(u16),
    Name(String),
}

/// Picks the Service port. `requested` may name a Service port or a container port.
pub fn choose_port(service: &Service, requested: Option<u16>) -> Result<PortChoice, ForwardError> {
    let name = service.metadata.name.clone().unwrap_or_default();
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let choices: Vec<PortChoice> = ports
        .iter()
        .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
        .filter_map(|p| {
            let service_port = u16::try_from(p.port).ok()?;
            let target = match &p.target_port {
                Some(IntOrString::Int(n)) => Target::Number(u16::try_from(*n).ok()?),
                Some(IntOrString::String(s)) => match s.parse::<u16>() {
                    Ok(n) => Target::Number(n),
                    Err(_) => Target::Name(s.clone()),
                },
                None => Target::Number(service_port),
            };
            Some(PortChoice {
                name: p.name.clone(),
                service_port,
                target,
                app_protocol: p.app_protocol.clone(),
            })
        })
        .collect();
    if let Some(port) = requested {
        let matching = choices
            .iter()
            .find(|c| c.service_port == port)
            .or_else(|| choices.iter().find(|c| c.target == Target::Number(port)));
        // Not a port the Service names: taken as a container port, as kubectl does for pods.
        return Ok(matching.cloned().unwrap_or(PortChoice {
            name: None,
            service_port: port,
            target: Target::Number(port),
            app_protocol: None,
        }));
    }
    choices
        .iter()
        .find(|c| c.name.as_deref() == Some("http"))
        .or_else(|| choices.first())
        .cloned()
        .ok_or(ForwardError::NoPorts(name))
}

/// The Ready pods behind a Service and the container port the chosen port resolves to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backends {
    pub pods: Vec<String>,
    pub port: Option<u16>,
}

pub fn ready_backends(endpoints: Option<&Endpoints>, choice: &PortChoice) -> Backends {
    let mut backends = Backends {
        pods: Vec::new(),
        port: match choice.target {
            Target::Number(n) => Some(n),
            Target::Name(_) => None,
        },
    };
    for subset in endpoints
        .and_then(|e| e.subsets.as_ref())
        .into_iter()
        .flatten()
    {
        let ports = subset.ports.as_deref().unwrap_or_default();
        let port = match (&choice.name, ports) {
            (Some(name), ports) => ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str())),
            (None, [only]) => Some(only),
            (None, _) => None,
        };
        if let Some(port) = port.and_then(|p| u16::try_from(p.port).ok()) {
            backends.port = Some(port);
        }
        for address in subset.addresses.as_deref().unwrap_or_default() {
            if let Some(target) = &address.target_ref
                && target.kind.as_deref() == Some("Pod")
                && let Some(name) = &target.name
            {
                backends.pods.push(name.clone());
            }
        }
    }
    backends
}

/// Resolves a named target port against one pod's container ports (for a pinned pod).
pub fn container_port(pod: &Pod, target: &Target) -> Option<u16> {
    match target {
        Target::Number(n) => Some(*n),
        Target::Name(name) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(ports: serde_json::Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "svc"}, "spec": {"ports": ports}}))
            .unwrap()
    }

    #[test]
    fn http_wins_then_the_first_then_what_was_asked() {
        let svc = service(
            json!([{"name": "https", "port": 443, "targetPort": 8443}, {"name": "http", "port": 80, "targetPort": "http"}]),
        );
        assert_eq!(choose_port(&svc, None).unwrap().service_port, 80);
        assert_eq!(
            choose_port(&svc, Some(443)).unwrap().target,
            Target::Number(8443)
        );
        assert_eq!(choose_port(&svc, Some(8443)).unwrap().service_port, 443);
        assert_eq!(
            choose_port(&svc, Some(9999)).unwrap().target,
            Target::Number(9999)
        );
        let pg = service(json!([{"name": "pg", "port": 5432}]));
        assert_eq!(choose_port(&pg, None).unwrap().target, Target::Number(5432));
        assert!(matches!(
            choose_port(&service(json!([])), None),
            Err(ForwardError::NoPorts(_))
        ));
    }

    #[test]
    fn endpoints_resolve_named_ports_and_list_ready_pods() {
        let choice = PortChoice {
            name: Some("http".into()),
            service_port: 80,
            target: Target::Name("http".into()),
            app_protocol: None,
        };
        let endpoints: Endpoints = serde_json::from_value(json!({
            "metadata": {"name": "svc"},
            "subsets": [{
                "addresses": [{"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": "svc-a"}}],
                "notReadyAddresses": [{"ip": "10.0.0.2", "targetRef": {"kind": "Pod", "name": "svc-b"}}],
                "ports": [{"name": "http", "port": 8080}]
            }]
        }))
        .unwrap();
        assert_eq!(
            ready_backends(Some(&endpoints), &choice),
            Backends {
                pods: vec!["svc-a".into()],
                port: Some(8080)
            }
        );
        assert_eq!(
            ready_backends(None, &choice),
            Backends {
                pods: vec![],
                port: None
            }
        );
    }
}
