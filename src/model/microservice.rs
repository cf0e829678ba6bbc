//! A microservice row: a workload joined with its Service, ready to display (docs/status.md).

use std::fmt;

use super::labels::Labels;
use super::objects::{PodUsage, ServicePortInfo, Timestamp, WorkloadKind};
use super::status::Status;

/// Which table a row belongs to: the user's namespace or the Hasura platform's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Custom,
    Hasura,
}

impl Section {
    /// Both, in table order (custom first, as drawn).
    pub const ALL: [Section; 2] = [Section::Custom, Section::Hasura];

    /// The table Tab moves to.
    pub fn other(self) -> Section {
        match self {
            Section::Custom => Section::Hasura,
            Section::Hasura => Section::Custom,
        }
    }

    /// The table heading, as in the seed's `list` output.
    pub fn heading(self) -> &'static str {
        match self {
            Section::Custom => "Custom microservices",
            Section::Hasura => "Hasura microservices",
        }
    }

    /// The lower-case word used by `-n` and by `-o json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Custom => "custom",
            Section::Hasura => "hasura",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an EXTERNAL-URL came from, in the order they are tried (docs/urls.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UrlSource {
    /// The Service's `hasura.io/external-url` annotation.
    Annotation,
    /// A route of the gateway's routes.yaml.
    Gateway,
    Ingress,
    LoadBalancer,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Microservice {
    pub name: String,
    pub namespace: String,
    pub section: Section,
    /// None for a Service without a workload.
    pub workload_kind: Option<WorkloadKind>,
    pub status: Status,
    pub ready: i32,
    pub desired: i32,
    /// `<service>.<namespace>`; None when there is no Service.
    pub internal_url: Option<String>,
    pub external_url: Option<String>,
    /// Which source gave `external_url`.
    pub external_source: Option<UrlSource>,
    /// CPU and memory summed over the pods, when the cluster serves the metrics API and some
    /// pod has figures.
    pub usage: Option<PodUsage>,
    /// The Service's ports; empty when there is no Service.
    pub ports: Vec<ServicePortInfo>,
    /// When the workload (or, without one, the Service) was created.
    pub created: Option<Timestamp>,
    /// The pods' selector: the workload's, else the Service's; empty when neither has one.
    /// The detail view watches the pods by it without reading the workload first.
    pub selector: Labels,
}

impl Microservice {
    /// The `-o wide` form with the first port, e.g. `postgres.hasura:5432`.
    pub fn internal_url_wide(&self) -> Option<String> {
        let base = self.internal_url.as_ref()?;
        Some(match self.ports.first() {
            Some(p) => format!("{base}:{}", p.port),
            None => base.clone(),
        })
    }

    /// CPU and MEM as `kubectl top` prints them (`12m`, `49Mi`); `-` when no pod has figures.
    pub fn usage_text(&self) -> (String, String) {
        match self.usage {
            Some(u) => (
                crate::metrics::cpu_text(u.cpu_millis),
                crate::metrics::memory_text(u.memory_bytes),
            ),
            None => ("-".into(), "-".into()),
        }
    }

    /// The REPLICAS column, `ready/desired`; `-` when there is no workload to count.
    pub fn replicas(&self) -> String {
        match self.workload_kind {
            Some(_) => format!("{}/{}", self.ready, self.desired),
            None => "-".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objects::TargetPort;

    fn row() -> Microservice {
        Microservice {
            name: "postgres".into(),
            namespace: "hasura".into(),
            section: Section::Hasura,
            workload_kind: Some(WorkloadKind::StatefulSet),
            status: Status::Running,
            ready: 1,
            desired: 2,
            internal_url: Some("postgres.hasura".into()),
            external_url: None,
            external_source: None,
            usage: None,
            ports: vec![
                ServicePortInfo {
                    name: Some("pg".into()),
                    port: 5432,
                    target: TargetPort::Number(5432),
                    protocol: "TCP".into(),
                },
                ServicePortInfo {
                    name: None,
                    port: 9187,
                    target: TargetPort::Number(9187),
                    protocol: "TCP".into(),
                },
            ],
            created: None,
            selector: Labels::default(),
        }
    }

    #[test]
    fn wide_internal_url_uses_first_port() {
        assert_eq!(
            row().internal_url_wide().as_deref(),
            Some("postgres.hasura:5432")
        );
        let no_ports = Microservice {
            ports: vec![],
            ..row()
        };
        assert_eq!(
            no_ports.internal_url_wide().as_deref(),
            Some("postgres.hasura")
        );
        let no_service = Microservice {
            internal_url: None,
            ..row()
        };
        assert_eq!(no_service.internal_url_wide(), None);
    }

    #[test]
    fn replicas_column() {
        assert_eq!(row().replicas(), "1/2");
        let orphan = Microservice {
            workload_kind: None,
            ..row()
        };
        assert_eq!(orphan.replicas(), "-");
    }

    #[test]
    fn section_words() {
        assert_eq!(Section::Custom.heading(), "Custom microservices");
        assert_eq!(Section::Hasura.to_string(), "hasura");
    }
}
