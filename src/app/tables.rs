//! The two tables as the dashboard shows them: the name filter, which rows pass it, the column
//! widths of those rows, and each table's selection, kept on the same microservice as rows come
//! and go.

use std::sync::Arc;

use super::widths::RowWidths;
use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, ColumnWidths, Selection, layout};
use crate::cluster::{Snapshot, WatchState};
use crate::model::{Microservice, Section};

/// The filter's keys while it is typed: letters are text; the arrows still move.
pub fn filter_key(key: KeyEvent, ctrl: bool) -> Option<Action> {
    match key.code {
        KeyCode::Esc => Some(Action::ClearFilter),
        KeyCode::Enter => Some(Action::FinishFilter),
        KeyCode::Backspace => Some(Action::FilterBackspace),
        KeyCode::Up => Some(Action::Move(-1)),
        KeyCode::Down => Some(Action::Move(1)),
        KeyCode::Char(c) if !ctrl => Some(Action::FilterInput(c)),
        _ => None,
    }
}

/// The name filter typed after `/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
    /// Keys go to the filter until Enter or Esc.
    pub editing: bool,
}

impl Filter {
    /// Whether a name passes, for many names: Kubernetes names are lower-case, so only the
    /// typed text needs folding, once.
    pub(super) fn matcher(&self) -> impl Fn(&str) -> bool + '_ {
        let folded = self.text.to_lowercase();
        move |name: &str| name.contains(folded.as_str())
    }
}

/// A section's rows as the tables show them: which pass the filter, and how wide each column is.
#[derive(Clone, Debug, Default)]
pub struct TableView {
    /// Indices into the snapshot's rows, in order.
    pub visible: Vec<usize>,
    pub widths: ColumnWidths,
    /// The widths of every row (visible or not), to fit the columns to the visible ones.
    pub(super) row_widths: RowWidths,
}

impl App {
    pub fn view(&self, section: Section) -> &TableView {
        &self.views[section]
    }

    /// The rows of a section the filter lets through.
    pub fn visible_rows(
        &self,
        section: Section,
    ) -> impl ExactSizeIterator<Item = &Microservice> + '_ {
        let rows = &self.snapshot.section(section).rows;
        self.view(section).visible.iter().map(move |&i| &*rows[i])
    }

    /// Refilters both tables and re-finds their selections (the filter changed).
    pub(super) fn refresh_views(&mut self) {
        for section in Section::ALL {
            self.refilter(section);
        }
        self.resolve_selections();
        self.refresh_detail_urls();
    }

    /// Takes a new snapshot. Only a table whose rows changed is refiltered and measured again:
    /// under churn that is one table of the two, and the rows of the other stay as they were.
    pub(super) fn take_snapshot(&mut self, snapshot: Arc<Snapshot>) {
        let old = std::mem::replace(&mut self.snapshot, snapshot);
        for section in Section::ALL {
            if !Arc::ptr_eq(
                &old.section(section).rows,
                &self.snapshot.section(section).rows,
            ) {
                self.refilter(section);
            }
        }
        self.resolve_selections();
    }

    pub(super) fn refilter(&mut self, section: Section) {
        let rows = &self.snapshot.section(section).rows;
        let view = &mut self.views[section];
        view.row_widths.update(rows);
        view.visible = if self.filter.text.is_empty() {
            (0..rows.len()).collect()
        } else {
            let matches = self.filter.matcher();
            (0..rows.len())
                .filter(|&i| matches(&rows[i].name))
                .collect()
        };
        view.widths = ColumnWidths::fitting(view.visible.iter().map(|&i| view.row_widths.get(i)));
    }

    pub fn selection(&self, section: Section) -> &Selection {
        &self.selections[section]
    }

    pub(super) fn selection_mut(&mut self, section: Section) -> &mut Selection {
        &mut self.selections[section]
    }

    /// The selected microservice of the focused table.
    pub fn selected(&self) -> Option<&Microservice> {
        let name = self.selection(self.focus).name.as_deref()?;
        self.snapshot
            .section(self.focus)
            .rows
            .iter()
            .find(|m| m.name == name)
            .map(|m| &**m)
    }

    /// Data rows each table shows at the current size.
    pub fn viewports(&self) -> (usize, usize) {
        let notes = |s: Section| !self.snapshot.section(s).notes.is_empty();
        let (c, h) = layout::table_heights(
            self.size.1,
            layout::wanted(
                self.visible_rows(Section::Custom).len(),
                notes(Section::Custom),
            ),
            layout::wanted(
                self.visible_rows(Section::Hasura).len(),
                notes(Section::Hasura),
            ),
        );
        (
            layout::viewport(c, notes(Section::Custom)),
            layout::viewport(h, notes(Section::Hasura)),
        )
    }

    pub(super) fn viewport(&self, section: Section) -> usize {
        let (c, h) = self.viewports();
        match section {
            Section::Custom => c,
            Section::Hasura => h,
        }
    }

    pub(super) fn resolve_selections(&mut self) {
        for section in Section::ALL {
            // Rows not listed yet (a cluster come back to starts its watches again): the
            // selection waits for them instead of falling to the first row.
            let view = self.snapshot.section(section);
            if view.state == WatchState::Syncing && view.rows.is_empty() {
                continue;
            }
            let viewport = self.viewport(section);
            // Out of `self` while it moves, so the rows can be read in place (no copy of names).
            let mut selection = std::mem::take(self.selection_mut(section));
            selection.resolve(
                self.visible_rows(section).map(|m| m.name.as_str()),
                viewport,
            );
            *self.selection_mut(section) = selection;
        }
    }

    pub(super) fn move_selection(&mut self, delta: isize) {
        let section = self.focus;
        let viewport = self.viewport(section);
        let mut selection = std::mem::take(self.selection_mut(section));
        let names: Vec<&str> = self
            .visible_rows(section)
            .map(|m| m.name.as_str())
            .collect();
        selection.move_by(delta, &names, viewport);
        *self.selection_mut(section) = selection;
    }
}
