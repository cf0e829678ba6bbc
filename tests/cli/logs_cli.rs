//! `hasura-tui logs` and `hasura-tui open` as processes against the demo cluster (in-process
//! here, so the test can kill pods): every pod's lines with a `[pod]` prefix, `--tail`, `-p`,
//! following new lines and a killed pod's replacement, the exit codes, and `open` calling the
//! browser double with the external URL the model gives.
use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hasura_tui::demo::{DemoCluster, DemoOptions};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

struct Setup {
    demo: DemoCluster,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

async fn setup(churn: bool) -> Setup {
    let demo = common::start_demo_with(DemoOptions {
        churn,
        pod_start_delay: Duration::from_millis(150),
        pod_termination_delay: Duration::from_millis(100),
        ..DemoOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    Setup {
        demo,
        kubeconfig,
        dir,
    }
}

fn command(setup: &Setup, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--kubeconfig")
        .arg(&setup.kubeconfig)
        .args(args)
        .env("XDG_STATE_HOME", setup.dir.path());
    cmd
}

/// Runs to the end off the async runtime (the demo cluster serves on it meanwhile).
async fn output(mut cmd: Command) -> (i32, String, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_prints_every_pod_with_a_prefix_tail_and_one_pod_without() {
    let setup = setup(false).await;
    let faults = setup.demo.faults();
    faults.scale("hasura", "data", 2).unwrap();
    let pods = common::eventually("two data pods", Duration::from_secs(10), || async {
        let pods = faults.live_pods("hasura", "data").unwrap();
        (pods.len() == 2).then_some(pods)
    })
    .await;
    // The new pod writes its first lines once it runs.
    let stdout = common::eventually("both pods' lines", Duration::from_secs(10), || async {
        let (code, stdout, stderr) =
            output(command(&setup, &["logs", "data", "-n", "hasura"])).await;
        assert_eq!(code, 0, "{stderr}");
        pods.iter()
            .all(|pod| {
                stdout.contains(&format!("[{pod}] "))
                    && stdout.contains(&format!("starting data (pod {pod})"))
            })
            .then_some(stdout)
    })
    .await;
    assert!(stdout.lines().all(|l| l.starts_with("[data-")), "{stdout}");

    let (code, stdout, _) = output(command(
        &setup,
        &["logs", "data", "-n", "hasura", "--tail", "1"],
    ))
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        stdout.lines().count(),
        pods.len(),
        "one line a pod:\n{stdout}"
    );

    let (code, stdout, stderr) = output(command(
        &setup,
        &["logs", "data", "-n", "hasura", "-p", &pods[0]],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains('['), "no prefix with -p:\n{stdout}");
    assert!(
        stdout.contains(&format!("starting data (pod {})", pods[0])),
        "{stdout}"
    );

    let (code, _, stderr) = output(command(&setup, &["logs", "nope"])).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("not found") && stderr.contains("my-app"),
        "{stderr}"
    );
}

/// `data` has a mesh sidecar (istio-proxy) and the default-container annotation; filestore a
/// native sidecar init container (cloud-sql-proxy). kubectl reads the same pods beside us.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_pods_with_sidecars_choose_containers_as_kubectl() {
    let setup = setup(false).await;
    let data = setup.demo.faults().live_pods("hasura", "data").unwrap()[0].clone();
    let filestore = setup
        .demo
        .faults()
        .live_pods("hasura", "filestore")
        .unwrap()[0]
        .clone();
    let logs = |args: &[&str]| {
        let mut all = vec!["logs"];
        all.extend_from_slice(args);
        output(command(&setup, &all))
    };
    let kubectl = |args: &[&str]| {
        let mut cmd = Command::new(common::kubectl());
        cmd.arg("--kubeconfig").arg(&setup.kubeconfig).args(args);
        output(cmd)
    };

    // The default container: the annotation's (data), else the first (filestore).
    let (code, stdout, stderr) = logs(&["data", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("[{data}] ")), "{stdout}");
    assert!(stdout.contains("INFO starting data"), "{stdout}");
    assert!(
        !stdout.contains("istio-proxy"),
        "only the default container:\n{stdout}"
    );
    let (code, by_kubectl, stderr) = kubectl(&["logs", "-n", "hasura", &data]).await;
    assert_eq!(code, 0, "{stderr}");
    let ours: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(
        ours,
        by_kubectl.lines().collect::<Vec<_>>(),
        "the same lines as kubectl"
    );
    let (code, by_kubectl, stderr) = kubectl(&["logs", "-n", "hasura", &filestore]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "Defaulted container \"filestore\" out of: filestore, cloud-sql-proxy (init)"
        ),
        "{stderr}"
    );
    let (_, ours, _) = logs(&["filestore", "-n", "hasura", "-p", &filestore]).await;
    assert_eq!(ours, by_kubectl);

    // -c, as kubectl -c.
    let (code, stdout, stderr) =
        logs(&["data", "-n", "hasura", "--container", "istio-proxy"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("[{data}] ")) && stdout.contains("sidecar istio-proxy"),
        "{stdout}"
    );
    let (_, by_kubectl, _) = kubectl(&["logs", "-n", "hasura", &data, "-c", "istio-proxy"]).await;
    let ours: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(ours, by_kubectl.lines().collect::<Vec<_>>());
    let (code, _, stderr) = logs(&["data", "-n", "hasura", "--container", "nope"]).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "container nope is not valid for pod {data} out of: data, istio-proxy"
        )),
        "{stderr}"
    );

    // --all-containers: init containers first, each line `[pod/container]`.
    let (code, stdout, stderr) = logs(&["filestore", "-n", "hasura", "--all-containers"]).await;
    assert_eq!(code, 0, "{stderr}");
    let sources: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_once("] ").unwrap().0.trim_start_matches('['))
        .collect();
    let (sidecar, main) = (
        format!("{filestore}/cloud-sql-proxy"),
        format!("{filestore}/filestore"),
    );
    assert_eq!(sources.first(), Some(&sidecar.as_str()), "{stdout}");
    assert_eq!(sources.last(), Some(&main.as_str()), "{stdout}");
    let (code, _, stderr) = logs(&["data", "--container", "data", "--all-containers"]).await;
    assert_eq!(code, 2, "-c and --all-containers conflict: {stderr}");

    // The API itself, asked for no container of a pod with two: the real 400.
    let client = common::client_for(&setup.demo).await;
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, "hasura");
    match pods.logs(&data, &Default::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 400);
            assert_eq!(
                status.message,
                format!(
                    "a container name must be specified for pod {data}, choose one of: [data istio-proxy]"
                )
            );
        }
        other => panic!("expected 400, got {other:?}"),
    }
    // With one app container and a native sidecar, the app container is the only choice.
    assert!(
        pods.logs(&filestore, &Default::default())
            .await
            .unwrap()
            .contains("INFO starting filestore")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_shows_new_lines_and_a_killed_pods_replacement() {
    let setup = setup(true).await;
    let before = setup.demo.faults().live_pods("default", "my-app").unwrap();
    let mut child = command(&setup, &["logs", "my-app", "-f", "--tail", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let wait_line = |what: &str, check: &dyn Fn(&str) -> bool| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if check(&line) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line with {what} within 20s"),
            }
        }
    };
    // --tail 1 shows one old line a pod; "handled request" lines keep coming while following.
    let first = wait_line("a churn line", &|l| l.contains("handled request #"));
    let n = |line: &str| -> u64 { line.rsplit('#').next().unwrap().trim().parse().unwrap() };
    let seen = n(&first);
    wait_line("a newer churn line", &|l| {
        l.contains("handled request #") && n(l) > seen
    });

    let killed = setup
        .demo
        .faults()
        .kill_one_pod("default", "my-app")
        .unwrap();
    assert!(before.contains(&killed));
    let line = wait_line("the replacement pod's start", &|l| {
        l.contains("INFO starting my-app (pod ") && !before.iter().any(|p| l.contains(p.as_str()))
    });
    let new_pod = line
        .split(']')
        .next()
        .unwrap()
        .trim_start_matches('[')
        .to_string();
    assert!(line.starts_with(&format!("[{new_pod}] ")), "{line}");
    wait_line("the replacement's churn", &|l| {
        l.starts_with(&format!("[{new_pod}] ")) && l.contains("handled request #")
    });
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_calls_the_browser_with_the_external_url() {
    let setup = setup(false).await;
    let (script, opened) = common::browser_double(setup.dir.path());
    let mut cmd = command(
        &setup,
        &["open", "data", "-n", "hasura", "-p", "/v1/version"],
    );
    cmd.env("HASURA_TUI_BROWSER", &script);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("http://data.gram29.hasura-app.io/v1/version"),
        "{stdout}"
    );
    common::eventually(
        "the browser double to run",
        Duration::from_secs(10),
        || async {
            let text = std::fs::read_to_string(&opened).ok()?;
            (text == "http://data.gram29.hasura-app.io/v1/version\n").then_some(())
        },
    )
    .await;

    let mut cmd = command(&setup, &["open", "postgres", "-n", "hasura"]);
    cmd.env("HASURA_TUI_BROWSER", &script);
    let (code, _, stderr) = output(cmd).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no external URL")
            && stderr.contains("routes.yaml")
            && stderr.contains("Ingress")
            && stderr.contains("hasura.io/external-url"),
        "{stderr}"
    );
    let (code, _, stderr) = output(command(&setup, &["open", "nope", "-n", "hasura"])).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("it has: auth, data"), "{stderr}");
}
