//! SPDY/3 header blocks: `[count:32]` then `[name-len:32][name][value-len:32][value]` pairs,
//! compressed with one zlib context per direction per connection, primed with the SPDY
//! dictionary and sync-flushed after every block, so each block continues the last one's
//! stream (spdystream `spdy/write.go` `writeHeaderValueBlock`, `spdy/read.go`
//! `parseHeaderValueBlock`, `spdy/types.go` `NewFramer`). Names are lowercase and unique in a
//! block: spdystream kills the connection otherwise.

use std::collections::HashSet;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::SpdyError;
use super::dictionary::SPDY3_DICTIONARY;

/// A header block: lowercase names, each once (several values of one name are joined by NUL).
pub type Headers = Vec<(String, String)>;

/// The most a header block may inflate to: 1 MiB, Go's `http.DefaultMaxHeaderBytes` (net/http
/// `server.go`), which bounds the HTTP request that opens the connection. spdystream itself has no
/// bound (`parseHeaderValueBlock` allocates whatever length the block claims), and a 16 MiB
/// frame of zeros inflates about a thousandfold. Port-forward blocks are under 100 bytes.
pub const MAX_HEADER_BLOCK: usize = 1 << 20;

/// The value of `name` (names are compared without case, as Go's `http.Header` does).
pub fn get<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Compresses this side's header blocks, in the order they go on the wire.
pub struct Compressor {
    zlib: Compress,
}

impl Default for Compressor {
    fn default() -> Self {
        let mut zlib = Compress::new(Compression::best(), true);
        zlib.set_dictionary(SPDY3_DICTIONARY)
            .expect("a fresh zlib context takes a dictionary");
        Compressor { zlib }
    }
}

impl Compressor {
    /// The compressed block, appended to `out`.
    pub fn compress(&mut self, headers: &Headers, out: &mut Vec<u8>) {
        let mut raw = Vec::with_capacity(64);
        raw.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            raw.extend_from_slice(&(name.len() as u32).to_be_bytes());
            raw.extend_from_slice(name.as_bytes());
            raw.extend_from_slice(&(value.len() as u32).to_be_bytes());
            raw.extend_from_slice(value.as_bytes());
        }
        let mut input = &raw[..];
        loop {
            out.reserve(input.len() + 64);
            let before = self.zlib.total_in();
            self.zlib
                .compress_vec(input, out, FlushCompress::Sync)
                .expect("zlib compression of a header block");
            let consumed = (self.zlib.total_in() - before) as usize;
            input = &input[consumed..];
            // A sync flush is complete once all input is taken and there was room to spare.
            if input.is_empty() && out.len() < out.capacity() {
                return;
            }
        }
    }
}

/// Decompresses the peer's header blocks, in the order they came.
#[derive(Default)]
pub struct Decompressor {
    zlib: Option<Decompress>,
}

impl Decompressor {
    /// The headers of one compressed block, continuing the connection's zlib stream; a block
    /// past `MAX_HEADER_BLOCK`, a bad block or a repeated name is a protocol error.
    pub fn decompress(&mut self, block: &[u8]) -> Result<Headers, SpdyError> {
        let zlib = self.zlib.get_or_insert_with(|| Decompress::new(true));
        let mut raw = Vec::with_capacity((block.len() * 4 + 64).min(MAX_HEADER_BLOCK + 1));
        let mut input = block;
        loop {
            if raw.len() > MAX_HEADER_BLOCK {
                return Err(SpdyError::Protocol("header block inflates past 1 MiB"));
            }
            if raw.len() == raw.capacity() {
                // Up to one byte past the bound, to tell "at the bound" from "past it".
                let room = raw
                    .capacity()
                    .max(256)
                    .min(MAX_HEADER_BLOCK + 1 - raw.len());
                raw.reserve_exact(room);
            }
            let before = zlib.total_in();
            let result = zlib.decompress_vec(input, &mut raw, FlushDecompress::Sync);
            let consumed = (zlib.total_in() - before) as usize;
            input = &input[consumed..];
            match result {
                Ok(Status::Ok | Status::BufError) if input.is_empty() => {
                    if raw.len() < raw.capacity() {
                        break;
                    }
                }
                Ok(Status::Ok | Status::BufError) => {}
                Ok(Status::StreamEnd) => {
                    return Err(SpdyError::Protocol("header block ended the zlib stream"));
                }
                Err(e) if e.needs_dictionary().is_some() => {
                    zlib.set_dictionary(SPDY3_DICTIONARY).map_err(|_| {
                        SpdyError::Protocol("header block wants another dictionary")
                    })?;
                }
                Err(_) => return Err(SpdyError::Protocol("header block is not valid zlib")),
            }
        }
        parse_block(&raw)
    }
}

