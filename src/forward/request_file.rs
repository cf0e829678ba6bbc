//! `port-forward --log-requests FILE`: one JSON object per line for every request a gateway-mode
//! forward passes, written as each one ends, so scripts and CI keep the record the dashboard's
//! request log shows. Bodies (the first 64 KiB of each, as kept for the inspector) only with
//! `--log-bodies`.

use std::fs::File;
use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{Value, json};

use super::exchange::BodyPreview;
use super::request_log::{RequestEntry, RequestSink};

/// Opens `path` for appending (a record is never overwritten) and returns the sink that writes
/// to it. A new file is created 0600: with bodies it holds credentials (Authorization, cookies).
/// A write that fails is said once on stderr; the forward goes on.
pub fn sink(path: &Path, bodies: bool) -> std::io::Result<RequestSink> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    let out = Mutex::new((LineWriter::new(file), false));
    let shown = path.display().to_string();
    Ok(Arc::new(move |entry: &RequestEntry| {
        let line = line(entry, bodies).to_string();
        let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
        let (writer, failed): &mut (LineWriter<File>, bool) = &mut out;
        if let Err(e) = writeln!(writer, "{line}")
            && !*failed
        {
            *failed = true;
            eprintln!("warning: cannot write the request log {shown}: {e}");
        }
    }))
}

/// One request as a JSON object.
pub fn line(entry: &RequestEntry, bodies: bool) -> Value {
    let time = entry
        .at
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| k8s_openapi::jiff::Timestamp::from_nanosecond(d.as_nanos() as i128).ok())
        .map(|t| t.to_string());
    let mut line = json!({
        "time": time,
        "seq": entry.seq,
        "method": entry.method,
        "path": entry.exchange.as_ref().map_or(&entry.path, |e| &e.target),
        "status": entry.status,
        "complete": entry.complete,
        "duration_ms": (entry.duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        "request_bytes": entry.request_bytes(),
        "response_bytes": entry.bytes,
        "role": entry.role,
        "user_id": entry.user_id,
    });
    if let Some(note) = &entry.note {
        line["note"] = json!(note);
    }
    if let Some(of) = entry.replay_of {
        line["replay_of"] = json!(of);
    }
    if bodies && let Some(exchange) = &entry.exchange {
        let mut request = half(&exchange.request_headers, &exchange.request_body);
        request["added_headers"] = json!(exchange.injected);
        line["request"] = request;
        line["response"] = half(&exchange.response_headers, &exchange.response_body);
    }
    line
}

/// Headers and body of one side: the body as text when it is UTF-8, else base64.
fn half(headers: &[(String, String)], body: &BodyPreview) -> Value {
    let (text, encoding) = match std::str::from_utf8(&body.head) {
        Ok(text) => (text.to_string(), "utf-8"),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&body.head),
            "base64",
        ),
    };
    let headers: Vec<[&str; 2]> = headers
        .iter()
        .map(|(n, v)| [n.as_str(), v.as_str()])
        .collect();
    json!({
        "headers": headers,
        "body": text,
        "body_encoding": encoding,
        "body_bytes": body.total,
        "body_cut": !body.is_whole(),
    })
}
