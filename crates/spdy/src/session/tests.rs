use super::budget::MAX_BUFFERED;
use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pair() -> (Session, Session, mpsc::Receiver<Incoming>) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let client = Session::client(a);
    let (server, incoming) = Session::start(b, Role::Server);
    (client, server, incoming)
}

fn headers(kind: &str, id: u32) -> Headers {
    vec![
        ("streamtype".into(), kind.into()),
        ("port".into(), "80".into()),
        ("requestid".into(), id.to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_opened_at_once_from_many_tasks_reach_the_peer_in_id_order() {
    let (client, _server, mut incoming) = pair();
    let opening = (0..400).map(|i| {
        let client = client.clone();
        tokio::spawn(async move { client.open(headers("data", i), true).await.unwrap() })
    });
    let streams = futures::future::join_all(opening).await;
    let (mut last, mut accepted) = (0, Vec::new());
    for _ in 0..400 {
        let offered = incoming.recv().await.unwrap();
        assert!(offered.id() > last, "{} after {last}", offered.id());
        last = offered.id();
        accepted.push(offered.accept().await.unwrap());
    }
    for stream in streams {
        stream.unwrap().replied().await.unwrap();
    }
}

#[tokio::test]
async fn streams_carry_bytes_both_ways_and_half_close_each_way() {
    let (client, _server, mut incoming) = pair();
    let mut stream = client.open(headers("data", 0), false).await.unwrap();
    let offered = incoming.recv().await.unwrap();
    assert_eq!(
        super::super::headers::get(&offered.headers, "StreamType"),
        Some("data")
    );
    let mut served = offered.accept().await.unwrap();
    stream.replied().await.unwrap();

    let big = vec![7u8; 1_000_000];
    stream.write_all(&big).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut got = Vec::new();
    served.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, big, "the server read up to the client's FIN");
    // The other way still works after the client's half-close.
    served.write_all(b"late reply").await.unwrap();
    served.shutdown().await.unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply, b"late reply");
}

#[tokio::test]
async fn a_reset_is_an_error_and_a_dropped_stream_resets() {
    let (client, _server, mut incoming) = pair();
    let mut stream = client.open(headers("data", 0), false).await.unwrap();
    incoming.recv().await.unwrap().reject();
    let mut buf = [0u8; 1];
    let err = stream.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    assert!(stream.replied().await.is_err());

    let stream = client.open(headers("data", 1), false).await.unwrap();
    let mut served = incoming.recv().await.unwrap().accept().await.unwrap();
    drop(stream);
    let err = served.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn pings_are_echoed_and_a_closed_peer_ends_the_streams() {
    let (client, server, mut incoming) = pair();
    client.ping().await.unwrap();
    server.ping().await.unwrap();
    let mut stream = client.open(headers("data", 0), false).await.unwrap();
    let _served = incoming.recv().await.unwrap().accept().await.unwrap();
    server.close();
    client.closed().await;
    let mut buf = [0u8; 1];
    assert_eq!(
        stream.read(&mut buf).await.unwrap_err().kind(),
        io::ErrorKind::ConnectionAborted
    );
}

/// A peer that only writes frames and reads what this side wrote.
struct RawPeer {
    io: tokio::io::DuplexStream,
    c: Compressor,
    d: Decompressor,
    buf: BytesMut,
}

impl RawPeer {
    fn new(io: tokio::io::DuplexStream) -> Self {
        RawPeer {
            io,
            c: Compressor::default(),
            d: Decompressor::default(),
            buf: BytesMut::new(),
        }
    }

    async fn send(&mut self, frames: Vec<Frame>) {
        let mut out = BytesMut::new();
        for frame in frames {
            frame.encode(&mut self.c, &mut out);
        }
        self.io.write_all(&out).await.unwrap();
    }

    /// The next frame the session wrote; None once it closed the transport.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = Frame::decode(&mut self.buf, &mut self.d).unwrap() {
                return Some(frame);
            }
            let read =
                tokio::time::timeout(Duration::from_secs(5), self.io.read_buf(&mut self.buf));
            match read.await.expect("a frame within 5 s") {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

#[tokio::test]
async fn goaway_lets_the_streams_it_names_finish_and_refuses_the_rest() {
    let (raw, b) = tokio::io::duplex(1 << 20);
    let mut peer = RawPeer::new(raw);
    let client = Session::client(b);
    let mut named = client.open(headers("data", 0), false).await.unwrap();
    let mut unseen = client.open(headers("data", 1), false).await.unwrap();
    assert_eq!((named.id(), unseen.id()), (1, 3));
    // The peer took stream 1 and not 3, then goes away; stream 1's reply still comes.
    peer.send(vec![
        Frame::GoAway {
            last_good: 1,
            status: 0,
        },
        Frame::Data {
            id: 1,
            fin: true,
            data: Bytes::from_static(b"late reply"),
        },
    ])
    .await;
    let mut buf = [0u8; 1];
    let refused = unseen.read(&mut buf).await.unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionReset, "{refused}");
    let mut reply = Vec::new();
    named.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply, b"late reply");
    assert!(!client.accepts_streams(), "no new streams after GOAWAY");
    assert!(client.open(headers("data", 2), false).await.is_err());
    named.shutdown().await.unwrap();
    drop((named, unseen));
    // Its last stream done, the session says GOAWAY itself and ends.
    let mut seen = Vec::new();
    while let Some(frame) = peer.next().await {
        seen.push(frame);
    }
    assert!(
        matches!(seen.last(), Some(Frame::GoAway { .. })),
        "{seen:?}"
    );
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .expect("the session ends");
}

#[tokio::test]
async fn a_reset_is_not_answered_with_a_reset() {
    let (raw, b) = tokio::io::duplex(1 << 20);
    let mut peer = RawPeer::new(raw);
    let client = Session::client(b);
    let mut stream = client.open(headers("data", 0), false).await.unwrap();
    assert!(matches!(
        peer.next().await,
        Some(Frame::SynStream { id: 1, .. })
    ));
    peer.send(vec![Frame::RstStream {
        id: 1,
        status: CANCEL,
    }])
    .await;
    let mut buf = [0u8; 1];
    assert!(stream.read(&mut buf).await.is_err());
    drop(stream);
    // Something after the drop, to see that nothing came before it.
    let _marker = client.open(headers("data", 1), false).await.unwrap();
    let next = peer.next().await;
    assert!(
        matches!(next, Some(Frame::SynStream { id: 3, .. })),
        "the next frame is the new stream's, no RST_STREAM: {next:?}"
    );
}

#[tokio::test]
async fn a_reset_never_overtakes_the_frames_it_resets_and_a_close_keeps_what_is_queued() {
    for close in [false, true] {
        // A peer that reads nothing yet: the stream's frames wait in the queue.
        let (raw, b) = tokio::io::duplex(1024);
        let mut peer = RawPeer::new(raw);
        let client = Session::client(b);
        let mut stream = client.open(headers("data", 0), false).await.unwrap();
        let big = vec![7u8; 4 << 20];
        let filling = tokio::time::timeout(Duration::from_millis(200), stream.write_all(&big));
        assert!(filling.await.is_err(), "the queue filled");
        if close {
            client.close();
        } else {
            drop(stream);
        }
        // Until the RST (a dropped stream) or the end of the transport (a closed session).
        let mut seen = Vec::new();
        while let Some(frame) = peer.next().await {
            let reset = matches!(frame, Frame::RstStream { .. });
            seen.push(frame);
            if reset && !close {
                break;
            }
        }
        let kinds: Vec<&str> = seen
            .iter()
            .map(|f| match f {
                Frame::SynStream { .. } => "syn",
                Frame::Data { .. } => "data",
                Frame::RstStream { .. } => "rst",
                Frame::GoAway { .. } => "goaway",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds.first(), Some(&"syn"), "close={close}: {kinds:?}");
        let data = kinds.iter().filter(|k| **k == "data").count();
        assert!(
            data >= OUTGOING_FRAMES,
            "close={close}: the queued DATA went out: {kinds:?}"
        );
        if !close {
            assert_eq!(kinds.last(), Some(&"rst"), "the RST comes last: {kinds:?}");
        } else {
            assert!(kinds.contains(&"goaway"), "{kinds:?}");
        }
    }
}

#[tokio::test]
async fn stream_ids_end_at_2_to_the_31() {
    let (client, _server, _incoming) = pair();
    client
        .shared
        .next_stream
        .store(MAX_STREAM_ID - 2, Ordering::Relaxed);
    let a = client.open(headers("data", 0), false).await.unwrap();
    let b = client.open(headers("data", 1), false).await.unwrap();
    assert_eq!((a.id(), b.id()), (MAX_STREAM_ID - 2, MAX_STREAM_ID));
    let exhausted = client
        .open(headers("data", 2), false)
        .await
        .err()
        .expect("no id left");
    assert!(
        exhausted.to_string().contains("every stream id"),
        "{exhausted}"
    );
    assert!(
        !client.accepts_streams(),
        "the pool must dial a new connection"
    );
}

#[tokio::test]
async fn a_slow_reader_does_not_hold_up_another_stream() {
    let (client, _server, mut incoming) = pair();
    let _slow = client.open(headers("data", 0), false).await.unwrap();
    let mut slow_served = incoming.recv().await.unwrap().accept().await.unwrap();
    let mut fast = client.open(headers("data", 1), false).await.unwrap();
    let mut fast_served = incoming.recv().await.unwrap().accept().await.unwrap();
    // 8 MiB toward a reader that never reads, then a small message on the other stream.
    slow_served.write_all(&vec![1u8; 8 << 20]).await.unwrap();
    fast_served.write_all(b"through").await.unwrap();
    let mut buf = [0u8; 7];
    tokio::time::timeout(Duration::from_secs(5), fast.read_exact(&mut buf))
        .await
        .expect("the fast stream is not held up")
        .unwrap();
    assert_eq!(&buf, b"through");
}

#[tokio::test]
async fn syn_streams_must_grow() {
    // A raw client that opens stream 3, then 1: the second is refused with PROTOCOL_ERROR.
    let (mut raw, b) = tokio::io::duplex(64 * 1024);
    let (_server, mut incoming) = Session::start(b, Role::Server);
    let mut c = Compressor::default();
    let mut out = BytesMut::new();
    for id in [3, 1] {
        Frame::SynStream {
            id,
            fin: false,
            headers: headers("data", id),
        }
        .encode(&mut c, &mut out);
    }
    raw.write_all(&out).await.unwrap();
    assert!(incoming.recv().await.is_some());
    let mut d = Decompressor::default();
    let mut buf = BytesMut::new();
    let frame = loop {
        if let Some(f) = Frame::decode(&mut buf, &mut d).unwrap() {
            break f;
        }
        raw.read_buf(&mut buf).await.unwrap();
    };
    assert_eq!(
        frame,
        Frame::RstStream {
            id: 1,
            status: PROTOCOL_ERROR
        }
    );
}

#[tokio::test]
async fn a_header_block_bomb_ends_the_connection_on_either_end() {
    for role in [Role::Client, Role::Server] {
        let (mut raw, b) = tokio::io::duplex(64 * 1024);
        let (session, _incoming) = Session::start(b, role);
        // 16 MiB of one byte compresses to a few KiB; the session must not inflate it.
        let bomb = vec![("a".to_string(), "x".repeat(16 << 20))];
        let mut out = BytesMut::new();
        Frame::SynStream {
            id: 2,
            fin: false,
            headers: bomb,
        }
        .encode(&mut Compressor::default(), &mut out);
        raw.write_all(&out).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), session.closed())
            .await
            .expect("the session ends");
        let why = session.why_closed().unwrap_or_default();
        assert!(
            why.contains("header block inflates past 1 MiB"),
            "{role:?}: {why}"
        );
    }
}

