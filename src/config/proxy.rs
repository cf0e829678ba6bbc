//! Which proxy reaches the API server, as client-go decides it: the kubeconfig cluster's
//! `proxy-url` when set; else the environment, the way Go's `http.ProxyFromEnvironment` reads it:
//! `HTTPS_PROXY` (or `https_proxy`) for an https server, `HTTP_PROXY` for http, unless
//! `NO_PROXY` names the server's host (a name, a `.domain` suffix, an IP, a CIDR, or `*`), and
//! never for a loopback server.
//!
//! kube-rs reads `HTTPS_PROXY` for every scheme and matches `NO_PROXY` against the proxy's own
//! address instead of the server's, so its choice is replaced by this one.
//!
//! Source: golang.org/x/net/http/httpproxy (`FromEnvironment`, `useProxy`), used by client-go's
//! `transport/cache.go` when `proxy-url` is unset.

use std::net::IpAddr;

/// The proxy for `server`, given the kubeconfig's `proxy-url` and a way to read the environment.
pub fn for_server(
    server: &http::Uri,
    kubeconfig: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<http::Uri>, String> {
    let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    if let Some(url) = nonempty(kubeconfig.map(str::to_string)) {
        return parse(&url).map(Some);
    }
    let from_env =
        |upper: &str| nonempty(env(upper)).or_else(|| nonempty(env(&upper.to_lowercase())));
    let proxy = match server.scheme_str() {
        Some("http") => from_env("HTTP_PROXY"),
        _ => from_env("HTTPS_PROXY"),
    };
    let Some(proxy) = proxy else {
        return Ok(None);
    };
    let host = server.host().unwrap_or_default().trim_matches(['[', ']']);
    let port = server.port_u16();
    let no_proxy = from_env("NO_PROXY").unwrap_or_default();
    if !use_proxy(host, port, &no_proxy) {
        return Ok(None);
    }
    // A bare `host:port` means http://host:port, as Go reads it.
    let proxy = if proxy.contains("://") {
        proxy
    } else {
        format!("http://{proxy}")
    };
    parse(&proxy).map(Some)
}

fn parse(url: &str) -> Result<http::Uri, String> {
    url.parse::<http::Uri>()
        .map_err(|e| format!("proxy URL {:?}: {e}", redacted(url)))
}

/// A proxy URL as a message may show it: a password in it (`http://me:pw@proxy`) replaced.
fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    match rest.rsplit_once('@') {
        Some((_, host)) if !scheme.is_empty() => format!("{scheme}://***@{host}"),
        Some((_, host)) => format!("***@{host}"),
        None => url.to_string(),
    }
}

/// Whether a request to `host` goes through the proxy, given `NO_PROXY`.
fn use_proxy(host: &str, port: Option<u16>, no_proxy: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" {
        return false;
    }
    let ip = host.parse::<IpAddr>().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return false;
    }
    for entry in no_proxy.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if entry == "*" {
            return false;
        }
        if let Some((net, bits)) = entry.split_once('/')
            && let (Ok(net), Ok(bits), Some(ip)) = (net.parse::<IpAddr>(), bits.parse::<u32>(), ip)
        {
            if in_cidr(ip, net, bits) {
                return false;
            }
            continue;
        }
        // `host:port` entries match that port only.
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((name, p)) if !name.contains(':') || name.ends_with(']') => {
                (name.trim_matches(['[', ']']), p.parse::<u16>().ok())
            }
            _ => (entry.trim_matches(['[', ']']), None),
        };
        if entry_port.is_some() && entry_port != port {
            continue;
        }
        let name = name.to_ascii_lowercase();
        if let (Ok(entry_ip), Some(ip)) = (name.parse::<IpAddr>(), ip) {
            if entry_ip == ip {
                return false;
            }
            continue;
        }
        // `.example.com` and `example.com` both match example.com's subdomains; the latter
        // also example.com itself.
        let bare = name.trim_start_matches('.');
        if host == bare && !name.starts_with('.') || host.ends_with(&format!(".{bare}")) {
            return false;
        }
    }
    true
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(server: &str, kubeconfig: Option<&str>, env: &[(&str, &str)]) -> Option<String> {
        let server: http::Uri = server.parse().unwrap();
        for_server(&server, kubeconfig, |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .unwrap()
        .map(|u| u.to_string())
    }

    #[test]
    fn the_kubeconfig_wins_then_the_environment_by_scheme() {
        let env = [
            ("HTTPS_PROXY", "http://secure:3128"),
            ("http_proxy", "plain:3128"),
        ];
        assert_eq!(
            choose(
                "https://k8s.example:6443",
                Some("socks5://127.0.0.1:1080"),
                &env
            )
            .as_deref(),
            Some("socks5://127.0.0.1:1080/")
        );
        assert_eq!(
            choose("https://k8s.example:6443", None, &env).as_deref(),
            Some("http://secure:3128/")
        );
        assert_eq!(
            choose("http://k8s.example:8080", None, &env).as_deref(),
            Some("http://plain:3128/")
        );
        assert_eq!(choose("https://k8s.example", None, &[]), None);
    }

    #[test]
    fn a_password_in_an_unreadable_proxy_url_is_not_shown() {
        let server: http::Uri = "https://k8s.example:6443".parse().unwrap();
        let error = for_server(&server, Some("http://me:pa ss@proxy:3128"), |_| None).unwrap_err();
        assert!(!error.contains("pa ss"), "{error}");
        assert!(error.contains("http://***@proxy:3128"), "{error}");
    }

    #[test]
    fn no_proxy_names_the_server_not_the_proxy() {
        let with = |no_proxy: &'static str| {
            [
                ("HTTPS_PROXY", "http://proxy.corp:3128"),
                ("NO_PROXY", no_proxy),
            ]
        };
        let server = "https://api.eks.example.com:443";
        assert!(choose(server, None, &with("example.com")).is_none());
        assert!(choose(server, None, &with(".example.com")).is_none());
        assert!(choose(server, None, &with("*")).is_none());
        assert!(choose(server, None, &with("api.eks.example.com:443")).is_none());
        assert!(choose(server, None, &with("api.eks.example.com:6443")).is_some());
        assert!(
            choose(server, None, &with("proxy.corp")).is_some(),
            "the proxy's own name is no reason"
        );
        assert!(choose(server, None, &with("other.org,10.0.0.0/8")).is_some());
        assert!(choose("https://10.1.2.3:6443", None, &with("10.0.0.0/8")).is_none());
        assert!(choose("https://10.1.2.3:6443", None, &with("10.1.2.3")).is_none());
        assert!(choose("https://[fd00::5]:6443", None, &with("fd00::/8")).is_none());
        // Loopback never goes through a proxy from the environment.
        assert!(choose("https://127.0.0.1:6443", None, &with("")).is_none());
        assert!(choose("https://localhost:6443", None, &with("")).is_none());
    }
}
