//! Tests of `routes`: templating, both routes.yaml forms, domains.yaml, bad files, URLs.

use super::*;
use proptest::prelude::*;

/// The seed cluster's routes.yaml, also the demo cluster's `hasura-conf` ConfigMap.
pub(crate) const SEED_ROUTES: &str = r#"auth:
  /:
    upstreamService:
      name: auth
      namespace: '{{ cluster.metadata.namespaces.hasura }}'
    upstreamServicePath: /
    upstreamServicePort: 80
data:
  /:
    upstreamService:
      name: data
      namespace: '{{ cluster.metadata.namespaces.hasura }}'
    upstreamServicePath: /
    upstreamServicePort: 80
filestore:
  /:
    upstreamService:
      name: filestore
      namespace: '{{ cluster.metadata.namespaces.hasura }}'
    upstreamServicePath: /
    upstreamServicePort: 80
notify:
  /:
    upstreamService:
      name: notify
      namespace: '{{ cluster.metadata.namespaces.hasura }}'
    upstreamServicePath: /
    upstreamServicePort: 80
my-app:
  /:
    upstreamService:
      name: my-app
      namespace: '{{ cluster.metadata.namespaces.user }}'
    upstreamServicePath: /
    upstreamServicePort: 80
"#;

pub(crate) const SEED_DOMAINS: &str = r#"- domain: "{{ cluster.name }}.hasura-app.io"
  ssl:
    type: LetsEncrypt
    conf: {}
"#;

pub(crate) fn seed_vars() -> ClusterVars {
    ClusterVars {
        name: "gram29".into(),
        hasura_namespace: "hasura".into(),
        user_namespace: "default".into(),
        data: None,
    }
}

fn parse(routes: &str, domains: Option<&str>) -> Result<Routes, RoutesError> {
    parse_gateway_config(routes, domains, &seed_vars())
}

fn entry(sub: &str, path: &str, svc: &str, ns: &str, port: Option<i32>) -> RouteEntry {
    RouteEntry {
        subdomain: sub.into(),
        path_prefix: path.into(),
        service: svc.into(),
        namespace: ns.into(),
        port,
        upstream_path: None,
    }
}

#[test]
fn seed_map_form_with_templates() {
    let r = parse(SEED_ROUTES, Some(SEED_DOMAINS)).unwrap();
    assert_eq!(r.domain, "gram29.hasura-app.io");
    let subs: Vec<&str> = r.entries.iter().map(|e| e.subdomain.as_str()).collect();
    assert_eq!(subs, ["auth", "data", "filestore", "notify", "my-app"]);
    assert_eq!(
        r.entries[1],
        RouteEntry {
            upstream_path: Some("/".into()),
            ..entry("data", "/", "data", "hasura", Some(80))
        }
    );
    assert_eq!(r.entries[4].namespace, "default");
    assert_eq!(
        r.external_url("data", "hasura").as_deref(),
        Some("http://data.gram29.hasura-app.io")
    );
    assert_eq!(
        r.external_url("my-app", "default").as_deref(),
        Some("http://my-app.gram29.hasura-app.io")
    );
    assert_eq!(r.external_url("my-app", "hasura"), None);
    assert_eq!(r.external_url("postgres", "hasura"), None);
}

#[test]
fn list_form_with_map_and_list_paths() {
    let yaml = r#"
- subdomain: api
  paths:
    /v1/:
      upstreamService: {name: api, namespace: "{{ cluster.metadata.namespaces.user }}"}
      upstreamServicePort: 8080
- subdomain: ""
  paths:
    - path: /
      upstreamService: {name: www, namespace: default}
      corsPolicy: allow_all
"#;
    let r = parse(yaml, None).unwrap();
    assert_eq!(
        r.entries,
        vec![
            entry("api", "/v1/", "api", "default", Some(8080)),
            entry("", "/", "www", "default", None),
        ]
    );
    // No domains.yaml: the cluster's hasura-app.io domain.
    assert_eq!(r.domain, "gram29.hasura-app.io");
    assert_eq!(
        r.external_url("api", "default").as_deref(),
        Some("http://api.gram29.hasura-app.io/v1/")
    );
    // The empty subdomain is the bare domain.
    assert_eq!(
        r.external_url("www", "default").as_deref(),
        Some("http://gram29.hasura-app.io")
    );
}

