//! Discovery: `/version`, `/api`, `/apis` and the per-group resource lists, in the legacy
//! (non-aggregated) form. kubectl asks for aggregated discovery first; a plain
//! `application/json` answer makes it fall back to these, as against any older server.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::super::kinds::{GroupVersion, Kind};
use super::{ApiState, Verb};

/// The Kubernetes version reported; kubectl's dispatcher on our machines picks its client
/// version from it, so it must be a real release.
pub const SERVER_VERSION: &str = "v1.33.2";

pub async fn version(State(state): State<ApiState>) -> Json<Value> {
    state.faults.count(Verb::Discovery);
    Json(json!({
        "major": "1",
        "minor": "33",
        "gitVersion": SERVER_VERSION,
        "gitCommit": "a57b6f7709f6c2722b92f07b8b4c48210a51fc40",
        "gitTreeState": "clean",
        "buildDate": "2025-06-17T18:41:31Z",
        "goVersion": "go1.24.4",
        "compiler": "gc",
        "platform": "linux/amd64",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32"
    }))
}

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group(gv: GroupVersion) -> Value {
    let version = json!({"groupVersion": gv.api_version(), "version": gv.version});
    json!({"name": gv.group, "versions": [version], "preferredVersion": version})
}

/// The named groups; metrics-server's `metrics.k8s.io` among them when it runs.
pub fn group_list(serve_metrics: bool) -> Value {
    let mut groups: Vec<Value> = GroupVersion::NAMED_GROUPS.into_iter().map(group).collect();
    if serve_metrics {
        groups.push(super::metrics::group());
    }
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(gv: GroupVersion) -> Value {
    let mut value = group(gv);
    value["kind"] = json!("APIGroup");
    value["apiVersion"] = json!("v1");
    value
}

/// The resources of a group version; `serve_endpoints` false leaves the deprecated v1
/// Endpoints out, as a cluster that stopped serving them would.
pub fn resource_list(gv: GroupVersion, serve_endpoints: bool) -> Value {
    let mut resources = Vec::new();
    for kind in Kind::in_group(gv).filter(|k| serve_endpoints || *k != Kind::Endpoints) {
        let mut resource = json!({
            "name": kind.plural(),
            "singularName": kind.singular(),
            "namespaced": kind.namespaced(),
            "kind": kind.name(),
            "verbs": kind.verbs(),
            "shortNames": kind.short_names(),
        });
        if kind.in_category_all() {
            resource["categories"] = json!(["all"]);
        }
        resources.push(resource);
        for sub in kind.subresources() {
            let (sub_kind, verbs, group, version): (&str, &[&str], &str, &str) = match *sub {
                "scale" => ("Scale", &["get", "patch", "update"], "autoscaling", "v1"),
                "portforward" => ("PodPortForwardOptions", &["create", "get"], "", "v1"),
                "exec" => ("PodExecOptions", &["create", "get"], "", "v1"),
                _ => ("Pod", &["get"], "", "v1"),
            };
            resources.push(json!({
                "name": format!("{}/{sub}", kind.plural()),
                "singularName": "",
                "namespaced": true,
                "group": group,
                "version": version,
                "kind": sub_kind,
                "verbs": verbs,
            }));
        }
    }
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv.api_version(),
        "resources": resources
    })
}
