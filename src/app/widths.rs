//! Column widths, measured once when rows or the filter change (not on every frame), from every
//! visible row so that columns do not jump while scrolling.

use std::fmt::{self, Write};

use unicode_width::UnicodeWidthStr;

use crate::model::Microservice;

pub const NAME: &str = "NAME";
pub const STATUS: &str = "STATUS";
pub const REPLICAS: &str = "REPLICAS";
pub const INTERNAL_URL: &str = "INTERNAL-URL";
pub const EXTERNAL_URL: &str = "EXTERNAL-URL";

/// Longest URL shown in full; longer ones are cut by the table, not allowed to push others out.
const URL_CAP: usize = 80;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnWidths {
    pub name: usize,
    pub status: usize,
    pub replicas: usize,
    pub internal: usize,
    pub external: usize,
}

impl Default for ColumnWidths {
    fn default() -> Self {
        ColumnWidths {
            name: NAME.len(),
            status: STATUS.len(),
            replicas: REPLICAS.len(),
            internal: INTERNAL_URL.len(),
            external: EXTERNAL_URL.len(),
        }
    }
}

impl ColumnWidths {
    pub fn measure<'a>(rows: impl Iterator<Item = &'a Microservice>) -> ColumnWidths {
        let mut w = ColumnWidths::default();
        for m in rows {
            w.name = w.name.max(m.name.width());
            w.status = w.status.max(display_width(&m.status));
            w.replicas = w.replicas.max(match m.workload_kind {
                Some(_) => display_width(&format_args!("{}/{}", m.ready, m.desired)),
                None => 1,
            });
            w.internal = w.internal.max(
                m.internal_url
                    .as_deref()
                    .map_or(0, UnicodeWidthStr::width)
                    .min(URL_CAP),
            );
            w.external = w.external.max(
                m.external_url
                    .as_deref()
                    .map_or(0, UnicodeWidthStr::width)
                    .min(URL_CAP),
            );
        }
        w
    }
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
}