#[test]
fn external_url_prefers_root_then_shortest_then_first() {
    let r = Routes {
        domain: "d.io".into(),
        entries: vec![
            entry("a", "/longer/", "s", "ns", None),
            entry("b", "/x/", "s", "ns", None),
            entry("c", "/y/", "s", "ns", None),
            entry("d", "/", "s", "ns", None),
            entry("e", "/", "s", "ns", None),
            entry("f", "/only", "t", "ns", None),
            entry("g", "/zz/", "u", "ns", None),
            entry("h", "/yy/", "u", "ns", None),
        ],
    };
    assert_eq!(r.external_url("s", "ns").as_deref(), Some("http://d.d.io"));
    assert_eq!(
        r.external_url("t", "ns").as_deref(),
        Some("http://f.d.io/only")
    );
    assert_eq!(
        r.external_url("u", "ns").as_deref(),
        Some("http://g.d.io/zz/")
    );
    // The index used by the join agrees with the one-off lookup.
    let index = r.url_index();
    for svc in ["s", "t", "u"] {
        assert_eq!(index.get(&("ns", svc)).cloned(), r.external_url(svc, "ns"));
    }
    assert_eq!(index.len(), 3);
}

#[test]
fn domains_forms() {
    let first = |d: &str| parse("", Some(d)).map(|r| r.domain);
    assert_eq!(
        first("- example.com\n- other.com\n").unwrap(),
        "example.com"
    );
    assert_eq!(
        first("- domain: example.com\n  ssl: null\n- other.com\n").unwrap(),
        "example.com"
    );
    // The older Hasura form: a map keyed by domain.
    assert_eq!(
        first("'{{ cluster.name }}.example.com':\n  ssl: null\n").unwrap(),
        "gram29.example.com"
    );
    // An empty file behaves like no file.
    assert_eq!(first("# nothing\n").unwrap(), "gram29.hasura-app.io");
    assert_eq!(parse("", None).unwrap().domain, "gram29.hasura-app.io");
}

#[test]
fn bad_domains() {
    let err = |d: &str| parse("", Some(d)).unwrap_err().to_string();
    assert_eq!(
        err("just-a-string.com"),
        "domains.yaml: expected a list of domains, found a string"
    );
    assert_eq!(
        err("42"),
        "domains.yaml: expected a list of domains, found a number"
    );
    assert_eq!(err("[]"), "domains.yaml: the list of domains is empty");
    assert_eq!(
        err("- ok.com\n- {ssl: null}\n"),
        "domains.yaml: item 2: expected a domain name or {domain: <name>, ssl: ...}, found a map"
    );
    assert!(err("- [unclosed\n").starts_with("domains.yaml: line "));
}

#[test]
fn empty_routes_file_has_no_routes() {
    assert!(parse("", None).unwrap().entries.is_empty());
    assert!(parse("# no routes yet\n", None).unwrap().entries.is_empty());
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let e = parse("auth:\n  /:\n    upstreamService: [\n", None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("routes.yaml: line "), "{e}");
    assert!(!e.contains(" column "), "{e}");
}

#[test]
fn wrong_types_are_reported_with_line_and_path() {
    let e = parse("auth: 5\n", None).unwrap_err().to_string();
    assert!(
        e.starts_with("routes.yaml: line 1: auth: invalid type: integer `5`"),
        "{e}"
    );
    let port = "data:\n  /:\n    upstreamService: {name: data, namespace: hasura}\n    upstreamServicePort: eighty\n";
    let e = parse(port, None).unwrap_err().to_string();
    assert!(e.starts_with("routes.yaml: line 4: "), "{e}");
    assert!(e.contains("upstreamServicePort"), "{e}");
    let missing = "data:\n  /:\n    upstreamServicePort: 80\n";
    let e = parse(missing, None).unwrap_err().to_string();
    assert!(e.contains("missing field `upstreamService`"), "{e}");
    let top = parse("just text", None).unwrap_err().to_string();
    assert!(top.contains("expected a map of subdomains"), "{top}");
}

