//! The request inspector's and the compare view's text: headers (the ones the forward added
//! marked), bodies shown for what they are (JSON pretty-printed, text as text, binary as a hex
//! preview, a cut body said so), and a line diff of two responses.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use similar::{ChangeTag, TextDiff};

use super::theme;
use crate::forward::exchange::{BODY_PREVIEW, BodyPreview, Exchange};
use crate::forward::{RequestEntry, human_bytes};

/// How many bytes of a binary body the hex preview shows.
const HEX_PREVIEW: usize = 512;
/// Lines of context around each change in the compare view.
const DIFF_CONTEXT: usize = 3;

/// A body as lines of text.
pub fn body_lines(body: &BodyPreview, content_type: Option<&str>, dropped: bool) -> Vec<String> {
    if body.total == 0 {
        return vec!["(empty)".to_string()];
    }
    if dropped {
        return vec![format!(
            "({} not kept: the oldest bodies go first to keep the log within its bound)",
            human_bytes(body.total)
        )];
    }
    let mut lines = match text_of(&body.head) {
        Some(text) => {
            let json = content_type.is_some_and(|t| t.contains("json"))
                || text.trim_start().starts_with(['{', '[']);
            match pretty_json(text).filter(|_| json) {
                Some(pretty) => pretty.lines().map(str::to_string).collect(),
                None => text.lines().map(str::to_string).collect(),
            }
        }
        None => hex_lines(&body.head),
    };
    if !body.is_whole() {
        lines.push(format!(
            "… {} in all; the first {} KiB kept",
            human_bytes(body.total),
            BODY_PREVIEW / 1024
        ));
    }
    lines
}

/// JSON indented, its keys in the order they came (a `Value` would sort them); `None` when it
/// is not JSON (or was cut).
fn pretty_json(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut from = serde_json::Deserializer::from_str(text);
    let mut to = serde_json::Serializer::pretty(&mut out);
    serde_transcode::transcode(&mut from, &mut to).ok()?;
    from.end().ok()?;
    String::from_utf8(out).ok()
}

/// The body as text, when it is text (a character cut at the 64 KiB edge is left out).
fn text_of(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let control = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    (!text.chars().any(control)).then_some(text)
}

/// `00000010  7b 22 61 22 …  {"a"…`, 16 bytes a line.
fn hex_lines(head: &[u8]) -> Vec<String> {
    let shown = &head[..head.len().min(HEX_PREVIEW)];
    let mut lines: Vec<String> = shown
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {:<47}  {ascii}", i * 16, hex.join(" "))
        })
        .collect();
    if head.len() > shown.len() {
        lines.push(format!("… binary; the first {HEX_PREVIEW} bytes shown"));
    }
    lines
}

/// `user 42`, `admin`, `-`: who a request went out as.
pub fn identity(entry: &RequestEntry) -> String {
    match (&entry.role, &entry.user_id) {
        (Some(role), Some(user)) => format!("{role} {user}"),
        (Some(role), None) => role.clone(),
        _ => "-".to_string(),
    }
}

/// `200`, `200 cut`, `502 (no answer)`
pub fn status(entry: &RequestEntry) -> String {
    match entry.status {
        Some(code) if entry.complete => code.to_string(),
        Some(code) => format!("{code} cut"),
        None => "502 (no answer)".to_string(),
    }
}

