//! The `v4.channel.k8s.io` port-forward framing as the pod's side sends it: messages of a
//! channel byte and a payload, the first on each channel a port number. No panic; data comes
//! only from the data channel, after its port number.
#![no_main]

use bytes::Bytes;
use hasura_tui::forward::pod_stream::{V4Channels, V4Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut channels = V4Channels::default();
    // Messages separated by a length byte each.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (message, tail) = tail.split_at(len);
        rest = tail;
        match channels.read(Bytes::copy_from_slice(message)) {
            V4Message::Data(bytes) => {
                assert_eq!(message.first(), Some(&0));
                assert!(bytes.len() <= message.len().saturating_sub(1));
            }
            V4Message::Error(_) => assert_eq!(message.first(), Some(&1)),
            V4Message::Nothing => {}
        }
    }
});