#[test]
fn unknown_template_variable_is_an_error() {
    let yaml = "data:\n  /:\n    upstreamService: {name: data, namespace: '{{ cluster.metadata.namespaces.other }}'}\n";
    let e = parse(yaml, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "routes.yaml: line 3: unknown template variable `cluster.metadata.namespaces.other`"
    );
    let e = parse("", Some("- '{{ nope }}.io'")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "domains.yaml: line 1: unknown template variable `nope`"
    );
}

#[test]
fn template_syntax_error_is_reported() {
    let e = parse("a: {{ cluster.name\n", None).unwrap_err().to_string();
    assert!(
        e.starts_with("routes.yaml: line 1: template error: syntax error"),
        "{e}"
    );
}

#[test]
fn template_statements_work() {
    let yaml = "{% if cluster.name == 'gram29' %}api:\n  /:\n    upstreamService: {name: api, namespace: default}\n{% endif %}";
    assert_eq!(parse(yaml, None).unwrap().entries.len(), 1);
}

#[test]
fn the_projects_cluster_data_reaches_the_templates() {
    let vars = ClusterVars {
        data: Some(serde_json::json!({"apiPrefix": "v2"})),
        ..seed_vars()
    };
    let routes = "data:\n  /{{ cluster.data.apiPrefix }}:\n    upstreamService: {name: data, namespace: hasura}\n    upstreamServicePort: 80\n";
    let r = parse_gateway_config(routes, None, &vars).unwrap();
    assert_eq!(r.entries[0].path_prefix, "/v2");
}

#[test]
fn values_are_not_escaped() {
    let vars = ClusterVars {
        name: "a\"b&c".into(),
        ..seed_vars()
    };
    let r = parse_gateway_config("", Some("- x.{{ cluster.name }}.io"), &vars).unwrap();
    assert_eq!(r.domain, "x.a\"b&c.io");
}

#[test]
fn oversize_input_is_refused() {
    let big = "#".repeat(MAX_CONFIG_BYTES + 1);
    assert!(matches!(
        parse(&big, None),
        Err(RoutesError::TooLarge {
            file: "routes.yaml",
            ..
        })
    ));
    assert!(matches!(
        parse("", Some(&big)),
        Err(RoutesError::TooLarge {
            file: "domains.yaml",
            ..
        })
    ));
    // A small template that expands past the limit is refused too.
    let bomb = "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}";
    let e = parse(bomb, None).unwrap_err().to_string();
    assert!(
        e.starts_with("routes.yaml: too large after templating"),
        "{e}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep_yaml = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse(&deep_yaml, None).is_err());
    let deep_tmpl = format!("{{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&deep_tmpl, None).is_err());
}

/// Lines that look like routes.yaml, to get proptest past the YAML parser into the visitors.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("auth:".to_string()),
        Just("  /:".to_string()),
        Just("    upstreamService:".to_string()),
        Just("      name: data".to_string()),
        Just("      namespace: '{{ cluster.metadata.namespaces.hasura }}'".to_string()),
        Just("    upstreamServicePort: 80".to_string()),
        Just("- subdomain: x".to_string()),
        Just("  paths:".to_string()),
        Just("    - path: /".to_string()),
        Just("- domain: d.io".to_string()),
        Just("{% if x %}".to_string()),
        Just("&a [*a, *a]".to_string()),
        "[ -~]{0,20}",
    ];
    prop::collection::vec(piece, 0..20).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(routes in ".{0,200}", domains in ".{0,100}") {
        let _ = parse(&routes, Some(&domains));
        let _ = parse(&routes, None);
    }

    #[test]
    fn never_panics_on_yamlish_text(routes in yamlish(), domains in yamlish()) {
        let _ = parse(&routes, Some(&domains));
        let _ = parse(&domains, None);
    }
}
