//! How the screen is divided, shared by `update` (which needs the tables' heights to scroll and
//! page) and the renderer (which draws into them), so the two can never disagree.

/// Lines above the tables (header) and below them (footer).
pub const HEADER_LINES: u16 = 1;
pub const FOOTER_LINES: u16 = 1;
/// Lines each table spends on its title and column header.
pub const TABLE_CHROME: u16 = 2;
/// Smallest terminal the dashboard draws into; below it a notice says so.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

pub fn too_small(width: u16, height: u16) -> bool {
    width < MIN_WIDTH || height < MIN_HEIGHT
}

/// Heights of the custom and the hasura table (chrome included) for a terminal `height` high,
/// given how many rows each wants to show. A table that fits gets what it needs; otherwise the
/// space is shared, the smaller table getting at most half.
pub fn table_heights(height: u16, custom_rows: usize, hasura_rows: usize) -> (u16, u16) {
    let available = height.saturating_sub(HEADER_LINES + FOOTER_LINES);
    let need = |rows: usize| TABLE_CHROME.saturating_add(rows.max(1).min(u16::MAX as usize) as u16);
    let (custom, hasura) = (need(custom_rows), need(hasura_rows));
    if custom.saturating_add(hasura) <= available {
        return (custom, available - custom);
    }
    let half = available / 2;
    if custom <= hasura {
        let c = custom.min(half).max(TABLE_CHROME + 1).min(available);
        (c, available - c)
    } else {
        let h = hasura.min(half).max(TABLE_CHROME + 1).min(available);
        (available - h, h)
    }
}

/// Rows of data a table of `height` lines can show; `notes` is whether the line under its
/// title (what it cannot show) takes one of them.
pub fn viewport(height: u16, notes: bool) -> usize {
    height.saturating_sub(TABLE_CHROME + u16::from(notes)) as usize
}

/// The lines a table wants besides its chrome: its rows, and its notes line if it has one.
pub fn wanted(rows: usize, notes: bool) -> usize {
    rows + usize::from(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_that_fit_get_what_they_need_and_the_rest_goes_last() {
        assert_eq!(table_heights(30, 1, 10), (3, 25));
    }

    #[test]
    fn a_big_table_shares_and_the_small_one_keeps_its_rows() {
        assert_eq!(table_heights(30, 1, 20_000), (3, 25));
        assert_eq!(table_heights(30, 20_000, 10), (16, 12));
        let (c, h) = table_heights(30, 5_000, 5_000);
        assert_eq!(c + h, 28);
    }

    #[test]
    fn tiny_heights_never_underflow() {
        let (c, h) = table_heights(10, 100, 100);
        assert_eq!(c + h, 8);
        assert!(viewport(c, false) >= 1 && viewport(h, false) >= 1);
        assert_eq!(viewport(10, true), viewport(10, false) - 1);
    }
}
