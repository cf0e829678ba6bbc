//! One HTTPS request to the identity provider, over the proxy client-go's oidc plugin would use:
//! its transport (`rest.TransportFor` of a config holding only the IdP's CA) takes the proxy from
//! the environment (`http.ProxyFromEnvironment`: `HTTPS_PROXY`, `NO_PROXY`, never for loopback).
//! The kubeconfig cluster's `proxy-url` reaches the API server and is not used here, as in
//! client-go (`plugin/pkg/client/auth/oidc/oidc.go`, `newOIDCAuthProvider`).
//!
//! An `http://` proxy is asked with CONNECT, a `socks5://` one (or `socks5h://`) with SOCKS5,
//! both by hyper-util's connectors; an `https://` proxy (TLS to the proxy itself) is refused
//! with a message, as it is rare and not worth a second TLS stack here.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower::ServiceExt;

/// Which proxy reaches a URL (`None`: go direct), or why the environment names none usable.
pub type ProxyFor = Arc<dyn Fn(&http::Uri) -> Result<Option<http::Uri>, String> + Send + Sync>;

/// One request; the status and the whole body.
pub async fn request(
    tls: &Arc<rustls::ClientConfig>,
    proxy_for: &ProxyFor,
    method: &str,
    url: &str,
    body: Option<String>,
    headers: &[(&str, String)],
) -> Result<(u16, Bytes), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("{url}: the identity provider must be https"));
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("{url}: no host"))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = uri.port_u16().unwrap_or(443);
    let tcp = match proxy_for(&uri)? {
        Some(proxy) => through_proxy(&proxy, &host, port).await?,
        None => TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| e.to_string())?,
    };
    let _ = tcp.set_nodelay(true);
    let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(
            "host",
            uri.authority().map_or(host.clone(), |a| a.to_string()),
        )
        .header("accept", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// A TCP stream to `host:port` through `proxy`.
async fn through_proxy(proxy: &http::Uri, host: &str, port: u16) -> Result<TcpStream, String> {
    let said = |e: &dyn std::fmt::Display| format!("proxy {}: {e}", shown(proxy));
    let target: http::Uri = format!("https://{}:{port}", bracketed(host))
        .parse()
        .map_err(|e| said(&e))?;
    let (user, password) = credentials(proxy);
    let bare = without_credentials(proxy).map_err(|e| said(&e))?;
    let mut direct = HttpConnector::new();
    direct.enforce_http(false);
    direct.set_nodelay(true);
    let io = match proxy.scheme_str() {
        Some("http") => {
            let mut tunnel = Tunnel::new(bare, direct);
            if let Some(user) = user {
                let basic = STANDARD.encode(format!("{user}:{}", password.unwrap_or_default()));
                let value =
                    http::HeaderValue::from_str(&format!("Basic {basic}")).map_err(|e| said(&e))?;
                tunnel = tunnel.with_auth(value);
            }
            tunnel.oneshot(target).await.map_err(|e| said(&e))?
        }
        Some("socks5" | "socks5h") => {
            // The proxy resolves the name for both, as Go's net/http does (golang/go#24135):
            // an identity provider known only inside the proxy's network works as with kubectl.
            let mut socks = SocksV5::new(bare, direct).local_dns(false);
            if let Some(user) = user {
                socks = socks.with_auth(user, password.unwrap_or_default());
            }
            socks.oneshot(target).await.map_err(|e| said(&e))?
        }
        other => {
            return Err(said(&format!(
                "scheme {} is not supported for the identity provider (http or socks5 is)",
                other.unwrap_or("none")
            )));
        }
    };
    Ok(io.into_inner())
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The user and password in a proxy URL (`http://user:pass@proxy:3128`), percent-decoded.
fn credentials(proxy: &http::Uri) -> (Option<String>, Option<String>) {
    let Some((userinfo, _)) = proxy.authority().and_then(|a| a.as_str().rsplit_once('@')) else {
        return (None, None);
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    match userinfo.split_once(':') {
        Some((user, password)) => (Some(decode(user)), Some(decode(password))),
        None => (Some(decode(userinfo)), None),
    }
}

/// The proxy's address without its credentials (never in a message or a log line), with the
/// port Go gives a proxy URL without one (`net/http` `canonicalAddr`: 1080 for SOCKS).
fn without_credentials(proxy: &http::Uri) -> Result<http::Uri, http::Error> {
    let authority = proxy.authority().map_or("", |a| a.as_str());
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let socks = matches!(proxy.scheme_str(), Some("socks5" | "socks5h"));
    let host_port = if socks && proxy.port().is_none() {
        format!("{host_port}:1080")
    } else {
        host_port.to_string()
    };
    http::Uri::builder()
        .scheme(proxy.scheme_str().unwrap_or("http"))
        .authority(host_port)
        .path_and_query("/")
        .build()
}

fn shown(proxy: &http::Uri) -> String {
    without_credentials(proxy).map_or_else(|_| "(unreadable)".into(), |u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_decoded_and_never_shown() {
        let proxy: http::Uri = "http://me%40corp:p%3Ass@proxy.corp:3128".parse().unwrap();
        assert_eq!(
            credentials(&proxy),
            (Some("me@corp".into()), Some("p:ss".into()))
        );
        assert_eq!(shown(&proxy), "http://proxy.corp:3128/");
        let bare: http::Uri = "socks5://10.0.0.1".parse().unwrap();
        assert_eq!(credentials(&bare), (None, None));
        assert_eq!(shown(&bare), "socks5://10.0.0.1:1080/", "SOCKS's own port");
    }
}
