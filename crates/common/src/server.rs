//! HTTP plumbing every service mounts: the standard middleware stack, `/healthz`, `/readyz`,
//! `/metrics`, JSON fallbacks, the internal-route guard, and serving with graceful shutdown.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::dapr::DaprClient;
use crate::error::ApiError;

/// Largest request body accepted anywhere (docs/contract.md §4: 413 above 1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long in-flight requests get to finish after shutdown starts (docs/contract.md §2: exit
/// within 10 s).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(8);

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The process-wide Prometheus recorder (one per process, also when `fleet` runs every service).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Only fails if another recorder was installed first; ours still renders nothing then.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// What `/readyz` checks: only what the service uses.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// Must answer `SELECT 1`; `None` for a service without a database (websocket).
    pub pool: Option<PgPool>,
    /// Must answer `/v1.0/healthz/outbound`.
    pub dapr: DaprClient,
}

/// What every service's router needs besides its own state: what `/readyz` checks and the app
/// token its internal routes require. Each service's `router(state)` ends in
/// [`Ops::assemble`], so all five are put together the same way.
#[derive(Debug, Clone)]
pub struct Ops {
    /// What `/readyz` checks (and the sidecar client the service publishes with).
    pub readiness: Readiness,
    /// The token daprd sends on internal routes (`APP_API_TOKEN`).
    pub app_api_token: Option<SecretString>,
}

impl Ops {
    /// For a service with `settings`; `pool` is its database (`None` for a service without).
    pub fn new(settings: &crate::config::ServiceSettings, pool: Option<PgPool>) -> Self {
        let dapr = DaprClient::new(settings.dapr_http_port, settings.dapr_api_token.clone());
        Self {
            readiness: Readiness { pool, dapr },
            app_api_token: settings.app_api_token.clone(),
        }
    }

    /// The service's sidecar.
    pub fn dapr(&self) -> &DaprClient {
        &self.readiness.dapr
    }

    /// A service's whole router (without the standard layers [`Server::bind`] adds): `public`
    /// (the user routes, each guarded by its own extractor), `internal` (the routes only daprd
    /// calls, guarded here by the app token), `docs` (`/openapi.json`) and the ops routes.
    pub fn assemble(&self, public: Router, internal: Router, docs: Router) -> Router {
        public
            .merge(docs)
            .merge(ops_routes(self.readiness.clone()))
            .merge(require_app_token(internal, self.app_api_token.clone()))
    }
}

/// `/healthz` (liveness, no I/O), `/readyz` (the database, if any, and the sidecar reachable),
/// `/metrics`.
pub fn ops_routes(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { StatusCode::OK }))
        .route("/readyz", get(readyz).with_state(readiness))
        .route("/metrics", get(|| async { metrics_handle().render() }))
}

async fn readyz(State(readiness): State<Readiness>) -> Response {
    let database = async {
        match &readiness.pool {
            Some(pool) => Some(matches!(
                tokio::time::timeout(
                    Duration::from_secs(2),
                    sqlx::query("SELECT 1").execute(pool)
                )
                .await,
                Ok(Ok(_))
            )),
            None => None,
        }
    };
    let sidecar = tokio::time::timeout(Duration::from_secs(2), readiness.dapr.outbound_ready());
    let (db_ok, sidecar) = tokio::join!(database, sidecar);
    let sidecar_ok = matches!(sidecar, Ok(true));
    let status = if db_ok.unwrap_or(true) && sidecar_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::json!({ "sidecar": sidecar_ok });
    if let Some(db_ok) = db_ok {
        body["database"] = serde_json::json!(db_ok);
    }
    (status, axum::Json(body)).into_response()
}

/// Wraps `router` in the standard stack: request id (set and echoed), a request span with the
/// matched route, request metrics, panic → JSON 500, body limit, JSON 404/405 fallbacks.
pub fn standard_layers(router: Router, service: &'static str) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(move |request: &Request| {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str)
            .unwrap_or("");
        tracing::info_span!("request", service, method = %request.method(), route, request_id)
    });
    router
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(service, record_metrics))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}

