//! Text to paste elsewhere (`y` in the request log, the `Y` menu): a logged request as a `curl`
//! command through the forward's local port, a forward's local URL, a `psql` connection string,
//! and an `.env` block of every forward. Pure text; the clipboard is `clipboard`'s job.

use std::net::SocketAddr;

use crate::forward::RequestEntry;
use crate::forward::exchange::CONNECTION_HEADERS;
use crate::forward::gateway::GatewayIdentity;

/// Headers curl adds unless told not to.
const CURL_DEFAULTS: [&str; 2] = ["accept", "user-agent"];

/// Quotes for a POSIX shell and zsh: `'it'\''s'`. Plain words stay as they are; a word that
/// starts with `=` is not plain (zsh's EQUALS option expands `=ls` to ls's path).
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with('=')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,%+".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `curl -sS -X POST 'http://127.0.0.1:8080/v1/query' -H 'x-hasura-role: user' … --data-binary
/// '{…}'`: the request as the pod got it (identity headers written out), sent to the forward's
/// local port. Refused when the body was not kept whole or is not text.
pub fn curl(entry: &RequestEntry, local: SocketAddr) -> Result<String, String> {
    let seq = entry.seq;
    let Some(exchange) = &entry.exchange else {
        return Err(format!(
            "#{seq} was not kept: requests are kept only while gateway mode is on"
        ));
    };
    let body = &exchange.request_body;
    if !body.is_whole() || (exchange.bodies_dropped && body.total > 0) {
        return Err(format!(
            "#{seq}'s body ({}) was not kept whole: no command can send it again",
            crate::forward::human_bytes(body.total)
        ));
    }
    // Control characters (Ctrl-C, ESC, a bracketed paste's end) would act when the command is
    // pasted into a terminal, quotes or not: only newlines and tabs pass.
    let text = std::str::from_utf8(&body.head)
        .ok()
        .filter(|t| !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'))
        .ok_or_else(|| {
            format!(
                "#{seq}'s body is binary or has control characters: not copyable as a command line"
            )
        })?;
    // -g: the target is sent as it is (no curl globbing of `[]` and `{}` in a query).
    let mut words = vec!["curl".to_string(), "-sS".to_string(), "-g".to_string()];
    let method = entry.method.as_str();
    // curl's own choice: GET without a body, POST with one.
    let implied = (method == "GET" && text.is_empty()) || (method == "POST" && !text.is_empty());
    if !implied {
        words.extend(["-X".to_string(), shell_quote(method)]);
    }
    words.push(shell_quote(&format!("http://{local}{}", exchange.target)));
    for (name, value) in &exchange.request_headers {
        // curl sets these itself (the body's length included).
        if CONNECTION_HEADERS.contains(&name.as_str()) {
            continue;
        }
        words.extend(["-H".to_string(), shell_quote(&format!("{name}: {value}"))]);
    }
    // curl sends these of its own; `-H 'Name:'` leaves one out, so the pod sees what it saw.
    for name in CURL_DEFAULTS {
        if exchange.request_header(name).is_none() {
            words.extend(["-H".to_string(), format!("'{name}:'")]);
        }
    }
    if !text.is_empty() {
        // With a body curl adds a form content-type of its own.
        if exchange.request_header("content-type").is_none() {
            words.extend(["-H".to_string(), "'content-type:'".to_string()]);
        }
        // --data-raw: a body starting with `@` is text, not a file for curl to read and send.
        words.extend(["--data-raw".to_string(), shell_quote(text)]);
    }
    Ok(words.join(" "))
}

/// What a forward's local end is, for a URL: HTTP, postgres, redis, or a bare TCP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaks {
    Http,
    Postgres,
    Redis,
    Tcp,
}

impl Speaks {
    /// From what the forward knows: HTTP from the Service port, else the well-known ports and
    /// names (Hasura's `postgres`, `session-redis`).
    pub fn guess(name: &str, http: Option<bool>, remote_port: Option<u16>) -> Speaks {
        if http == Some(true) {
            Speaks::Http
        } else if remote_port == Some(5432) || name.contains("postgres") {
            Speaks::Postgres
        } else if remote_port == Some(6379) || name.contains("redis") {
            Speaks::Redis
        } else {
            Speaks::Tcp
        }
    }
}

