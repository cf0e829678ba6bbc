//! The demo cluster as a separate process, used by the machine image's kubectl: what a newcomer
//! does first. Fails (never skips) when kubectl is missing.
use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::kubectl;

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn kubectl_gets_pods_services_and_deployments_with_sensible_columns() {
    let demo = common::demo_process::DemoProcess::start();
    assert_eq!(
        mode_of(&demo.kubeconfig),
        0o600,
        "the kubeconfig holds a token"
    );
    let out = demo.kubectl(&["get", "pods,svc,deploy", "-n", "hasura"]);
    for header in [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "TYPE",
        "CLUSTER-IP",
        "PORT(S)",
        "UP-TO-DATE",
        "AVAILABLE",
    ] {
        assert!(out.contains(header), "missing column {header} in:\n{out}");
    }
    for name in [
        "auth",
        "data",
        "filestore",
        "gateway",
        "le-agent",
        "notify",
        "platform-sync",
        "postgres",
        "session-redis",
        "sshd",
    ] {
        assert!(
            out.contains(&format!("service/{name} ")),
            "missing service/{name} in:\n{out}"
        );
        // data carries a mesh sidecar (istio-proxy), filestore a native sidecar init container
        // (cloud-sql-proxy): kubectl counts both in READY, as printPod does.
        let ready = if matches!(name, "data" | "filestore") {
            "2/2"
        } else {
            "1/1"
        };
        assert!(
            out.lines().any(|l| l.starts_with(&format!("pod/{name}-"))
                && l.contains("Running")
                && l.split_whitespace().nth(1) == Some(ready)),
            "missing running pod of {name} with {ready} ready in:\n{out}"
        );
    }
    assert!(out.contains("deployment.apps/data "), "{out}");
    assert!(out.contains("5432/TCP"), "{out}");
    let sts = demo.kubectl(&["get", "statefulset", "-n", "hasura"]);
    assert!(sts.contains("postgres") && sts.contains("1/1"), "{sts}");
}

