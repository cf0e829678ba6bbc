//! Column widths, measured once when rows or the filter change (not on every frame), from every
//! visible row so that columns do not jump while scrolling.

use std::fmt::{self, Write};
use std::sync::Arc;

use unicode_width::UnicodeWidthStr;

use crate::cluster::Rows;
use crate::model::Microservice;

pub const NAME: &str = "NAME";
pub const STATUS: &str = "STATUS";
pub const REPLICAS: &str = "REPLICAS";
pub const INTERNAL_URL: &str = "INTERNAL-URL";
pub const EXTERNAL_URL: &str = "EXTERNAL-URL";
pub const CPU: &str = "CPU";
pub const MEM: &str = "MEM";

/// Longest URL shown in full; longer ones are cut by the table, not allowed to push others out.
const URL_CAP: usize = 80;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnWidths {
    pub name: usize,
    pub status: usize,
    pub replicas: usize,
    pub internal: usize,
    pub external: usize,
    pub cpu: usize,
    pub mem: usize,
}

impl Default for ColumnWidths {
    fn default() -> Self {
        ColumnWidths {
            name: NAME.len(),
            status: STATUS.len(),
            replicas: REPLICAS.len(),
            internal: INTERNAL_URL.len(),
            external: EXTERNAL_URL.len(),
            cpu: CPU.len(),
            mem: MEM.len(),
        }
    }
}

impl ColumnWidths {
    /// The widths of one row's cells (no header: a row alone may be narrower).
    pub fn of_row(m: &Microservice) -> ColumnWidths {
        ColumnWidths {
            name: text_width(&m.name),
            status: display_width(&m.status),
            replicas: match m.workload_kind {
                Some(_) => digits(m.ready) + 1 + digits(m.desired),
                None => 1,
            },
            internal: m.internal_url.as_deref().map_or(0, text_width).min(URL_CAP),
            external: m.external_url.as_deref().map_or(0, text_width).min(URL_CAP),
            // `12m` and `49Mi`, or `-` (see `usage_text`).
            cpu: m.usage.map_or(1, |u| count(u.cpu_millis) + 1),
            mem: m
                .usage
                .map_or(1, |u| count(u.memory_bytes / (1024 * 1024)) + 2),
        }
    }

    /// The column widths that fit the headers and every row of `rows`.
    pub fn fitting<'a>(rows: impl Iterator<Item = &'a ColumnWidths>) -> ColumnWidths {
        rows.fold(ColumnWidths::default(), |w, r| ColumnWidths {
            name: w.name.max(r.name),
            status: w.status.max(r.status),
            replicas: w.replicas.max(r.replicas),
            internal: w.internal.max(r.internal),
            external: w.external.max(r.external),
            cpu: w.cpu.max(r.cpu),
            mem: w.mem.max(r.mem),
        })
    }
}

/// Each row's cell widths, beside the rows they were measured from. A new snapshot shares its
/// unchanged rows with the old one (the same `Arc`), so only the rows it changed are measured:
/// under churn, a handful instead of the whole table.
#[derive(Clone, Debug, Default)]
pub struct RowWidths {
    /// Held so that a row's address is never reused while its widths are kept.
    rows: Rows,
    widths: Vec<ColumnWidths>,
}

impl RowWidths {
    /// The widths of `rows[i]`, by index.
    pub fn get(&self, i: usize) -> &ColumnWidths {
        &self.widths[i]
    }

    /// Measures `rows`, reusing the widths of the rows it shares with the last ones.
    pub fn update(&mut self, rows: &Rows) {
        if Arc::ptr_eq(&self.rows, rows) {
            return;
        }
        let (old_rows, old_widths) = (&self.rows, &self.widths);
        let mut widths = Vec::with_capacity(rows.len());
        let mut old = 0;
        for row in rows.iter() {
            // Both lists are sorted by name: skip the old rows this one has passed (they went
            // or were replaced). Rows shared at the cursor are compared by address only.
            while old < old_rows.len()
                && !Arc::ptr_eq(&old_rows[old], row)
                && old_rows[old].name < row.name
            {
                old += 1;
            }
            if old < old_rows.len() && Arc::ptr_eq(&old_rows[old], row) {
                widths.push(old_widths[old]);
                old += 1;
            } else {
                widths.push(ColumnWidths::of_row(row));
            }
        }
        self.rows = rows.clone();
        self.widths = widths;
    }
}

