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
    thread: Option<JoinHandle<()>>,
}

impl StdinPump {
    /// Sends what is typed or piped to `tx` until stopped, the end of input, or `tx` closes
    /// (the channel then ends, which closes the remote stdin).
    pub fn start(tx: mpsc::Sender<Vec<u8>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("exec-stdin".into())
            .spawn(move || pump(&tx, &flag))
            .ok();
        StdinPump { stop, thread }
    }

    /// Stops reading; returns once the thread has let go of stdin.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn pump(tx: &mpsc::Sender<Vec<u8>>, stop: &AtomicBool) {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) && !tx.is_closed() {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&STEP)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return,
        }
        match rustix::io::read(fd, &mut buffer) {
            // The end of input (a pipe's writer closed, or ^D on a cooked terminal).
            Ok(0) => return,
            Ok(n) => {
                if tx.blocking_send(buffer[..n].to_vec()).is_err() {
                    return;
                }
            }
            Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => continue,
            Err(_) => return,
        }
    }
}
