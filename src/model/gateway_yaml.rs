//! The YAML shapes of rendered `routes.yaml` and `domains.yaml`, and their error messages.
//!
//! routes.yaml is read with typed serde visitors rather than through a generic value, so a
//! wrong type is reported with its line and key path (`line 7: auth./.upstreamServicePort: ...`).
//! Keys the dashboard does not need (CORS, auth policies, websockets...) are ignored.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::routes_error::{DOMAINS_FILE, ROUTES_FILE, RoutesError};

/// One path of one subdomain, routed to a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// Empty for the bare domain.
    pub subdomain: String,
    pub path_prefix: String,
    pub service: String,
    pub namespace: String,
    pub port: Option<i32>,
    /// `upstreamServicePath`: where the gateway sends the request on the Service.
    pub upstream_path: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a map with name and namespace")]
struct Upstream {
    name: String,
    namespace: String,
}

/// One path of a subdomain in the map form: `<prefix>: {upstreamService: ..., ...}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a map with upstreamService")]
struct RouteSpec {
    upstream_service: Upstream,
    #[serde(default)]
    upstream_service_port: Option<i32>,
    #[serde(default)]
    upstream_service_path: Option<String>,
}

/// One path in the list form of `paths`: `- {path: /x, upstreamService: ..., ...}`.
#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a map with path and upstreamService"
)]
struct ListPath {
    path: String,
    upstream_service: Upstream,
    #[serde(default)]
    upstream_service_port: Option<i32>,
    #[serde(default)]
    upstream_service_path: Option<String>,
}

/// One subdomain in the list form: `- {subdomain: x, paths: ...}`.
#[derive(Deserialize)]
#[serde(expecting = "a map with subdomain and paths")]
struct ListEntry {
    /// Absent or null means the bare domain, like `""`.
    #[serde(default)]
    subdomain: Option<String>,
    paths: Paths,
}

/// A subdomain's paths, as a map keyed by prefix or as a list of `{path, ...}`.
struct Paths(Vec<(String, RouteSpec)>);

