//! The dashboard's key reader: crossterm's `EventStream`, stopped while another program has the
//! terminal and made afresh when keys are wanted again.
//!
//! The order matters. `EventStream::new` takes crossterm's global event-reader lock, which a
//! stream's polling thread holds for as long as it waits for input (crossterm 0.29
//! `event/stream.rs`: the thread calls `poll_internal(None, ..)`, which locks the reader and
//! blocks); only that stream's `drop` wakes the thread. Making the new stream before dropping
//! the old one (`mem::replace`) therefore blocked the event loop for good whenever the thread
//! was waiting, and a sign-in prompt mid-session never showed (seen in CI, under load).

use std::io;

use crossterm::event::{Event, EventStream};
use futures::StreamExt;

#[derive(Default)]
pub struct KeyReader {
    stream: Option<EventStream>,
}

impl KeyReader {
    /// The next terminal event; starts reading when stopped.
    pub async fn next(&mut self) -> Option<io::Result<Event>> {
        self.stream
            .get_or_insert_with(EventStream::new)
            .next()
            .await
    }

    /// Stops reading, so another program gets every key typed. Dropping the stream wakes its
    /// polling thread, which lets go of the terminal and ends.
    pub fn stop(&mut self) {
        self.stream = None;
    }
}
