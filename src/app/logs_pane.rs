//! The logs pane's state: a bounded buffer of the microservice's lines (all pods interleaved, in
//! arrival order) and where the view is scrolled. Following sticks to the newest line; scrolling
//! up holds the view still while lines keep arriving below, and `G` follows again.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::logs::LogEvent;

/// Lines kept; older ones fall off so a chatty microservice cannot grow memory without bound.
pub const MAX_LINES: usize = 5_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneLine {
    /// The pod that wrote it; `None` for the pane's own notices (a pod started or went away).
    pub pod: Option<Arc<str>>,
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
        }
    }

    pub fn following(&self) -> bool {
        self.offset == 0
    }

    pub fn push(&mut self, event: LogEvent) {
        let line = match event {
            LogEvent::Line { pod, text } => PaneLine {
                pod: Some(pod),
                text,
            },
            LogEvent::Notice(text) => PaneLine { pod: None, text },
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
            pod: Arc::from("data-1"),
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
}
