//! The layer on the kube client that puts the fetched credential on every request. On a 401 it
//! forgets that credential (once, however many requests were refused with it), fetches a new
//! one and sends the request again, once, when its body can be sent twice; otherwise the caller
//! sees the 401 and its next request carries the new credential (client-go's behaviour). A
//! failed fetch is the request's error: a `PluginError`, which the header words as it is.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response, StatusCode, header};
use kube::client::Body;
use tower::buffer::Buffer;
use tower::{BoxError, Layer, Service, ServiceExt};

use super::credentials::Credentials;
use super::exec::Cred;

/// Requests waiting on the layer's buffer (the stack behind it is called from one task).
const BUFFER: usize = 1024;

#[derive(Clone)]
pub struct AuthLayer(pub Arc<Credentials>);

impl<S, B> Layer<S> for AuthLayer
where
    S: Service<Request<Body>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + Sync,
    B: Send + 'static,
{
    type Service = AuthService<S, B>;

    fn layer(&self, inner: S) -> AuthService<S, B> {
        AuthService {
            // A buffer makes the stack cheap to clone, so a refused request can be sent again.
            inner: Buffer::new(inner, BUFFER),
            credentials: self.0.clone(),
        }
    }
}

pub struct AuthService<S, B>
where
    S: Service<Request<Body>, Response = Response<B>>,
{
    inner: Buffer<Request<Body>, S::Future>,
    credentials: Arc<Credentials>,
}

impl<S, B> Clone for AuthService<S, B>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Future: Send + 'static,
{
    fn clone(&self) -> Self {
        AuthService {
            inner: self.inner.clone(),
            credentials: self.credentials.clone(),
        }
    }
}

impl<S, B> Service<Request<Body>> for AuthService<S, B>
where
    S: Service<Request<Body>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + Sync,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone takes the place of the service that was made ready, which serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let credentials = self.credentials.clone();
        Box::pin(async move {
            let again = clone_request(&request);
            let cred = credentials.current().await?;
            let response = inner.call(with_token(request, &cred)?).await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            credentials.rejected(&cred).await;
            let Some(again) = again else {
                return Ok(response);
            };
            let renewed = credentials.current().await?;
            if Arc::ptr_eq(&cred, &renewed) {
                return Ok(response);
            }
            drop(response);
            inner
                .ready()
                .await?
                .call(with_token(again, &renewed)?)
                .await
        })
    }
}

fn with_token(mut request: Request<Body>, cred: &Cred) -> Result<Request<Body>, BoxError> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", cred.token))?;
    value.set_sensitive(true);
    request.headers_mut().insert(header::AUTHORIZATION, value);
    Ok(request)
}

/// A copy to send again after a 401, when the body is in memory (every request kube-rs makes
/// but streamed uploads, which it does not make).
fn clone_request(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    Some(copy)
}
