//! The logs pane's state: a bounded buffer of the microservice's lines (all pods interleaved, in
//! arrival order), where the view is scrolled, and which containers it shows. Following sticks
//! to the newest line; scrolling up holds the view still while lines keep arriving below, and `G`
//! follows again. `c` steps from the default container through the others to all of them.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::logs::{ContainerChoice, LogEvent};

/// Lines kept; older ones fall off so a chatty microservice cannot grow memory without bound.
pub const MAX_LINES: usize = 5_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneLine {
    /// The pod (or `pod/container`) that wrote it; `None` for the pane's own notices (a pod
    /// started or went away).
    pub source: Option<Arc<str>>,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct LogsPane {
    pub namespace: String,
    pub name: String,
    /// Tells this pane's lines from those of a pane closed earlier, still in the channel.
    pub session: u64,
    pub lines: VecDeque<PaneLine>,
    /// Lines between the bottom of the view and the newest line; 0 follows.
    pub offset: usize,
    /// Lines dropped off the front since the pane opened.
    pub dropped: u64,
    pub choice: ContainerChoice,
    /// The pods' containers as the follower last reported them, and the default one.
    pub containers: Vec<String>,
    pub default_container: Option<String>,
}

impl LogsPane {
    pub fn new(namespace: &str, name: &str, session: u64) -> Self {
        LogsPane {
            namespace: namespace.to_string(),
            name: name.to_string(),
            session,
            lines: VecDeque::new(),
            offset: 0,
            dropped: 0,
            choice: ContainerChoice::Default,
            containers: Vec::new(),
            default_container: None,
        }
    }

    /// The same microservice with other containers, for a new follower `session`: the lines
    /// start again, the known containers stay.
    pub fn with_choice(&self, choice: ContainerChoice, session: u64) -> Self {
        LogsPane {
            choice,
            containers: self.containers.clone(),
            default_container: self.default_container.clone(),
            ..LogsPane::new(&self.namespace, &self.name, session)
        }
    }

    /// The container `c` moves to: the next one after the shown one, all of them after the
    /// last, then the first again. `None` while the pods have only one container.
    pub fn next_choice(&self) -> Option<ContainerChoice> {
        if self.containers.len() < 2 {
            return None;
        }
        let shown = match &self.choice {
            ContainerChoice::Default => self.default_container.as_ref(),
            ContainerChoice::Named(name) => Some(name),
            ContainerChoice::All => {
                return Some(ContainerChoice::Named(self.containers[0].clone()));
            }
        };
        let index = shown.and_then(|s| self.containers.iter().position(|c| c == s));
        Some(match index.map(|i| self.containers.get(i + 1)) {
            Some(Some(next)) => ContainerChoice::Named(next.clone()),
            Some(None) => ContainerChoice::All,
            None => ContainerChoice::Named(self.containers[0].clone()),
        })
    }

    /// What the title says is shown: `container data (default)`, `all containers`.
    pub fn shown_containers(&self) -> Option<String> {
        match &self.choice {
            ContainerChoice::All => Some("all containers".to_string()),
            ContainerChoice::Named(name) if Some(name) == self.default_container.as_ref() => {
                Some(format!("container {name} (default)"))
            }
            ContainerChoice::Named(name) => Some(format!("container {name}")),
            ContainerChoice::Default => self
                .default_container
                .as_ref()
                .map(|name| format!("container {name} (default)")),
        }
    }

    pub fn following(&self) -> bool {
        self.offset == 0
    }

    pub fn push(&mut self, event: LogEvent) {
        let line = match event {
            LogEvent::Line { source, text } => PaneLine {
                source: Some(source),
                text,
            },
            LogEvent::Notice(text) => PaneLine { source: None, text },
            LogEvent::Containers { names, default } => {
                self.containers = names;
                self.default_container = default;
                return;
            }
        };
        self.lines.push_back(line);
        if self.lines.len() > MAX_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
        if self.offset > 0 {
            // Keep the same lines in view while scrolled back.
            self.offset = (self.offset + 1).min(self.max_offset());
        }
    }

    fn max_offset(&self) -> usize {
        self.lines.len().saturating_sub(1)
    }

    /// Scrolls by `delta` lines (negative is up, back in time), within `viewport` lines on screen.
    pub fn scroll(&mut self, delta: isize, viewport: usize) {
        let limit = self.lines.len().saturating_sub(viewport.max(1));
        let offset = self.offset as isize - delta;
        self.offset = offset.clamp(0, limit as isize) as usize;
    }

    pub fn top(&mut self, viewport: usize) {
        self.offset = self.lines.len().saturating_sub(viewport.max(1));
    }

    pub fn follow(&mut self) {
        self.offset = 0;
    }

    /// The lines a view `height` lines high shows, oldest first.
    pub fn window(&self, height: usize) -> impl Iterator<Item = &PaneLine> + '_ {
        let end = self.lines.len().saturating_sub(self.offset);
        let start = end.saturating_sub(height);
        self.lines.range(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> LogEvent {
        LogEvent::Line {
            source: Arc::from("data-1"),
            text: format!("line {n}"),
        }
    }

    fn texts(pane: &LogsPane, height: usize) -> Vec<String> {
        pane.window(height).map(|l| l.text.clone()).collect()
    }

    #[test]
    fn following_shows_the_newest_lines() {
        let mut pane = LogsPane::new("hasura", "data", 1);
        (0..10).for_each(|n| pane.push(line(n)));
        assert_eq!(texts(&pane, 3), ["line 7", "line 8", "line 9"]);
        assert!(pane.following());
    }

    #[test]
    fn scrolled_back_the_view_holds_while_lines_arrive_and_g_follows_again() {
        let mut pane = LogsPane::new("hasura", "data", 1);
        (0..10).for_each(|n| pane.push(line(n)));
        pane.scroll(-2, 3);
        assert_eq!(texts(&pane, 3), ["line 5", "line 6", "line 7"]);
        pane.push(line(10));
        assert_eq!(texts(&pane, 3), ["line 5", "line 6", "line 7"]);
        pane.top(3);
        assert_eq!(texts(&pane, 3), ["line 0", "line 1", "line 2"]);
        pane.scroll(-5, 3);
        assert_eq!(texts(&pane, 3), ["line 0", "line 1", "line 2"]);
        pane.follow();
        assert_eq!(texts(&pane, 3), ["line 8", "line 9", "line 10"]);
        pane.scroll(100, 3);
        assert!(pane.following());
    }

    #[test]
    fn the_buffer_is_bounded() {
        let mut pane = LogsPane::new("hasura", "data", 1);
        (0..MAX_LINES + 25).for_each(|n| pane.push(line(n)));
        assert_eq!(pane.lines.len(), MAX_LINES);
        assert_eq!(pane.dropped, 25);
        assert_eq!(pane.lines.front().unwrap().text, "line 25");
    }

    #[test]
    fn c_steps_from_the_default_through_the_others_to_all_and_round() {
        let mut pane = LogsPane::new("hasura", "filestore", 1);
        assert_eq!(
            pane.next_choice(),
            None,
            "nothing to choose before the pods are known"
        );
        pane.push(LogEvent::Containers {
            names: vec!["cloud-sql-proxy".into(), "filestore".into()],
            default: Some("filestore".into()),
        });
        assert!(pane.lines.is_empty());
        assert_eq!(
            pane.shown_containers().as_deref(),
            Some("container filestore (default)")
        );
        let mut seen = Vec::new();
        for session in 2..6 {
            let next = pane.next_choice().unwrap();
            pane = pane.with_choice(next, session);
            seen.push(pane.shown_containers().unwrap());
        }
        assert_eq!(
            seen,
            [
                "all containers",
                "container cloud-sql-proxy",
                "container filestore (default)",
                "all containers"
            ]
        );
        assert_eq!(
            pane.containers.len(),
            2,
            "known containers survive the switch"
        );
    }
}
