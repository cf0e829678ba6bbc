//! "May I?" and "who am I?": SelfSubjectAccessReview and SelfSubjectRulesReview
//! (authorization.k8s.io/v1) answered from the same RBAC rules that authorize every request,
//! and SelfSubjectReview (authentication.k8s.io/v1). `kubectl auth can-i` 1.32+ sends its
//! reviews as protobuf (`application/vnd.kubernetes.protobuf`, `k8s\0` and a `runtime.Unknown`),
//! older ones and kube-rs as JSON; both are read, and the answer is JSON either way, which
//! client-go accepts.
//!
//! Sources: apiserver `pkg/registry/authorization/selfsubjectaccessreview` and
//! `selfsubjectrulesreview`; field numbers from `api/authorization/v1/generated.proto` and
//! apimachinery `runtime/generated.proto`.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::super::authz::{self, Attributes, Decision};
use super::super::identity::Identity;
use super::super::kinds::Kind;
use super::{ApiError, ApiState, json_response};

pub fn handle(
    state: &ApiState,
    kind: Kind,
    user: &Identity,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/vnd.kubernetes.protobuf"));
    let spec = if protobuf {
        spec_from_protobuf(kind, body)?
    } else if kind == Kind::SelfSubjectReview {
        json!({})
    } else {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
        value["spec"].clone()
    };
    let gv = kind.group_version().api_version();
    let answer = match kind {
        Kind::SelfSubjectAccessReview => {
            let resource = &spec["resourceAttributes"];
            let status = if resource.is_object() {
                let text = |f: &str| resource[f].as_str().unwrap_or_default().to_string();
                let attrs = Attributes {
                    verb: text("verb"),
                    group: text("group"),
                    resource: text("resource"),
                    subresource: text("subresource"),
                    name: text("name"),
                    namespace: text("namespace"),
                };
                match authz::authorize(&state.store, user, &attrs) {
                    Decision::Allowed(reason) => json!({"allowed": true, "reason": reason}),
                    Decision::Denied => json!({"allowed": false}),
                }
            } else {
                // Non-resource URLs (`/healthz`...) are for every authenticated user.
                json!({"allowed": true, "reason": "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\""})
            };
            json!({"kind": kind.name(), "apiVersion": gv, "metadata": {}, "spec": spec, "status": status})
        }
        Kind::SelfSubjectRulesReview => {
            let namespace = spec["namespace"].as_str().unwrap_or_default();
            let (resource_rules, non_resource_rules) = authz::rules(&state.store, user, namespace);
            json!({
                "kind": kind.name(), "apiVersion": gv, "metadata": {}, "spec": spec,
                "status": {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false},
            })
        }
        _ => json!({
            "kind": kind.name(), "apiVersion": gv, "metadata": {},
            "status": {"userInfo": {"username": user.user, "groups": user.groups}},
        }),
    };
    Ok(json_response(&answer))
}

/// The `spec` of a review sent as protobuf, as the JSON it stands for.
fn spec_from_protobuf(kind: Kind, body: &[u8]) -> Result<Value, ApiError> {
    let bad = || ApiError::bad_request("the body is not a protobuf-encoded review");
    let unknown = body.strip_prefix(b"k8s\0").ok_or_else(bad)?;
    // runtime.Unknown: 1 typeMeta, 2 raw (the object).
    let raw = field(unknown, 2).ok_or_else(bad)?;
    let spec = field(raw, 2).unwrap_or_default();
    let text = |msg: &[u8], n: u64| {
        field(msg, n)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    Ok(match kind {
        Kind::SelfSubjectAccessReview => match field(spec, 1) {
            // ResourceAttributes: 1 namespace, 2 verb, 3 group, 4 version, 5 resource,
            // 6 subresource, 7 name.
            Some(attrs) => json!({"resourceAttributes": {
                "namespace": text(attrs, 1), "verb": text(attrs, 2), "group": text(attrs, 3),
                "version": text(attrs, 4), "resource": text(attrs, 5),
                "subresource": text(attrs, 6), "name": text(attrs, 7),
            }}),
            None => {
                let attrs = field(spec, 2).unwrap_or_default();
                json!({"nonResourceAttributes": {"path": text(attrs, 1), "verb": text(attrs, 2)}})
            }
        },
        Kind::SelfSubjectRulesReview => json!({"namespace": text(spec, 1)}),
        _ => json!({}),
    })
}

/// The first length-delimited field `number` of a protobuf message; other fields are skipped.
fn field(mut message: &[u8], number: u64) -> Option<&[u8]> {
    while !message.is_empty() {
        let (key, rest) = varint(message)?;
        message = rest;
        let (num, wire) = (key >> 3, key & 7);
        match wire {
            0 => message = varint(message)?.1,
            1 => message = message.get(8..)?,
            5 => message = message.get(4..)?,
            2 => {
                let (len, rest) = varint(message)?;
                let len = usize::try_from(len).ok()?;
                let value = rest.get(..len)?;
                if num == number {
                    return Some(value);
                }
                message = rest.get(len..)?;
            }
            _ => return None,
        }
    }
    None
}

fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kubectl 1.33 sent for `auth can-i create pods --subresource=portforward -n hasura`
    /// (captured against a logging server), rebuilt field by field.
    fn kubectl_ssar() -> Vec<u8> {
        let ld = |n: u8, bytes: &[u8]| {
            let mut out = vec![(n << 3) | 2, bytes.len() as u8];
            out.extend_from_slice(bytes);
            out
        };
        let attrs = [
            ld(1, b"hasura"),
            ld(2, b"create"),
            ld(3, b""),
            ld(4, b""),
            ld(5, b"pods"),
            ld(6, b"portforward"),
            ld(7, b""),
        ]
        .concat();
        let spec = ld(1, &attrs);
        let object = [ld(1, &ld(1, b"")), ld(2, &spec), ld(3, b"")].concat();
        let type_meta = [
            ld(1, b"authorization.k8s.io/v1"),
            ld(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let unknown = [ld(1, &type_meta), ld(2, &object), ld(3, b""), ld(4, b"")].concat();
        [b"k8s\0".to_vec(), unknown].concat()
    }

    #[test]
    fn a_protobuf_review_reads_as_its_json() {
        let spec = spec_from_protobuf(Kind::SelfSubjectAccessReview, &kubectl_ssar()).unwrap();
        let attrs = &spec["resourceAttributes"];
        assert_eq!(attrs["namespace"], "hasura");
        assert_eq!(attrs["verb"], "create");
        assert_eq!(attrs["resource"], "pods");
        assert_eq!(attrs["subresource"], "portforward");
        assert_eq!(attrs["name"], "");
        assert!(spec_from_protobuf(Kind::SelfSubjectAccessReview, b"{}").is_err());
    }
}
