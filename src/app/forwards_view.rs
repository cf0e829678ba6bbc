//! `p`: every forward of every cluster the dashboard has been on, with its cluster, address and
//! traffic; `x` stops the selected one (a cluster left behind included), `Esc` closes.

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Effect};
use crate::forward::{ForwardKey, ForwardView};

/// A forward of a cluster not on screen, as the event loop last copied it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwayForward {
    pub context: String,
    /// The alias, else the context.
    pub label: String,
    pub key: ForwardKey,
    pub view: ForwardView,
}

/// One row of the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardRow {
    /// `None` for the cluster on screen.
    pub context: Option<String>,
    pub cluster: String,
    pub key: ForwardKey,
    pub view: ForwardView,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardsKey {
    Move(isize),
    Stop,
    Close,
}

pub fn key(key: KeyEvent) -> Option<Action> {
    let action = match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('p') => ForwardsKey::Close,
        KeyCode::Up | KeyCode::Char('k') => ForwardsKey::Move(-1),
        KeyCode::Down | KeyCode::Char('j') => ForwardsKey::Move(1),
        KeyCode::Char('x') | KeyCode::Char('f') | KeyCode::Delete => ForwardsKey::Stop,
        _ => return None,
    };
    Some(Action::ForwardsView(action))
}

impl App {
    /// The cluster on screen's forwards first, then the others', by cluster.
    pub fn forward_rows(&self) -> Vec<ForwardRow> {
        let here = self
            .connection
            .alias
            .clone()
            .unwrap_or_else(|| self.connection.context.clone());
        self.forwards
            .iter()
            .map(|(key, view)| ForwardRow {
                context: None,
                cluster: here.clone(),
                key: key.clone(),
                view: view.clone(),
            })
            .chain(self.away_forwards.iter().map(|f| ForwardRow {
                context: Some(f.context.clone()),
                cluster: f.label.clone(),
                key: f.key.clone(),
                view: f.view.clone(),
            }))
            .collect()
    }

    pub(super) fn update_forwards_view(&mut self, key: ForwardsKey) -> bool {
        let Some(selected) = self.forwards_view else {
            return false;
        };
        let rows = self.forward_rows();
        match key {
            ForwardsKey::Close => self.forwards_view = None,
            ForwardsKey::Move(delta) => {
                let last = rows.len().saturating_sub(1) as isize;
                self.forwards_view = Some((selected as isize + delta).clamp(0, last) as usize);
            }
            ForwardsKey::Stop => {
                let Some(row) = rows.get(selected) else {
                    return false;
                };
                self.effects.push(match &row.context {
                    None => Effect::StopForward(row.key.clone()),
                    Some(context) => Effect::StopForwardOn(context.clone(), row.key.clone()),
                });
                let text = format!("stopping {} on {}", row.key, row.cluster);
                return self.flash(text);
            }
        }
        true
    }
}
