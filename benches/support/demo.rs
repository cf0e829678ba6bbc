//! `hasura-tui demo-cluster --scale N` as its own process, with a kube client for it and its
//! admin path (request counts by verb).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

pub struct DemoProcess {
    child: Child,
    pub kubeconfig: PathBuf,
    pub client: kube::Client,
    _dir: tempfile::TempDir,
}

impl DemoProcess {
    pub async fn start(scale: usize) -> DemoProcess {
        Self::start_named(scale, hasura_tui::demo::kubeconfig::CONTEXT).await
    }

    /// As `start`, for a cluster called `name` (its context, user and route domain).
    pub async fn start_named(scale: usize, name: &str) -> DemoProcess {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let mut child = Command::new(BIN)
            // The seed's microservices and N more, as every report before the Service shapes.
            .args(["demo-cluster", "--seed-only", "--scale", &scale.to_string()])
            .args(["--name", name])
            // BENCH_DEMO_ARGS: more demo-cluster flags, e.g. `--no-metrics` to measure the
            // dashboard without the metrics API (no CPU and MEM columns).
            .args(
                std::env::var("BENCH_DEMO_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .arg("--write-kubeconfig")
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .spawn()
            .expect("demo-cluster starts");
        // The first line says it listens; the kubeconfig is written before it.
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.contains("listening"), "demo-cluster said {line:?}");
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let yaml = std::fs::read_to_string(&kubeconfig).unwrap();
        let config = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        let config = kube::Config::from_custom_kubeconfig(config, &Default::default())
            .await
            .unwrap();
        DemoProcess {
            child,
            kubeconfig,
            client: kube::Client::try_from(config).unwrap(),
            _dir: dir,
        }
    }

    /// Calls an admin action (`stall`, `forbid`, ...) with a JSON body; returns the answer.
    pub async fn admin(&self, action: &str, body: &str) -> String {
        let request = http::Request::post(format!("/demo/admin/{action}"))
            .body(body.as_bytes().to_vec())
            .unwrap();
        self.client.request_text(request).await.expect("admin path")
    }

    async fn counts(&self) -> serde_json::Value {
        let request = http::Request::post("/demo/admin/counts")
            .body(b"{}".to_vec())
            .unwrap();
        let text = self.client.request_text(request).await.expect("counts");
        serde_json::from_str(&text).unwrap()
    }

    /// API requests served so far, every verb together.
    pub async fn requests(&self) -> u64 {
        self.counts()
            .await
            .as_object()
            .expect("counts by verb")
            .iter()
            // A gauge, not a count of requests.
            .filter(|(verb, _)| *verb != "watches_open")
            .filter_map(|(_, v)| v.as_u64())
            .sum()
    }

    /// Watches open now (the demo's gauge).
    pub async fn watches_open(&self) -> u64 {
        self.counts().await["watches_open"].as_u64().unwrap_or(0)
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
