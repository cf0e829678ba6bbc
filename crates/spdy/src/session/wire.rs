//! The connection's two tasks: the writer, which batches queued frames onto the transport
//! (control frames first), and the reader, which parses frames and acts on each.

use super::*;

pub(super) async fn write_loop<W: AsyncWrite>(
    write: W,
    mut frames: mpsc::Receiver<Frame>,
    mut control: mpsc::UnboundedReceiver<Control>,
    shared: Arc<Shared>,
) {
    tokio::pin!(write);
    let mut compressor = Compressor::default();
    let mut buf = BytesMut::with_capacity(WRITE_BATCH + MAX_DATA_FRAME + 64);
    let mut shutdown = false;
    'outer: loop {
        // Control first (pings answered promptly), then stream frames, in order.
        let next = tokio::select! {
            biased;
            _ = shared.closed.cancelled() => break,
            c = control.recv() => c.map(Err),
            f = frames.recv() => f.map(Ok),
        };
        let Some(first) = next else { break };
        let mut item = Some(first);
        while let Some(next) = item.take() {
            match next {
                Err(Control::Frame(goaway @ Frame::GoAway { .. })) => {
                    // What the streams queued before it goes first: GOAWAY is the last word.
                    while let Ok(frame) = frames.try_recv() {
                        frame.encode(&mut compressor, &mut buf);
                    }
                    goaway.encode(&mut compressor, &mut buf);
                }
                Ok(frame) | Err(Control::Frame(frame)) => frame.encode(&mut compressor, &mut buf),
                Err(Control::Shutdown) => {
                    // What the streams queued before the close still goes out.
                    while let Ok(frame) = frames.try_recv() {
                        frame.encode(&mut compressor, &mut buf);
                    }
                    shutdown = true;
                    break;
                }
            }
            if buf.len() >= WRITE_BATCH {
                break;
            }
            item = match control.try_recv() {
                Ok(c) => Some(Err(c)),
                Err(_) => frames.try_recv().ok().map(Ok),
            };
        }
        // A peer that stops reading must not hold this task and the socket once the
        // connection is closed (by a keepalive that got no answer, or the forward stopping).
        let lingered = async {
            shared.goaway_sent.cancelled().await;
            tokio::time::sleep(CLOSE_LINGER).await;
        };
        let written = tokio::select! {
            _ = shared.closed.cancelled() => break 'outer,
            _ = lingered => {
                shared.close("the peer read nothing while the connection closed".to_string());
                break 'outer;
            }
            written = async {
                write.write_all(&buf).await?;
                write.flush().await
            } => written,
        };
        if let Err(e) = written {
            shared.close(format!("writing: {e}"));
            break 'outer;
        }
        buf.clear();
        if shutdown {
            let _ = tokio::time::timeout(CLOSE_LINGER, write.shutdown()).await;
            shared.close("closed".to_string());
            break;
        }
    }
}

pub(super) async fn read_loop<R: AsyncRead>(
    read: R,
    shared: Arc<Shared>,
    incoming: mpsc::Sender<Incoming>,
) {
    tokio::pin!(read);
    let mut decompressor = Decompressor::default();
    let mut buf = BytesMut::with_capacity(256 * 1024);
    let mut last_syn = 0u32;
    let why = 'read: loop {
        loop {
            let frame = match Frame::decode(&mut buf, &mut decompressor) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => break 'read format!("{e}"),
            };
            if let Some(why) = handle(frame, &shared, &incoming, &mut last_syn).await {
                break 'read why;
            }
        }
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        let n = tokio::select! {
            _ = shared.closed.cancelled() => break "closed".to_string(),
            n = read.read_buf(&mut buf) => n,
        };
        match n {
            Ok(0) => break "the peer closed the connection".to_string(),
            Ok(_) => shared.touch(),
            Err(e) => break format!("reading: {e}"),
        }
    };
    shared.close(why);
}

