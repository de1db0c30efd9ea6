//! Logging, the metrics recorder, and the request metrics every route reports.

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram, Label};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the log subscriber once (later calls do nothing). `RUST_LOG` overrides
/// `default_filter` (e.g. `info,sqlx=warn`).
pub fn init_logging(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// How often recorded histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process-wide Prometheus recorder (installed on first use; servers started in the same
/// process, as in tests, share it).
///
/// The recorder keeps every histogram sample until it is folded into the buckets, which
/// otherwise happens only on a scrape: a thread does it every [`UPKEEP_INTERVAL`], so memory
/// stays bounded on a node nobody scrapes.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
            }
            handle
        })
        .clone()
}

/// A recorder's handle that is not installed process-wide: what a one-off command holds in
/// its state, so it neither takes the global recorder nor starts the upkeep thread.
pub fn private_metrics_handle() -> PrometheusHandle {
    PrometheusBuilder::new().build_recorder().handle()
}

/// Counts requests (`portcullis_http_requests_total`) and their durations
/// (`portcullis_http_request_duration_seconds`) by method, route and status.
///
/// This runs on every request, forward-auth included, so it avoids the recorder's registry:
/// the handles of each label set are looked up there once per thread and kept. The label sets
/// are bounded: the route is the matched template (or `unmatched`), a method outside the
/// common ones is `other`, and statuses are ours.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let path = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    let labels = RequestLabels {
        method,
        path,
        status: response.status(),
    };
    let elapsed = start.elapsed().as_secs_f64();
    REQUEST_HANDLES.with_borrow_mut(|by_path| {
        let seen = by_path.get(labels.path()).and_then(|handles| {
            handles
                .iter()
                .find(|h| h.method == labels.method && h.status == labels.status)
        });
        if let Some(handles) = seen {
            handles.record(elapsed);
            return;
        }
        let handles = labels.register();
        handles.record(elapsed);
        by_path
            .entry(labels.path().to_owned())
            .or_default()
            .push(handles);
    });
    response
}

thread_local! {
    /// Registered handles by route, then method and status; per thread, so looking them up
    /// takes no lock.
    static REQUEST_HANDLES: RefCell<HashMap<String, Vec<RequestHandles>>> =
        RefCell::new(HashMap::new());
}

/// The recorder's handles for one (method, route, status).
struct RequestHandles {
    method: &'static str,
    status: StatusCode,
    count: Counter,
    duration: Histogram,
}

impl RequestHandles {
    fn record(&self, seconds: f64) {
        self.count.increment(1);
        self.duration.record(seconds);
    }
}

/// The labels of one request.
struct RequestLabels {
    method: &'static str,
    path: Option<MatchedPath>,
    status: StatusCode,
}

impl RequestLabels {
    fn path(&self) -> &str {
        self.path.as_ref().map_or("unmatched", MatchedPath::as_str)
    }

    /// The recorder's handles for these labels (found or created in its registry).
    fn register(&self) -> RequestHandles {
        let labels = [
            Label::new("method", self.method),
            Label::new("path", self.path().to_owned()),
            Label::new("status", self.status.as_str().to_owned()),
        ];
        RequestHandles {
            method: self.method,
            status: self.status,
            count: metrics::counter!("portcullis_http_requests_total", labels.iter()),
            duration: metrics::histogram!(
                "portcullis_http_request_duration_seconds",
                labels.iter()
            ),
        }
    }
}

/// The method as a label value: the common ones, else `other`.
fn method_label(method: &Method) -> &'static str {
    const COMMON: [&str; 7] = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD"];
    COMMON
        .into_iter()
        .find(|m| *m == method.as_str())
        .unwrap_or("other")
}

/// Connection metrics of the accept loop (`crate::serve`): per connection, never per
/// request, so they go through the recorder's registry directly.
pub(crate) mod connections {
    /// `portcullis_connections_open`: connections held open now, WebSockets included.
    pub(crate) fn opened() {
        metrics::gauge!("portcullis_connections_open").increment(1.0);
    }

    /// The other half of [`opened`].
    pub(crate) fn closed() {
        metrics::gauge!("portcullis_connections_open").decrement(1.0);
    }

    /// `portcullis_connections_refused_total{reason}`: closed at accept because a cap was
    /// reached (`per_ip` or `total`).
    pub(crate) fn refused(reason: &'static str) {
        metrics::counter!("portcullis_connections_refused_total", "reason" => reason).increment(1);
    }

    /// `portcullis_connections_timed_out_total{phase}`: closed by the server because the
    /// client was too slow (`tls_handshake`, `header`, `body`) or stayed idle (`idle`).
    pub(crate) fn timed_out(phase: &'static str) {
        metrics::counter!("portcullis_connections_timed_out_total", "phase" => phase).increment(1);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    /// The value of the `portcullis_http_requests_total` line whose labels are `labels`.
    fn count(text: &str, labels: &[&str]) -> Option<u64> {
        text.lines()
            .filter(|l| l.starts_with("portcullis_http_requests_total{"))
            .find(|l| labels.iter().all(|want| l.contains(want)))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    async fn send(app: &Router, method: &str, uri: &str) -> StatusCode {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        app.clone().oneshot(req).await.unwrap().status()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_are_counted_by_route_template_method_and_status() {
        let handle = metrics_handle();
        let app = Router::new()
            .route(
                "/telemetry-probe/{id}",
                get(|| async { StatusCode::NO_CONTENT }).post(|| async { StatusCode::CONFLICT }),
            )
            .layer(axum::middleware::from_fn(track_requests));
        // From several tasks, so several threads' handle caches feed the same series.
        let sends = (0..40).map(|i| {
            let app = app.clone();
            tokio::spawn(async move { send(&app, "GET", &format!("/telemetry-probe/{i}")).await })
        });
        for status in futures_util::future::join_all(sends).await {
            assert_eq!(status.unwrap(), StatusCode::NO_CONTENT);
        }
        assert_eq!(
            send(&app, "POST", "/telemetry-probe/1").await,
            StatusCode::CONFLICT
        );
        assert_eq!(
            send(&app, "PURGE", "/telemetry-probe/1").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            send(&app, "GET", "/telemetry-nowhere/7").await,
            StatusCode::NOT_FOUND
        );

        let text = handle.render();
        let probe = r#"path="/telemetry-probe/{id}""#;
        assert_eq!(
            count(&text, &[probe, r#"method="GET""#, r#"status="204""#]),
            Some(40),
            "{text}"
        );
        assert_eq!(
            count(&text, &[probe, r#"method="POST""#, r#"status="409""#]),
            Some(1)
        );
        // An extension method is labelled `other`; it never becomes a label value of its own.
        assert!(!text.contains("PURGE"), "{text}");
        assert!(count(&text, &[r#"method="other""#, r#"status="405""#]).is_some());
        // Raw paths never become labels.
        assert!(!text.contains("/telemetry-probe/1\""), "{text}");
        assert!(!text.contains("telemetry-nowhere"), "{text}");
        assert!(count(&text, &[r#"path="unmatched""#, r#"status="404""#]).is_some());
        assert!(text.contains("portcullis_http_request_duration_seconds_bucket"));
    }
}