/// Whether the far end of `raw` has been dropped: a write fails once it has.
async fn dropped(raw: &mut tokio::io::DuplexStream) -> bool {
    raw.write_all(b"x").await.is_err()
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_does_not_hold_the_connection_once_closed() {
    for abort in [true, false] {
        // The peer reads nothing: the writer fills the pipe and waits in `write_all`.
        let (mut raw, b) = tokio::io::duplex(4 * 1024);
        let session = Session::client(b);
        let mut stream = session.open(headers("data", 0), false).await.unwrap();
        let writing = tokio::spawn(async move {
            let _ = stream.write_all(&vec![0u8; 1 << 20]).await;
            stream
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!dropped(&mut raw).await, "still open while it writes");
        let closed_at = tokio::time::Instant::now();
        if abort {
            session.abort("test");
        } else {
            session.close();
        }
        // The transport goes: at once when aborted, after CLOSE_LINGER when closing politely.
        tokio::time::timeout(CLOSE_LINGER + Duration::from_secs(1), async {
            while !dropped(&mut raw).await {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the transport is dropped");
        let took = closed_at.elapsed();
        if abort {
            assert!(took < Duration::from_secs(1), "abort took {took:?}");
        } else {
            assert!(took >= CLOSE_LINGER, "close let go after {took:?}");
        }
        writing.abort();
    }
}

#[tokio::test]
async fn the_last_handle_going_ends_the_connection_once_its_streams_have() {
    let (client, server, mut incoming) = pair();
    let stream = client.open(headers("data", 0), false).await.unwrap();
    let _served = incoming.recv().await.unwrap().accept().await.unwrap();
    drop(client);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!server.is_closed(), "a stream is still open on it");
    drop(stream);
    tokio::time::timeout(Duration::from_secs(5), server.closed())
        .await
        .expect("the connection ends with its last stream");
    assert_eq!(server.why_closed().as_deref(), Some("the peer sent GOAWAY"));
}

/// DATA frames for stream 1, `count` of `len` bytes, encoded.
fn data_frames(count: usize, len: usize, fin_first: bool) -> BytesMut {
    let mut c = Compressor::default();
    let mut out = BytesMut::new();
    if fin_first {
        Frame::Data {
            id: 1,
            fin: true,
            data: Bytes::new(),
        }
        .encode(&mut c, &mut out);
    }
    for _ in 0..count {
        Frame::Data {
            id: 1,
            fin: false,
            data: Bytes::from(vec![1u8; len]),
        }
        .encode(&mut c, &mut out);
    }
    out
}

#[tokio::test]
async fn many_tiny_frames_count_for_what_they_cost_and_pause_the_reader() {
    let (mut raw, b) = tokio::io::duplex(1 << 20);
    let client = Session::client(b);
    let _unread = client.open(headers("data", 0), false).await.unwrap();
    // 2,000,000 one-byte frames: 2 MB of payload, far more than 32 MiB queued in memory; the
    // reader pauses after about 520,000 and the rest waits on the peer's side.
    let frames = data_frames(2_000_000, 1, false);
    let writer = tokio::spawn(async move { raw.write_all(&frames).await });
    tokio::time::timeout(Duration::from_secs(20), async {
        while !client.reading_paused() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the reader pauses long before 2,000,000 tiny frames are queued");
    let charged = client.shared.budget.buffered.load(Ordering::Relaxed);
    assert!(charged >= MAX_BUFFERED, "{charged}");
    // Ended while its reader waits for room: the transport goes, the peer's write fails.
    client.abort("test");
    let written = tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .expect("the transport is dropped")
        .unwrap();
    assert!(written.is_err(), "the peer's write fails");
}

#[tokio::test]
async fn data_after_fin_is_dropped_not_kept_counted() {
    let (raw, b) = tokio::io::duplex(1 << 20);
    let mut peer = RawPeer::new(raw);
    let client = Session::client(b);
    let mut stream = client.open(headers("data", 0), false).await.unwrap();
    assert!(matches!(peer.next().await, Some(Frame::SynStream { .. })));
    let frames = data_frames(64, 16 * 1024, true);
    peer.io.write_all(&frames).await.unwrap();
    // A PING after them: its echo says the session has read everything before it.
    peer.send(vec![Frame::Ping { id: 2 }]).await;
    assert_eq!(peer.next().await, Some(Frame::Ping { id: 2 }));
    assert_eq!(client.shared.budget.buffered.load(Ordering::Relaxed), 0);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).await.unwrap();
    assert!(got.is_empty(), "nothing after the FIN is read");
    assert_eq!(
        client.streams(),
        1,
        "the stream itself stays open for writing"
    );
}
