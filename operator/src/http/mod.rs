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

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::{Instrument, debug, warn};

use self::metrics::Metrics;
use crate::webhook::deliveries::Deliveries;
use crate::webhook::payload::{self, HookNotice, HookSource, Kind, Parsed, ShapeError};
use crate::webhook::signature::Tokens;
use crate::webhook::{Headers, MAX_BODY_BYTES, Verdict, judge, valid_delivery};

/// A webhook the trigger acts on: signed, and read as its event type.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `X-GitHub-Event`.
    pub kind: Kind,
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    /// The payload, read once by [`payload::read`] (the reading that chose the tokens that
    /// verified its signature): its one repository and its typed form.
    pub parsed: Parsed,
}

impl Event {
    /// Reads `payload` as an event of type `event`, as `POST /hook` does once the signature is
    /// checked.
    pub fn read(event: &str, delivery: &str, payload: &serde_json::Value) -> Result<Event, ShapeError> {
        let kind = Kind::of(event);
        Ok(Event {
            kind,
            delivery: delivery.to_string(),
            parsed: payload::read(kind, payload)?,
        })
    }
}

/// Acts on accepted webhook events: the trigger, in the operator.
pub trait Consumer: Send + Sync {
    /// Acts on `event`; the webhook is answered when this completes. An error (shown in the
    /// response) means nothing was acknowledged.
    fn consume(&self, event: Event) -> BoxFuture<'static, Result<(), NotHandled>>;
}

/// Hears of every signed delivery of a target its token serves (accepted events, `ping`, `meta`),
/// as soon as it is judged: what feeds `status.webhooks[].lastDelivery` and the re-read of a
/// deleted webhook. Must not block: it is called on the request's path.
pub trait DeliveryObserver: Send + Sync {
    /// Notes one signed delivery.
    fn delivered(&self, notice: &HookNotice);
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
    /// What hears of signed deliveries, once set.
    pub observer: std::sync::OnceLock<Arc<dyn DeliveryObserver>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Whether the operator is ready (`/readyz`).
    pub ready: AtomicBool,
    /// Webhook requests answered so far, whatever the answer: what tells `run` that memory was
    /// freed since it last gave freed memory back to the system.
    pub answered: AtomicU64,
    /// The deliveries being acted on now, each with the answer its copies wait for. Bounded by
    /// the requests in flight (and those by the connection cap); an entry leaves when its
    /// delivery is answered.
    in_flight: Mutex<HashMap<String, watch::Receiver<Option<Answer>>>>,
}