#[test]
fn kubectl_watch_prints_a_line_when_a_pod_is_deleted() {
    let demo = common::demo_process::DemoProcess::start();
    let pod = demo
        .kubectl(&[
            "get", "pods", "-n", "hasura", "-l", "app=data", "-o", "name",
        ])
        .trim()
        .trim_start_matches("pod/")
        .to_string();
    let mut watch = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .args(["get", "pods", "-n", "hasura", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // The initial listing ends with the last pod; wait for it before deleting.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.starts_with("sshd-")) {
        lines.push(
            rx.recv_timeout(deadline - Instant::now())
                .expect("initial watch listing"),
        );
    }
    let deleted = demo.kubectl(&["delete", "pod", "-n", "hasura", &pod]);
    assert!(
        deleted.contains(&format!("pod \"{pod}\" deleted")),
        "{deleted}"
    );
    let mut saw_terminating = false;
    let mut saw_replacement = false;
    while !(saw_terminating && saw_replacement) {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("watch lines so far: {lines:?}"));
        saw_terminating |= line.starts_with(&pod) && line.contains("Terminating");
        saw_replacement |= line.starts_with("data-") && !line.starts_with(&pod);
        lines.push(line);
    }
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn kubectl_scale_and_delete_work_and_sigterm_exits_cleanly() {
    let mut demo = common::demo_process::DemoProcess::start();
    let scaled = demo.kubectl(&["scale", "deploy", "auth", "-n", "hasura", "--replicas=3"]);
    assert!(scaled.contains("deployment.apps/auth scaled"), "{scaled}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = demo.kubectl(&["get", "deploy", "auth", "-n", "hasura", "--no-headers"]);
        if out.split_whitespace().nth(1) == Some("3/3") {
            break;
        }
        assert!(Instant::now() < deadline, "auth never reached 3/3: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pods = demo.kubectl(&[
        "get",
        "pods",
        "-n",
        "hasura",
        "-l",
        "app=auth",
        "--no-headers",
    ]);
    assert_eq!(pods.lines().count(), 3, "{pods}");
    let logs = demo.kubectl(&["logs", "-n", "hasura", "postgres-0"]);
    assert!(logs.contains("starting postgres"), "{logs}");
    let status = demo.terminate();
    assert!(status.success(), "exit status on SIGTERM: {status}");
}

/// Endpoints are served beside EndpointSlices with the deprecation warning kube-apiserver 1.33
/// sends; `--no-endpoints` stops serving them (a cluster may), and hasura-tui's forwards, which
/// follow EndpointSlices, do not notice.
#[test]
fn endpoints_are_deprecated_and_can_be_switched_off_without_hurting_forwards() {
    let demo = common::demo_process::DemoProcess::start();
    let (code, out, stderr) = demo.kubectl_output(&["get", "endpoints", "data", "-n", "hasura"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.contains("10.244."), "{out}");
    assert!(
        stderr.contains(
            "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
        ),
        "{stderr}"
    );
    drop(demo);

    let demo = common::demo_process::DemoProcess::start_with(&["--no-endpoints"]);
    let (code, _, stderr) = demo.kubectl_output(&["get", "endpoints", "-n", "hasura"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the server doesn't have a resource type \"endpoints\""),
        "{stderr}"
    );
    let slices = demo.kubectl(&["get", "endpointslices", "-n", "hasura"]);
    assert!(slices.contains("data-"), "{slices}");
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut forward = Command::new(env!("CARGO_BIN_EXE_hasura-tui"))
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .args([
            "port-forward",
            "postgres",
            "-n",
            "hasura",
            "--local-port",
            &free,
        ])
        .env("XDG_STATE_HOME", demo.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(forward.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    assert!(first.contains(&format!("127.0.0.1:{free}")), "{first}");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{free}").parse().unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::io::Write::write_all(&mut stream, b"slices only").unwrap();
    let mut back = [0u8; 11];
    std::io::Read::read_exact(&mut stream, &mut back).unwrap();
    assert_eq!(&back, b"slices only");
    let _ = forward.kill();
    let _ = forward.wait();
}

/// `kubectl port-forward` as a process, its local port once it says where it listens.
struct KubectlForward {
    child: Child,
    port: u16,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl KubectlForward {
    fn start(
        demo: &common::demo_process::DemoProcess,
        websockets: bool,
        args: &[&str],
    ) -> KubectlForward {
        let mut child = Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(&demo.kubeconfig)
            .arg("port-forward")
            .args(args)
            .arg("-v=6")
            .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                stderr_log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let port = common::forwarding_port(child.stdout.take().unwrap())
            .unwrap_or_else(|first| panic!("no port in {first:?}: {}", log.lock().unwrap()));
        KubectlForward { child, port, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for KubectlForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `data`, half-closes, reads to the end.
fn exchange(port: u16, data: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let writer = {
        let mut stream = stream.try_clone()?;
        let data = data.to_vec();
        std::thread::spawn(move || stream.write_all(&data))
    };
    // As much back as was sent (or the end) before the half-close: a runtime gives the pod
    // at most 1 s after the client's end of input (containerd's linger).
    let mut back = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while back.len() < data.len() {
        match stream.read(&mut buf)? {
            0 => break,
            n => back.extend_from_slice(&buf[..n]),
        }
    }
    let _ = writer.join();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    stream.read_to_end(&mut back)?;
    Ok(back)
}

/// kubectl port-forwards through the demo cluster with both of its transports: SPDY in a
/// WebSocket (1.31+'s default) and the legacy SPDY upgrade. Bytes come back identical, a
/// Service's named targetPort is resolved by kubectl itself, and a port nothing listens on ends
/// kubectl with the kubelet's message.
#[test]
fn kubectl_port_forward_works_through_the_demo_with_each_protocol() {
    let demo = common::demo_process::DemoProcess::start();
    let payload: Vec<u8> = (0..4 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for websockets in [true, false] {
        let forward = KubectlForward::start(
            &demo,
            websockets,
            &["-n", "hasura", "pod/postgres-0", ":5432"],
        );
        let back = exchange(forward.port, &payload).unwrap();
        assert!(
            back == payload,
            "websockets={websockets}: {} bytes back of {}",
            back.len(),
            payload.len()
        );
        let log = forward.log();
        if websockets {
            assert!(
                log.contains("negotiated protocol: portforward.k8s.io"),
                "{log}"
            );
        } else {
            assert!(
                log.contains("verb=\"POST\"") && log.contains("101 Switching Protocols"),
                "{log}"
            );
            assert!(!log.contains("tunneling_dialer"), "{log}");
        }

        // A Service: kubectl picks a pod by the selector and resolves `http` to 8080 itself.
        let forward =
            KubectlForward::start(&demo, websockets, &["-n", "hasura", "svc/data", ":80"]);
        let reply = exchange(
            forward.port,
            b"GET /via-kubectl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let reply = String::from_utf8_lossy(&reply);
        assert!(
            reply.starts_with("HTTP/1.1 200") && reply.contains("/via-kubectl"),
            "{reply}"
        );

        // A port nothing listens on: kubectl prints the kubelet's error and ends with exit 1.
        let mut forward = KubectlForward::start(
            &demo,
            websockets,
            &["-n", "hasura", "pod/postgres-0", ":6000"],
        );
        let _ = exchange(forward.port, b"x");
        assert_eq!(forward.wait_exit(), Some(1), "{}", forward.log());
        let log = forward.log();
        assert!(
            log.contains("error forwarding port 6000 to pod ")
                && log.contains(", uid : failed to execute portforward in network namespace")
                && log.contains("connect: connection refused")
                && log.contains("lost connection to pod"),
            "{log}"
        );
    }
}
