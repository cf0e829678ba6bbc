//! `pods/{name}/exec`, as a Kubernetes 1.33 API server and kubelet serve it, running the demo
//! pod's own interpreter (`pod_shell`), never a host process.
//!
//! - Before any upgrade, the request is checked as the apiserver and kubelet check it: the pod
//!   (404), the container (`validateContainer`, 400, as for logs), a command, at least one
//!   stream (cri-streaming `remotecommand/httpstream.go` `NewOptions`, which also drops stderr
//!   with a TTY), and a running container, else 500 `container not found ("c")` in plain text
//!   (kubelet `GetExec`, written by `streaming.WriteError`).
//! - WebSocket: `v5.channel.k8s.io` when offered (the apiserver's stream translator,
//!   `apiserver/pkg/util/proxy/websocket.go`), else `v4.channel.k8s.io` (the kubelet's,
//!   cri-streaming `remotecommand/websocket.go`). Binary frames whose first byte is the channel:
//!   0 stdin, 1 stdout, 2 stderr, 3 the status, 4 resize (`{"Width":…,"Height":…}` lines), and
//!   in v5 `[255, 0]`, the client closing stdin. The first frame is an empty one on stdout
//!   (else stderr, else the status channel) to say the streams are ready; the last is the
//!   status, then a normal close.
//! - SPDY (`POST` with `Upgrade: SPDY/3.1`, what kubectl 1.27-1.29 speak and 1.30+ fall back
//!   to) is not served: a 400 Status says so, which kubectl prints as `Error from server
//!   (BadRequest): …`.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use super::super::kinds::Kind;
use super::super::pod_shell::{self, Input, Outcome, Output, PodView};
use super::logs::choose_container;
use super::{ApiError, ApiState, Verb};

const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const RESIZE: u8 = 4;
/// v5: the sender closed the channel in the next byte.
const CLOSE: u8 = 255;

/// `PodExecOptions` from the query, as the kubelet reads them.
#[derive(Debug, Default)]
struct Options {
    command: Vec<String>,
    container: Option<String>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
}

impl Options {
    fn parse(query: &str) -> Options {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default();
        let mut options = Options::default();
        let flag = |v: &str| v == "true" || v == "1";
        for (key, value) in pairs {
            match key.as_str() {
                "command" => options.command.push(value),
                "container" => options.container = Some(value),
                "stdin" => options.stdin = flag(&value),
                "stdout" => options.stdout = flag(&value),
                "stderr" => options.stderr = flag(&value),
                "tty" => options.tty = flag(&value),
                _ => {}
            }
        }
        // "Access to exec with tty and stderr is not supported, bypassing stderr".
        if options.tty {
            options.stderr = false;
        }
        options
    }
}

