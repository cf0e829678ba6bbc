//! events.k8s.io/v1 Events: the core/v1 Events the demo stores, in that group's shape, as the
//! API server serves them from the one core storage. The conversion is kubernetes'
//! `pkg/apis/events/v1/conversion.go`: `involvedObject` is `regarding`, `message` is `note`,
//! `source` is `deprecatedSource`, `firstTimestamp`, `lastTimestamp` and `count` are the
//! `deprecated…` fields, `reportingComponent` is `reportingController`; the rest keep their
//! names. Its field labels (`AddFieldLabelConversionsForEvent`) are mapped to the core ones,
//! and a core spelling such as `involvedObject.name` is refused there.

use serde_json::{Map, Value};

/// A stored core/v1 Event as events.k8s.io/v1 writes it.
pub fn from_core(core: &Value) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), "Event".into());
    out.insert("apiVersion".into(), "events.k8s.io/v1".into());
    // Go's `MicroTime` without omitempty: `null` when the recorder set none.
    out.insert("eventTime".into(), core["eventTime"].clone());
    let renamed = [
        ("metadata", "metadata"),
        ("series", "series"),
        ("reportingComponent", "reportingController"),
        ("reportingInstance", "reportingInstance"),
        ("action", "action"),
        ("reason", "reason"),
        ("involvedObject", "regarding"),
        ("related", "related"),
        ("message", "note"),
        ("type", "type"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ];
    for (from, to) in renamed {
        let value = &core[from];
        // The rest are `omitempty`.
        let empty = match value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Number(n) => n.as_i64() == Some(0),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if !empty {
            out.insert(to.into(), value.clone());
        }
    }
    Value::Object(out)
}

/// An events.k8s.io/v1 field label as the core label the stored objects are selected by.
pub fn core_field_label(label: &str) -> Result<String, String> {
    let core = match label {
        "reason" | "source" | "type" | "metadata.namespace" | "metadata.name" => label,
        "reportingController" => "reportingComponent",
        _ => match label.strip_prefix("regarding.") {
            Some(
                field @ ("kind" | "namespace" | "name" | "uid" | "apiVersion" | "resourceVersion"
                | "fieldPath"),
            ) => return Ok(format!("involvedObject.{field}")),
            _ => return Err(format!("field label not supported: {label}")),
        },
    };
    Ok(core.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_core_event_in_the_events_group_shape() {
        let core = json!({
            "kind": "Event", "apiVersion": "v1",
            "metadata": {"name": "data-1.abc", "namespace": "hasura"},
            "involvedObject": {"kind": "Pod", "name": "data-1", "namespace": "hasura"},
            "reason": "BackOff", "message": "Back-off restarting failed container data",
            "source": {"component": "kubelet", "host": "demo-node-1"},
            "firstTimestamp": "2026-11-30T10:00:00Z", "lastTimestamp": "2026-11-30T10:05:00Z",
            "count": 7, "type": "Warning", "eventTime": null,
            "reportingComponent": "kubelet", "reportingInstance": "demo-node-1",
        });
        let v1 = from_core(&core);
        assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
        assert_eq!(v1["regarding"]["name"], "data-1");
        assert_eq!(v1["note"], "Back-off restarting failed container data");
        assert_eq!(v1["deprecatedCount"], 7);
        assert_eq!(v1["deprecatedSource"]["component"], "kubelet");
        assert_eq!(v1["reportingController"], "kubelet");
        assert!(v1["eventTime"].is_null() && v1.get("eventTime").is_some());
        assert!(v1.get("involvedObject").is_none() && v1.get("message").is_none());
    }

    #[test]
    fn field_labels_map_to_the_core_ones_and_core_spellings_are_refused() {
        let label = |l: &str| core_field_label(l);
        assert_eq!(label("regarding.name").unwrap(), "involvedObject.name");
        assert_eq!(label("reportingController").unwrap(), "reportingComponent");
        assert_eq!(label("type").unwrap(), "type");
        assert_eq!(
            label("involvedObject.name"),
            Err("field label not supported: involvedObject.name".to_string())
        );
    }
}