/// The width of `s` on screen. Kubernetes names and most URLs are printable ASCII, one column a
/// byte; only other text needs the Unicode tables (this runs for every row of a changed table).
fn text_width(s: &str) -> usize {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.len()
    } else {
        s.width()
    }
}

/// How many columns `n` takes in decimal, with its sign.
fn digits(n: i32) -> usize {
    let sign = usize::from(n < 0);
    sign + n
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |d| d as usize + 1)
}

/// How many columns `n` takes in decimal.
fn count(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// The width `value` takes on screen, without building the string: this runs for every row of a
/// table each time its rows change.
fn display_width(value: &dyn fmt::Display) -> usize {
    struct Counter(usize);
    impl Write for Counter {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 += s.width();
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail.
    let _ = write!(counter, "{value}");
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_width_counts_columns_not_bytes() {
        assert_eq!(display_width(&"Running"), 7);
        assert_eq!(display_width(&format_args!("{}/{}", 10, 2)), 4);
        assert_eq!(display_width(&"日本"), 4);
    }

    fn row(name: &str, ready: i32) -> Microservice {
        Microservice {
            name: name.into(),
            namespace: "default".into(),
            section: crate::model::Section::Custom,
            workload_kind: Some(crate::model::WorkloadKind::Deployment),
            status: crate::model::Status::Running,
            ready,
            desired: 1,
            internal_url: Some(format!("{name}.default")),
            external_url: None,
            external_source: None,
            usage: None,
            ports: vec![],
            created: None,
            selector: Default::default(),
        }
    }

    #[test]
    fn row_widths_follow_inserted_removed_and_replaced_rows() {
        let a = Arc::new(row("a", 1));
        let long = Arc::new(row("a-much-longer-name", 1));
        let c = Arc::new(row("c", 1));
        let mut cache = RowWidths::default();
        let first: Rows = Arc::new(vec![a.clone(), long.clone(), c.clone()]);
        cache.update(&first);
        let expect = |rows: &Rows, cache: &RowWidths| {
            for (i, r) in rows.iter().enumerate() {
                assert_eq!(*cache.get(i), ColumnWidths::of_row(r), "row {i}");
            }
        };
        expect(&first, &cache);
        // The long row goes, `b` comes, `c` is replaced by a wider one of the same name.
        let b = Arc::new(row("b", 1));
        let wider_c = Arc::new(row("c", 10_000_000));
        let second: Rows = Arc::new(vec![a.clone(), b, wider_c]);
        cache.update(&second);
        expect(&second, &cache);
        assert_eq!(
            ColumnWidths::fitting((0..3).map(|i| cache.get(i))),
            ColumnWidths {
                name: "NAME".len(),
                status: "Running".len(),
                replicas: "10000000/1".len(),
                internal: "INTERNAL-URL".len(),
                external: "EXTERNAL-URL".len(),
                cpu: "CPU".len(),
                mem: "MEM".len(),
            }
        );
        // Everything new at once, and then nothing.
        let third: Rows = Arc::new(vec![Arc::new(row("z", 2))]);
        cache.update(&third);
        expect(&third, &cache);
        cache.update(&Arc::new(vec![]));
        assert_eq!(
            ColumnWidths::fitting(std::iter::empty()),
            ColumnWidths::default()
        );
    }

    #[test]
    fn shortcuts_agree_with_the_formatted_text() {
        for n in [0, 1, 9, 10, 99, 100, 12345, -1, -10, i32::MAX, i32::MIN] {
            assert_eq!(digits(n), n.to_string().len(), "{n}");
        }
        for s in [
            "my-app.default",
            "",
            "tab\there",
            "https://café.example",
            "日本",
        ] {
            assert_eq!(text_width(s), s.width(), "{s:?}");
        }
    }
}