pub async fn handle(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    mut request: Request,
) -> Response {
    state.faults.count(Verb::Other);
    let Some(pod) = state.store.get(Kind::Pod, &namespace, &name) else {
        return ApiError::not_found("pods", &name).into_response();
    };
    let options = Options::parse(query.as_deref().unwrap_or_default());
    let container = match choose_container(&pod, options.container.as_deref()) {
        Ok(container) => container,
        Err(e) => return e.into_response(),
    };
    if options.command.is_empty() {
        // kubectl checks this itself (`exec.go` Validate) with these words.
        return ApiError::bad_request("you must specify at least one command for the container")
            .into_response();
    }
    if !(options.stdin || options.stdout || options.stderr) {
        return ApiError::bad_request("you must specify at least 1 of stdin, stdout, stderr")
            .into_response();
    }
    if !container_running(&pod, &container) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("container not found (\"{container}\")"),
        )
            .into_response();
    }
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return ApiError::bad_request("Upgrade request required").into_response();
    };
    let headers = request.headers();
    let upgrade = text(headers.get(header::UPGRADE)).to_ascii_lowercase();
    if !upgrade.contains("websocket") {
        return ApiError::bad_request(
            "the demo cluster serves exec over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io), \
             as kubectl 1.30 and newer speak it; SPDY is not served",
        )
        .into_response();
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return ApiError::bad_request("missing Sec-WebSocket-Key").into_response();
    };
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or_default().split(','))
        .map(|p| p.trim().to_string())
        .collect();
    let Some(protocol) = [V5, V4]
        .into_iter()
        .find(|p| offered.iter().any(|o| o == p))
    else {
        return ApiError::bad_request(format!(
            "unable to upgrade: none of the offered subprotocols {offered:?} is supported (v5.channel.k8s.io, v4.channel.k8s.io)"
        ))
        .into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    let view = pod_view(&pod, &container);
    let run = state.faults.current_run();
    tokio::spawn(async move {
        let io = match on_upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(e) => {
                tracing::debug!("exec upgrade failed: {e}");
                return;
            }
        };
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        tokio::select! {
            _ = run.cancelled() => {}
            _ = serve(ws, protocol == V5, options, view) => {}
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let answer = response.headers_mut();
    answer.insert(
        header::UPGRADE,
        header::HeaderValue::from_static("websocket"),
    );
    answer.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(accept) = header::HeaderValue::from_str(&accept) {
        answer.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    answer.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        header::HeaderValue::from_static(protocol),
    );
    response
}

fn text(value: Option<&header::HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Whether `container` of the pod has a running process to join (the kubelet finds only
/// running containers).
fn container_running(pod: &Value, container: &str) -> bool {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|field| pod["status"][field].as_array().into_iter().flatten())
        .any(|s| s["name"] == container && s["state"]["running"].is_object())
}

fn pod_view(pod: &Value, container: &str) -> PodView {
    let spec = ["containers", "initContainers"]
        .iter()
        .flat_map(|field| pod["spec"][field].as_array().into_iter().flatten())
        .find(|c| c["name"] == container);
    let env = spec
        .and_then(|c| c["env"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    PodView {
        name: pod["metadata"]["name"].as_str().unwrap_or_default().into(),
        namespace: pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .into(),
        ip: pod["status"]["podIP"].as_str().unwrap_or_default().into(),
        env,
    }
}

/// One exec session over a WebSocket, until the process ends or the client leaves.
async fn serve<S>(ws: WebSocketStream<S>, v5: bool, options: Options, pod: PodView)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let ready = if options.stdout {
        STDOUT
    } else if options.stderr {
        STDERR
    } else {
        STATUS
    };
    if sink
        .send(Message::Binary(vec![ready].into()))
        .await
        .is_err()
    {
        return;
    }
    let (input, process_input) = mpsc::channel(64);
    let (process_output, mut output) = mpsc::channel(64);
    if !options.stdin {
        // No stdin asked for: the process reads /dev/null.
        let _ = input.send(Input::StdinClosed).await;
    }
    let argv = options.command.clone();
    let process = tokio::spawn(pod_shell::run(
        pod,
        argv.clone(),
        options.tty,
        process_input,
        process_output,
    ));
    let mut resize_line = Vec::new();
    loop {
        tokio::select! {
            out = output.recv() => {
                let frame = match out {
                    Some(Output::Stdout(bytes)) if options.stdout => channel(STDOUT, &bytes),
                    Some(Output::Stderr(bytes)) if options.stderr => channel(STDERR, &bytes),
                    Some(_) => continue,
                    // The process ended: every output sent.
                    None => break,
                };
                if sink.send(Message::Binary(frame.into())).await.is_err() {
                    process.abort();
                    return;
                }
            }
            message = stream.next() => match message {
                Some(Ok(Message::Binary(bytes))) if !bytes.is_empty() => {
                    let sent = match bytes[0] {
                        STDIN if options.stdin => input.send(Input::Stdin(bytes[1..].to_vec())).await,
                        RESIZE => {
                            resize_line.extend_from_slice(&bytes[1..]);
                            let mut sent = Ok(());
                            for size in take_sizes(&mut resize_line) {
                                sent = input.send(size).await;
                            }
                            sent
                        }
                        CLOSE if v5 && bytes.get(1) == Some(&STDIN) => input.send(Input::StdinClosed).await,
                        _ => Ok(()),
                    };
                    if sent.is_err() {
                        // The process ended and took its input with it; the output branch
                        // finishes the session.
                        continue;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    // The client left: so does the process (a TTY hangs up).
                    process.abort();
                    return;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    let outcome = process.await.unwrap_or(Outcome::Exited(137));
    let status = status(&argv, outcome);
    let _ = sink
        .send(Message::Binary(
            channel(STATUS, status.to_string().as_bytes()).into(),
        ))
        .await;
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })))
        .await;
    // Wait briefly for the client's close so the frames are not cut off by a reset.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while let Some(Ok(message)) = stream.next().await {
            if message.is_close() {
                break;
            }
        }
    })
    .await;
}

fn channel(id: u8, bytes: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(bytes.len() + 1);
    frame.push(id);
    frame.extend_from_slice(bytes);
    frame
}

/// The complete `{"Width":…,"Height":…}` lines in `buffer`, as client-go's resize queue sends
/// them (one JSON object per line, Go field names).
fn take_sizes(buffer: &mut Vec<u8>) -> Vec<Input> {
    let mut sizes = Vec::new();
    while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = buffer.drain(..=end).collect();
        sizes.extend(parse_size(&line));
    }
    // kube-rs sends each size as one message without a newline.
    if let Some(size) = parse_size(buffer) {
        buffer.clear();
        sizes.push(size);
    }
    sizes
}

fn parse_size(json: &[u8]) -> Option<Input> {
    let size = serde_json::from_slice::<HashMap<String, u16>>(json).ok()?;
    let field = |name: &str| {
        size.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    Some(Input::Resize {
        width: field("width")?,
        height: field("height")?,
    })
}

/// The status the kubelet writes when the process ends (cri-streaming
/// `remotecommand/exec.go` `ServeExec`, as the 1.33 apiserver relays it with `metadata`).
fn status(argv: &[String], outcome: Outcome) -> Value {
    match outcome {
        Outcome::Exited(0) => json!({"metadata": {}, "status": "Success"}),
        Outcome::Exited(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
                argv.join(" ")
            ),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        Outcome::StartFailed(why) => {
            let id: String = (0..4)
                .map(|_| format!("{:016x}", rand::random::<u64>()))
                .collect();
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!(
                    "Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"{id}\": OCI runtime exec failed: exec failed: unable to start container process: {why}"
                ),
                "reason": "InternalError",
                "code": 500,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_from_lines_and_from_whole_messages() {
        let mut buffer = b"{\"Width\":80,\"Height\":24}\n{\"Width\":100,".to_vec();
        let sizes = take_sizes(&mut buffer);
        assert!(matches!(
            sizes[..],
            [Input::Resize {
                width: 80,
                height: 24
            }]
        ));
        assert_eq!(buffer, b"{\"Width\":100,");
        let mut buffer = b"{\"Width\":120,\"Height\":40}".to_vec();
        assert!(matches!(
            take_sizes(&mut buffer)[..],
            [Input::Resize {
                width: 120,
                height: 40
            }]
        ));
        assert!(buffer.is_empty());
    }

    #[test]
    fn a_nonzero_exit_is_worded_as_the_kubelet_words_it() {
        let argv = vec!["sh".to_string(), "-c".into(), "exit 3".into()];
        let status = status(&argv, Outcome::Exited(3));
        assert_eq!(
            status["message"],
            "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3"
        );
        assert_eq!(status["details"]["causes"][0]["message"], "3");
    }
}
