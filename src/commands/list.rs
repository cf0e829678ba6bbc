//! `hasura-tui list`: the microservices, printed once, in the seed's layout (README.md, `list`), or
//! `-o wide` / `-o json`. Runs the same feed as the dashboard and prints its first settled
//! snapshot.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::cli::{GlobalArgs, ListArgs, OutputFormat};
use crate::cluster::{
    FeedConfig, Metrics, Namespaces, SectionView, Snapshot, WatchState, spawn_feed,
};
use crate::config::ClusterTarget;
use crate::model::{Microservice, Section, TargetPort};
use crate::terminal_text::{escape, escape_cell};

/// How long `list` waits for the cluster before giving up.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Go's tabwriter settings the Hasura CLI used: min cell width 10, padding 3.
const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &ListArgs,
) -> anyhow::Result<()> {
    let mut namespaces = target.namespaces(global);
    let wanted = args.namespace.as_deref().map(|n| namespaces.resolve(n));
    // Any other namespace is listed as the custom section, as `-n` names it (docs/clusters.md).
    if let Some(ns) = &wanted
        && *ns != namespaces.hasura
    {
        namespaces.user = ns.clone();
    }
    // CPU and MEM are `-o wide` columns: only then is the metrics API read.
    let wide = matches!(args.output, OutputFormat::Wide);
    let snapshot = settled_snapshot(&target, global, namespaces, wide).await?;
    let sections: Vec<&SectionView> = match wanted {
        None => snapshot.sections.iter().collect(),
        Some(ns) if ns == snapshot.sections.hasura.namespace => vec![&snapshot.sections.hasura],
        Some(_) => vec![&snapshot.sections.custom],
    };
    for section in &sections {
        match &section.state {
            WatchState::Synced => {}
            WatchState::Forbidden(m) => bail!(
                "{} microservices ({}): {m}",
                section.section,
                section.namespace
            ),
            WatchState::Error(m) => bail!("{m}"),
            WatchState::Reconnecting { reason, .. } => {
                bail!("cluster {} unreachable: {reason}", target.server)
            }
            WatchState::Syncing => bail!("cluster {} did not answer in time", target.server),
        }
    }
    if let Some(error) = &snapshot.routes_error {
        eprintln!("warning: gateway routes skipped: {}", escape(error));
    }
    // What the credentials may not see, said once per table, away from the table itself.
    for section in &sections {
        for note in &section.notes {
            eprintln!(
                "warning: {} microservices ({}): {}",
                section.section,
                section.namespace,
                escape(note)
            );
        }
    }
    let text = match args.output {
        OutputFormat::Table => render_tables(&sections, false),
        OutputFormat::Wide => render_tables(&sections, true),
        OutputFormat::Json => render_json(&sections)?,
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}

/// The first snapshot in which both namespaces (`namespaces`) have synced or failed, and with
/// `metrics` the metrics API has answered.
pub(crate) async fn settled_snapshot(
    target: &ClusterTarget,
    global: &GlobalArgs,
    namespaces: Namespaces,
    metrics: bool,
) -> anyhow::Result<Arc<Snapshot>> {
    let stop = CancellationToken::new();
    let config = FeedConfig {
        namespaces,
        metrics,
        ..crate::sessions::feed_config(target, global)
    };
    let mut snapshots = spawn_feed(target.client.clone(), config, stop.clone());
    let waited = tokio::time::timeout(TIMEOUT, snapshots.wait_for(|s| s.settled())).await;
    let snapshot = match waited {
        Ok(Ok(snapshot)) => snapshot.clone(),
        _ => {
            stop.cancel();
            bail!(
                "cluster {} did not answer within {}s",
                target.server,
                TIMEOUT.as_secs()
            );
        }
    };
    stop.cancel();
    Ok(snapshot)
}

/// Pads columns like Go's tabwriter (what the seed's output came from); no trailing spaces.
/// Cells are escaped first (`terminal_text`): they hold what the cluster says.
pub fn tabulate(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| escape_cell(cell).into_owned())
                .collect()
        })
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let widest = rows
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0);
            (widest + PADDING).max(MIN_WIDTH)
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < row.len() {
                line.push_str(&" ".repeat(widths[c].saturating_sub(cell.chars().count())));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn render_tables(sections: &[&SectionView], wide: bool) -> String {
    let mut out = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}:\n", section.section.heading()));
        let mut header = vec!["NAME", "STATUS", "INTERNAL-URL", "EXTERNAL-URL"];
        // CPU and MEM only when the cluster serves the metrics API, as `kubectl top` needs.
        let usage = wide && section.metrics == Metrics::Served;
        if wide {
            header = vec!["NAME", "STATUS", "REPLICAS"];
            if usage {
                header.extend(["CPU", "MEM"]);
            }
            header.extend(["INTERNAL-URL", "EXTERNAL-URL", "PORTS", "AGE"]);
        }
        let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
        for m in section.rows.iter() {
            rows.push(if wide {
                wide_row(m, usage)
            } else {
                plain_row(m)
            });
        }
        out.push_str(&tabulate(&rows));
    }
    out
}