/// `http://127.0.0.1:8080`, `postgresql://postgres@127.0.0.1:6432/postgres`, `redis://…`,
/// `127.0.0.1:2222`.
pub fn local_url(speaks: Speaks, local: SocketAddr) -> String {
    match speaks {
        Speaks::Http => format!("http://{local}"),
        // The postgres image's default user and database: Hasura's platform postgres uses them.
        Speaks::Postgres => format!("postgresql://postgres@{local}/postgres"),
        Speaks::Redis => format!("redis://{local}"),
        Speaks::Tcp => local.to_string(),
    }
}

/// `psql 'postgresql://postgres@127.0.0.1:6432/postgres'`
pub fn psql(local: SocketAddr) -> String {
    format!("psql {}", shell_quote(&local_url(Speaks::Postgres, local)))
}

/// `curl -sS -H 'X-Hasura-Role: admin' … http://127.0.0.1:8080/`: a forward's root, with its
/// gateway identity written out when it has one.
pub fn curl_root(local: SocketAddr, identity: Option<&GatewayIdentity>) -> String {
    let mut words = vec!["curl".to_string(), "-sS".to_string()];
    if let Some(id) = identity {
        for header in [
            format!("X-Hasura-Role: {}", id.role),
            format!("X-Hasura-User-Id: {}", id.user_id),
        ] {
            words.extend(["-H".to_string(), shell_quote(&header)]);
        }
    }
    // Quoted: `[::1]` is a glob pattern to zsh.
    words.push(shell_quote(&format!("http://{local}/")));
    words.join(" ")
}

/// One forward in an `.env` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvForward {
    pub namespace: String,
    pub name: String,
    pub speaks: Speaks,
    pub local: SocketAddr,
}

