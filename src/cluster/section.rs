//! One namespace's side of the feed: the slim store of its objects, how each kind's watch
//! stands, and the rows built from them (rebuilt only where a change touched them).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::store::{NamespaceStore, ObjectKind};
use super::watch::Failure;
use super::{Metrics, Rows, SectionView, WatchState};
use crate::model::{Routes, Section, build_microservices, merge_rows};

/// What the header says while requests wait unanswered.
pub const STALL_REASON: &str = "no answer from the API server (requests accepted, never answered)";

#[derive(Clone, Debug, PartialEq)]
pub(super) enum KindState {
    Syncing,
    Synced,
    Failed(Failure),
}

pub(super) struct SectionState {
    pub(super) section: Section,
    pub(super) namespace: String,
    pub(super) store: NamespaceStore,
    pub(super) kinds: HashMap<ObjectKind, KindState>,
    pub(super) rows: Rows,
    pub(super) ever_synced: bool,
    pub(super) failing_since: Option<Instant>,
    pub(super) dirty: bool,
    pub(super) metrics: Metrics,
    /// Every kind has been listed once (or failed): the metrics reading waits for it, so
    /// the first figures do not compete with the first lists for the cores.
    pub(super) listed: tokio::sync::watch::Sender<bool>,
}

impl SectionState {
    pub(super) fn new(section: Section, namespace: String) -> Self {
        SectionState {
            section,
            namespace,
            store: NamespaceStore::default(),
            kinds: ObjectKind::ALL
                .into_iter()
                .map(|k| (k, KindState::Syncing))
                .collect(),
            rows: Arc::new(Vec::new()),
            ever_synced: false,
            failing_since: None,
            dirty: true,
            metrics: Metrics::Off,
            listed: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The kinds these credentials may not list.
    pub(super) fn forbidden_kinds(&self) -> Vec<ObjectKind> {
        ObjectKind::ALL
            .into_iter()
            .filter(|k| {
                matches!(
                    self.kinds.get(k),
                    Some(KindState::Failed(Failure::Forbidden(_)))
                )
            })
            .collect()
    }

    /// One state for the namespace. A forbidden kind alone does not fail it: the rows show what
    /// the other kinds allow, and a note says what is missing. Only when neither workloads nor
    /// Services may be listed is the whole table forbidden.
    pub(super) fn state(&self) -> WatchState {
        let failures: Vec<&Failure> = self
            .kinds
            .values()
            .filter_map(|k| match k {
                KindState::Failed(f) => Some(f),
                _ => None,
            })
            .collect();
        if let Some(f) = failures
            .iter()
            .find(|f| matches!(f, Failure::Unauthorized(_)))
        {
            return WatchState::Error(f.message().to_string());
        }
        let forbidden = self.forbidden_kinds();
        let nothing_to_show = [
            ObjectKind::Deployment,
            ObjectKind::StatefulSet,
            ObjectKind::Service,
        ]
        .iter()
        .all(|k| forbidden.contains(k));
        if nothing_to_show
            && let Some(Failure::Forbidden(m)) =
                self.kinds.get(&ObjectKind::Service).and_then(|k| match k {
                    KindState::Failed(f) => Some(f),
                    _ => None,
                })
        {
            return WatchState::Forbidden(format!("forbidden: {m}"));
        }
        if let Some(f) = failures
            .iter()
            .find(|f| !matches!(f, Failure::Forbidden(_)))
        {
            return WatchState::Reconnecting {
                since: self.failing_since.unwrap_or_else(Instant::now),
                reason: f.message().to_string(),
            };
        }
        if self.kinds.values().all(|k| {
            matches!(
                k,
                KindState::Synced | KindState::Failed(Failure::Forbidden(_))
            )
        }) {
            WatchState::Synced
        } else {
            WatchState::Syncing
        }
    }

    /// What the table cannot show, one phrase per forbidden kind, for the line under its title.
    pub(super) fn notes(&self) -> Vec<String> {
        let forbidden = self.forbidden_kinds();
        let unknown = || {
            let names: Vec<&str> = self
                .rows
                .iter()
                .filter(|m| m.status == crate::model::Status::Unknown)
                .map(|m| m.name.as_str())
                .collect();
            match names.len() {
                0 => String::new(),
                1..=3 => format!(" ({}: status unknown)", names.join(", ")),
                n => format!(
                    " ({} and {} more: status unknown)",
                    names[..2].join(", "),
                    n - 2
                ),
            }
        };
        forbidden
            .iter()
            .map(|kind| match kind {
                ObjectKind::Deployment | ObjectKind::StatefulSet => {
                    format!("{}: forbidden{}", kind.plural(), unknown())
                }
                ObjectKind::Service => "services: forbidden (no internal URLs)".to_string(),
                ObjectKind::Pod => "pods: forbidden (status from the workloads)".to_string(),
                ObjectKind::Ingress => {
                    "ingresses: forbidden (external URLs from routes only)".to_string()
                }
            })
            .collect()
    }

    pub(super) fn set_kind(&mut self, kind: ObjectKind, state: KindState) {
        if matches!(state, KindState::Failed(_)) {
            self.failing_since.get_or_insert_with(Instant::now);
        }
        if self.kinds.get(&kind) != Some(&state) {
            self.kinds.insert(kind, state);
            self.dirty = true;
        }
        if !self
            .kinds
            .values()
            .any(|k| matches!(k, KindState::Failed(_)))
        {
            self.failing_since = None;
        }
    }

    /// Builds the rows the store's changes touched again: all of them after a relist or a
    /// routes change, else only the changed microservices, merged into the previous rows. Under
    /// churn that is a few rows per snapshot instead of the whole namespace.
    pub(super) fn rebuild_rows(&mut self, routes: Option<&Routes>) {
        let changes = self.store.take_changes();
        if changes.all {
            self.rows = super::rows(build_microservices(
                self.section,
                self.store.objects(),
                routes,
            ));
        } else if !changes.names.is_empty() {
            let subset = self.store.subset(&changes.names);
            let fresh = build_microservices(self.section, &subset, routes);
            self.rows = Arc::new(merge_rows(&self.rows, &changes.names, fresh));
        }
    }

    /// `stalled`: since when a request has waited for an answer, if too long.
    pub(super) fn view(&self, stalled: Option<Instant>) -> SectionView {
        let mut state = self.state();
        if let Some(since) = stalled
            && !matches!(state, WatchState::Forbidden(_) | WatchState::Error(_))
        {
            // The watches may look fine (open, quiet), but nothing new can arrive.
            state = WatchState::Reconnecting {
                since,
                reason: STALL_REASON.to_string(),
            };
        }
        SectionView {
            section: self.section,
            namespace: self.namespace.clone(),
            rows: self.rows.clone(),
            stale: state.is_failed() && self.ever_synced,
            notes: if matches!(state, WatchState::Forbidden(_)) {
                Vec::new()
            } else {
                self.notes()
            },
            state,
            metrics: self.metrics,
        }
    }
}
