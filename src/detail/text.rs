//! The detail in words, the same for the dashboard's view and `hasura-tui describe`: sections
//! of lines, each marked for the screen to colour (a warning, a heading, a note).

use k8s_openapi::jiff::Timestamp;

use super::{Detail, Part};
use crate::metrics::{cpu_text, memory_text};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Heading,
    Plain,
    Warning,
    Note,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub mark: Mark,
    pub text: String,
}

fn line(mark: Mark, text: impl Into<String>) -> Line {
    Line {
        mark,
        text: text.into(),
    }
}

/// kubectl's short ages (`45s`, `3m12s`, `5h`, `12d`), or `<unknown>` without a time.
pub fn age(since: Option<Timestamp>, now: Timestamp) -> String {
    since.map_or_else(
        || "<unknown>".into(),
        |since| crate::human_duration::since(since, now),
    )
}

/// Columns padded to the widest cell, two spaces apart.
fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut text = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            text.trim_end().to_string()
        })
        .collect()
}

fn unreadable<T>(part: &Part<T>, what: &str) -> Option<Line> {
    match part {
        Part::Ready(_) => None,
        Part::Loading => Some(line(Mark::Note, "  loading…")),
        Part::Forbidden(_) => Some(line(
            Mark::Warning,
            format!("  forbidden: these credentials may not read {what}"),
        )),
        Part::Failed(why) => Some(line(Mark::Warning, format!("  cannot read {what}: {why}"))),
    }
}

/// The workload, pods, events, routes and ports sections, in that order.
pub fn lines(detail: &Detail, now: Timestamp) -> Vec<Line> {
    let mut out = workload_lines(detail, now);
    for section in [
        pod_lines(detail, now),
        event_lines(detail, now),
        route_lines(detail),
        port_lines(detail),
    ] {
        out.push(line(Mark::Plain, ""));
        out.extend(section);
    }
    out
}

/// The workload: kind, replicas, images, age, failing conditions.
fn workload_lines(detail: &Detail, now: Timestamp) -> Vec<Line> {
    let mut out = Vec::new();
    match &detail.workload {
        Part::Ready(Some(w)) => {
            out.push(line(
                Mark::Heading,
                format!("{} {}/{}", w.kind, detail.namespace, detail.name),
            ));
            let rollout = if w.rolled_out {
                "complete"
            } else {
                "in progress"
            };
            out.push(line(
                Mark::Plain,
                format!(
                    "  replicas {} desired, {} updated, {} ready, {} available; rollout {rollout}",
                    w.desired, w.updated, w.ready, w.available
                ),
            ));
            out.push(line(
                Mark::Plain,
                format!("  images   {}", w.images.join(", ")),
            ));
            out.push(line(
                Mark::Plain,
                format!("  age      {}", age(w.created, now)),
            ));
            for condition in &w.conditions {
                out.push(line(Mark::Warning, format!("  condition {condition}")));
            }
        }
        Part::Ready(None) => out.push(line(
            Mark::Heading,
            format!(
                "Service {}/{} (no Deployment or StatefulSet)",
                detail.namespace, detail.name
            ),
        )),
        unread => {
            out.push(line(
                Mark::Heading,
                format!("{}/{}", detail.namespace, detail.name),
            ));
            out.extend(unreadable(unread, "its workload"));
        }
    }
    out
}

/// The pods as `kubectl get pods -o wide` lists them, with their usage and last termination.
fn pod_lines(detail: &Detail, now: Timestamp) -> Vec<Line> {
    let mut out = Vec::new();
    let count = detail
        .pods
        .ready()
        .map_or(String::new(), |p| format!(" ({})", p.len()));
    out.push(line(Mark::Heading, format!("Pods{count}")));
    out.extend(unreadable(&detail.pods, "pods"));
    if let Some(pods) = detail.pods.ready() {
        if pods.is_empty() {
            out.push(line(
                Mark::Note,
                "  none (scaled to 0, or none scheduled yet)",
            ));
        } else {
            let with_usage = pods.iter().any(|p| p.usage.is_some());
            let mut header: Vec<String> =
                ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE", "IP"]
                    .map(String::from)
                    .to_vec();
            if with_usage {
                header.extend(["CPU".to_string(), "MEM".to_string()]);
            }
            let mut rows = vec![header];
            for pod in pods {
                let restarts = match pod.last_restart {
                    Some(at) if pod.restarts > 0 => {
                        format!("{} ({} ago)", pod.restarts, age(Some(at), now))
                    }
                    _ => pod.restarts.to_string(),
                };
                let mut row = vec![
                    pod.name.clone(),
                    format!("{}/{}", pod.ready, pod.containers),
                    pod.status.clone(),
                    restarts,
                    age(pod.created, now),
                    pod.node.clone().unwrap_or_else(|| "<none>".into()),
                    pod.ip.clone().unwrap_or_else(|| "<none>".into()),
                ];
                if with_usage {
                    let (cpu, mem) = pod.usage.as_ref().map_or(("-".into(), "-".into()), |u| {
                        (cpu_text(u.cpu_millis), memory_text(u.memory_bytes))
                    });
                    row.extend([cpu, mem]);
                }
                rows.push(row);
            }
            let texts = table(&rows);
            for (i, text) in texts.into_iter().enumerate() {
                let mark = match i {
                    0 => Mark::Note,
                    i if pods[i - 1].status != "Running" => Mark::Warning,
                    _ => Mark::Plain,
                };
                out.push(line(mark, format!("  {text}")));
                let pod = i.checked_sub(1).map(|i| &pods[i]);
                let usage = pod.and_then(|p| p.usage.as_ref());
                if let Some(usage) = usage.filter(|u| u.containers.len() > 1) {
                    let each: Vec<String> = usage
                        .containers
                        .iter()
                        .map(|(name, cpu, mem)| {
                            format!("{name} {} {}", cpu_text(*cpu), memory_text(*mem))
                        })
                        .collect();
                    out.push(line(
                        Mark::Note,
                        format!("    containers: {}", each.join(", ")),
                    ));
                }
                if let Some(t) = pod.and_then(|p| p.last_termination.as_ref()) {
                    let mut text = format!(
                        "    last termination of {}: {}, exit code {}, {} ago",
                        t.container,
                        t.reason,
                        t.exit_code,
                        age(t.finished, now)
                    );
                    if let Some(message) = &t.message {
                        text.push_str(&format!(": {message}"));
                    }
                    out.push(line(Mark::Warning, text));
                }
            }
        }
    }
    out
}

