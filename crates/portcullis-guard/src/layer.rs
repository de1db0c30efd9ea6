//! [`GuardLayer`]: the tower layer that admits a request only with a token meeting a
//! [`Requirement`], and hands the verified claims to the handler.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::{Guard, Requirement};

/// Guards the wrapped routes with one [`Requirement`].
///
/// ```no_run
/// # use portcullis_guard::{Guard, GuardConfig, GuardLayer, Requirement, Verified};
/// # use axum::{Router, routing::get};
/// # fn app(guard: Guard) -> Router {
/// Router::new()
///     .route("/reports", get(|v: Verified| async move { v.sub.clone() }))
///     .route_layer(GuardLayer::new(guard, Requirement::authenticated().role("advisor")))
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct GuardLayer {
    guard: Guard,
    requirement: Arc<Requirement>,
}

impl GuardLayer {
    /// A layer that lets through only requests whose token meets `requirement`.
    pub fn new(guard: Guard, requirement: Requirement) -> Self {
        Self {
            guard,
            requirement: Arc::new(requirement),
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService {
            inner,
            guard: self.guard.clone(),
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service [`GuardLayer`] wraps around a route.
#[derive(Clone, Debug)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
    requirement: Arc<Requirement>,
}

impl<S> Service<Request> for GuardService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone takes the place of the service that was driven ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        let requirement = Arc::clone(&self.requirement);
        Box::pin(async move {
            let method = request.method().as_str().to_owned();
            // Inside `Router::nest` the URI has lost its prefix; a DPoP proof names the
            // path the client called, which axum keeps as the original URI.
            let path = request
                .extensions()
                .get::<axum::extract::OriginalUri>()
                .map_or_else(|| request.uri().path(), |u| u.0.path())
                .to_owned();
            match guard
                .authorize(&method, &path, request.headers(), &requirement)
                .await
            {
                Ok(verified) => {
                    request.extensions_mut().insert(verified);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
