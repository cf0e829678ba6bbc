//! Moving the dashboard to another cluster. The view of the cluster left (its filter, focus,
//! selections and their scroll) is kept for the return; what belongs to the dashboard rather than to
//! a cluster (the terminal's size, colour, read-only, the clusters offered, the last replay
//! identity) comes along.

use std::sync::Arc;

use super::{App, Connection};
use crate::cluster::Snapshot;

/// The cluster the dashboard moves to, as the event loop has opened it.
#[derive(Clone, Debug)]
pub struct SwitchedCluster {
    pub connection: Connection,
    pub snapshot: Arc<Snapshot>,
}

impl App {
    pub(super) fn switch_cluster(&mut self, to: SwitchedCluster) -> bool {
        let SwitchedCluster {
            connection,
            snapshot,
        } = to;
        let mut next = match self.away_views.remove(&connection.context) {
            Some(kept) => *kept,
            None => App::new(connection.clone(), snapshot.clone(), self.size, self.now),
        };
        next.size = self.size;
        next.now = self.now;
        next.wall_clock = self.wall_clock;
        next.read_only = self.read_only;
        next.color = self.color;
        next.contexts = std::mem::take(&mut self.contexts);
        next.replay_identity = self.replay_identity.take();
        next.away_views = std::mem::take(&mut self.away_views);
        // Sessions keep counting across clusters: a closed pane's late lines stay told apart.
        next.logs_session = next.logs_session.max(self.logs_session);
        next.connection = connection;
        let mut left = std::mem::replace(self, next);
        // What was transient there is gone when it comes back. No pane can be open (the
        // picker that switches is reached from the tables), and a pane's follower would have
        // stopped with the cluster's jobs.
        left.flash = None;
        left.help_open = false;
        left.effects.clear();
        left.detail = None;
        left.logs = None;
        self.away_views
            .insert(left.connection.context.clone(), Box::new(left));
        self.take_snapshot(snapshot);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Action, tests::app_with_rows};
    use crate::model::Section;

    fn to(context: &str, snapshot: &Arc<Snapshot>) -> Action {
        Action::SwitchedCluster(Box::new(SwitchedCluster {
            connection: Connection {
                context: context.into(),
                ..Connection::default()
            },
            snapshot: snapshot.clone(),
        }))
    }

    /// What a cluster's feed publishes first: both tables syncing, no rows yet.
    fn syncing(full: &Snapshot) -> Arc<Snapshot> {
        let mut first = full.clone();
        for section in first.sections.iter_mut() {
            section.state = crate::cluster::WatchState::Syncing;
            section.rows = Arc::default();
        }
        Arc::new(first)
    }

    #[test]
    fn a_cluster_come_back_to_has_its_filter_focus_and_selection() {
        let mut app = app_with_rows();
        app.connection.context = "dev".into();
        let full = app.snapshot.clone();
        for action in [
            Action::SwitchTable,
            Action::StartFilter,
            Action::FilterInput('a'),
            Action::FinishFilter,
        ] {
            app.update(action);
        }
        assert_eq!(app.selected().map(|m| m.name.as_str()), Some("data"));
        app.read_only = true;

        app.update(to("staging", &syncing(&full)));
        assert_eq!(app.connection.context, "staging");
        assert_eq!(app.focus, Section::Custom, "a fresh view");
        assert!(app.filter.text.is_empty());
        assert!(app.read_only, "the dashboard's own state comes along");
        app.update(Action::Snapshot(full.clone()));
        app.update(Action::StartFilter);
        app.update(Action::FilterInput('m'));

        // Back on dev, its watches start again: the selection waits for the rows.
        app.update(to("dev", &syncing(&full)));
        assert_eq!(app.focus, Section::Hasura);
        assert_eq!(app.filter.text, "a");
        assert_eq!(app.selection(Section::Hasura).name.as_deref(), Some("data"));
        app.update(Action::Snapshot(full.clone()));
        assert_eq!(app.selected().map(|m| m.name.as_str()), Some("data"));
        assert!(app.read_only && app.effects.is_empty());

        app.update(to("staging", &syncing(&full)));
        assert_eq!(app.filter.text, "m", "and the other one kept its own");
        assert!(app.filter.editing);
    }
}
