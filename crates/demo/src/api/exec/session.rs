//! One exec session over a WebSocket once upgraded: the process's output framed by channel,
//! the client's stdin, resizes and v5 close passed to it, and the status the kubelet ends with.

use std::collections::HashMap;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::super::super::pod_shell::{self, Input, Outcome, Output, PodView};
use super::Options;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const RESIZE: u8 = 4;
/// v5: the sender closed the channel in the next byte.
const CLOSE: u8 = 255;

/// One exec session over a WebSocket, until the process ends or the client leaves.
pub async fn serve<S>(ws: WebSocketStream<S>, v5: bool, options: Options, pod: PodView)
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
