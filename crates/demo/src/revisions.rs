//! What tells one version of a workload's pod template from another: the pod-template-hash of a
//! Deployment's ReplicaSets, the controller-revision-hash of a StatefulSet's pods, and the
//! RollingUpdate bounds a Deployment is replaced within.

use serde_json::Value;

use super::pod_state::pod_name_of;

/// The alphabet Kubernetes writes hashes and generated name suffixes in.
pub(crate) const HASH_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The label a StatefulSet's pods carry with the revision of the template they were made from.
pub(crate) const REVISION_LABEL: &str = "controller-revision-hash";

/// A StatefulSet's current revision: `<name>-<template hash>`, as its ControllerRevisions are named.
pub(crate) fn revision_of(statefulset: &Value) -> String {
    let name = statefulset["metadata"]["name"].as_str().unwrap_or_default();
    format!("{name}-{}", template_hash(&statefulset["spec"]["template"]))
}

/// A StatefulSet pod's ordinal (`postgres-0` is 0).
pub(crate) fn ordinal_of(pod: &Value) -> Option<usize> {
    pod_name_of(pod).rsplit('-').next()?.parse().ok()
}

/// RollingUpdate's defaults for `desired` replicas: (maxSurge 25% rounded up, maxUnavailable
/// 25% rounded down), and never both zero (`deploymentutil.ResolveFenceposts`).
pub(crate) fn rolling_bounds(desired: usize) -> (usize, usize) {
    let surge = desired.div_ceil(4);
    let unavailable = desired / 4;
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// The pod-template-hash of a template: a stable 10-character hash of its JSON (keys sorted)
/// in the alphabet Kubernetes uses, so a changed template means a new ReplicaSet.
pub(crate) fn template_hash(template: &Value) -> String {
    // FNV-1a: stable across runs and platforms, unlike std's RandomState.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.to_string().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..10)
        .map(|_| {
            let c = HASH_ALPHABET[(h % HASH_ALPHABET.len() as u64) as usize] as char;
            h /= HASH_ALPHABET.len() as u64;
            h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
            c
        })
        .collect()
}
