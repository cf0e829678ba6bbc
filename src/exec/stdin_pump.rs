//! Stdin for a remote command, read on a thread of its own that can be stopped.
//!
//! Neither tokio's stdin nor a `StdinLock` will do: both read ahead into a buffer or block in
//! `read(2)` until a key comes, so after the session the next key the person types would go to
//! a dead session instead of the dashboard. This thread waits with `poll(2)` in short steps,
//! reads only what is there, and stops between steps when told.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use tokio::sync::mpsc;

/// How long the thread waits before it looks at the stop flag again.
const STEP: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 50_000_000,
};

pub struct StdinPump {
    stop: Arc<AtomicBool>,
    /// Gives the sender back when stopped before the input ended (so reading can resume).
    thread: Option<JoinHandle<Option<mpsc::Sender<Vec<u8>>>>>,
}

impl StdinPump {
    /// Sends what is typed or piped to `tx` until stopped, the end of input, or `tx` closes
    /// (the channel then ends, which closes the remote stdin).
    pub fn start(tx: mpsc::Sender<Vec<u8>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("exec-stdin".into())
            .spawn(move || pump(&tx, &flag).then_some(tx))
            .ok();
        StdinPump { stop, thread }
    }

    /// Stops reading; returns once the thread has let go of stdin, with the sender when the
    /// input had not ended (`StdinPump::start` with it resumes where this stopped: a pause).
    pub async fn stop(mut self) -> Option<mpsc::Sender<Vec<u8>>> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take()?;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .ok()?
            .ok()?
    }
}

/// Reads until stopped (true) or until the input or the channel ends (false).
fn pump(tx: &mpsc::Sender<Vec<u8>>, stop: &AtomicBool) -> bool {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let mut buffer = [0u8; 4096];
    loop {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        if tx.is_closed() {
            return false;
        }
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&STEP)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
        match rustix::io::read(fd, &mut buffer) {
            // The end of input (a pipe's writer closed, or ^D on a cooked terminal).
            Ok(0) => return false,
            Ok(n) => {
                if tx.blocking_send(buffer[..n].to_vec()).is_err() {
                    return false;
                }
            }
            Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => continue,
            Err(_) => return false,
        }
    }
}