async fn record_metrics(
    State(service): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let labels = [
        ("service", service.to_owned()),
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Guards internal routes (Dapr deliveries, cron, `/dapr/subscribe`): the `dapr-api-token`
/// header must match the app token (401 without it, 403 when wrong), and a request with a body
/// must be JSON or a CloudEvent (415 otherwise) — daprd sends `application/cloudevents+json`
/// with deliveries and `application/json` with cron ticks, while a cross-site form or
/// `text/plain` POST from a web page can send neither. A user JWT never opens these routes.
/// `None` (development only, see `config::Environment`) leaves the token check off.
pub fn require_app_token(router: Router, token: Option<SecretString>) -> Router {
    let router = router.layer(middleware::from_fn(require_json_body));
    match token {
        Some(token) => router.layer(middleware::from_fn_with_state(
            Arc::new(token),
            check_app_token,
        )),
        None => router,
    }
}

async fn check_app_token(
    State(expected): State<Arc<SecretString>>,
    request: Request,
    next: Next,
) -> Response {
    match request.headers().get("dapr-api-token") {
        None => ApiError::Unauthorized(crate::auth::AuthError::Missing).into_response(),
        Some(given) if constant_time_eq(given.as_bytes(), expected.expose_secret().as_bytes()) => {
            next.run(request).await
        }
        Some(_) => ApiError::Forbidden.into_response(),
    }
}

/// The media types an internal route accepts a body in.
const INTERNAL_MEDIA_TYPES: [&str; 2] = ["application/json", "application/cloudevents+json"];

async fn require_json_body(request: Request, next: Next) -> Response {
    use axum::http::Method;
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let media_type = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media_type.is_some_and(|t| INTERNAL_MEDIA_TYPES.contains(&t.as_str())) {
        next.run(request).await
    } else {
        ApiError::UnsupportedMediaType.into_response()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A bound, not yet serving, HTTP server: binding first lets the caller learn the port (port 0
/// in tests) and lets the sidecar find the app before the app waits on the sidecar (§8.2).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    router: Router,
}

impl Server {
    /// Binds `addr` and prepares `router` with [`standard_layers`].
    pub async fn bind(
        addr: SocketAddr,
        router: Router,
        service: &'static str,
    ) -> std::io::Result<Self> {
        // Install the recorder before the first request so no request goes uncounted.
        metrics_handle();
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            listener,
            router: standard_layers(router, service),
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` is cancelled, then stops accepting and gives in-flight requests
    /// up to [`DRAIN_TIMEOUT`] to finish.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let graceful = shutdown.clone();
        let serve = axum::serve(self.listener.tap_io(no_delay), self.router)
            .with_graceful_shutdown(async move { graceful.cancelled().await })
            .into_future();
        tokio::pin!(serve);
        tokio::select! {
            result = &mut serve => result,
            () = async { shutdown.cancelled().await; tokio::time::sleep(DRAIN_TIMEOUT).await } => {
                tracing::warn!("drain timeout: closing remaining connections");
                Ok(())
            }
        }
    }
}

/// Turns Nagle's algorithm off on an accepted connection (`TCP_NODELAY`), which `axum::serve`
/// leaves on. With it on, a small write that follows one the peer has not acknowledged yet
/// waits for that acknowledgement, and a peer that has nothing to send back delays it (Linux:
/// 40 ms): a WebSocket push right after another one, a reply written in two parts.
pub fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted connection");
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// A shutdown token cancelled on ctrl-c or SIGTERM, for a service's `main`.
pub fn signal_token() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        cancel.cancel();
    });
    token
}

/// The programmatic subscription list served on `GET /dapr/subscribe`.
pub fn subscribe_route(subscriptions: Vec<crate::delivery::DaprSubscription>) -> Router {
    Router::new().route(
        "/dapr/subscribe",
        get(move || async move { axum::Json(subscriptions.clone()) }),
    )
}

type BackgroundTask =
    Box<dyn FnOnce(CancellationToken) -> futures::future::BoxFuture<'static, ()> + Send>;

/// A bound service: its HTTP server plus the background loops it owns (outbox relay,
/// schedulers, …). Every service's `build` returns one, so `main`, `fleet` and tests run them
/// all the same way.
pub struct Service {
    server: Server,
    background: Vec<BackgroundTask>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("port", &self.port())
            .field("background", &self.background.len())
            .finish()
    }
}

impl Service {
    /// A service that only serves HTTP.
    pub fn new(server: Server) -> Self {
        Self {
            server,
            background: Vec::new(),
        }
    }

    /// Adds a loop that runs beside the server until the shutdown token is cancelled.
    pub fn with_background<F, Fut>(mut self, task: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.background
            .push(Box::new(move |shutdown| Box::pin(task(shutdown))));
        self
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Runs the background loops and serves until `shutdown`, then waits for the loops to
    /// finish their current step.
    /// Dropping the future (an aborted task: a crash) aborts the loops too.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut loops = AbortOnDrop(
            self.background
                .into_iter()
                .map(|task| tokio::spawn(task(shutdown.clone())))
                .collect(),
        );
        self.server.run_until_stopped(shutdown).await?;
        while let Some(handle) = loops.0.pop() {
            handle.await?;
        }
        Ok(())
    }
}

/// Background loops that end with their service, also when it is dropped mid-run.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}
