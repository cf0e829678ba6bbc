//! SPDY frames and header blocks as a peer sends them: bytes in arbitrary chunks, decoded with
//! one header decompressor for the connection, as the session's reader does. No panic, no
//! unbounded allocation (a header block inflates to 1 MiB at most), no hang.
#![no_main]

use bytes::BytesMut;
use hasura_tui::spdy::Frame;
use hasura_tui::spdy::headers::{Compressor, Decompressor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size the bytes arrive in.
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decompressor = Decompressor::default();
    let mut buf = BytesMut::new();
    for piece in bytes.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match Frame::decode(&mut buf, &mut decompressor) {
                Ok(Some(frame)) => {
                    // What was decoded encodes and decodes back to itself.
                    let (mut c, mut d) = (Compressor::default(), Decompressor::default());
                    let mut out = BytesMut::new();
                    frame.encode(&mut c, &mut out);
                    let again = Frame::decode(&mut out, &mut d);
                    assert_eq!(again, Ok(Some(frame)));
                }
                Ok(None) => break,
                // The session ends the connection here.
                Err(_) => return,
            }
        }
    }
});