impl<'de> Deserialize<'de> for Paths {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PathsVisitor;
        impl<'de> Visitor<'de> for PathsVisitor {
            type Value = Paths;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of path prefixes or a list of {path, upstreamService}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Paths, A::Error> {
                let mut out = Vec::new();
                while let Some(prefix) = map.next_key::<String>()? {
                    out.push((prefix, map.next_value::<RouteSpec>()?));
                }
                Ok(Paths(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Paths, A::Error> {
                let mut out = Vec::new();
                while let Some(p) = seq.next_element::<ListPath>()? {
                    let spec = RouteSpec {
                        upstream_service: p.upstream_service,
                        upstream_service_port: p.upstream_service_port,
                        upstream_service_path: p.upstream_service_path,
                    };
                    out.push((p.path, spec));
                }
                Ok(Paths(out))
            }
        }
        d.deserialize_any(PathsVisitor)
    }
}

/// The whole routes.yaml: the map form, the list form, or nothing (an empty file).
struct RoutesDoc(Vec<(String, Paths)>);

impl<'de> Deserialize<'de> for RoutesDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DocVisitor;
        impl<'de> Visitor<'de> for DocVisitor {
            type Value = RoutesDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of subdomains or a list of {subdomain, paths}")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RoutesDoc, E> {
                Ok(RoutesDoc(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<RoutesDoc, E> {
                Ok(RoutesDoc(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RoutesDoc, A::Error> {
                let mut out = Vec::new();
                while let Some(sub) = map.next_key::<String>()? {
                    out.push((sub, map.next_value::<Paths>()?));
                }
                Ok(RoutesDoc(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RoutesDoc, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = seq.next_element::<ListEntry>()? {
                    out.push((e.subdomain.unwrap_or_default(), e.paths));
                }
                Ok(RoutesDoc(out))
            }
        }
        d.deserialize_any(DocVisitor)
    }
}

/// Turns a YAML error into `<file>: line N: <what>`. The line goes in front, so the
/// "at line N column M" the parser puts inside the message is taken out.
fn yaml_error(file: &'static str, err: &serde_saphyr::Error, path: Option<&str>) -> RoutesError {
    let line = err
        .location()
        .and_then(|l| usize::try_from(l.line()).ok())
        .filter(|&l| l > 0);
    let mut message = strip_locations(&err.without_snippet().to_string());
    if let Some(path) = path.filter(|p| *p != ".") {
        message = format!("{path}: {message}");
    }
    // A path into a top-level list reads `.[0].paths`; the leading dot is noise.
    if message.starts_with(".[") {
        message.remove(0);
    }
    RoutesError::Yaml {
        file,
        line,
        message,
    }
}

/// Reads `text` as a `T`, with the key path of an error (`auth./.upstreamServicePort`).
fn from_yaml<'de, T: Deserialize<'de>>(
    file: &'static str,
    text: &'de str,
) -> Result<T, RoutesError> {
    let mut path = None;
    serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = Some(e.path().to_string());
            e.into_inner()
        })
    })
    .map_err(|e| yaml_error(file, &e, path.as_deref()))
}

/// Removes every ` at line N column M` (and ` at line N, column M`) from a message.
fn strip_locations(msg: &str) -> String {
    const MARK: &str = " at line ";
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(pos) = rest.find(MARK) {
        let after = &rest[pos + MARK.len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = digits(after);
        let tail = &after[n..];
        match tail
            .strip_prefix(" column ")
            .or_else(|| tail.strip_prefix(", column "))
        {
            Some(col) if n > 0 && digits(col) > 0 => {
                out.push_str(&rest[..pos]);
                rest = &col[digits(col)..];
            }
            _ => {
                out.push_str(&rest[..pos + MARK.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Reads the route entries of a rendered routes.yaml, in file order.
pub(crate) fn parse_routes(text: &str) -> Result<Vec<RouteEntry>, RoutesError> {
    // A document with only comments, or nothing at all, means "no routes".
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let doc: RoutesDoc = from_yaml(ROUTES_FILE, text)?;
    Ok(doc
        .0
        .into_iter()
        .flat_map(|(subdomain, paths)| {
            paths
                .0
                .into_iter()
                .map(move |(path_prefix, spec)| RouteEntry {
                    subdomain: subdomain.clone(),
                    path_prefix,
                    service: spec.upstream_service.name,
                    namespace: spec.upstream_service.namespace,
                    port: spec.upstream_service_port,
                    upstream_path: spec.upstream_service_path,
                })
        })
        .collect())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn domain_name(v: &Value) -> Option<&str> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// Reads the first domain of a rendered domains.yaml; `None` for an empty file.
///
/// Accepted: a list whose items are `"name"` or `{domain: name, ssl: ...}` (Hasura CLI
/// >= 0.2.50), and the older map keyed by domain (`name: {ssl: ...}`).
pub(crate) fn parse_domains(text: &str) -> Result<Option<String>, RoutesError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let invalid = |message: String| RoutesError::Invalid {
        file: DOMAINS_FILE,
        message,
    };
    let value: Value = from_yaml(DOMAINS_FILE, text)?;
    match &value {
        Value::Null => Ok(None),
        Value::Array(items) => {
            let mut first = None;
            // Every item is checked, so a typo further down is not silently ignored.
            for (i, item) in items.iter().enumerate() {
                let name = match item {
                    Value::Object(m) => m.get("domain").and_then(domain_name),
                    other => domain_name(other),
                };
                let Some(name) = name else {
                    return Err(invalid(format!(
                        "item {}: expected a domain name or {{domain: <name>, ssl: ...}}, found {}",
                        i + 1,
                        kind_of(item)
                    )));
                };
                first.get_or_insert_with(|| name.to_string());
            }
            first
                .map(Some)
                .ok_or_else(|| invalid("the list of domains is empty".to_string()))
        }
        Value::Object(m) => match m.keys().next() {
            Some(key) => Some(key.trim())
                .filter(|d| !d.is_empty())
                .map(|d| Some(d.to_string()))
                .ok_or_else(|| invalid("expected a domain name as key, found nothing".to_string())),
            None => Err(invalid("the list of domains is empty".to_string())),
        },
        other => Err(invalid(format!(
            "expected a list of domains, found {}",
            kind_of(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_locations_removes_only_real_locations() {
        assert_eq!(
            strip_locations("bad at line 2 column 1, while parsing at line 1 column 3"),
            "bad, while parsing"
        );
        assert_eq!(strip_locations("at line x"), "at line x");
        assert_eq!(strip_locations("a at line 3 col"), "a at line 3 col");
        assert_eq!(strip_locations("a at line "), "a at line ");
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let text =
            "\u{feff}data:\r\n  /:\r\n    upstreamService: {name: data, namespace: hasura}\r\n";
        let entries = parse_routes(text).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].path_prefix, "/");
        assert_eq!(
            parse_domains("\u{feff}- a.io\r\n").unwrap().as_deref(),
            Some("a.io")
        );
    }
}
