use tokio::sync::mpsc;

use super::*;

fn pod() -> PodView {
    PodView {
        name: "data-5d9c7b-x2k4q".into(),
        namespace: "hasura".into(),
        ip: "10.0.0.7".into(),
        env: vec![("LOG_LEVEL".into(), "info".into())],
    }
}

/// Runs `argv` with `inputs` sent first; returns stdout, stderr and the outcome.
async fn exec(argv: &[&str], tty: bool, inputs: Vec<Input>) -> (String, String, Outcome) {
    let (in_tx, in_rx) = mpsc::channel(64);
    let (out_tx, mut out_rx) = mpsc::channel(64);
    for input in inputs {
        in_tx.send(input).await.unwrap();
    }
    let argv = argv.iter().map(|s| s.to_string()).collect();
    let process = tokio::spawn(run(pod(), argv, tty, in_rx, out_tx));
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    while let Some(output) = out_rx.recv().await {
        match output {
            Output::Stdout(b) => stdout.extend(b),
            Output::Stderr(b) => stderr.extend(b),
        }
    }
    drop(in_tx);
    let outcome = process.await.unwrap();
    (
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
        outcome,
    )
}

fn typed(text: &str) -> Input {
    Input::Stdin(text.as_bytes().to_vec())
}

#[tokio::test]
async fn programs_answer_from_the_pod() {
    let (out, _, outcome) = exec(&["hostname"], false, vec![]).await;
    assert_eq!(
        (out.as_str(), outcome),
        ("data-5d9c7b-x2k4q\n", Outcome::Exited(0))
    );
    let (out, _, _) = exec(
        &["sh", "-c", "echo $HOSTNAME; printenv LOG_LEVEL"],
        false,
        vec![],
    )
    .await;
    assert_eq!(out, "data-5d9c7b-x2k4q\ninfo\n");
    let (out, _, _) = exec(&["cat", "/etc/hostname", "/etc/resolv.conf"], false, vec![]).await;
    assert!(
        out.starts_with("data-5d9c7b-x2k4q\nsearch hasura.svc.cluster.local"),
        "{out}"
    );
    let (out, _, _) = exec(&["/bin/ls", "/etc"], false, vec![]).await;
    assert_eq!(out, "hostname\nhosts\nos-release\nresolv.conf\n");
}

#[tokio::test]
async fn exit_codes_are_the_scripts_own() {
    let (_, _, outcome) = exec(&["sh", "-c", "exit 3"], false, vec![]).await;
    assert_eq!(outcome, Outcome::Exited(3));
    let (out, err, outcome) =
        exec(&["sh", "-c", "nope && echo no || echo yes"], false, vec![]).await;
    assert_eq!(
        (out.as_str(), err.as_str()),
        ("yes\n", "sh: nope: not found\n")
    );
    assert_eq!(outcome, Outcome::Exited(0));
    let (_, _, outcome) = exec(&["sh", "-c", "nope"], false, vec![]).await;
    assert_eq!(outcome, Outcome::Exited(127));
}

#[tokio::test]
async fn bash_is_missing_and_fails_to_start_as_containerd_says() {
    let (_, _, outcome) = exec(&["/bin/bash"], true, vec![]).await;
    assert_eq!(
        outcome,
        Outcome::StartFailed(
            "exec: \"/bin/bash\": stat /bin/bash: no such file or directory: unknown".into()
        )
    );
    let (_, _, outcome) = exec(&["bash"], false, vec![]).await;
    assert!(matches!(outcome, Outcome::StartFailed(why) if why.contains("not found in $PATH")));
}

#[tokio::test]
async fn stdin_is_read_to_its_end() {
    let inputs = vec![typed("hello\nworld\n"), Input::StdinClosed];
    let (out, _, outcome) = exec(&["cat"], false, inputs).await;
    assert_eq!(
        (out.as_str(), outcome),
        ("hello\nworld\n", Outcome::Exited(0))
    );
    let inputs = vec![typed("echo piped\nexit 4\n")];
    let (out, _, outcome) = exec(&["sh"], false, inputs).await;
    assert_eq!((out.as_str(), outcome), ("piped\n", Outcome::Exited(4)));
}

#[tokio::test]
async fn a_tty_echoes_edits_and_knows_its_size() {
    let inputs = vec![
        Input::Resize {
            width: 120,
            height: 40,
        },
        typed("stty size\r"),
        typed("echo ab\x7fc\r"),
        typed("ls\r"),
        typed("exit 0\r"),
    ];
    let (out, err, outcome) = exec(&["/bin/sh"], true, inputs).await;
    assert_eq!(err, "", "stderr joins stdout on a TTY");
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(
        out.starts_with("/ # stty size\r\n40 120\r\n/ # "),
        "{out:?}"
    );
    assert!(out.contains("echo ab\x08 \x08c\r\nac\r\n"), "{out:?}");
    assert!(out.contains("bin  dev  etc"), "{out:?}");
}

#[tokio::test]
async fn ctrl_c_stops_a_sleep_and_ctrl_d_ends_the_shell() {
    let inputs = vec![
        typed("sleep 30\r"),
        typed("\x03"),
        typed("echo $?\r"),
        typed("\x04"),
    ];
    let (out, _, outcome) = exec(&["sh"], true, inputs).await;
    assert!(out.contains("^C\r\n/ # echo $?\r\n130\r\n"), "{out:?}");
    assert_eq!(outcome, Outcome::Exited(0));
}

#[tokio::test]
async fn the_shell_ends_when_the_client_goes() {
    let (in_tx, in_rx) = mpsc::channel(4);
    let (out_tx, _out_rx) = mpsc::channel(64);
    let process = tokio::spawn(run(pod(), vec!["sh".into()], true, in_rx, out_tx));
    drop(in_tx);
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(5), process)
        .await
        .expect("the shell ends")
        .unwrap();
    assert_eq!(outcome, Outcome::Exited(0));
}
