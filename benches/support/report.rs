//! The report: one markdown table, every figure beside its reference and target.

use std::fmt::Write;

pub struct Row {
    pub figure: String,
    pub ours: String,
    pub reference: String,
    pub ratio: String,
    pub target: String,
    /// Met, missed, or nothing to judge.
    pub met: Option<bool>,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    pub fn add(&mut self, figure: &str, ours: String, target: &str, met: Option<bool>) {
        self.add_compared(figure, ours, String::new(), String::new(), target, met);
    }

    pub fn add_compared(
        &mut self,
        figure: &str,
        ours: String,
        reference: String,
        ratio: String,
        target: &str,
        met: Option<bool>,
    ) {
        let row = Row {
            figure: figure.to_string(),
            ours,
            reference,
            ratio,
            target: target.to_string(),
            met,
        };
        println!("{}", line(&row));
        self.rows.push(row);
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{HEADER}");
        for row in &self.rows {
            let _ = writeln!(out, "{}", line(row));
        }
        out
    }
}

pub const HEADER: &str =
    "| figure | hasura-tui | reference | ratio | target | met |\n|---|---|---|---|---|---|";

fn line(row: &Row) -> String {
    let met = match row.met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "",
    };
    format!(
        "| {} | {} | {} | {} | {} | {met} |",
        row.figure, row.ours, row.reference, row.ratio, row.target
    )
}

pub fn secs(d: std::time::Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

pub fn ms(d: std::time::Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The machine the figures came from, for the report's heading.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(String::new, |kib| {
            format!(", {:.0} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cores} cores ({model}){memory}")
}
