//! What gateway mode keeps of a request beyond its log line, for the inspector, replay and
//! copy-as-curl: the headers as sent (which ones the forward added), the response headers, and
//! the first 64 KiB of each body. Kept only in memory, within the request log's byte budget.

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;

/// Headers that belong to one connection, not to the request (RFC 9110 section 7.6.1), and the
/// body's length: a request sent again (a replay, a copied `curl`) gets its own.
pub const CONNECTION_HEADERS: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// How much of each body is kept.
pub const BODY_PREVIEW: usize = 64 * 1024;

/// The first bytes of a body, and how long it was in all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyPreview {
    pub head: Bytes,
    pub total: u64,
}

impl BodyPreview {
    /// The whole body is kept (a replay can send it again).
    pub fn is_whole(&self) -> bool {
        self.head.len() as u64 == self.total
    }
}

/// One request and its response, as the pod saw them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exchange {
    /// The path and query, uncut (the log line's path is cut at 256 characters).
    pub target: String,
    /// In the order sent; names lowercase as HTTP/1.1 carries them in hyper.
    pub request_headers: Vec<(String, String)>,
    /// Names of the headers the forward put on (gateway mode's identity).
    pub injected: Vec<String>,
    pub request_body: BodyPreview,
    pub response_headers: Vec<(String, String)>,
    pub response_body: BodyPreview,
    /// The bodies were let go to keep the log within its byte budget.
    pub bodies_dropped: bool,
}

impl Exchange {
    /// Bytes this exchange holds (what the request log's budget counts).
    pub fn kept_bytes(&self) -> usize {
        let headers =
            |h: &[(String, String)]| -> usize { h.iter().map(|(n, v)| n.len() + v.len()).sum() };
        self.target.len()
            + headers(&self.request_headers)
            + headers(&self.response_headers)
            + self.request_body.head.len()
            + self.response_body.head.len()
    }

    /// The same exchange without its bodies (their sizes stay).
    pub fn without_bodies(&self) -> Exchange {
        let mut light = self.clone();
        light.request_body.head = Bytes::new();
        light.response_body.head = Bytes::new();
        light.bodies_dropped = true;
        light
    }

    /// The value of a request header (first of that name).
    pub fn request_header(&self, name: &str) -> Option<&str> {
        header(&self.request_headers, name)
    }

    pub fn response_header(&self, name: &str) -> Option<&str> {
        header(&self.response_headers, name)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A header map as a list, values that are not text shown lossily.
pub fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Collects the first `BODY_PREVIEW` bytes of a body as it streams past, and counts the rest.
#[derive(Default)]
pub struct Tee {
    head: BytesMut,
    total: u64,
}

impl Tee {
    pub fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let room = BODY_PREVIEW.saturating_sub(self.head.len());
        if room > 0 {
            self.head.extend_from_slice(&data[..data.len().min(room)]);
        }
    }

    pub fn preview(&self) -> BodyPreview {
        BodyPreview {
            head: Bytes::copy_from_slice(&self.head),
            total: self.total,
        }
    }
}

/// A tee both a body (which the connection polls) and whoever records the exchange can reach.
pub type SharedTee = Arc<Mutex<Tee>>;

pub fn preview_of(tee: &SharedTee) -> BodyPreview {
    tee.lock().unwrap_or_else(|p| p.into_inner()).preview()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tee_keeps_the_head_and_counts_everything() {
        let mut tee = Tee::default();
        tee.push(&[1; 40_000]);
        tee.push(&[2; 40_000]);
        let preview = tee.preview();
        assert_eq!(preview.total, 80_000);
        assert_eq!(preview.head.len(), BODY_PREVIEW);
        assert_eq!(preview.head[39_999], 1);
        assert_eq!(preview.head[40_000], 2);
        assert!(!preview.is_whole());
        let mut small = Tee::default();
        small.push(b"{}");
        assert!(small.preview().is_whole());
    }

    #[test]
    fn dropping_bodies_keeps_their_sizes_and_frees_their_bytes() {
        let exchange = Exchange {
            target: "/v1/query".into(),
            request_headers: vec![("content-type".into(), "application/json".into())],
            request_body: BodyPreview {
                head: Bytes::from_static(b"{\"a\":1}"),
                total: 7,
            },
            response_body: BodyPreview {
                head: Bytes::from(vec![0; 1000]),
                total: 5000,
            },
            ..Exchange::default()
        };
        assert_eq!(exchange.kept_bytes(), 9 + 28 + 7 + 1000);
        let light = exchange.without_bodies();
        assert_eq!(light.kept_bytes(), 9 + 28);
        assert_eq!(light.response_body.total, 5000);
        assert!(light.bodies_dropped);
        assert_eq!(
            light.request_header("Content-Type"),
            Some("application/json")
        );
    }
}
