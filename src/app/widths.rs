//! Column widths, measured once when rows or the filter change (not on every frame), from every
//! visible row so that columns do not jump while scrolling.

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
            w.status = w.status.max(m.status.to_string().width());
            w.replicas = w.replicas.max(m.replicas().width());
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
