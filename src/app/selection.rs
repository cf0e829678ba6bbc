//! A table's selection, kept by microservice name so it stays on the same row when rows appear,
//! change or vanish around it, with the scroll offset that keeps it in view.

/// Where a table's cursor is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// The selected microservice; `None` before there are rows.
    pub name: Option<String>,
    /// Its position in the visible rows, as last resolved.
    pub index: usize,
    /// The first visible row.
    pub offset: usize,
}

impl Selection {
    /// Re-finds the selection in `names` (the visible rows): by name if it is still there, else
    /// the row now at its old position (the next one down), else the last.
    pub fn resolve<'a>(&mut self, names: impl ExactSizeIterator<Item = &'a str>, viewport: usize) {
        let len = names.len();
        let mut found = None;
        let mut at_index = None;
        for (i, name) in names.enumerate() {
            if Some(name) == self.name.as_deref() {
                found = Some(i);
                break;
            }
            if i == self.index.min(len.saturating_sub(1)) {
                at_index = Some(name.to_string());
            }
        }
        match found {
            Some(i) => self.index = i,
            None if len == 0 => {
                self.index = 0;
                self.name = None;
            }
            None => {
                self.index = self.index.min(len - 1);
                self.name = at_index;
            }
        }
        self.keep_in_view(len, viewport);
    }

    /// Moves by `delta` rows (clamped) and names the row it lands on.
    pub fn move_by(&mut self, delta: isize, names: &[&str], viewport: usize) {
        if names.is_empty() {
            return;
        }
        let target = (self.index as isize + delta).clamp(0, names.len() as isize - 1) as usize;
        self.index = target;
        self.name = Some(names[target].to_string());
        self.keep_in_view(names.len(), viewport);
    }

    fn keep_in_view(&mut self, len: usize, viewport: usize) {
        let viewport = viewport.max(1);
        if self.index < self.offset {
            self.offset = self.index;
        } else if self.index >= self.offset + viewport {
            self.offset = self.index + 1 - viewport;
        }
        // Never leave empty space below the last row when rows vanish.
        self.offset = self.offset.min(len.saturating_sub(viewport));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_follows_its_microservice_when_rows_move() {
        let mut s = Selection::default();
        s.move_by(1, &["a", "b", "c"], 10);
        assert_eq!(s.name.as_deref(), Some("b"));
        s.resolve(["0", "a", "b", "c"].into_iter(), 10);
        assert_eq!((s.index, s.name.as_deref()), (2, Some("b")));
    }

    #[test]
    fn a_vanished_selection_moves_to_its_neighbour() {
        let mut s = Selection::default();
        s.move_by(1, &["a", "b", "c"], 10);
        s.resolve(["a", "c"].into_iter(), 10);
        assert_eq!((s.index, s.name.as_deref()), (1, Some("c")));
        s.resolve(["a"].into_iter(), 10);
        assert_eq!((s.index, s.name.as_deref()), (0, Some("a")));
        s.resolve([].into_iter(), 10);
        assert_eq!(s.name, None);
    }

    #[test]
    fn scrolling_keeps_the_selection_in_view() {
        let names: Vec<String> = (0..100).map(|i| format!("n{i:03}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut s = Selection::default();
        s.move_by(50, &refs, 10);
        assert_eq!((s.index, s.offset), (50, 41));
        s.move_by(-45, &refs, 10);
        assert_eq!((s.index, s.offset), (5, 5));
        s.move_by(1000, &refs, 10);
        assert_eq!((s.index, s.offset), (99, 90));
    }
}
