//! The gateway's `routes.yaml` and `domains.yaml` as a ConfigMap holds them (templates
//! rendered with the cluster's variables, then parsed), and the URLs made from them. No panic.
#![no_main]

use hasura_tui::model::routes::{ClusterVars, parse_gateway_config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Routes, then domains after a NUL when there is one.
    let (routes, domains) = match text.split_once('\0') {
        Some((routes, domains)) => (routes, Some(domains)),
        None => (&*text, None),
    };
    let vars = ClusterVars {
        name: "gram29".into(),
        hasura_namespace: "hasura".into(),
        user_namespace: "default".into(),
        data: None,
    };
    if let Ok(routes) = parse_gateway_config(routes, domains, &vars) {
        for entry in &routes.entries {
            let _ = routes.url_of(entry);
        }
        let _ = routes.url_index();
        let _ = routes.external_url("data", "hasura");
    }
});
