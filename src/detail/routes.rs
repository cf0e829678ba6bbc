//! The routes section: every source that points an external address at the microservice, in
//! the order docs/urls.md tries them (the Service's `hasura.io/external-url` annotation, each
//! gateway route of routes.yaml, each Ingress rule, a LoadBalancer), each with where it lands on
//! the Service, and the one that gives the tables' EXTERNAL-URL marked. Built from what the
//! feed already holds (`RouteSources`): no request.

use serde::Serialize;

use super::Urls;
use crate::cluster::RouteSources;
use crate::model::join::ingress_rule_url;
use crate::model::{Microservice, UrlSource};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteLine {
    pub source: UrlSource,
    /// The Ingress's name, for an Ingress rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress: Option<String>,
    /// The address, or for an Ingress rule without a host `*<path>`.
    pub url: String,
    /// The gateway route's subdomain (empty for the bare domain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    /// The path prefix the route or rule matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The Service port it goes to: a number, or a port name (Ingress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_port: Option<String>,
    /// `upstreamServicePath`: where on the Service the gateway sends the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_path: Option<String>,
    /// This one gives the tables' EXTERNAL-URL.
    pub shown: bool,
}

/// The row's URLs, and every route to it.
pub fn urls(row: &Microservice, sources: &RouteSources) -> Urls {
    let shown = |source: UrlSource, url: &str| {
        row.external_source == Some(source) && row.external_url.as_deref() == Some(url)
    };
    let mut routes = Vec::new();
    let plain = |source: UrlSource, url: &str| RouteLine {
        source,
        ingress: None,
        url: url.to_string(),
        subdomain: None,
        path: None,
        upstream_port: None,
        upstream_path: None,
        shown: true,
    };
    // The annotation is the first source tried: when there is one, it is the EXTERNAL-URL.
    if let (Some(UrlSource::Annotation), Some(url)) = (row.external_source, &row.external_url) {
        routes.push(plain(UrlSource::Annotation, url));
    }
    if let Some(gateway) = &sources.gateway {
        for entry in gateway
            .entries
            .iter()
            .filter(|e| e.service == row.name && e.namespace == row.namespace)
        {
            let url = gateway.url_of(entry);
            routes.push(RouteLine {
                source: UrlSource::Gateway,
                ingress: None,
                shown: shown(UrlSource::Gateway, &url),
                url,
                subdomain: Some(entry.subdomain.clone()),
                path: Some(entry.path_prefix.clone()),
                upstream_port: entry.port.map(|p| p.to_string()),
                upstream_path: entry.upstream_path.clone(),
            });
        }
    }
    for ingress in sources
        .ingresses
        .iter()
        .filter(|i| i.namespace == row.namespace)
    {
        for rule in ingress.rules.iter().filter(|r| r.service == row.name) {
            let url = ingress_rule_url(ingress, rule).unwrap_or_else(|| format!("*{}", rule.path));
            routes.push(RouteLine {
                source: UrlSource::Ingress,
                ingress: Some(ingress.name.clone()),
                shown: shown(UrlSource::Ingress, &url),
                url,
                subdomain: None,
                path: Some(rule.path.clone()),
                upstream_port: rule.port.clone(),
                upstream_path: None,
            });
        }
    }
    if let (Some(UrlSource::LoadBalancer), Some(url)) = (row.external_source, &row.external_url) {
        routes.push(plain(UrlSource::LoadBalancer, url));
    }
    // Two Ingresses may give the same address: only the first (the one the join took) is it.
    let mut seen = false;
    for route in &mut routes {
        route.shown &= !seen;
        seen |= route.shown;
    }
    Urls {
        internal: row.internal_url.clone(),
        external: row.external_url.clone(),
        routes,
    }
}