/// `DATA_URL=http://127.0.0.1:8080` a line each; a name in two namespaces gets the namespace
/// too (`HASURA_DATA_URL`), so no line overwrites another.
pub fn env_block(forwards: &[EnvForward]) -> String {
    let var = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    forwards
        .iter()
        .map(|f| {
            let twice = forwards.iter().filter(|other| other.name == f.name).count() > 1;
            let name = if twice {
                format!("{}_{}", var(&f.namespace), var(&f.name))
            } else {
                var(&f.name)
            };
            format!("{name}_URL={}\n", local_url(f.speaks, f.local))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;

    use super::*;
    use crate::forward::exchange::{BodyPreview, Exchange};

    fn posted(body: &'static [u8]) -> RequestEntry {
        RequestEntry {
            seq: 7,
            method: "POST".into(),
            path: "/v1/query".into(),
            status: Some(200),
            duration: Duration::ZERO,
            bytes: 0,
            role: Some("user".into()),
            complete: true,
            note: None,
            at: SystemTime::UNIX_EPOCH,
            user_id: Some("42".into()),
            replay_of: None,
            exchange: Some(Arc::new(Exchange {
                target: "/v1/query?pretty=1".into(),
                request_headers: vec![
                    ("host".into(), "127.0.0.1:8080".into()),
                    ("content-type".into(), "application/json".into()),
                    ("content-length".into(), body.len().to_string()),
                    ("x-hasura-role".into(), "user".into()),
                    ("x-hasura-user-id".into(), "42".into()),
                ],
                request_body: BodyPreview {
                    head: Bytes::from_static(body),
                    total: body.len() as u64,
                },
                ..Exchange::default()
            })),
        }
    }

    #[test]
    fn quoting_survives_the_shell() {
        assert_eq!(shell_quote("abc-1.2"), "abc-1.2");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("=ls"), "'=ls'");
        assert_eq!(shell_quote("a=b"), "a=b");
    }

    /// The words `command` passes to its program in each shell on this machine (bash and dash,
    /// and zsh where installed: `.ci/run` installs it), with the program a function that prints
    /// its arguments.
    fn words_in_shells(command: &str) -> Vec<(String, Vec<String>)> {
        let program = command.split(' ').next().unwrap();
        let script = format!("{program}() {{ printf '%s\\0' \"$@\"; }}\n{command}\n");
        let shells = ["bash", "dash", "zsh"].into_iter().filter_map(|shell| {
            let out = std::process::Command::new(shell)
                .args(["-c", &script])
                .output()
                .ok()?;
            assert!(
                out.status.success(),
                "{shell}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let words = text.split_terminator('\0').map(str::to_string).collect();
            Some((shell.to_string(), words))
        });
        let shells: Vec<_> = shells.collect();
        eprintln!(
            "checked in: {}",
            shells
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(shells.len() >= 2, "bash and dash are on every machine");
        shells
    }

    #[test]
    fn every_shell_passes_the_words_as_written() {
        let v6: SocketAddr = "[::1]:8080".parse().unwrap();
        for (shell, words) in words_in_shells(&curl_root(v6, Some(&GatewayIdentity::admin()))) {
            assert_eq!(
                words,
                [
                    "-sS",
                    "-H",
                    "X-Hasura-Role: admin",
                    "-H",
                    "X-Hasura-User-Id: 0",
                    "http://[::1]:8080/"
                ],
                "{shell}"
            );
        }
        let command = curl(&posted(b"=ls"), v6).unwrap();
        for (shell, words) in words_in_shells(&command) {
            assert_eq!(words[2], "http://[::1]:8080/v1/query?pretty=1", "{shell}");
            assert_eq!(words.last().unwrap(), "=ls", "{shell}");
        }
        for (shell, words) in words_in_shells(&psql(v6)) {
            assert_eq!(
                words,
                ["postgresql://postgres@[::1]:8080/postgres"],
                "{shell}"
            );
        }
    }

    #[test]
    fn a_request_becomes_a_curl_command_through_the_local_port() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let command = curl(&posted(br#"{"q":"it's"}"#), local).unwrap();
        assert_eq!(
            command,
            r#"curl -sS -g 'http://127.0.0.1:8080/v1/query?pretty=1' -H 'host: 127.0.0.1:8080' -H 'content-type: application/json' -H 'x-hasura-role: user' -H 'x-hasura-user-id: 42' -H 'accept:' -H 'user-agent:' --data-raw '{"q":"it'\''s"}'"#
        );
        let binary = curl(&posted(b"\0\x01"), local).unwrap_err();
        assert!(binary.contains("binary"), "{binary}");
        // Ctrl-C then a command: pasted, it would end the quote and run.
        let pasted = curl(&posted(b"a\x03\nrm -rf ~\n"), local).unwrap_err();
        assert!(pasted.contains("control characters"), "{pasted}");
        let file = curl(&posted(b"@/etc/passwd"), local).unwrap();
        assert!(
            file.ends_with("--data-raw @/etc/passwd"),
            "sent as text: {file}"
        );
    }

    #[test]
    fn an_env_block_names_every_forward_once() {
        let at = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let forwards = [
            EnvForward {
                namespace: "hasura".into(),
                name: "data".into(),
                speaks: Speaks::Http,
                local: at(8080),
            },
            EnvForward {
                namespace: "default".into(),
                name: "data".into(),
                speaks: Speaks::Http,
                local: at(8081),
            },
            EnvForward {
                namespace: "hasura".into(),
                name: "postgres".into(),
                speaks: Speaks::guess("postgres", Some(false), Some(5432)),
                local: at(6432),
            },
            EnvForward {
                namespace: "hasura".into(),
                name: "session-redis".into(),
                speaks: Speaks::guess("session-redis", Some(false), Some(6379)),
                local: at(6379),
            },
        ];
        assert_eq!(
            env_block(&forwards),
            "HASURA_DATA_URL=http://127.0.0.1:8080\n\
             DEFAULT_DATA_URL=http://127.0.0.1:8081\n\
             POSTGRES_URL=postgresql://postgres@127.0.0.1:6432/postgres\n\
             SESSION_REDIS_URL=redis://127.0.0.1:6379\n"
        );
        assert_eq!(
            psql(at(6432)),
            "psql postgresql://postgres@127.0.0.1:6432/postgres"
        );
    }
}
