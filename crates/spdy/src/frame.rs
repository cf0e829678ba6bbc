//! SPDY/3.1 frames as spdystream reads and writes them (`spdy/types.go`, `spdy/read.go`,
//! `spdy/write.go`): an 8-byte header, then the payload. Control frames carry `1|version=3|type`,
//! flags and a 24-bit length; DATA frames `0|stream-id`, flags and length. An unknown control
//! type (NOOP and CREDENTIAL included) or a malformed frame is fatal to the connection, as it
//! is for spdystream.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::SpdyError;
use super::headers::{Compressor, Decompressor, Headers};

/// The protocol version every control frame carries.
pub const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// FLAG_FIN, on DATA and on SYN_STREAM / SYN_REPLY / HEADERS.
const FLAG_FIN: u8 = 0x01;
/// The largest payload a frame's 24-bit length can carry.
pub const MAX_PAYLOAD: usize = (1 << 24) - 1;

/// RST_STREAM status codes (SPDY/3 §2.4.2); Kubernetes only ever sends PROTOCOL_ERROR and
/// CANCEL. REFUSED_STREAM is how a stream the peer's GOAWAY did not cover ends here.
pub const PROTOCOL_ERROR: u32 = 1;
/// RST_STREAM: the stream was not processed (after a GOAWAY).
pub const REFUSED_STREAM: u32 = 3;
/// RST_STREAM: the stream is no longer wanted.
pub const CANCEL: u32 = 5;
/// The largest stream id: 31 bits.
pub const MAX_STREAM_ID: u32 = 0x7fff_ffff;

/// One frame, decoded (`decode`) or to be sent (`encode`). `id` is a stream id throughout;
/// `fin` half-closes the sender's side of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // The fields are the frame's own, named as in the SPDY/3 draft.
pub enum Frame {
    /// Opens a stream, with its headers.
    SynStream {
        id: u32,
        fin: bool,
        headers: Headers,
    },
    /// Accepts a stream the peer opened.
    SynReply {
        id: u32,
        fin: bool,
        headers: Headers,
    },
    /// Ends a stream abnormally, with a status (`PROTOCOL_ERROR`, `CANCEL`, ...).
    RstStream { id: u32, status: u32 },
    /// Parsed and ignored, as spdystream ignores it.
    Settings,
    /// A ping: echoed by the side that did not send it (ids of the other parity).
    Ping { id: u32 },
    /// The sender opens no more streams and takes none past `last_good`.
    GoAway { last_good: u32, status: u32 },
    /// More headers for an open stream.
    Headers {
        id: u32,
        fin: bool,
        headers: Headers,
    },
    /// Parsed and ignored: spdystream has no flow control (it never sends one and drops those
    /// it gets), so neither side may wait for one.
    WindowUpdate { id: u32, delta: u32 },
    /// A stream's bytes.
    Data { id: u32, fin: bool, data: Bytes },
}

impl Frame {
    /// Appends the frame to `out`, compressing header blocks in wire order.
    pub fn encode(&self, compressor: &mut Compressor, out: &mut BytesMut) {
        match self {
            Frame::Data { id, fin, data } => {
                out.put_u32(id & 0x7fff_ffff);
                out.put_u32((u32::from(flag(*fin)) << 24) | data.len() as u32);
                out.extend_from_slice(data);
            }
            Frame::SynStream { id, fin, headers } => {
                let mut block = Vec::new();
                compressor.compress(headers, &mut block);
                control(out, SYN_STREAM, flag(*fin), 10 + block.len());
                out.put_u32(*id);
                out.put_u32(0); // associated stream
                out.put_u8(0); // priority 0 (what kubectl sends), unused bits
                out.put_u8(0); // slot
                out.extend_from_slice(&block);
            }
            Frame::SynReply { id, fin, headers } | Frame::Headers { id, fin, headers } => {
                let kind = if matches!(self, Frame::SynReply { .. }) {
                    SYN_REPLY
                } else {
                    HEADERS
                };
                let mut block = Vec::new();
                compressor.compress(headers, &mut block);
                control(out, kind, flag(*fin), 4 + block.len());
                out.put_u32(*id);
                out.extend_from_slice(&block);
            }
            Frame::RstStream { id, status } => {
                control(out, RST_STREAM, 0, 8);
                out.put_u32(*id);
                out.put_u32(*status);
            }
            Frame::Settings => {
                control(out, SETTINGS, 0, 4);
                out.put_u32(0);
            }
            Frame::Ping { id } => {
                control(out, PING, 0, 4);
                out.put_u32(*id);
            }
            Frame::GoAway { last_good, status } => {
                control(out, GOAWAY, 0, 8);
                out.put_u32(*last_good);
                out.put_u32(*status);
            }
            Frame::WindowUpdate { id, delta } => {
                control(out, WINDOW_UPDATE, 0, 8);
                out.put_u32(*id);
                out.put_u32(*delta);
            }
        }
    }

