//! Moving the dashboard to another cluster. The view of the cluster left (its filter, focus,
//! selections, open panes) is kept for the return; what belongs to the dashboard rather than to
//! a cluster (the terminal's size, colour, read-only, the clusters offered, the last replay
//! identity) comes along.

use std::sync::Arc;

use super::{App, Connection, Effect};
use crate::cluster::Snapshot;
use crate::detail::live::Seed;

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
        // What was transient there is gone when it comes back.
        left.flash = None;
        left.help_open = false;
        left.effects.clear();
        self.away_views
            .insert(left.connection.context.clone(), Box::new(left));
        self.take_snapshot(snapshot);
        self.refresh_detail_urls();
        self.resume_panes();
        true
    }

    /// A view come back to: its detail view and logs pane follow again (their followers stopped
    /// with the jobs of the cluster when it was left). A microservice gone meanwhile closes its
    /// detail view; its logs pane says what the follower finds.
    fn resume_panes(&mut self) {
        if let Some(pane) = &self.detail {
            let row = (self.snapshot.sections.iter())
                .flat_map(|s| s.rows.iter())
                .find(|m| m.namespace == pane.namespace && m.name == pane.name);
            match row {
                Some(row) => self.effects.push(Effect::StartDetail(Seed::of(row))),
                None => self.detail = None,
            }
        }
        if let Some(pane) = &self.logs {
            self.logs_session += 1;
            let pane = pane.with_choice(pane.choice.clone(), self.logs_session);
            self.effects.push(Effect::StartLogs {
                session: pane.session,
                namespace: pane.namespace.clone(),
                name: pane.name.clone(),
                containers: pane.choice.clone(),
            });
            self.logs = Some(pane);
        }
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

    #[test]
    fn a_cluster_come_back_to_has_its_filter_selection_and_panes() {
        let mut app = app_with_rows();
        app.connection.context = "dev".into();
        let snapshot = app.snapshot.clone();
        for action in [
            Action::SwitchTable,
            Action::StartFilter,
            Action::FilterInput('a'),
            Action::FinishFilter,
            Action::OpenDetail,
        ] {
            app.update(action);
        }
        app.effects.clear();
        app.read_only = true;

        app.update(to("staging", &snapshot));
        assert_eq!(app.connection.context, "staging");
        assert_eq!(app.focus, Section::Custom, "a fresh view");
        assert!(app.filter.text.is_empty() && app.detail.is_none());
        assert!(app.read_only, "the dashboard's own state comes along");
        assert!(app.effects.is_empty());
        app.update(Action::StartFilter);
        app.update(Action::FilterInput('m'));

        app.update(to("dev", &snapshot));
        assert_eq!(app.focus, Section::Hasura);
        assert_eq!(app.filter.text, "a");
        assert_eq!(app.selected().map(|m| m.name.as_str()), Some("data"));
        let pane = app.detail.as_ref().expect("the detail view is open again");
        assert_eq!(
            (pane.namespace.as_str(), pane.name.as_str()),
            ("hasura", "data")
        );
        assert!(
            matches!(app.effects.as_slice(), [Effect::StartDetail(_)]),
            "its follower starts again: {:?}",
            app.effects
        );
        assert!(app.read_only);

        app.effects.clear();
        app.update(to("staging", &snapshot));
        assert_eq!(app.filter.text, "m", "and the other one kept its own");
        assert!(app.filter.editing);
    }
}