fn parse_block(raw: &[u8]) -> Result<Headers, SpdyError> {
    let mut rest = raw;
    let mut take = |n: usize| -> Result<&[u8], SpdyError> {
        if rest.len() < n {
            return Err(SpdyError::Protocol("header block is truncated"));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let u32_at = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let count = u32_at(take(4)?);
    let mut headers = Headers::with_capacity(count.min(64));
    // Each name once: checked as it comes, in one pass (a block can hold ~130,000 names).
    let mut seen = HashSet::with_capacity(count.min(64));
    for _ in 0..count {
        let len = u32_at(take(4)?);
        let name = String::from_utf8_lossy(take(len)?).into_owned();
        let len = u32_at(take(4)?);
        let value = String::from_utf8_lossy(take(len)?).into_owned();
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(SpdyError::Protocol("header name is not lowercase"));
        }
        if !seen.insert(name.clone()) {
            return Err(SpdyError::Protocol("header name appears twice"));
        }
        headers.push((name, value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// kubectl 1.33's first header block (its error stream's SYN_STREAM), as captured.
    const KUBECTL_BLOCK: &str = "78f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45e01c60616061c0c0c0c0590489c64c50f2663400000000ffff";

    #[test]
    fn decodes_what_kubectl_sends() {
        let mut d = Decompressor::default();
        let headers = d.decompress(&hex(KUBECTL_BLOCK)).unwrap();
        assert_eq!(
            headers,
            [
                ("streamtype".to_string(), "error".to_string()),
                ("port".to_string(), "8080".to_string()),
                ("requestid".to_string(), "0".to_string()),
            ]
        );
    }

    #[test]
    fn an_empty_block_compresses_as_kubectl_accepted_it() {
        // The SYN_REPLY block kubectl 1.33 accepted from the research fake server, then the
        // second empty block in the same context.
        let mut c = Compressor::default();
        let mut out = Vec::new();
        c.compress(&Headers::new(), &mut out);
        assert_eq!(out, hex("78f9e3c6a7c202a6230600000000ffff"));
        out.clear();
        c.compress(&Headers::new(), &mut out);
        assert_eq!(out, hex("020100000000ffff"));
    }

    #[test]
    fn blocks_round_trip_in_one_context_each_way() {
        let (mut c, mut d) = (Compressor::default(), Decompressor::default());
        for i in 0..50 {
            let headers: Headers = vec![
                (
                    "streamtype".into(),
                    if i % 2 == 0 { "error" } else { "data" }.into(),
                ),
                ("port".into(), "5432".into()),
                ("requestid".into(), i.to_string()),
            ];
            let mut out = Vec::new();
            c.compress(&headers, &mut out);
            assert_eq!(d.decompress(&out).unwrap(), headers);
        }
    }

    /// A raw block of `pairs`, uncompressed.
    fn raw(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut raw = (pairs.len() as u32).to_be_bytes().to_vec();
        for (n, v) in pairs {
            raw.extend_from_slice(&(n.len() as u32).to_be_bytes());
            raw.extend_from_slice(n.as_bytes());
            raw.extend_from_slice(&(v.len() as u32).to_be_bytes());
            raw.extend_from_slice(v.as_bytes());
        }
        raw
    }

    #[test]
    fn a_block_that_inflates_past_1_mib_is_refused_and_one_at_the_bound_is_not() {
        let bound = "x".repeat(MAX_HEADER_BLOCK - 13);
        let mut c = Compressor::default();
        let mut at_bound = Vec::new();
        c.compress(&vec![("a".to_string(), bound.clone())], &mut at_bound);
        let mut d = Decompressor::default();
        assert_eq!(d.decompress(&at_bound).unwrap()[0].1.len(), bound.len());

        let past = "x".repeat(16 * MAX_HEADER_BLOCK);
        let mut bomb = Vec::new();
        c.compress(&vec![("b".to_string(), past)], &mut bomb);
        assert!(bomb.len() < 64 * 1024, "{} bytes on the wire", bomb.len());
        assert!(matches!(
            d.decompress(&bomb),
            Err(SpdyError::Protocol("header block inflates past 1 MiB"))
        ));
    }

    #[test]
    fn many_distinct_names_parse() {
        let names: Vec<String> = (0..50_000).map(|i| format!("h{i}")).collect();
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
        assert_eq!(parse_block(&raw(&pairs)).unwrap().len(), 50_000);
    }

    #[test]
    fn uppercase_or_repeated_names_are_refused() {
        assert!(parse_block(&raw(&[("Port", "1")])).is_err());
        assert!(parse_block(&raw(&[("port", "1"), ("port", "2")])).is_err());
        assert!(parse_block(&raw(&[("port", "1")])).is_ok());
        assert!(parse_block(&[0, 0, 0, 1, 0]).is_err());
    }
}
