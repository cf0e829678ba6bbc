//! A pod as the watch parses it: only the fields `PodInfo` reads.
//!
//! The full k8s-openapi `Pod` builds every field of every pod in a list: each condition's
//! timestamp, every container status's image and start time, owner references' details, pod IPs.
//! At 40,000 pods that parse (and the drop after slimming) was half of the dashboard's start.
//! Serde skips fields a type does not name far more cheaply than it builds them, and the pages
//! in flight take a fraction of the memory.

use std::borrow::Cow;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PodWire {
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: Option<SpecWire>,
    pub status: Option<StatusWire>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SpecWire {
    pub containers: Option<Vec<ContainerWire>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ContainerWire {
    pub ports: Option<Vec<ContainerPortWire>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPortWire {
    pub name: Option<String>,
    pub container_port: i32,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusWire {
    pub phase: Option<String>,
    // Lists are `Option`s, as in k8s-openapi: a server may send `null` for an empty one.
    pub conditions: Option<Vec<ConditionWire>>,
    pub init_container_statuses: Option<Vec<ContainerStatusWire>>,
    pub container_statuses: Option<Vec<ContainerStatusWire>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConditionWire {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ContainerStatusWire {
    pub name: String,
    pub state: Option<ContainerStateWire>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ContainerStateWire {
    pub waiting: Option<WaitingWire>,
    pub terminated: Option<TerminatedWire>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct WaitingWire {
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminatedWire {
    pub reason: Option<String>,
    pub exit_code: i32,
}

/// Lets kube-rs list and watch `PodWire` at the pods' own path.
impl kube::Resource for PodWire {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Pod".into()
    }

    fn group(_: &()) -> Cow<'_, str> {
        "".into()
    }

    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }

    fn plural(_: &()) -> Cow<'_, str> {
        "pods".into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
