//! Gateway mode decides by the connection's peer, not by what a request says: a forward bound to
//! every address gives its identity to a program on this machine and withholds it from another
//! machine, even one that sends `Host: 127.0.0.1`. The other machine is real: a network namespace
//! joined to this one by a veth pair, made (and removed) by the test. That needs root and
//! iproute2; where the machine does not allow it the test says so and skips.
use crate::common;

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Duration;

use hasura_tui::forward::{ForwardManager, ForwardSpec, ForwardState, GatewayIdentity};
use serde_json::Value;

/// A network namespace with one veth link to this one: `host` here, `peer` in there.
struct OtherMachine {
    namespace: String,
    link: String,
    host: Ipv4Addr,
    peer: Ipv4Addr,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl OtherMachine {
    fn create() -> Result<OtherMachine, String> {
        let id = std::process::id();
        let net = (id % 200 + 20) as u8;
        let machine = OtherMachine {
            namespace: format!("htui-peer-{id}"),
            link: format!("htui{}", id % 100_000),
            host: Ipv4Addr::new(10, 213, net, 1),
            peer: Ipv4Addr::new(10, 213, net, 2),
        };
        let (ns, link) = (machine.namespace.as_str(), machine.link.as_str());
        let inner = format!("{link}p");
        ip(&["netns", "add", ns])?;
        ip(&["link", "add", link, "type", "veth", "peer", "name", &inner])?;
        ip(&["link", "set", &inner, "netns", ns])?;
        ip(&["addr", "add", &format!("{}/30", machine.host), "dev", link])?;
        ip(&["link", "set", link, "up"])?;
        let in_ns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", ns, "ip"];
            all.extend_from_slice(args);
            ip(&all)
        };
        in_ns(&[
            "addr",
            "add",
            &format!("{}/30", machine.peer),
            "dev",
            &inner,
        ])?;
        in_ns(&["link", "set", &inner, "up"])?;
        in_ns(&["link", "set", "lo", "up"])?;
        Ok(machine)
    }

    /// `curl` run inside the other machine with `headers`; the JSON it got back.
    fn curl(&self, url: &str, headers: &[&str]) -> Value {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.namespace,
                "curl",
                "-sS",
                "--max-time",
                "10",
            ])
            .args(headers.iter().flat_map(|h| ["-H", h]))
            .arg(url)
            .output()
            .expect("ip netns exec curl runs");
        assert!(
            out.status.success(),
            "curl from the other machine failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the echo is JSON")
    }
}

impl Drop for OtherMachine {
    fn drop(&mut self) {
        // Deleting the namespace removes its end of the pair, and with it ours.
        let _ = ip(&["link", "del", &self.link]);
        let _ = ip(&["netns", "del", &self.namespace]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_machine_gets_no_identity_even_when_it_names_this_one() {
    let machine = match OtherMachine::create() {
        Ok(machine) => machine,
        Err(why) => {
            eprintln!(
                "SKIPPED: this machine does not allow a network namespace with a veth pair \
                 (needs root and iproute2): {why}"
            );
            return;
        }
    };
    let demo = common::start_demo().await;
    let mut manager = ForwardManager::new(common::client_for(&demo).await);
    let mut spec = ForwardSpec::new("hasura", "data");
    spec.local_port = Some(0);
    spec.address = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    spec.gateway = Some(GatewayIdentity::admin());
    let key = spec.key();
    manager.start(spec);
    let status = manager.wait_started(&key).await.expect("a state");
    assert_eq!(status.state, ForwardState::Active, "{status:?}");
    assert!(status.exposed);
    let port = status.local.expect("bound").port();
    let view = manager.view(&key).unwrap();
    assert!(
        view.summary().contains("as admin (this machine only)"),
        "the row says the identity is for this machine: {}",
        view.summary()
    );

    // A program on this machine gets the identity.
    let local = tokio::task::spawn_blocking(move || {
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "10",
                &format!("http://127.0.0.1:{port}/mine"),
            ])
            .output()
            .expect("curl runs");
        serde_json::from_slice::<Value>(&out.stdout).expect("the echo is JSON")
    })
    .await
    .unwrap();
    assert_eq!(local["headers"]["x-hasura-role"], "admin", "{local}");

    // The other machine, through the veth pair, even claiming to be this machine's loopback,
    // and claiming an identity of its own: the gateway drops what a client sends.
    let url = format!("http://{}:{port}/theirs", machine.host);
    let peer = machine.peer;
    let theirs = tokio::task::spawn_blocking(move || {
        let host = format!("Host: 127.0.0.1:{port}");
        let headers = [
            host.as_str(),
            "X-Hasura-Role: admin",
            "X-Hasura-Admin-Secret: guessed",
        ];
        let echo = machine.curl(&url, &headers);
        drop(machine);
        echo
    })
    .await
    .unwrap();
    assert_eq!(
        theirs["microservice"], "data",
        "the forward served it: {theirs}"
    );
    for header in [
        "x-hasura-role",
        "x-hasura-user-id",
        "x-hasura-allowed-roles",
        "x-hasura-admin-secret",
    ] {
        assert!(
            theirs["headers"][header].is_null(),
            "{header} reached the pod from another machine: {theirs}"
        );
    }

    let log = common::eventually("both requests in the log", Duration::from_secs(5), || {
        let log = manager.requests(&key);
        async move { (log.len() == 2).then_some(log) }
    })
    .await;
    assert_eq!(log[0].path, "/mine");
    assert_eq!(log[0].note, None);
    assert_eq!(log[1].path, "/theirs");
    let note = log[1].note.as_deref().unwrap_or_default();
    assert!(
        note.contains(&peer.to_string()) && note.contains("another machine"),
        "the log says why: {note:?}"
    );
    assert!(
        note.contains("client's X-Hasura-Role: admin, X-Hasura-Admin-Secret: guessed dropped"),
        "the log names what was dropped: {note:?}"
    );
}
