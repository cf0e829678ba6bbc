//! Tests of `objects`: conversions from k8s-openapi objects built from JSON.

use super::*;
use crate::model::pod_wire::PodWire;
use serde_json::json;

fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

#[test]
fn deployment_defaults_and_fields() {
    let d: Deployment = from_json(json!({
        "metadata": {"name": "data", "namespace": "hasura",
                     "creationTimestamp": "2026-01-02T03:04:05Z",
                     "managedFields": [{"manager": "kubectl"}]},
        "spec": {"selector": {"matchLabels": {"app": "data"}},
                 "template": {}},
    }));
    let w = WorkloadInfo::from(&d);
    assert_eq!(w.kind, WorkloadKind::Deployment);
    assert_eq!((w.desired, w.ready, w.updated), (1, 0, 0));
    assert_eq!(w.selector.get("app"), Some("data"));
    assert_eq!(w.created.unwrap().to_string(), "2026-01-02T03:04:05Z");
}

#[test]
fn statefulset_counts() {
    let s: StatefulSet = from_json(json!({
        "metadata": {"name": "postgres", "namespace": "hasura"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "postgres"}},
                 "serviceName": "postgres", "template": {}},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3},
    }));
    let w = WorkloadInfo::from(&s);
    assert_eq!(w.kind, WorkloadKind::StatefulSet);
    assert_eq!((w.desired, w.ready, w.updated), (3, 2, 3));
    assert!(w.created.is_none());
}

#[test]
fn service_ports_annotation_and_load_balancer() {
    let s: Service = from_json(json!({
        "metadata": {"name": "web", "namespace": "default",
                     "annotations": {"hasura.io/external-url": "https://web.example.com",
                                     "other": "dropped"}},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "http-alt"},
            {"port": 9090, "targetPort": 9091, "protocol": "UDP"},
            {"port": 5432},
        ]},
        "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}},
    }));
    let si = ServiceInfo::from(&s);
    assert_eq!(si.ports[0].target, TargetPort::Name("http-alt".into()));
    assert_eq!(si.ports[0].protocol, "TCP");
    assert_eq!(si.ports[1].target, TargetPort::Number(9091));
    assert_eq!(si.ports[1].protocol, "UDP");
    assert_eq!(si.ports[2].target, TargetPort::Number(5432));
    assert_eq!(
        si.external_url_annotation.as_deref(),
        Some("https://web.example.com")
    );
    assert_eq!(si.load_balancer.as_deref(), Some("lb.example.com"));
}

#[test]
fn load_balancer_only_for_that_type() {
    let s: Service = from_json(json!({
        "metadata": {"name": "web"},
        "spec": {"type": "ClusterIP"},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
    }));
    let si = ServiceInfo::from(&s);
    assert_eq!(si.load_balancer, None);
    assert!(si.ports.is_empty());
}