    /// Takes one frame off the front of `buf`, or `None` until it is all there.
    pub fn decode(
        buf: &mut BytesMut,
        decompressor: &mut Decompressor,
    ) -> Result<Option<Frame>, SpdyError> {
        if buf.len() < 8 {
            return Ok(None);
        }
        let length = (u32::from_be_bytes([0, buf[5], buf[6], buf[7]])) as usize;
        if buf.len() < 8 + length {
            buf.reserve(8 + length - buf.len());
            return Ok(None);
        }
        let first = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let flags = buf[4];
        let fin = flags & FLAG_FIN != 0;
        buf.advance(8);
        let mut payload = buf.split_to(length).freeze();
        if first & 0x8000_0000 == 0 {
            let id = first & 0x7fff_ffff;
            if id == 0 {
                return Err(SpdyError::Protocol("DATA frame for stream 0"));
            }
            return Ok(Some(Frame::Data {
                id,
                fin,
                data: payload,
            }));
        }
        // The version is written as 3 and, like spdystream, not checked on read.
        let kind = (first & 0xffff) as u16;
        let need = |n: usize| {
            if length < n {
                Err(SpdyError::Protocol("control frame too short"))
            } else {
                Ok(())
            }
        };
        let stream_id = |p: &mut Bytes| p.get_u32() & 0x7fff_ffff;
        let frame = match kind {
            SYN_STREAM => {
                need(10)?;
                let id = stream_id(&mut payload);
                payload.advance(6); // associated stream, priority, slot
                nonzero(id)?;
                let headers = decompressor.decompress(&payload)?;
                Frame::SynStream { id, fin, headers }
            }
            SYN_REPLY | HEADERS => {
                need(4)?;
                let id = stream_id(&mut payload);
                nonzero(id)?;
                let headers = decompressor.decompress(&payload)?;
                if kind == SYN_REPLY {
                    Frame::SynReply { id, fin, headers }
                } else {
                    Frame::Headers { id, fin, headers }
                }
            }
            RST_STREAM => {
                exactly(length, 8)?;
                let id = stream_id(&mut payload);
                let status = payload.get_u32();
                nonzero(id)?;
                if status == 0 {
                    return Err(SpdyError::Protocol("RST_STREAM with status 0"));
                }
                Frame::RstStream { id, status }
            }
            SETTINGS => {
                need(4)?;
                Frame::Settings
            }
            PING => {
                exactly(length, 4)?;
                let id = payload.get_u32();
                if id == 0 || flags != 0 {
                    return Err(SpdyError::Protocol("PING with id 0 or flags"));
                }
                Frame::Ping { id }
            }
            GOAWAY => {
                exactly(length, 8)?;
                Frame::GoAway {
                    last_good: stream_id(&mut payload),
                    status: payload.get_u32(),
                }
            }
            WINDOW_UPDATE => {
                exactly(length, 8)?;
                Frame::WindowUpdate {
                    id: stream_id(&mut payload),
                    delta: payload.get_u32() & 0x7fff_ffff,
                }
            }
            _ => return Err(SpdyError::Protocol("unknown control frame type")),
        };
        Ok(Some(frame))
    }
}

fn flag(fin: bool) -> u8 {
    if fin { FLAG_FIN } else { 0 }
}

fn control(out: &mut BytesMut, kind: u16, flags: u8, length: usize) {
    out.put_u16(0x8000 | VERSION);
    out.put_u16(kind);
    out.put_u32((u32::from(flags) << 24) | length as u32);
}

fn nonzero(id: u32) -> Result<(), SpdyError> {
    if id == 0 {
        Err(SpdyError::Protocol("stream id 0"))
    } else {
        Ok(())
    }
}