/// Everything kept of one request, for the inspector.
pub fn inspect_lines(entry: &RequestEntry, color: bool) -> Vec<Line<'static>> {
    let heading = |text: &str| Line::from(Span::styled(text.to_string(), theme::header_row()));
    let mut lines = vec![Line::from(format!(
        "#{}  {} {}  {}  {:.1} ms  as {}",
        entry.seq,
        entry.method,
        entry.exchange.as_ref().map_or(&entry.path, |e| &e.target),
        status(entry),
        entry.duration.as_secs_f64() * 1000.0,
        identity(entry),
    ))];
    if let Some(of) = entry.replay_of {
        lines.push(Line::from(format!("a replay of #{of}: = compares the two")));
    }
    if let Some(note) = &entry.note {
        lines.push(Line::from(Span::styled(
            note.clone(),
            theme::warning(color),
        )));
    }
    let Some(exchange) = &entry.exchange else {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "headers and bodies are kept only while gateway mode is on",
            theme::dim(color),
        )));
        return lines;
    };
    lines.push(Line::from(format!(
        "request {}, response {}",
        human_bytes(exchange.request_body.total),
        human_bytes(entry.bytes)
    )));
    lines.push(Line::from(""));
    lines.push(heading(
        "request headers (as the pod got them; + added by the forward)",
    ));
    for (name, value) in &exchange.request_headers {
        let added = exchange
            .injected
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name));
        let style = if added {
            theme::warning(color)
        } else {
            Style::default()
        };
        let mark = if added { "+ " } else { "  " };
        lines.push(Line::from(Span::styled(
            format!("{mark}{name}: {value}"),
            style,
        )));
    }
    lines.push(Line::from(""));
    lines.push(heading("request body"));
    lines.extend(body(exchange, true).into_iter().map(Line::from));
    lines.push(Line::from(""));
    lines.push(heading("response headers"));
    for (name, value) in &exchange.response_headers {
        lines.push(Line::from(format!("  {name}: {value}")));
    }
    lines.push(Line::from(""));
    lines.push(heading("response body"));
    lines.extend(body(exchange, false).into_iter().map(Line::from));
    lines
}

fn body(exchange: &Exchange, request: bool) -> Vec<String> {
    let (preview, content_type) = if request {
        (
            &exchange.request_body,
            exchange.request_header("content-type"),
        )
    } else {
        (
            &exchange.response_body,
            exchange.response_header("content-type"),
        )
    };
    body_lines(preview, content_type, exchange.bodies_dropped)
        .into_iter()
        .map(|l| format!("  {l}"))
        .collect()
}

