//! `d`: the detail view of the selected microservice (k9s's describe key), live from watches
//! the event loop starts (`detail::live`), `Esc` back to the table with the selection where it
//! was. When the microservice is forwarded, the pane also keeps the forward's traffic per second
//! for the last two minutes, for its sparklines.

use std::collections::VecDeque;

use super::{App, Effect};
use crate::detail::live::Seed;
use crate::detail::{Detail, Urls, routes};

/// Seconds of traffic the sparklines show.
pub const TRAFFIC_SECONDS: usize = 120;

#[derive(Clone, Debug, PartialEq)]
pub struct DetailPane {
    pub namespace: String,
    pub name: String,
    pub detail: Detail,
    /// Lines scrolled down from the top.
    pub scroll: usize,
    /// Bytes per second (sent to the pod, received from it), oldest first.
    pub traffic: VecDeque<(u64, u64)>,
    /// The forward's totals at the last sample.
    last_totals: Option<(u64, u64)>,
}

impl DetailPane {
    fn new(namespace: &str, name: &str, urls: Urls) -> Self {
        let mut detail = Detail::loading(namespace, name);
        detail.urls = urls;
        DetailPane {
            namespace: namespace.to_string(),
            name: name.to_string(),
            detail,
            scroll: 0,
            traffic: VecDeque::with_capacity(TRAFFIC_SECONDS),
            last_totals: None,
        }
    }
}

impl App {
    /// `d` on the selected row.
    pub(super) fn open_detail(&mut self) -> bool {
        let Some(m) = self.selected() else {
            return false;
        };
        let urls = routes::urls(m, &self.snapshot.route_sources);
        let pane = DetailPane::new(&m.namespace, &m.name, urls);
        self.effects.push(Effect::StartDetail(Seed::of(m)));
        self.detail = Some(pane);
        true
    }

    /// A new snapshot: the routes (and URLs) of the microservice in view may have changed.
    pub(super) fn refresh_detail_urls(&mut self) {
        let Some(pane) = &self.detail else {
            return;
        };
        let row = (self.snapshot.sections.iter())
            .flat_map(|s| s.rows.iter())
            .find(|m| m.namespace == pane.namespace && m.name == pane.name);
        let Some(row) = row else {
            return;
        };
        let urls = routes::urls(row, &self.snapshot.route_sources);
        if let Some(pane) = &mut self.detail {
            pane.detail.urls = urls;
        }
    }

    pub(super) fn close_detail(&mut self) -> bool {
        if self.detail.take().is_none() {
            return false;
        }
        self.effects.push(Effect::StopDetail);
        true
    }

    /// A new account of the microservice from the watches.
    pub(super) fn take_detail(&mut self, mut detail: Detail) -> bool {
        let Some(pane) = &mut self.detail else {
            return false;
        };
        if pane.namespace != detail.namespace || pane.name != detail.name {
            return false;
        }
        detail.urls = pane.detail.urls.clone();
        if pane.detail == detail {
            return false;
        }
        pane.detail = detail;
        true
    }

    pub(super) fn scroll_detail(&mut self, delta: isize) -> bool {
        let Some(pane) = &mut self.detail else {
            return false;
        };
        pane.scroll = pane.scroll.saturating_add_signed(delta);
        true
    }

    /// One second of the detail's forward traffic; true when there is a forward to sample.
    pub(super) fn sample_traffic(&mut self) -> bool {
        let Some(pane) = &mut self.detail else {
            return false;
        };
        let key = crate::forward::ForwardKey::new(&pane.namespace, &pane.name);
        let Some(view) = self.forwards.get(&key) else {
            pane.last_totals = None;
            return false;
        };
        let totals = (view.stats.sent, view.stats.received);
        if let Some((sent, received)) = pane.last_totals {
            if pane.traffic.len() == TRAFFIC_SECONDS {
                pane.traffic.pop_front();
            }
            pane.traffic.push_back((
                totals.0.saturating_sub(sent),
                totals.1.saturating_sub(received),
            ));
        }
        pane.last_totals = Some(totals);
        true
    }
}
