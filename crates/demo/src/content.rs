//! What the demo cluster holds at start: the seed's cluster from the manifests under
//! `assets/demo-cluster/` (compiled into the binary), and `--scale N` generated microservices.

use serde_json::{Value, json};

use super::DemoError;
use super::kinds::Kind;

const MANIFESTS: &[(&str, &str)] = &[
    (
        "00-namespaces.yaml",
        include_str!("../../../assets/demo-cluster/00-namespaces.yaml"),
    ),
    (
        "hasura-conf.yaml",
        include_str!("../../../assets/demo-cluster/hasura-conf.yaml"),
    ),
    (
        "hasura.yaml",
        include_str!("../../../assets/demo-cluster/hasura.yaml"),
    ),
    (
        "default.yaml",
        include_str!("../../../assets/demo-cluster/default.yaml"),
    ),
    (
        "rbac.yaml",
        include_str!("../../../assets/demo-cluster/rbac.yaml"),
    ),
];

/// Services of other shapes, beside the seed (left out with `--seed-only`).
const SHAPES: (&str, &str) = (
    "shapes.yaml",
    include_str!("../../../assets/demo-cluster/shapes.yaml"),
);

/// Which local backend serves a pod's ports (pod template annotation).
pub const BACKEND_ANNOTATION: &str = "demo.hasura-tui.dev/backend";

/// The seed cluster's objects, in the order they are applied.
pub fn seed_objects() -> Result<Vec<(Kind, Value)>, DemoError> {
    let mut objects = Vec::new();
    for (file, text) in MANIFESTS {
        objects.extend(parse_manifests(file, text)?);
    }
    Ok(objects)
}

/// The seed's objects for a cluster called `name`: its platform configuration says that name
/// (`cluster-name`, which the gateway's templates and so the route domain follow).
pub fn seed_objects_named(name: &str) -> Result<Vec<(Kind, Value)>, DemoError> {
    let mut objects = seed_objects()?;
    for (kind, object) in &mut objects {
        if *kind == Kind::ConfigMap && object["metadata"]["name"] == "hasura-conf" {
            object["data"]["cluster-name"] = json!(name);
        }
    }
    Ok(objects)
}

/// The API server's own Service, which every real API server keeps in `default`: `kubernetes`,
/// selector-less, on the first address of the Service range, its port `https` 443 to the secure
/// port, labelled `provider: kubernetes` and `component: apiserver`
/// (`pkg/controlplane/controller/kubernetesservice/controller.go`). Its endpoint reconciler
/// writes the API server's advertised address as the Service's Endpoints, but a loopback
/// address may not be stored (`pkg/apis/core/validation/validation.go`, `ValidateNonSpecialIP`),
/// so an API server on loopback, as the demo and the testbed are, has the Service alone. Found
/// missing when the testbed listed it beside the demo.
pub fn api_server_service(secure_port: u16) -> (Kind, Value) {
    (
        Kind::Service,
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {
                "name": "kubernetes", "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "type": "ClusterIP", "clusterIP": "10.96.0.1", "sessionAffinity": "None",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": secure_port}],
            },
        }),
    )
}

/// The Services of other shapes (selector-less, ExternalName, headless, two ports).
pub fn shape_objects() -> Result<Vec<(Kind, Value)>, DemoError> {
    parse_manifests(SHAPES.0, SHAPES.1)
}

/// Parses a multi-document YAML stream of manifests into objects of the kinds served here.
pub fn parse_manifests(file: &str, text: &str) -> Result<Vec<(Kind, Value)>, DemoError> {
    let mut objects = Vec::new();
    let documents: Vec<Value> = serde_saphyr::from_multiple(text)
        .map_err(|e| DemoError::Content(format!("{file}: {}", e.without_snippet())))?;
    for value in documents {
        if value.is_null() {
            continue;
        }
        objects.push((kind_of(&value, file)?, value));
    }
    Ok(objects)
}

/// The kind an object declares in `apiVersion` and `kind`.
pub fn kind_of(value: &Value, file: &str) -> Result<Kind, DemoError> {
    let api_version = value["apiVersion"].as_str().unwrap_or_default();
    let kind = value["kind"].as_str().unwrap_or_default();
    Kind::ALL
        .into_iter()
        // An events.k8s.io Event would need converting to the stored core form; the demo's
        // content has none.
        .filter(|k| *k == k.stored_as())
        .find(|k| k.name() == kind && k.group_version().api_version() == api_version)
        .ok_or_else(|| {
            DemoError::Content(format!("{file}: unsupported object {api_version}/{kind}"))
        })
}

/// `count` generated custom microservices (Deployment of two replicas and its Service), named
/// `svc-00001`..., for benchmarks at scale.
pub fn scaled_objects(namespace: &str, count: usize) -> Vec<(Kind, Value)> {
    let mut objects = Vec::with_capacity(count * 2);
    for i in 1..=count {
        let name = format!("svc-{i:05}");
        objects.push((
            Kind::Deployment,
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {
                            "labels": {"app": name},
                            "annotations": {BACKEND_ANNOTATION: "http-echo"}
                        },
                        "spec": {"containers": [{
                            "name": "app",
                            "image": "hasura/hello-world:v1",
                            "ports": [{"name": "http", "containerPort": 8080}]
                        }]}
                    }
                }
            }),
        ));
        objects.push((
            Kind::Service,
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
                "spec": {
                    "type": "ClusterIP",
                    "selector": {"app": name},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}]
                }
            }),
        ));
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_has_two_namespaces_and_eleven_microservices() {
        let objects = seed_objects().unwrap();
        let count = |kind| objects.iter().filter(|(k, _)| *k == kind).count();
        assert_eq!(count(Kind::Namespace), 2);
        assert_eq!(count(Kind::Deployment) + count(Kind::StatefulSet), 11);
        assert_eq!(count(Kind::Service), 11);
        assert_eq!(count(Kind::ConfigMap), 1);
        assert_eq!(count(Kind::RoleBinding), 2);
        let shapes = shape_objects().unwrap();
        assert_eq!(
            shapes.iter().filter(|(k, _)| *k == Kind::Service).count(),
            4
        );
    }
}