/// Two requests' outcomes side by side, and a line diff of their response bodies.
pub fn compare_lines(a: &RequestEntry, b: &RequestEntry, color: bool) -> Vec<Line<'static>> {
    let row = |label: &str, left: String, right: String| {
        Line::from(format!("{label:<10}{left:<28}{right}"))
    };
    let response = |e: &RequestEntry| {
        e.exchange.as_ref().map_or_else(Vec::new, |x| {
            body_lines(
                &x.response_body,
                x.response_header("content-type"),
                x.bodies_dropped,
            )
        })
    };
    let mut lines = vec![
        row("", format!("#{}", a.seq), format!("#{}", b.seq)).style(theme::header_row()),
        row("as", identity(a), identity(b)),
        row("status", status(a), status(b)),
        row("size", human_bytes(a.bytes), human_bytes(b.bytes)),
        row(
            "time",
            format!("{:.1} ms", a.duration.as_secs_f64() * 1000.0),
            format!("{:.1} ms", b.duration.as_secs_f64() * 1000.0),
        ),
        Line::from(""),
    ];
    let (left, right) = (response(a).join("\n"), response(b).join("\n"));
    if left == right {
        lines.push(Line::from("the response bodies are the same"));
        return lines;
    }
    lines.push(Line::from(Span::styled(
        format!("response body: - #{}  + #{}", a.seq, b.seq),
        theme::header_row(),
    )));
    let diff = TextDiff::from_lines(&left, &right);
    for (i, group) in diff.grouped_ops(DIFF_CONTEXT).iter().enumerate() {
        if i > 0 {
            lines.push(Line::from(Span::styled("  …", theme::dim(color))));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let (mark, style) = match change.tag() {
                    ChangeTag::Delete => ("- ", theme::error(color)),
                    ChangeTag::Insert => ("+ ", theme::severity(crate::model::Severity::Ok, color)),
                    ChangeTag::Equal => ("  ", Style::default()),
                };
                let text = change.value().trim_end_matches('\n');
                lines.push(Line::from(Span::styled(format!("{mark}{text}"), style)));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;

    use super::*;

    fn preview(bytes: &'static [u8], total: u64) -> BodyPreview {
        BodyPreview {
            head: Bytes::from_static(bytes),
            total,
        }
    }

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn bodies_are_shown_for_what_they_are() {
        assert_eq!(
            body_lines(
                &preview(br#"{"b":[1],"a":2}"#, 15),
                Some("application/json"),
                false
            ),
            vec!["{", "  \"b\": [", "    1", "  ],", "  \"a\": 2", "}"]
        );
        assert_eq!(
            body_lines(&preview(b"hello\nworld", 11), Some("text/plain"), false),
            vec!["hello", "world"]
        );
        let binary = body_lines(&preview(b"\x00\x01AB", 4), None, false);
        assert_eq!(
            binary,
            vec![format!("00000000  {:<47}  ..AB", "00 01 41 42")]
        );
        let cut = body_lines(&preview(b"abc", 1 << 20), None, false);
        assert_eq!(cut.last().unwrap(), "… 1.0M in all; the first 64 KiB kept");
        // A character cut in two at the edge is not binary.
        let cut_char = body_lines(
            &preview("aé".as_bytes()[..2].as_ref(), 1 << 20),
            None,
            false,
        );
        assert_eq!(cut_char[0], "a");
        assert_eq!(body_lines(&preview(b"", 0), None, false), vec!["(empty)"]);
        assert!(body_lines(&preview(b"", 10), None, true)[0].contains("not kept"));
    }

    fn answered(seq: u64, role: &str, user: &str, body: &'static [u8]) -> RequestEntry {
        RequestEntry {
            seq,
            method: "POST".into(),
            path: "/v1/query".into(),
            status: Some(200),
            duration: Duration::from_millis(2),
            bytes: body.len() as u64,
            role: Some(role.into()),
            complete: true,
            note: None,
            at: SystemTime::UNIX_EPOCH,
            user_id: Some(user.into()),
            replay_of: None,
            exchange: Some(Arc::new(Exchange {
                target: "/v1/query".into(),
                request_headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-hasura-role".into(), role.into()),
                ],
                injected: vec!["x-hasura-role".into()],
                request_body: preview(br#"{"q":1}"#, 7),
                response_headers: vec![("content-type".into(), "application/json".into())],
                response_body: preview(body, body.len() as u64),
                bodies_dropped: false,
            })),
        }
    }

    #[test]
    fn the_inspector_marks_the_added_headers_and_pretty_prints() {
        let shown = text(&inspect_lines(
            &answered(1, "admin", "0", br#"{"rows":12}"#),
            false,
        ));
        assert!(shown.contains("+ x-hasura-role: admin"), "{shown}");
        assert!(
            shown.contains("  content-type: application/json"),
            "{shown}"
        );
        assert!(shown.contains("  {\n    \"q\": 1\n  }"), "{shown}");
        assert!(shown.contains("\"rows\": 12"), "{shown}");
    }

    #[test]
    fn comparing_shows_both_outcomes_and_the_changed_lines() {
        let admin = answered(1, "admin", "0", br#"{"role":"admin","rows":12}"#);
        let user = answered(2, "user", "42", br#"{"role":"user","rows":0}"#);
        let shown = text(&compare_lines(&admin, &user, false));
        assert!(
            shown.contains("as        admin 0                     user 42"),
            "{shown}"
        );
        assert!(shown.contains("-   \"role\": \"admin\","), "{shown}");
        assert!(shown.contains("+   \"role\": \"user\","), "{shown}");
        assert!(shown.contains("-   \"rows\": 12"), "{shown}");
        assert!(shown.contains("+   \"rows\": 0"), "{shown}");
        let same = text(&compare_lines(&admin, &admin, false));
        assert!(same.contains("the response bodies are the same"));
    }
}
