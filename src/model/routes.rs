//! The Hasura gateway configuration: `routes.yaml` and `domains.yaml`, turned into external URLs.
//!
//! Both files are templates (Hasura rendered them with pongo2, a Jinja dialect); we render them
//! with minijinja and then read the YAML. The shapes accepted, and the error messages, live in
//! `gateway_yaml`; this module holds the result and the URL rule of docs/urls.md.

use std::collections::HashMap;

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, context};

use super::gateway_yaml;
pub use super::gateway_yaml::RouteEntry;
pub use super::routes_error::RoutesError;
use super::routes_error::{DOMAINS_FILE, ROUTES_FILE};

/// Inputs larger than this are refused before templating: real files are a few KiB, and the
/// limit keeps a stray or hostile ConfigMap from costing memory or time.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// The values the templates can refer to, as `cluster.name`,
/// `cluster.metadata.namespaces.{hasura,user}` and `cluster.data` (the project's own values from
/// clusters.yaml, null without one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterVars {
    pub name: String,
    pub hasura_namespace: String,
    pub user_namespace: String,
    pub data: Option<serde_json::Value>,
}

/// The parsed gateway configuration: routes in the order the file lists them, and the domain.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Routes {
    pub entries: Vec<RouteEntry>,
    pub domain: String,
}

/// Renders and parses `routes.yaml` and (if present) `domains.yaml`.
///
/// The caller reads the files (or ConfigMap keys) and converts them to text lossily; this
/// function does no I/O and never panics, whatever the input.
pub fn parse_gateway_config(
    routes_yaml: &str,
    domains_yaml: Option<&str>,
    vars: &ClusterVars,
) -> Result<Routes, RoutesError> {
    let routes_text = render(ROUTES_FILE, routes_yaml, vars)?;
    let entries = gateway_yaml::parse_routes(&routes_text)?;
    let domain = match domains_yaml {
        Some(src) => {
            let text = render(DOMAINS_FILE, src, vars)?;
            gateway_yaml::parse_domains(&text)?.unwrap_or_else(|| default_domain(&vars.name))
        }
        None => default_domain(&vars.name),
    };
    Ok(Routes { entries, domain })
}

/// The domain Hasura gave every cluster, used when there is no domains.yaml.
pub fn default_domain(cluster_name: &str) -> String {
    format!("{cluster_name}.hasura-app.io")
}

/// A writer that refuses to grow past a limit, so a template cannot expand without bound.
struct LimitedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > MAX_CONFIG_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("rendered template too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fills in the template variables. Unknown variables are errors (strict undefined), because a
/// silently empty namespace or domain would produce plausible but wrong URLs.
fn render(file: &'static str, source: &str, vars: &ClusterVars) -> Result<String, RoutesError> {
    if source.len() > MAX_CONFIG_BYTES {
        return Err(RoutesError::TooLarge {
            file,
            size: source.len(),
            limit: MAX_CONFIG_BYTES,
        });
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // minijinja would JSON-escape output of `.yaml` templates when its `json` feature is on;
    // values are pasted into YAML text as they are, like pongo2 did.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(true);
    // Debug info gives error ranges, which is how the unknown variable's name is recovered.
    env.set_debug(true);
    let ctx = context! {
        cluster => context! {
            name => vars.name,
            metadata => context! {
                namespaces => context! {
                    hasura => vars.hasura_namespace,
                    user => vars.user_namespace,
                },
            },
            data => minijinja::Value::from_serialize(&vars.data),
        },
    };
    let mut out = LimitedWriter {
        buf: Vec::new(),
        overflowed: false,
    };
    let result = env
        .template_from_named_str(file, source)
        .and_then(|t| t.render_captured_to(ctx, &mut out).map(|_| ()));
    if out.overflowed {
        return Err(RoutesError::Invalid {
            file,
            message: format!("too large after templating (over {MAX_CONFIG_BYTES} bytes)"),
        });
    }
    if let Err(err) = result {
        return Err(template_error(file, source, &err));
    }
    // Templates only paste strings into a &str source, so the output is UTF-8; stay lossless
    // without an unwrap in case that ever changes.
    Ok(String::from_utf8(out.buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn template_error(file: &'static str, source: &str, err: &minijinja::Error) -> RoutesError {
    let line = err.line();
    if err.kind() == ErrorKind::UndefinedError {
        // The range may cover only the failing attribute (`.namespaces.other`); widen it back
        // over the dotted path so the message shows the whole variable.
        let name = err
            .range()
            .and_then(|r| {
                let bytes = source.as_bytes();
                let mut start = r.start.min(bytes.len());
                while start > 0
                    && (bytes[start - 1].is_ascii_alphanumeric()
                        || matches!(bytes[start - 1], b'_' | b'.'))
                {
                    start -= 1;
                }
                source.get(start..r.end)
            })
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "(unknown)".to_string());
        return RoutesError::UnknownVariable { file, line, name };
    }
    let message = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    RoutesError::Template {
        file,
        line,
        message,
    }
}

impl Routes {
    /// The public URL of a Service through the gateway, if a route leads to it.
    ///
    /// With several routes to one Service the `/` path wins, then the shortest prefix, then
    /// the first listed, so the answer never depends on hashing or sorting elsewhere.
    pub fn external_url(&self, service: &str, namespace: &str) -> Option<String> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.service == service && e.namespace == namespace)
            .min_by_key(|(i, e)| preference(e, *i))
            .map(|(_, e)| self.url_of(e))
    }

    /// The URL a route entry is reached at: `http://<subdomain>.<domain>[<prefix>]`.
    pub fn url_of(&self, entry: &RouteEntry) -> String {
        let host = if entry.subdomain.is_empty() {
            self.domain.clone()
        } else {
            format!("{}.{}", entry.subdomain, self.domain)
        };
        let path = entry.path_prefix.as_str();
        if path.is_empty() || path == "/" {
            format!("http://{host}")
        } else if path.starts_with('/') {
            format!("http://{host}{path}")
        } else {
            format!("http://{host}/{path}")
        }
    }

    /// `external_url` for every routed Service at once, keyed by `(namespace, service)`, so
    /// joining thousands of rows does not rescan the routes for each.
    pub fn url_index(&self) -> HashMap<(&str, &str), String> {
        let mut best: HashMap<(&str, &str), (usize, &RouteEntry)> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            let key = (e.namespace.as_str(), e.service.as_str());
            let better = best
                .get(&key)
                .is_none_or(|(j, cur)| preference(e, i) < preference(cur, *j));
            if better {
                best.insert(key, (i, e));
            }
        }
        best.into_iter()
            .map(|(k, (_, e))| (k, self.url_of(e)))
            .collect()
    }
}

fn preference(e: &RouteEntry, index: usize) -> (bool, usize, usize) {
    let root = e.path_prefix.is_empty() || e.path_prefix == "/";
    (!root, e.path_prefix.len(), index)
}

#[cfg(test)]
#[path = "routes_tests.rs"]
pub(crate) mod tests;