/// How the text form words a route: `gateway  http://data.gram29.hasura-app.io → data.hasura:80/`.
pub fn describe(route: &RouteLine, namespace: &str, service: &str) -> String {
    let source = match (&route.source, &route.ingress) {
        (UrlSource::Ingress, Some(name)) => format!("ingress {name}"),
        (UrlSource::Ingress, None) => "ingress".to_string(),
        (UrlSource::Annotation, _) => "annotation hasura.io/external-url".to_string(),
        (UrlSource::Gateway, _) => "gateway".to_string(),
        (UrlSource::LoadBalancer, _) => "load balancer".to_string(),
    };
    let mut text = format!("{source}  {}", route.url);
    if matches!(route.source, UrlSource::Gateway | UrlSource::Ingress) {
        text.push_str(&format!(" → {service}.{namespace}"));
        if let Some(port) = &route.upstream_port {
            text.push_str(&format!(":{port}"));
        }
        if let Some(path) = &route.upstream_path {
            text.push_str(path);
        }
    }
    if route.shown {
        text.push_str("  (EXTERNAL-URL)");
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{IngressInfo, IngressRuleInfo, RouteEntry, Routes, Section};

    fn row(source: Option<UrlSource>, external: Option<&str>) -> Microservice {
        Microservice {
            name: "data".into(),
            namespace: "hasura".into(),
            section: Section::Hasura,
            workload_kind: None,
            status: crate::model::Status::NoWorkload,
            ready: 0,
            desired: 0,
            internal_url: Some("data.hasura".into()),
            external_url: external.map(str::to_string),
            external_source: source,
            usage: None,
            ports: Vec::new(),
            created: None,
            selector: Default::default(),
        }
    }

    fn sources() -> RouteSources {
        let entry =
            |subdomain: &str, path: &str, service: &str, port, upstream: Option<&str>| RouteEntry {
                subdomain: subdomain.into(),
                path_prefix: path.into(),
                service: service.into(),
                namespace: "hasura".into(),
                port,
                upstream_path: upstream.map(str::to_string),
            };
        RouteSources {
            gateway: Some(Arc::new(Routes {
                entries: vec![
                    entry("data", "/", "data", Some(80), Some("/")),
                    entry("auth", "/", "auth", Some(80), None),
                    entry("api", "/data", "data", None, Some("/v1")),
                ],
                domain: "gram29.hasura-app.io".into(),
            })),
            ingresses: Arc::new(vec![IngressInfo {
                name: "data-web".into(),
                namespace: "hasura".into(),
                rules: vec![
                    IngressRuleInfo {
                        host: "data.example.com".into(),
                        path: "/".into(),
                        service: "data".into(),
                        port: Some("http".into()),
                    },
                    IngressRuleInfo {
                        host: String::new(),
                        path: "/d".into(),
                        service: "data".into(),
                        port: None,
                    },
                ],
                tls_hosts: vec!["data.example.com".into()],
            }]),
        }
    }

    #[test]
    fn every_route_to_the_service_with_the_shown_one_marked() {
        let urls = urls(
            &row(
                Some(UrlSource::Gateway),
                Some("http://data.gram29.hasura-app.io"),
            ),
            &sources(),
        );
        let text: Vec<String> = urls
            .routes
            .iter()
            .map(|r| describe(r, "hasura", "data"))
            .collect();
        assert_eq!(
            text,
            [
                "gateway  http://data.gram29.hasura-app.io → data.hasura:80/  (EXTERNAL-URL)",
                "gateway  http://api.gram29.hasura-app.io/data → data.hasura/v1",
                "ingress data-web  https://data.example.com → data.hasura:http",
                "ingress data-web  */d → data.hasura",
            ]
        );
    }

    #[test]
    fn an_annotation_comes_first_and_is_the_external_url() {
        let urls = urls(
            &row(
                Some(UrlSource::Annotation),
                Some("https://data.example.org"),
            ),
            &sources(),
        );
        assert_eq!(urls.routes[0].source, UrlSource::Annotation);
        assert!(urls.routes[0].shown);
        assert_eq!(urls.routes.iter().filter(|r| r.shown).count(), 1);
    }

    #[test]
    fn a_load_balancer_only_when_it_gives_the_url() {
        let mut lb = row(Some(UrlSource::LoadBalancer), Some("http://203.0.113.7"));
        lb.name = "other".into();
        let urls = urls(&lb, &sources());
        assert_eq!(urls.routes.len(), 1);
        assert_eq!(
            describe(&urls.routes[0], "hasura", "other"),
            "load balancer  http://203.0.113.7  (EXTERNAL-URL)"
        );
        assert!(
            super::urls(&row(None, None), &RouteSources::default())
                .routes
                .is_empty()
        );
    }
}
