//! The operator's HTTP endpoints: `POST /hook` for GitHub webhooks (`:8888`), `/healthz` and
//! `/readyz` (`:8081`) and `/metrics` (`:9090`). Thin: requests are judged by
//! [`crate::webhook::judge`] and accepted events are handed to a [`Consumer`].
//!
//! **A webhook is acknowledged only once it was acted on.** The response waits for the consumer
//! (the trigger), so `200` means the ProwJobs, labels and replies are written. When acting on it
//! fails (GitHub or the API server is down past the bounded retries), the answer is `503`: GitHub
//! records the delivery as failed, nothing claims it was done, and it can be redelivered (from the
//! webhook's "Recent Deliveries", or its API). Because ProwJob names derive from the delivery id,
//! a redelivery, or a retry after a partial failure, never creates a job twice. A delivery is
//! remembered as seen only once it succeeded, so a redelivered failure is acted on.

pub mod metrics;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use self::metrics::Metrics;
use crate::webhook::deliveries::Deliveries;
use crate::webhook::signature::Tokens;
use crate::webhook::{Headers, MAX_BODY_BYTES, Verdict, judge};

/// A webhook the trigger acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `X-GitHub-Event`.
    pub event: String,
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    /// The payload.
    pub payload: serde_json::Value,
}

/// Acts on accepted webhook events: the trigger, in the operator.
pub trait Consumer: Send + Sync {
    /// Acts on `event`; the webhook is answered when this completes. An error (shown in the
    /// response) means nothing was acknowledged.
    fn consume(&self, event: Event) -> BoxFuture<'static, Result<(), NotHandled>>;
}

/// Why an accepted event was not acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotHandled {
    /// The payload is not a valid event of its type (`400`; redelivering it will not help).
    #[error("invalid payload: {0}")]
    Invalid(String),
    /// Something it needs is unavailable: GitHub, the API server, credentials (`503`; redeliver
    /// it later).
    #[error("not handled, redeliver later: {0}")]
    Unavailable(String),
}

/// What the endpoints share.
pub struct State {
    /// The HMAC tokens in force (replaced when the Secret changes).
    pub tokens: RwLock<Tokens>,
    /// Recently seen deliveries.
    pub deliveries: Mutex<Deliveries>,
    /// What acts on accepted events; until it is set (the caches are filling) webhooks are
    /// answered `503`.
    pub consumer: std::sync::OnceLock<Arc<dyn Consumer>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Whether the operator is ready (`/readyz`).
    pub ready: AtomicBool,
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address}: {source}")]
pub struct ListenError {
    /// The address.
    pub address: SocketAddr,
    /// Why.
    pub source: std::io::Error,
}

/// Which endpoints one listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Routes {
    /// `POST /hook`.
    pub hook: bool,
    /// `/healthz` and `/readyz`.
    pub health: bool,
    /// `/metrics`.
    pub metrics: bool,
}

impl Routes {
    /// Every endpoint.
    pub const ALL: Routes = Routes {
        hook: true,
        health: true,
        metrics: true,
    };
    /// `/healthz` and `/readyz` only (`:8081`).
    pub const HEALTH: Routes = Routes {
        hook: false,
        health: true,
        metrics: false,
    };
    /// `/metrics` only (`:9090`).
    pub const METRICS: Routes = Routes {
        hook: false,
        health: false,
        metrics: true,
    };
    /// `POST /hook` only (`:8888`).
    pub const HOOK: Routes = Routes {
        hook: true,
        health: false,
        metrics: false,
    };
}

/// Binds `address` and serves `routes` there until the task is dropped. Returns the bound address
/// (useful with port 0).
pub async fn serve(
    address: SocketAddr,
    state: Arc<State>,
    routes: Routes,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ListenError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ListenError { address, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ListenError { address, source })?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| handle(request, state.clone(), routes));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((bound, task))
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<State>,
    routes: Routes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/healthz") if routes.health => text(StatusCode::OK, "ok"),
        (&Method::GET, "/readyz") if routes.health && state.ready.load(Ordering::Relaxed) => text(StatusCode::OK, "ok"),
        (&Method::GET, "/readyz") if routes.health => text(StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        (&Method::GET, "/metrics") if routes.metrics => text(StatusCode::OK, state.metrics.render()),
        (&Method::POST, "/hook") if routes.hook => hook(request, &state).await,
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(response)
}

async fn hook(request: Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (event, delivery, signature) = (
        header("X-GitHub-Event"),
        header("X-GitHub-Delivery"),
        header("X-Hub-Signature-256"),
    );
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return respond(state, event.as_deref(), &Verdict::TooLarge),
    };
    let headers = Headers {
        event: event.as_deref(),
        delivery: delivery.as_deref(),
        signature: signature.as_deref(),
    };
    let verdict = {
        let tokens = state.tokens.read().unwrap_or_else(|p| p.into_inner());
        let deliveries = state.deliveries.lock().unwrap_or_else(|p| p.into_inner());
        judge(headers, &body, &tokens, &deliveries)
    };
    let Verdict::Accept {
        event,
        delivery,
        payload,
    } = verdict
    else {
        return respond(state, event.as_deref(), &verdict);
    };
    let Some(consumer) = state.consumer.get() else {
        count(state, Some(&event), "starting");
        return text(StatusCode::SERVICE_UNAVAILABLE, "starting, redeliver later");
    };
    let started = std::time::Instant::now();
    let accepted = Event {
        event: event.clone(),
        delivery: delivery.clone(),
        payload,
    };
    let outcome = consumer.consume(accepted).await;
    state.metrics.observe(
        "prow_operator_webhook_handling_seconds",
        "Time from an accepted webhook to its response, by event type.",
        &[("event", &event)],
        started.elapsed().as_secs_f64(),
    );
    match outcome {
        Ok(()) => {
            state
                .deliveries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .record(&delivery);
            count(state, Some(&event), "handled");
            text(StatusCode::OK, "handled")
        }
        Err(why) => {
            let (status, outcome) = match why {
                NotHandled::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
                NotHandled::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "failed"),
            };
            count(state, Some(&event), outcome);
            text(status, why.to_string())
        }
    }
}

fn count(state: &State, event: Option<&str>, outcome: &str) {
    state.metrics.increment(
        "prow_operator_webhooks_total",
        "GitHub webhook requests by event type and outcome.",
        &[("event", event.unwrap_or("")), ("outcome", outcome)],
    );
}

fn respond(state: &State, event: Option<&str>, verdict: &Verdict) -> Response<Full<Bytes>> {
    let outcome = match verdict {
        Verdict::Accept { .. } => "accepted",
        Verdict::Ignore => "ignored",
        Verdict::Duplicate => "duplicate",
        Verdict::MissingHeader(_) => "missing_header",
        Verdict::Unauthorized => "unauthorized",
        Verdict::TooLarge => "too_large",
        Verdict::Malformed(_) => "malformed",
    };
    count(state, event, outcome);
    let status = StatusCode::from_u16(verdict.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match verdict {
        Verdict::MissingHeader(name) => format!("missing {name}"),
        Verdict::Malformed(why) => format!("malformed JSON: {why}"),
        _ => outcome.to_string(),
    };
    text(status, body)
}