fn exactly(length: usize, want: usize) -> Result<(), SpdyError> {
    if length == want {
        Ok(())
    } else {
        Err(SpdyError::Protocol("control frame of the wrong length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The first 70 bytes kubectl 1.33 sent after the 101 (research capture): the error
    /// stream's SYN_STREAM, its FIN, the data stream's SYN_STREAM, "ping", the data FIN.
    #[test]
    fn reads_what_kubectl_sends() {
        let capture = hex(
            "80030001 0000003e 00000001 00000000 0000
             78f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45e01c60616061c0c0c0c0590489c64c50f2663400000000ffff
             00000001 01000000
             80030001 00000018 00000003 00000000 0000 c2aa19540e2512d60b000000ffff
             00000003 00000004 70696e67
             00000003 01000000",
        );
        let mut buf = BytesMut::from(&capture[..]);
        let mut d = Decompressor::default();
        let mut frames = Vec::new();
        while let Some(frame) = Frame::decode(&mut buf, &mut d).unwrap() {
            frames.push(frame);
        }
        assert!(buf.is_empty());
        let headers = |t: &str| -> Headers {
            vec![
                ("streamtype".into(), t.into()),
                ("port".into(), "8080".into()),
                ("requestid".into(), "0".into()),
            ]
        };
        assert_eq!(
            frames,
            [
                Frame::SynStream {
                    id: 1,
                    fin: false,
                    headers: headers("error")
                },
                Frame::Data {
                    id: 1,
                    fin: true,
                    data: Bytes::new()
                },
                Frame::SynStream {
                    id: 3,
                    fin: false,
                    headers: headers("data")
                },
                Frame::Data {
                    id: 3,
                    fin: false,
                    data: Bytes::from_static(b"ping")
                },
                Frame::Data {
                    id: 3,
                    fin: true,
                    data: Bytes::new()
                },
            ]
        );
    }

    #[test]
    fn writes_what_kubectl_reads() {
        let mut c = Compressor::default();
        let mut out = BytesMut::new();
        Frame::SynReply {
            id: 1,
            fin: false,
            headers: Headers::new(),
        }
        .encode(&mut c, &mut out);
        assert_eq!(
            &out[..],
            &hex("80030002 00000014 00000001 78f9e3c6a7c202a6230600000000ffff")[..]
        );
        out.clear();
        Frame::GoAway {
            last_good: 0,
            status: 0,
        }
        .encode(&mut c, &mut out);
        assert_eq!(&out[..], &hex("80030007 00000008 00000000 00000000")[..]);
        out.clear();
        Frame::Ping { id: 1 }.encode(&mut c, &mut out);
        assert_eq!(&out[..], &hex("80030006 00000004 00000001")[..]);
    }

    #[test]
    fn every_frame_round_trips_and_partial_input_waits() {
        let (mut c, mut d) = (Compressor::default(), Decompressor::default());
        let frames = vec![
            Frame::SynStream {
                id: 5,
                fin: true,
                headers: vec![("port".into(), "80".into())],
            },
            Frame::SynReply {
                id: 5,
                fin: false,
                headers: Headers::new(),
            },
            Frame::Headers {
                id: 5,
                fin: true,
                headers: vec![("a".into(), "b".into())],
            },
            Frame::RstStream {
                id: 5,
                status: CANCEL,
            },
            Frame::Settings,
            Frame::Ping { id: 2 },
            Frame::GoAway {
                last_good: 3,
                status: 0,
            },
            Frame::WindowUpdate {
                id: 5,
                delta: 65536,
            },
            Frame::Data {
                id: 7,
                fin: false,
                data: Bytes::from(vec![9u8; 100_000]),
            },
        ];
        let mut wire = BytesMut::new();
        for f in &frames {
            f.encode(&mut c, &mut wire);
        }
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        // Byte by byte at first, then the rest: a frame is only taken once it is whole.
        for (i, byte) in wire.iter().enumerate() {
            buf.put_u8(*byte);
            if i > 200 {
                buf.extend_from_slice(&wire[i + 1..]);
                break;
            }
            if let Some(f) = Frame::decode(&mut buf, &mut d).unwrap() {
                got.push(f);
            }
        }
        while let Some(f) = Frame::decode(&mut buf, &mut d).unwrap() {
            got.push(f);
        }
        assert_eq!(got, frames);
    }

    #[test]
    fn malformed_frames_are_fatal() {
        let mut d = Decompressor::default();
        for bad in [
            "80030005 00000000",                   // NOOP
            "8003000a 00000000",                   // CREDENTIAL
            "80030006 00000004 00000000",          // PING id 0
            "80030006 01000004 00000001",          // PING with a flag
            "80030007 00000004 00000000",          // GOAWAY of length 4
            "80030003 00000008 00000001 00000000", // RST status 0
            "00000000 00000000",                   // DATA on stream 0
        ] {
            let mut buf = BytesMut::from(&hex(bad)[..]);
            assert!(Frame::decode(&mut buf, &mut d).is_err(), "{bad}");
        }
    }
}
