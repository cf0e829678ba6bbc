//! What a forward connects to: which Service port (named `http`, else the first, else the one
//! asked for), and from the Service's EndpointSlices (or its Endpoints, where slices are not
//! served) the ready pods behind it, each with the container port that Service port resolves
//! to for that pod (named targetPorts may resolve differently per pod; slices carry the
//! resolved numbers; where neither may be read, the selector's ready pods). Endpoints that are
//! not ready, terminating ones included, get no new connections.

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ForwardError;
use crate::model::objects::pod_is_ready;

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
    if let Some(spec) = &service.spec
        && spec.type_.as_deref() == Some("ExternalName")
    {
        return Err(ForwardError::ExternalName(
            name,
            spec.external_name.clone().unwrap_or_default(),
        ));
    }
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

/// The ready pods behind a Service, each with the container port the chosen port resolves to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backends {
    pub pods: Vec<(String, u16)>,
}

impl Backends {
    /// The container port most pods use (for the row; pods may differ).
    pub fn port(&self) -> Option<u16> {
        self.pods.first().map(|(_, port)| *port)
    }
}

/// The port a group of endpoints (a slice, an Endpoints subset) serves for the chosen Service
/// port: the entry of the same name, or the only one when the port has no name.
fn port_for<'a, P>(
    ports: &'a [P],
    choice: &PortChoice,
    name: impl Fn(&P) -> Option<&str>,
) -> Option<&'a P> {
    match &choice.name {
        Some(wanted) => ports.iter().find(|p| name(p) == Some(wanted.as_str())),
        None if ports.len() == 1 => ports.first(),
        // kube-proxy matches an unnamed Service port to the slice port named "".
        None => ports.iter().find(|p| name(p).is_none_or(str::is_empty)),
    }
}

/// From the Service's EndpointSlices: every ready endpoint that is a pod. `ready` absent counts
/// as ready (discovery.k8s.io/v1: "nil should be interpreted as true"); terminating endpoints
/// are never ready.
pub fn from_slices<'a>(
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
    choice: &PortChoice,
) -> Backends {
    let mut pods = Vec::new();
    for slice in slices {
        let ports = slice.ports.as_deref().unwrap_or_default();
        let Some(port) = port_for(ports, choice, |p| p.name.as_deref())
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok())
        else {
            continue;
        };
        for endpoint in &slice.endpoints {
            let conditions = endpoint.conditions.as_ref();
            let ready = conditions.and_then(|c| c.ready).unwrap_or(true)
                && !conditions.and_then(|c| c.terminating).unwrap_or(false);
            if let Some(target) = &endpoint.target_ref
                && ready
                && target.kind.as_deref() == Some("Pod")
                && let Some(name) = &target.name
            {
                pods.push((name.clone(), port));
            }
        }
    }
    pods.sort();
    Backends { pods }
}

/// From v1 Endpoints, where EndpointSlices are not served: the ready addresses (terminating
/// pods are not in Endpoints at all).
pub fn from_endpoints(endpoints: Option<&Endpoints>, choice: &PortChoice) -> Backends {
    let mut pods = Vec::new();
    for subset in endpoints
        .and_then(|e| e.subsets.as_ref())
        .into_iter()
        .flatten()
    {
        let ports = subset.ports.as_deref().unwrap_or_default();
        let Some(port) =
            port_for(ports, choice, |p| p.name.as_deref()).and_then(|p| u16::try_from(p.port).ok())
        else {
            continue;
        };
        for address in subset.addresses.as_deref().unwrap_or_default() {
            if let Some(target) = &address.target_ref
                && target.kind.as_deref() == Some("Pod")
                && let Some(name) = &target.name
            {
                pods.push((name.clone(), port));
            }
        }
    }
    pods.sort();
    Backends { pods }
}

/// From the pods of the Service's selector, where neither slices nor Endpoints may be read:
/// those the endpoints controller would list as ready (Ready condition true, not deleting).
pub fn from_pods<'a>(pods: impl IntoIterator<Item = &'a Pod>, choice: &PortChoice) -> Backends {
    let mut ready: Vec<(String, u16)> = pods
        .into_iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none() && pod_is_ready(pod))
        .filter_map(|pod| {
            Some((
                pod.metadata.name.clone()?,
                container_port(pod, &choice.target)?,
            ))
        })
        .collect();
    ready.sort();
    Backends { pods: ready }
}

/// Resolves a named target port against one pod's container ports, as the endpoints
/// controller does (`FindPort` in kubernetes' pkg/api/v1/pod/util.go): the app containers,
/// then native sidecars (init containers with `restartPolicy: Always`).
pub fn container_port(pod: &Pod, target: &Target) -> Option<u16> {
    match target {
        Target::Number(n) => Some(*n),
        Target::Name(name) => {
            let spec = pod.spec.as_ref()?;
            let sidecars = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == "TCP"
                })
                .and_then(|p| u16::try_from(p.container_port).ok())
        }
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
            from_endpoints(Some(&endpoints), &choice),
            Backends {
                pods: vec![("svc-a".into(), 8080)]
            }
        );
        assert_eq!(from_endpoints(None, &choice), Backends::default());
    }

    #[test]
    fn slices_give_each_ready_pod_its_own_port_and_skip_terminating_ones() {
        let choice = PortChoice {
            name: Some("http".into()),
            service_port: 80,
            target: Target::Name("web".into()),
            app_protocol: None,
        };
        let slice = |ports: serde_json::Value, endpoints: serde_json::Value| -> EndpointSlice {
            serde_json::from_value(json!({
                "metadata": {"name": "shop-x"}, "addressType": "IPv4",
                "ports": ports, "endpoints": endpoints,
            }))
            .unwrap()
        };
        let stable = slice(
            json!([{"name": "http", "port": 8080}, {"name": "metrics", "port": 9100}]),
            json!([
                {"addresses": ["10.0.0.1"], "conditions": {"ready": true}, "targetRef": {"kind": "Pod", "name": "shop-a"}},
                {"addresses": ["10.0.0.2"], "conditions": {"ready": false, "serving": true, "terminating": true}, "targetRef": {"kind": "Pod", "name": "shop-old"}},
                {"addresses": ["10.0.0.3"], "targetRef": {"kind": "Pod", "name": "shop-b"}},
            ]),
        );
        let canary = slice(
            json!([{"name": "http", "port": 8081}, {"name": "metrics", "port": 9100}]),
            json!([{"addresses": ["10.0.0.4"], "conditions": {"ready": true}, "targetRef": {"kind": "Pod", "name": "shop-canary-a"}}]),
        );
        let manual = slice(
            json!([{"name": "http", "port": 8080}]),
            json!([{"addresses": ["192.168.0.9"], "conditions": {"ready": true}}]),
        );
        assert_eq!(
            from_slices([&stable, &canary, &manual], &choice).pods,
            vec![
                ("shop-a".to_string(), 8080),
                ("shop-b".to_string(), 8080),
                ("shop-canary-a".to_string(), 8081)
            ],
            "ready pods only, each with its own port; addresses without a pod are not forwardable"
        );
    }
}