/// Acts on one frame; `Some(why)` ends the connection.
async fn handle(
    frame: Frame,
    shared: &Arc<Shared>,
    incoming: &mpsc::Sender<Incoming>,
    last_syn: &mut u32,
) -> Option<String> {
    let deliver = |id: u32, item: Inbound| {
        if let Some(entry) = shared.lock_streams().get_mut(&id) {
            entry.fin_received |= matches!(item, Inbound::Fin);
            let _ = entry.inbound.send(item);
        }
    };
    match frame {
        Frame::Data { id, fin, data } => {
            // Unknown, or after its FIN (a reader that has ended would never take it).
            let open = shared
                .lock_streams()
                .get(&id)
                .is_some_and(|e| !e.fin_received);
            if !open {
                return None;
            }
            if !data.is_empty() {
                // A slice left unread keeps the whole read buffer it arrived in, so a small
                // payload, or any while readers are behind, is copied out: what waits is then what
                // is counted. A reader that keeps up takes the slice as it is (copying every
                // frame cost 0.7 s of CPU per GiB and a sixth of the throughput in the benchmark).
                let data = if data.len() < COPY_BELOW || shared.budget.behind() {
                    Bytes::copy_from_slice(&data)
                } else {
                    data
                };
                let charged = cost(data.len());
                // Our readers are behind, not the peer: keepalive must not count this wait. A
                // connection closed meanwhile must not leave this task (and the transport it
                // holds) parked here until the slow reader goes.
                let paused = shared.budget.full();
                shared.paused.store(paused, Ordering::Relaxed);
                tokio::select! {
                    _ = shared.closed.cancelled() => return Some("closed".to_string()),
                    _ = shared.budget.reserve(charged) => {}
                }
                if paused {
                    shared.paused.store(false, Ordering::Relaxed);
                    shared.touch();
                }
                let sent = shared
                    .lock_streams()
                    .get(&id)
                    .map(|e| e.inbound.send(Inbound::Data(data)).is_ok());
                if sent != Some(true) {
                    shared.budget.release(charged);
                }
            }
            if fin {
                deliver(id, Inbound::Fin);
            }
        }
        Frame::SynStream { id, fin, headers } => {
            if shared.role == Role::Client {
                // The API server never opens streams toward a port-forward client.
                let _ = shared
                    .control
                    .send(Control::Frame(Frame::RstStream { id, status: CANCEL }));
                return None;
            }
            if id <= *last_syn {
                let _ = shared.control.send(Control::Frame(Frame::RstStream {
                    id,
                    status: PROTOCOL_ERROR,
                }));
                return None;
            }
            *last_syn = id;
            shared.last_received.store(id, Ordering::Release);
            let stream = super::register(shared, id, None);
            if fin {
                deliver(id, Inbound::Fin);
            }
            if incoming.send(Incoming { headers, stream }).await.is_err() {
                return Some("nobody accepts streams".to_string());
            }
        }
        Frame::SynReply { id, fin, .. } => {
            if let Some(entry) = shared.lock_streams().get_mut(&id)
                && let Some(replied) = entry.replied.take()
            {
                let _ = replied.send(());
            }
            if fin {
                deliver(id, Inbound::Fin);
            }
        }
        Frame::Headers { id, fin, .. } => {
            if fin {
                deliver(id, Inbound::Fin);
            }
        }
        Frame::RstStream { id, status } => {
            if let Some(entry) = shared.remove_stream(id) {
                let _ = entry.inbound.send(Inbound::Reset(status));
            }
        }
        Frame::Ping { id } => {
            let ours = (id % 2 == 1) == (shared.role == Role::Client);
            if ours {
                if let Some(waiter) = shared
                    .pings
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id)
                {
                    let _ = waiter.send(());
                }
            } else if shared.answer_pings.load(Ordering::Relaxed) {
                let _ = shared.control.send(Control::Frame(Frame::Ping { id }));
            }
        }
        // The drain writes what is queued, then our GOAWAY, then closes.
        Frame::GoAway { last_good, .. } => shared.peer_went_away(last_good),
        Frame::Settings | Frame::WindowUpdate { .. } => {}
    }
    None
}
