//! The `oidc` auth-provider against the demo's issuer, whose refresh tokens are good once (as
//! Keycloak, Okta and Auth0 rotate them): hasura-tui and kubectl take turns on one kubeconfig,
//! each refreshing an expired id-token with the refresh token the other wrote back, through a
//! CONNECT proxy named by `HTTPS_PROXY` (the issuer's name resolves only there).
use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::connect_proxy::ConnectProxy;
use hasura_tui::demo::{DemoCluster, KubeconfigAuth};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
/// A name the demo's certificate carries and this machine cannot resolve: only the proxy can.
const ISSUER_HOST: &str = "kubernetes.default.svc";

fn provider_config(file: &Path) -> Value {
    let text = std::fs::read_to_string(file).unwrap();
    let document: Value = serde_saphyr::from_str(&text).unwrap();
    document["users"][0]["user"]["auth-provider"]["config"].clone()
}

fn token(file: &Path, key: &str) -> String {
    provider_config(file)[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {}", file.display()))
        .to_string()
}

/// Puts an expired id-token in the file, as time would.
fn expire(file: &Path, expired: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let current = token(file, "id-token");
    std::fs::write(file, text.replace(&current, expired)).unwrap();
}

/// A kubeconfig of the demo's `oidc` user (its id-token expired) whose issuer is named
/// `ISSUER_HOST`, the demo's own port behind it.
fn kubeconfig_behind_issuer_name(demo: &DemoCluster) -> String {
    let port = demo.url().rsplit(':').next().unwrap().to_string();
    let yaml = demo
        .kubeconfig_with(&KubeconfigAuth::Oidc {
            user: "admin".into(),
        })
        .unwrap()
        .replace(
            &format!("idp-issuer-url: {}", demo.url()),
            &format!("idp-issuer-url: https://{ISSUER_HOST}:{port}"),
        );
    assert!(yaml.contains(ISSUER_HOST), "the issuer was renamed");
    yaml
}

fn run(program: &Path, args: &[&str], proxy: &ConnectProxy) -> Output {
    Command::new(program)
        .args(args)
        .env("HTTPS_PROXY", format!("http://{}", proxy.addr))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap()
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_refresh_tokens_are_written_back_so_kubectl_and_hasura_tui_take_turns() {
    let demo = common::start_demo().await;
    let proxy = ConnectProxy::start_resolving(&[(ISSUER_HOST, "127.0.0.1")]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    let yaml = kubeconfig_behind_issuer_name(&demo);
    std::fs::write(&file, &yaml).unwrap();
    let spare = dir.path().join("copy-before");
    std::fs::write(&spare, &yaml).unwrap();
    let expired = token(&file, "id-token");
    let first_refresh = token(&file, "refresh-token");
    let kubeconfig = file.display().to_string();
    let kubectl = common::kubectl();

    // hasura-tui refreshes the expired id-token through the proxy and writes both tokens back.
    let listed = tokio::task::block_in_place(|| {
        run(
            Path::new(BIN),
            &["list", "--kubeconfig", &kubeconfig],
            &proxy,
        )
    });
    assert!(listed.status.success(), "{}", said(&listed));
    assert!(said(&listed).contains("data.hasura"), "{}", said(&listed));
    let tunnels = proxy.tunnels();
    assert!(
        tunnels >= 2,
        "discovery and token through the proxy ({tunnels})"
    );
    let second_refresh = token(&file, "refresh-token");
    assert_ne!(
        second_refresh, first_refresh,
        "the rotated token is in the file"
    );
    assert_ne!(token(&file, "id-token"), expired, "so is the new id-token");
    assert!(
        !dir.path().join("config.lock").exists(),
        "the lock is let go"
    );

    // The first refresh token is spent: a copy of the file as it was is signed out.
    let stale = tokio::task::block_in_place(|| {
        run(
            &kubectl,
            &[
                "get",
                "pods",
                "-A",
                "--kubeconfig",
                &spare.display().to_string(),
            ],
            &proxy,
        )
    });
    assert!(!stale.status.success(), "the spent token was refused");
    assert!(said(&stale).contains("invalid_grant"), "{}", said(&stale));

    // Time passes: kubectl refreshes with the token hasura-tui wrote, and writes its own.
    expire(&file, &expired);
    let got = tokio::task::block_in_place(|| {
        run(
            &kubectl,
            &["get", "pods", "-A", "--kubeconfig", &kubeconfig],
            &proxy,
        )
    });
    assert!(got.status.success(), "kubectl signed in: {}", said(&got));
    assert!(
        proxy.tunnels() > tunnels,
        "kubectl's refresh went through the proxy too"
    );
    let third_refresh = token(&file, "refresh-token");
    assert_ne!(third_refresh, second_refresh, "kubectl rotated it");

    // And hasura-tui takes the one kubectl wrote.
    expire(&file, &expired);
    let listed = tokio::task::block_in_place(|| {
        run(
            Path::new(BIN),
            &["list", "--kubeconfig", &kubeconfig],
            &proxy,
        )
    });
    assert!(listed.status.success(), "{}", said(&listed));
    assert_ne!(token(&file, "refresh-token"), third_refresh);
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_proxy_the_issuer_is_not_reached_and_says_so() {
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    let port = demo.url().rsplit(':').next().unwrap().to_string();
    let yaml = kubeconfig_behind_issuer_name(&demo);
    std::fs::write(&file, &yaml).unwrap();
    let listed = tokio::task::block_in_place(|| {
        Command::new(BIN)
            .args(["list", "--kubeconfig", &file.display().to_string()])
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .output()
            .unwrap()
    });
    assert_eq!(listed.status.code(), Some(2), "{}", said(&listed));
    let text = said(&listed);
    assert!(
        text.contains(&format!("oidc https://{ISSUER_HOST}:{port}")) && text.contains("discovery"),
        "one line naming the issuer: {text}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        yaml,
        "nothing written"
    );
    demo.shutdown().await;
}
