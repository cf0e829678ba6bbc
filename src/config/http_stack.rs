//! The HTTP stack under the kube client: kube-rs's own (`ClientBuilder::try_from`, kube-client 5
//! `client/builder.rs` `make_generic_builder`: rustls over an `HttpConnector`, its timeouts,
//! the base URI, gzip, retries, auth and impersonation headers) with one change: the API
//! server's TCP connections are made with `TCP_NODELAY`, as Go's (so kubectl's) always are.
//! Without it a port-forward tunnel's small frames wait on Nagle's algorithm for the server's
//! delayed ACK: a new local connection's SYN_STREAM sat up to 40 ms behind the previous one's
//! FIN (set-up p99 47 ms against kubectl's 10 ms, `cargo bench --bench report`). Proxied
//! connections keep kube-rs's stack unchanged.
//!
//! Every request says who sends it, as client-go's do (`rest.DefaultUserAgent`:
//! `kubectl/v1.36.3 (linux/amd64) kubernetes/…`): kube-rs sends no `User-Agent`, which left our
//! requests unnamed in the API server's audit log and its `apiserver_request_total` by agent.

use http::{Request, Response};
use kube::client::{Body, ClientBuilder, ConfigExt, DynBody, retry::RetryPolicy};
use tower::{BoxError, ServiceBuilder, ServiceExt, retry::RetryLayer};

/// kube-rs's `GenericService`, which it does not export.
type Service = tower::util::BoxService<Request<Body>, Response<Box<DynBody>>, BoxError>;
pub type Builder = ClientBuilder<Service>;

/// `hasura-tui/0.1.0 (linux/x86_64)`.
fn user_agent() -> String {
    let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
    format!("hasura-tui/{} ({os}/{arch})", env!("CARGO_PKG_VERSION"))
}

pub fn builder(mut config: kube::Config) -> Result<Builder, kube::Error> {
    let agent = http::HeaderValue::from_str(&user_agent())
        .map_err(|e| kube::Error::HttpError(http::Error::from(e)))?;
    config.headers.push((http::header::USER_AGENT, agent));
    if config.proxy_url.is_some() {
        return ClientBuilder::try_from(config);
    }
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let client: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Builder::new(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let decompression = tower_http::decompression::DecompressionLayer::new()
        .no_br()
        .no_deflate()
        .no_zstd()
        .gzip(!config.disable_compression);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .layer(decompression)
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(client)
        .map_response(|response| {
            response.map(|body| {
                Box::new(http_body_util::BodyExt::map_err(body, BoxError::from)) as Box<DynBody>
            })
        })
        .boxed();
    Ok(ClientBuilder::new(
        service,
        config.default_namespace.clone(),
    ))
}