impl State {
    /// The shared state of a new server: `tokens`, remembering up to `remembered` deliveries,
    /// not ready and with no consumer yet.
    pub fn new(tokens: Tokens, remembered: usize, metrics: Arc<Metrics>) -> State {
        State {
            tokens: RwLock::new(tokens),
            deliveries: Mutex::new(Deliveries::new(remembered)),
            consumer: std::sync::OnceLock::new(),
            observer: std::sync::OnceLock::new(),
            metrics,
            ready: AtomicBool::new(false),
            answered: AtomicU64::new(0),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// How many deliveries are being acted on now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// An answer to a webhook: status and body.
type Answer = (StatusCode, String);

/// The bounds of one listener. Every one is finite: a client that never finishes its headers or
/// its body, opens connections without end or sends bodies without end costs a bounded amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest body (a declared `Content-Length` over it is refused at once, `413`).
    pub max_body_bytes: usize,
    /// The bytes all bodies being read or acted on may take together; a request that would
    /// pass it is answered `503` before its body is read.
    pub body_budget_bytes: usize,
    /// How long a connection may take to send a request's headers, counted from when it is
    /// opened or its previous response was written (so it is also the idle timeout of a kept-alive
    /// connection). Past it the connection is closed.
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive (`400` past it, and the connection closed).
    pub body_read_timeout: Duration,
    /// The most connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// The largest request head (request line and headers; `431` over it). At least 8 KiB.
    pub max_header_bytes: usize,
}

impl Limits {
    /// `POST /hook`.
    pub const HOOK: Limits = Limits {
        max_body_bytes: MAX_BODY_BYTES,
        body_budget_bytes: 32 * 1024 * 1024,
        header_read_timeout: Duration::from_secs(10),
        body_read_timeout: Duration::from_secs(20),
        max_connections: 512,
        max_header_bytes: 16 * 1024,
    };

    /// `/healthz`, `/readyz` and `/metrics`: no body is read; a few connections (probes and a
    /// scraper), on their own listener, so webhook load never takes their place.
    pub const PROBES: Limits = Limits {
        max_body_bytes: 0,
        body_budget_bytes: 0,
        header_read_timeout: Duration::from_secs(10),
        body_read_timeout: Duration::from_secs(1),
        max_connections: 64,
        max_header_bytes: 16 * 1024,
    };

    /// The limits of a listener serving `routes`.
    pub fn for_routes(routes: Routes) -> Limits {
        if routes.hook { Limits::HOOK } else { Limits::PROBES }
    }
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

/// Binds `address` and serves `routes` there until the task is aborted (or the runtime stops), with the limits of
/// [`Limits::for_routes`]. Returns the bound address (useful with port 0).
pub async fn serve(
    address: SocketAddr,
    state: Arc<State>,
    routes: Routes,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ListenError> {
    serve_with(address, state, routes, Limits::for_routes(routes)).await
}

/// The longest pause of the accept loop after `accept` failed (out of file descriptors, say).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// [`serve`] with the given `limits`.
pub async fn serve_with(
    address: SocketAddr,
    state: Arc<State>,
    routes: Routes,
    limits: Limits,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ListenError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ListenError { address, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ListenError { address, source })?;
    let hook = Arc::new(Hook::new(state.clone(), limits));
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let task = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(5);
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => {
                    backoff = Duration::from_millis(5);
                    stream
                }
                Err(error) => {
                    // Out of file descriptors, most likely: pause instead of spinning.
                    warn!(%bound, %error, pause_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                    continue;
                }
            };
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                // At the cap: closed at once, so its file descriptor is free again.
                state.metrics.increment(
                    "prow_operator_http_connections_refused_total",
                    "Connections closed on arrival because the listener had its most open.",
                    &[],
                );
                drop(stream);
                continue;
            };
            let (state, hook, builder) = (state.clone(), hook.clone(), builder.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request| handle(request, state.clone(), hook.clone(), routes));
                if let Err(error) = builder.serve_connection(TokioIo::new(stream), service).await {
                    debug!(%error, "connection ended");
                }
                drop(permit);
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

/// A response after which the connection is closed (its body may be unread).
fn closing(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = text(status, body);
    response
        .headers_mut()
        .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    response
}

async fn handle<B>(
    request: Request<B>,
    state: Arc<State>,
    hook: Arc<Hook>,
    routes: Routes,
) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Display,
{
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/healthz") if routes.health => text(StatusCode::OK, "ok"),
        (&Method::GET, "/readyz") if routes.health && state.ready.load(Ordering::Relaxed) => text(StatusCode::OK, "ok"),
        (&Method::GET, "/readyz") if routes.health => text(StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        (&Method::GET, "/metrics") if routes.metrics => text(StatusCode::OK, state.metrics.render()),
        (&Method::POST, "/hook") if routes.hook => hook.answer(request).await,
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(response)
}

/// Bytes reserved from the body budget, given back when dropped.
struct Reserved {
    budget: Arc<Semaphore>,
    units: u32,
}

/// The budget counts in KiB, so 25 MiB is 25,600 permits.
const UNIT: usize = 1024;

fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX)
}

impl Reserved {
    /// Reserves enough for `bytes` in all; false when the budget cannot give it now.
    fn cover(&mut self, bytes: usize) -> bool {
        let wanted = units(bytes);
        if wanted <= self.units {
            return true;
        }
        match self.budget.try_acquire_many(wanted - self.units) {
            Ok(permit) => {
                permit.forget();
                self.units = wanted;
                true
            }
            Err(_) => false,
        }
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.budget.add_permits(self.units as usize);
    }
}

/// Why a body was not read.
enum Unread {
    /// Over the size limit.
    TooLarge,
    /// The body budget is spent.
    Busy,
    /// Not there within the deadline.
    Slow,
    /// The client broke it off.
    Broken(String),
}

/// `POST /hook`, the thin adapter around [`judge`]: reads a request within its limits, judges it,
/// makes sure one delivery is acted on once at a time, and answers.
pub struct Hook {
    state: Arc<State>,
    limits: Limits,
    budget: Arc<Semaphore>,
}

impl Hook {
    /// The webhook endpoint of `state` with `limits`.
    pub fn new(state: Arc<State>, limits: Limits) -> Hook {
        let permits = (limits.body_budget_bytes / UNIT).min(Semaphore::MAX_PERMITS);
        Hook {
            state,
            limits,
            budget: Arc::new(Semaphore::new(permits)),
        }
    }

    /// The bytes of the body budget free now.
    pub fn budget_free(&self) -> usize {
        self.budget.available_permits() * UNIT
    }

    /// Answers one webhook request. The answer is one of `200`, `400` (a body too slow among
    /// others), `401`, `413`, `431` and `503`; nothing is acted on unless it is `200`.
    pub async fn answer<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: Display,
    {
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
        let kind = Kind::of(event.as_deref().unwrap_or_default());
        // Only a well-formed id becomes a log field.
        let logged = delivery.as_deref().filter(|d| valid_delivery(d)).unwrap_or("-");
        let span = tracing::info_span!("webhook", event = kind.label(), delivery = logged);
        let headers = Headers {
            event: event.as_deref(),
            delivery: delivery.as_deref(),
            signature: signature.as_deref(),
        };
        let response = self
            .answer_inner(request.into_body(), headers, kind)
            .instrument(span)
            .await;
        self.state.answered.fetch_add(1, Ordering::Relaxed);
        response
    }

    async fn answer_inner<B>(&self, body: B, headers: Headers<'_>, kind: Kind) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: Display,
    {
        let state = &self.state;
        let mut reserved = Reserved {
            budget: self.budget.clone(),
            units: 0,
        };
        let body = match self.read(body, &mut reserved).await {
            Ok(body) => body,
            Err(Unread::TooLarge) => return respond(state, kind, &Verdict::TooLarge),
            Err(Unread::Busy) => {
                count(state, kind, "busy");
                return closing(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many webhooks in flight, redeliver later",
                );
            }
            Err(Unread::Slow) => {
                count(state, kind, "slow");
                // 400, not 408: GitHub's deliveries never take this long, and the answers stay
                // within the set the README documents.
                return closing(StatusCode::BAD_REQUEST, "the body did not arrive in time");
            }
            Err(Unread::Broken(why)) => {
                count(state, kind, "broken");
                return closing(StatusCode::BAD_REQUEST, format!("cannot read the body: {why}"));
            }
        };
        let verdict = self.judge(headers, body).await;
        observe(state, &verdict);
        let Verdict::Accept { kind, delivery, parsed } = verdict else {
            return respond(state, kind, &verdict);
        };
        let Some(consumer) = state.consumer.get().cloned() else {
            count(state, kind, "starting");
            return text(StatusCode::SERVICE_UNAVAILABLE, "starting, redeliver later");
        };
        let sender = match self.admit(&delivery) {
            Admission::Duplicate => return respond(state, kind, &Verdict::Duplicate),
            Admission::Wait(mut answer) => {
                count(state, kind, "waited");
                return match answer.wait_for(Option::is_some).await {
                    Ok(answer) => match answer.as_ref() {
                        Some((status, body)) => text(*status, body.clone()),
                        None => text(StatusCode::SERVICE_UNAVAILABLE, "redeliver later"),
                    },
                    Err(_) => text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "an earlier copy of this delivery was not finished, redeliver later",
                    ),
                };
            }
            Admission::Go(sender) => sender,
        };
        let accepted = Event { kind, delivery, parsed };
        // Acting on it runs to its end even when the client goes away, so a delivery is never
        // left half done by a dropped connection; the body budget stays held until then.
        let task_state = state.clone();
        let work = tokio::spawn(
            async move {
                let started = std::time::Instant::now();
                let delivery = accepted.delivery.clone();
                let outcome = consumer.consume(accepted).await;
                task_state.metrics.observe(
                    "prow_operator_webhook_handling_seconds",
                    "Time from an accepted webhook to its response, by event type.",
                    &[("event", kind.label())],
                    started.elapsed().as_secs_f64(),
                );
                let answer = match outcome {
                    Ok(()) => {
                        task_state
                            .deliveries
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .record(&delivery);
                        count(&task_state, kind, "handled");
                        (StatusCode::OK, "handled".to_string())
                    }
                    Err(why) => {
                        let (status, outcome) = match why {
                            NotHandled::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
                            NotHandled::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "failed"),
                        };
                        count(&task_state, kind, outcome);
                        (status, why.to_string())
                    }
                };
                sender.publish(answer.clone());
                drop(reserved);
                answer
            }
            .in_current_span(),
        );
        match work.await {
            Ok((status, body)) => text(status, body),
            Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "not handled, redeliver later"),
        }
    }

    /// Reads the body within the size limit, the body budget and the deadline. A declared
    /// `Content-Length` is checked and reserved before a byte is read, so no `100 Continue` is
    /// sent for a body that would be refused.
    async fn read<B>(&self, mut body: B, reserved: &mut Reserved) -> Result<Bytes, Unread>
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: Display,
    {
        let max = self.limits.max_body_bytes;
        let declared = body
            .size_hint()
            .exact()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        if let Some(declared) = declared {
            if declared > max {
                return Err(Unread::TooLarge);
            }
            if !reserved.cover(declared) {
                return Err(Unread::Busy);
            }
        }
        let collect = async {
            let mut bytes = BytesMut::with_capacity(declared.unwrap_or(0).min(max));
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| Unread::Broken(e.to_string()))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let total = bytes.len().saturating_add(data.len());
                if total > max {
                    return Err(Unread::TooLarge);
                }
                if !reserved.cover(total) {
                    return Err(Unread::Busy);
                }
                bytes.extend_from_slice(&data);
                // Growing may have doubled the buffer: what it holds is what counts.
                if !reserved.cover(bytes.capacity()) {
                    return Err(Unread::Busy);
                }
            }
            Ok(bytes.freeze())
        };
        tokio::time::timeout(self.limits.body_read_timeout, collect)
            .await
            .map_err(|_| Unread::Slow)?
    }

    /// [`judge`], off the async workers when the body is large (a 25 MiB HMAC takes tens of
    /// milliseconds), so probes and other webhooks are not held up.
    async fn judge(&self, headers: Headers<'_>, body: Bytes) -> Verdict {
        const INLINE: usize = 256 * 1024;
        if body.len() <= INLINE {
            let tokens = self.state.tokens.read().unwrap_or_else(|p| p.into_inner());
            return judge(headers, &body, &tokens);
        }
        let state = self.state.clone();
        let owned = (
            headers.event.map(str::to_string),
            headers.delivery.map(str::to_string),
            headers.signature.map(str::to_string),
        );
        let judged = tokio::task::spawn_blocking(move || {
            let headers = Headers {
                event: owned.0.as_deref(),
                delivery: owned.1.as_deref(),
                signature: owned.2.as_deref(),
            };
            let tokens = state.tokens.read().unwrap_or_else(|p| p.into_inner());
            judge(headers, &body, &tokens)
        })
        .await;
        judged.unwrap_or(Verdict::Unauthorized)
    }

    /// Whether an accepted `delivery` is acted on now: not when it was acted on already, and not
    /// while another copy of it is (this one then waits for that one's answer).
    fn admit(&self, delivery: &str) -> Admission {
        let mut in_flight = self.state.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(answer) = in_flight.get(delivery) {
            return Admission::Wait(answer.clone());
        }
        let seen = self
            .state
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(delivery);
        if seen {
            return Admission::Duplicate;
        }
        let (sender, receiver) = watch::channel(None);
        in_flight.insert(delivery.to_string(), receiver);
        Admission::Go(InFlight {
            state: self.state.clone(),
            delivery: delivery.to_string(),
            sender,
        })
    }
}