fn plain_row(m: &Microservice) -> Vec<String> {
    vec![
        m.name.clone(),
        m.status.to_string(),
        m.internal_url.clone().unwrap_or_default(),
        m.external_url.clone().unwrap_or_default(),
    ]
}

fn wide_row(m: &Microservice, usage: bool) -> Vec<String> {
    let mut row = vec![m.name.clone(), m.status.to_string(), m.replicas()];
    if usage {
        let (cpu, mem) = m.usage_text();
        row.extend([cpu, mem]);
    }
    row.extend([
        m.internal_url_wide().unwrap_or_default(),
        m.external_url.clone().unwrap_or_default(),
        ports_text(m),
        m.created.map(age).unwrap_or_else(|| "-".to_string()),
    ]);
    row
}

/// `80->http/TCP,443->8443/TCP`: service port, then where it goes in the pod.
fn ports_text(m: &Microservice) -> String {
    let text: Vec<String> = m
        .ports
        .iter()
        .map(|p| {
            let target = match &p.target {
                TargetPort::Number(n) => n.to_string(),
                TargetPort::Name(name) => name.clone(),
            };
            format!("{}->{}/{}", p.port, target, p.protocol)
        })
        .collect();
    if text.is_empty() {
        "-".to_string()
    } else {
        text.join(",")
    }
}

/// kubectl's short ages (`45s`, `3m12s`, `5h`, `12d`), as `kubectl get` prints AGE.
fn age(created: crate::model::Timestamp) -> String {
    crate::human_duration::since(created, crate::model::Timestamp::now())
}

#[derive(Serialize)]
struct JsonRow<'a> {
    name: &'a str,
    namespace: &'a str,
    section: &'static str,
    status: String,
    replicas: String,
    internal_url: Option<&'a str>,
    external_url: Option<&'a str>,
    ports: Vec<JsonPort<'a>>,
}

#[derive(Serialize)]
struct JsonPort<'a> {
    name: Option<&'a str>,
    port: i32,
    target_port: String,
    protocol: &'a str,
}

fn render_json(sections: &[&SectionView]) -> anyhow::Result<String> {
    let rows: Vec<JsonRow> = sections
        .iter()
        .flat_map(|s| s.rows.iter())
        .map(|m| JsonRow {
            name: &m.name,
            namespace: &m.namespace,
            section: match m.section {
                Section::Custom => "custom",
                Section::Hasura => "hasura",
            },
            status: m.status.to_string(),
            replicas: m.replicas(),
            internal_url: m.internal_url.as_deref(),
            external_url: m.external_url.as_deref(),
            ports: m
                .ports
                .iter()
                .map(|p| JsonPort {
                    name: p.name.as_deref(),
                    port: p.port,
                    target_port: match &p.target {
                        TargetPort::Number(n) => n.to_string(),
                        TargetPort::Name(n) => n.clone(),
                    },
                    protocol: &p.protocol,
                })
                .collect(),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&rows)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabulate_pads_like_tabwriter_and_trims_line_ends() {
        let rows = vec![
            vec!["NAME".to_string(), "STATUS".into(), "X".into()],
            vec!["platform-sync".to_string(), "Running".into(), "".into()],
        ];
        assert_eq!(
            tabulate(&rows),
            "NAME            STATUS    X\nplatform-sync   Running\n"
        );
    }
}