/// The events, newest first, as `kubectl describe` shows them.
fn event_lines(detail: &Detail, now: Timestamp) -> Vec<Line> {
    let mut out = Vec::new();
    out.push(line(Mark::Heading, "Events (newest first)"));
    out.extend(unreadable(&detail.events, "events"));
    if let Some(events) = detail.events.ready() {
        if events.is_empty() {
            out.push(line(Mark::Note, "  <none>"));
        } else {
            let mut rows = vec![
                ["TYPE", "REASON", "AGE", "FROM", "OBJECT", "MESSAGE"]
                    .map(String::from)
                    .to_vec(),
            ];
            for e in events {
                // kubectl describe: `3m49s (x12 over 8m49s)` when repeated.
                let when = if e.count > 1 {
                    format!(
                        "{} (x{} over {})",
                        age(e.last, now),
                        e.count,
                        age(e.first, now)
                    )
                } else {
                    age(e.last, now)
                };
                rows.push(vec![
                    if e.warning { "Warning" } else { "Normal" }.to_string(),
                    e.reason.clone(),
                    when,
                    e.source.clone(),
                    e.object.clone(),
                    e.message.clone(),
                ]);
            }
            for (i, text) in table(&rows).into_iter().enumerate() {
                let mark = match i {
                    0 => Mark::Note,
                    i if events[i - 1].warning => Mark::Warning,
                    _ => Mark::Plain,
                };
                out.push(line(mark, format!("  {text}")));
            }
        }
    }
    out
}

/// The internal and external URL, and each route that leads here.
fn route_lines(detail: &Detail) -> Vec<Line> {
    let mut out = Vec::new();
    out.push(line(Mark::Heading, "Routes"));
    let url = |u: &Option<String>| u.clone().unwrap_or_else(|| "<none>".into());
    out.push(line(
        Mark::Plain,
        format!("  internal {}", url(&detail.urls.internal)),
    ));
    out.push(line(
        Mark::Plain,
        format!("  external {}", url(&detail.urls.external)),
    ));
    for route in &detail.urls.routes {
        out.push(line(
            Mark::Plain,
            format!(
                "    {}",
                super::routes::describe(route, &detail.namespace, &detail.name)
            ),
        ));
    }
    out
}

/// The Service ports, each with the pods ready, not ready and terminating behind it.
fn port_lines(detail: &Detail) -> Vec<Line> {
    let mut out = Vec::new();
    out.push(line(Mark::Heading, "Ports"));
    if detail.ports.is_empty() {
        out.push(line(Mark::Note, "  <none> (no Service)"));
    }
    let names = |pods: &[String]| {
        if pods.is_empty() {
            "-".to_string()
        } else {
            pods.join(", ")
        }
    };
    for p in &detail.ports {
        let name = p
            .name
            .as_deref()
            .map(|n| format!("{n} "))
            .unwrap_or_default();
        let container = p
            .container_port
            .map(|c| format!(" (container port {c})"))
            .unwrap_or_default();
        out.push(line(
            Mark::Plain,
            format!("  {name}{} → {}{container}", p.port, p.target),
        ));
        out.push(line(Mark::Plain, format!("    ready: {}", names(&p.ready))));
        if !p.not_ready.is_empty() {
            out.push(line(
                Mark::Warning,
                format!("    not ready: {}", names(&p.not_ready)),
            ));
        }
        if !p.terminating.is_empty() {
            out.push(line(
                Mark::Note,
                format!("    terminating: {}", names(&p.terminating)),
            ));
        }
    }
    out
}