#[test]
fn pod_conditions_containers_and_ports() {
    let p: PodWire = from_json(json!({
        "metadata": {"name": "data-1", "namespace": "hasura", "labels": {"app": "data"},
                     "deletionTimestamp": "2026-01-02T03:04:05Z"},
        "spec": {"containers": [{"name": "data", "ports": [
            {"name": "http", "containerPort": 8080}, {"containerPort": 9000}]}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Ready", "status": "True"}],
            "initContainerStatuses": [{"name": "init", "image": "", "imageID": "",
                "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
            "containerStatuses": [{"name": "data", "image": "", "imageID": "",
                "ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
        },
    }));
    let pi = PodInfo::from(&p);
    assert!(pi.scheduled && pi.ready && pi.deleting);
    assert_eq!(pi.containers.len(), 2);
    assert_eq!(
        pi.containers[0].terminated,
        Some((Some("Completed".into()), 0))
    );
    assert_eq!(
        pi.containers[1].waiting_reason.as_deref(),
        Some("CrashLoopBackOff")
    );
    assert_eq!(
        pi.container_ports,
        vec![(Some("http".into()), 8080), (None, 9000)]
    );
}

/// A pod as an API server sends it, every field present: the wire type skips what it does not
/// name, and takes `null` for an empty list.
#[test]
fn a_full_pod_parses_into_the_wire_type() {
    let p: PodWire = from_json(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "my-app-1", "namespace": "default", "labels": {"app": "my-app"},
            "annotations": {"a": "b"}, "creationTimestamp": "2026-11-29T02:08:35Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "controller": true, "kind": "ReplicaSet",
                "name": "my-app-x", "uid": "u"}], "resourceVersion": "56", "uid": "u2",
            "managedFields": [{"manager": "kubelet", "operation": "Update", "fieldsV1": {"f:x": {}}}]},
        "spec": {"containers": [{"image": "hasura/hello-world:v1", "name": "my-app",
            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
            "resources": {}, "env": [{"name": "A", "value": "1"}]}],
            "nodeName": "demo-node-1", "volumes": [{"name": "v", "emptyDir": {}}]},
        "status": {"conditions": [{"lastTransitionTime": "2026-11-29T02:08:35Z", "status": "True",
                "type": "Ready"}],
            "containerStatuses": [{"image": "x", "imageID": "", "name": "my-app", "ready": true,
                "restartCount": 0, "started": true,
                "state": {"running": {"startedAt": "2026-11-29T02:08:35Z"}}}],
            "initContainerStatuses": null,
            "hostIP": "10.0.0.1", "phase": "Running", "podIP": "10.244.0.22",
            "podIPs": [{"ip": "10.244.0.22"}], "qosClass": "BestEffort",
            "startTime": "2026-11-29T02:08:35Z"}
    }));
    let pi = PodInfo::from(&p);
    assert_eq!(
        (pi.name.as_str(), pi.namespace.as_str()),
        ("my-app-1", "default")
    );
    assert_eq!(pi.labels.get("app"), Some("my-app"));
    assert_eq!(pi.phase, "Running");
    assert!(pi.ready && pi.scheduled && !pi.deleting);
    assert_eq!(pi.containers.len(), 1);
    assert_eq!(pi.containers[0].waiting_reason, None);
    assert_eq!(pi.container_ports, vec![(Some("http".into()), 8080)]);
    assert_eq!(pi.created.unwrap().to_string(), "2026-11-29T02:08:35Z");
}

#[test]
fn pod_without_status_is_pending() {
    let p: PodWire = from_json(json!({"metadata": {"name": "x"}}));
    let pi = PodInfo::from(&p);
    assert_eq!(pi.phase, "Pending");
    assert!(pi.scheduled && !pi.ready && !pi.deleting);
    let unscheduled: PodWire = from_json(json!({"metadata": {"name": "x"},
        "status": {"conditions": [{"type": "PodScheduled", "status": "False"}]}}));
    assert!(!PodInfo::from(&unscheduled).scheduled);
}

#[test]
fn ingress_rules_and_tls() {
    let i: Ingress = from_json(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "tls": [{"hosts": ["secure.example.com"]}],
            "rules": [{"host": "secure.example.com", "http": {"paths": [
                {"path": "/api", "pathType": "Prefix",
                 "backend": {"service": {"name": "api", "port": {"number": 80}}}},
                {"pathType": "Prefix",
                 "backend": {"resource": {"kind": "Bucket", "name": "b"}}},
            ]}}, {"http": {"paths": [{"pathType": "Prefix",
                 "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}],
        },
    }));
    let ii = IngressInfo::from(&i);
    assert_eq!(ii.tls_hosts, vec!["secure.example.com".to_string()]);
    assert_eq!(
        ii.rules,
        vec![
            IngressRuleInfo {
                host: "secure.example.com".into(),
                path: "/api".into(),
                service: "api".into(),
                port: Some("80".into()),
            },
            IngressRuleInfo {
                host: String::new(),
                path: "/".into(),
                service: "web".into(),
                port: Some("http".into()),
            },
        ]
    );
}
