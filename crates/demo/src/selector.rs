//! Label and field selectors as the API server parses them from `labelSelector` and
//! `fieldSelector`: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.

use serde_json::Value;

use super::kinds::Kind;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector(Vec<Requirement>);

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        for term in split_terms(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_term(term)?);
        }
        Ok(Selector(requirements))
    }

    /// The `labelSelector` and `fieldSelector` of a list or watch request (field selectors only
    /// on the fields the API server supports for the kind).
    pub fn from_query(
        query: &std::collections::HashMap<String, String>,
        kind: Kind,
    ) -> Result<(Selector, Selector), String> {
        let labels = Selector::parse(query.get("labelSelector").map_or("", String::as_str))?;
        let mut fields = Selector::parse(query.get("fieldSelector").map_or("", String::as_str))?;
        if kind == Kind::EventV1 {
            fields = fields.rename_keys(super::events_v1::core_field_label)?;
        }
        fields.check_fields(kind.stored_as() == Kind::Event)?;
        Ok((labels, fields))
    }

    /// The same selector with each key renamed by `rename` (which refuses a key with an
    /// error).
    pub fn rename_keys(
        self,
        rename: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Selector, String> {
        self.0
            .into_iter()
            .map(|req| {
                Ok(match req {
                    Requirement::Equals(k, v) => Requirement::Equals(rename(&k)?, v),
                    Requirement::NotEquals(k, v) => Requirement::NotEquals(rename(&k)?, v),
                    Requirement::In(k, v) => Requirement::In(rename(&k)?, v),
                    Requirement::NotIn(k, v) => Requirement::NotIn(rename(&k)?, v),
                    Requirement::Exists(k) => Requirement::Exists(rename(&k)?),
                    Requirement::NotExists(k) => Requirement::NotExists(rename(&k)?),
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Selector)
    }

    /// The value `key` must equal (`key=value` or `key==value`), if the selector says so.
    pub fn required(&self, key: &str) -> Option<&str> {
        self.0.iter().find_map(|req| match req {
            Requirement::Equals(k, v) if k == key => Some(v.as_str()),
            _ => None,
        })
    }

    /// Matches against a lookup of keys (labels, or field paths).
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|req| match req {
            Requirement::Equals(k, v) => lookup(k).as_deref() == Some(v.as_str()),
            Requirement::NotEquals(k, v) => lookup(k).as_deref() != Some(v.as_str()),
            Requirement::In(k, vs) => lookup(k).is_some_and(|x| vs.contains(&x)),
            Requirement::NotIn(k, vs) => lookup(k).is_none_or(|x| !vs.contains(&x)),
            Requirement::Exists(k) => lookup(k).is_some(),
            Requirement::NotExists(k) => lookup(k).is_none(),
        })
    }

    pub fn matches_labels(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.matches(|k| labels.get(k).and_then(Value::as_str).map(str::to_string))
    }

    /// Field selectors: the fields kubectl and kube-rs use on the kinds served here.
    pub fn matches_fields(&self, object: &Value) -> bool {
        self.matches(|path| {
            let value = match path {
                "metadata.name" => &object["metadata"]["name"],
                "metadata.namespace" => &object["metadata"]["namespace"],
                "status.phase" => &object["status"]["phase"],
                "spec.nodeName" => &object["spec"]["nodeName"],
                // Events: `source` is the component, else the reporting controller.
                "source" => match object["source"]["component"].as_str() {
                    Some(c) if !c.is_empty() => &object["source"]["component"],
                    _ => &object["reportingComponent"],
                },
                "reason" | "type" | "reportingComponent" => &object[path],
                _ => match path.strip_prefix("involvedObject.") {
                    Some(field) => &object["involvedObject"][field],
                    None => return None,
                },
            };
            Some(value.as_str().unwrap_or_default().to_string())
        })
    }

    /// Field selectors only support the paths above; reject others as the API server does.
    /// Events take their own labels (`pkg/registry/core/event/strategy.go`
    /// `ToSelectableFields`).
    pub fn check_fields(&self, events: bool) -> Result<(), String> {
        for req in &self.0 {
            let key = match req {
                Requirement::Equals(k, _) | Requirement::NotEquals(k, _) => k,
                _ => return Err("field selectors support only =, == and !=".to_string()),
            };
            let common = matches!(key.as_str(), "metadata.name" | "metadata.namespace");
            let allowed = if events {
                common
                    || matches!(
                        key.as_str(),
                        "involvedObject.kind"
                            | "involvedObject.namespace"
                            | "involvedObject.name"
                            | "involvedObject.uid"
                            | "involvedObject.apiVersion"
                            | "involvedObject.resourceVersion"
                            | "involvedObject.fieldPath"
                            | "reason"
                            | "reportingComponent"
                            | "source"
                            | "type"
                    )
            } else {
                common || matches!(key.as_str(), "status.phase" | "spec.nodeName")
            };
            if !allowed {
                return Err(format!("field label not supported: {key}"));
            }
        }
        Ok(())
    }
}

/// Splits on commas that are not inside `( )`.
fn split_terms(text: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&text[start..]);
    terms
}

fn parse_term(term: &str) -> Result<Requirement, String> {
    let bad = || format!("unable to parse requirement: {term:?}");
    if let Some((k, v)) = term.split_once("!=") {
        return Ok(Requirement::NotEquals(key(k, term)?, v.trim().to_string()));
    }
    if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(Requirement::Equals(key(k, term)?, v.trim().to_string()));
    }
    if let Some(open) = term.find('(') {
        let close = term.rfind(')').ok_or_else(bad)?;
        let head: Vec<&str> = term[..open].split_whitespace().collect();
        let values = term[open + 1..close]
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        return match head.as_slice() {
            [k, "in"] => Ok(Requirement::In(key(k, term)?, values)),
            [k, "notin"] => Ok(Requirement::NotIn(key(k, term)?, values)),
            _ => Err(bad()),
        };
    }
    if let Some(k) = term.strip_prefix('!') {
        return Ok(Requirement::NotExists(key(k, term)?));
    }
    Ok(Requirement::Exists(key(term, term)?))
}

fn key(text: &str, term: &str) -> Result<String, String> {
    let k = text.trim();
    if k.is_empty() || k.contains(char::is_whitespace) {
        return Err(format!("unable to parse requirement: {term:?}"));
    }
    Ok(k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_operator() {
        let obj = json!({"metadata": {"name": "x", "labels": {"app": "data", "tier": "api"}}});
        let m = |s: &str| Selector::parse(s).unwrap().matches_labels(&obj);
        assert!(m(""));
        assert!(m("app=data"));
        assert!(m("app==data,tier"));
        assert!(!m("app!=data"));
        assert!(m("app in (auth, data)"));
        assert!(!m("app notin (auth,data)"));
        assert!(m("!missing"));
        assert!(!m("missing"));
        assert!(m("app in (data),tier=api"));
        assert!(Selector::parse("app in data)").is_err());
    }

    #[test]
    fn field_selectors() {
        let obj = json!({"metadata": {"name": "x", "namespace": "hasura"}});
        let s = Selector::parse("metadata.name=x").unwrap();
        assert!(s.check_fields(false).is_ok() && s.matches_fields(&obj));
        assert!(
            !Selector::parse("metadata.name=y")
                .unwrap()
                .matches_fields(&obj)
        );
        assert!(
            Selector::parse("spec.foo=1")
                .unwrap()
                .check_fields(false)
                .is_err()
        );
    }
}
