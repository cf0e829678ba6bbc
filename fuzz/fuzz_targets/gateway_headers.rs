//! The gateway's handling of a request's headers, as any client on the network sends them:
//! who gets the identity (`gateway_access::decide`), and the identity put on (`apply`) or the
//! client's claims dropped. No panic, and whatever the client sent, a request leaves with no
//! `X-Hasura-*` header of the client's unless it was given the identity with its own kept.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hasura_tui::forward::GatewayIdentity;
use hasura_tui::forward::gateway::drop_client_headers;
use hasura_tui::forward::gateway_access::{Verdict, decide};
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let peer: IpAddr = match flags & 3 {
        0 => Ipv4Addr::LOCALHOST.into(),
        1 => Ipv6Addr::LOCALHOST.into(),
        2 => Ipv4Addr::new(10, 0, 0, 2).into(),
        _ => "::ffff:127.0.0.1".parse().unwrap(),
    };
    let mut headers = HeaderMap::new();
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    let mut identity = GatewayIdentity::admin();
    identity.keep_client_headers = flags & 4 != 0;
    let verdict = decide(peer, &headers);
    let _ = verdict.note();
    match verdict {
        Verdict::Apply => {
            let applied = identity.apply(&mut headers);
            let _ = applied.note();
            assert!(headers.contains_key("x-hasura-role"));
            assert!(headers.contains_key("x-hasura-user-id"));
            if !identity.keep_client_headers {
                assert_eq!(headers["x-hasura-role"], "admin");
                // Nothing of the client's own is left beside the identity.
                let identity_headers = hasura_tui::forward::gateway::IDENTITY_HEADERS;
                assert!(
                    headers
                        .keys()
                        .all(|n| !n.as_str().starts_with("x-hasura-")
                            || identity_headers.contains(n))
                );
            }
        }
        refused => {
            let dropped = drop_client_headers(&mut headers);
            let _ = refused.note_dropping(&dropped);
            assert!(headers.keys().all(|n| !n.as_str().starts_with("x-hasura-")));
        }
    }
});