/// What [`Hook::admit`] decided.
enum Admission {
    /// Acted on already.
    Duplicate,
    /// Being acted on: wait for that answer.
    Wait(watch::Receiver<Option<Answer>>),
    /// Act on it; the guard publishes the answer and ends the entry.
    Go(InFlight),
}

/// A delivery being acted on; its entry leaves the in-flight map when this is dropped.
struct InFlight {
    state: Arc<State>,
    delivery: String,
    sender: watch::Sender<Option<Answer>>,
}

impl InFlight {
    fn publish(&self, answer: Answer) {
        self.sender.send_replace(Some(answer));
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.state
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.delivery);
    }
}

/// Tells the observer of a signed delivery of a known target.
fn observe(state: &State, verdict: &Verdict) {
    let Some(observer) = state.observer.get() else {
        return;
    };
    match verdict {
        Verdict::Accept { parsed, .. } => observer.delivered(&HookNotice {
            source: HookSource::Repo(parsed.repo.clone()),
            deleted: false,
        }),
        Verdict::Noted(notice) => observer.delivered(notice),
        _ => {}
    }
}

fn count(state: &State, kind: Kind, outcome: &'static str) {
    state.metrics.increment(
        "prow_operator_webhooks_total",
        "GitHub webhook requests by event type (known names, else other) and outcome.",
        &[("event", kind.label()), ("outcome", outcome)],
    );
}

fn respond(state: &State, kind: Kind, verdict: &Verdict) -> Response<Full<Bytes>> {
    let outcome = verdict.outcome();
    count(state, kind, outcome);
    let status = StatusCode::from_u16(verdict.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match verdict {
        Verdict::MissingHeader(name) => format!("missing or invalid {name}"),
        Verdict::Malformed(why) => format!("malformed JSON: {why}"),
        Verdict::Invalid(why) => format!("invalid payload: {why}"),
        _ => outcome.to_string(),
    };
    match verdict {
        Verdict::TooLarge => closing(status, body),
        _ => text(status, body),
    }
}
