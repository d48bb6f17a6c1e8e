//! The HTTP endpoints over loopback: health, readiness, metrics, and `POST /hook` with every row
//! of the response table; accepted events reach the trigger once, and are acknowledged only when
//! it acted on them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use prow_operator::http::{Consumer, Event, Limits, NotHandled, Routes, State, metrics::Metrics, serve_with};
use prow_operator::webhook::MAX_BODY_BYTES;
use prow_operator::webhook::signature::{Tokens, sign};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn request(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // A server may answer (413) before reading everything; a failed write is then expected.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

/// A consumer that records what it is given and answers as told.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<Event>>,
    answer: Mutex<Option<NotHandled>>,
}

impl Consumer for Recorder {
    fn consume(&self, event: Event) -> BoxFuture<'static, Result<(), NotHandled>> {
        self.events.lock().unwrap().push(event);
        let answer = self.answer.lock().unwrap().clone();
        Box::pin(async move { answer.map_or(Ok(()), Err) })
    }
}

async fn start_with(consumer: Option<Arc<dyn Consumer>>) -> (std::net::SocketAddr, Arc<State>) {
    start_limited(consumer, Limits::HOOK).await
}

async fn start_limited(consumer: Option<Arc<dyn Consumer>>, limits: Limits) -> (std::net::SocketAddr, Arc<State>) {
    let state = Arc::new(State::new(
        Tokens::parse("hmac-token"),
        1000,
        Arc::new(Metrics::default()),
    ));
    if let Some(consumer) = consumer {
        let _ = state.consumer.set(consumer);
    }
    let (address, _task) = serve_with("127.0.0.1:0".parse().unwrap(), state.clone(), Routes::ALL, limits)
        .await
        .unwrap();
    (address, state)
}

async fn start() -> (std::net::SocketAddr, Arc<State>, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let (address, state) = start_with(Some(recorder.clone() as Arc<dyn Consumer>)).await;
    (address, state, recorder)
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (address, state, _events) = start().await;
    assert_eq!(request(address, "GET", "/healthz", &[], b"").await.0, 200);
    assert_eq!(request(address, "GET", "/readyz", &[], b"").await.0, 503);
    state.ready.store(true, Ordering::Relaxed);
    assert_eq!(request(address, "GET", "/readyz", &[], b"").await.0, 200);
    assert_eq!(request(address, "GET", "/nope", &[], b"").await.0, 404);
}

fn hook<'a>(event: &'a str, delivery: &'a str, signature: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery),
        ("X-Hub-Signature-256", signature),
    ]
}

#[tokio::test]
async fn the_webhook_response_table() {
    let (address, _state, recorder) = start().await;
    let events = || recorder.events.lock().unwrap().clone();
    let body = PULL_REQUEST.as_bytes();
    let good = sign(b"hmac-token", body);
    let post = |headers: &[(&str, &str)], body: &[u8]| {
        let (headers, body): (Vec<(String, String)>, Vec<u8>) = (
            headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body.to_vec(),
        );
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            request(address, "POST", "/hook", &headers, &body).await.0
        }
    };
    assert_eq!(post(&hook("pull_request", "d1", &good), body).await, 200);
    let handled = events();
    assert_eq!(handled.len(), 1);
    assert_eq!(
        (handled[0].kind.label(), handled[0].delivery.as_str()),
        ("pull_request", "d1")
    );
    // A redelivery is acknowledged, not acted on again.
    assert_eq!(post(&hook("pull_request", "d1", &good), body).await, 200);
    assert_eq!(events().len(), 1);
    // Events the trigger ignores are acknowledged.
    assert_eq!(post(&hook("ping", "d2", &good), body).await, 200);
    // A wrong or missing signature: 401, nothing done.
    assert_eq!(
        post(&hook("pull_request", "d3", &sign(b"other", body)), body).await,
        401
    );
    assert_eq!(post(&hook("pull_request", "d4", &good)[..2], body).await, 401);
    // A missing delivery id: 400.
    assert_eq!(
        post(&[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &good)], body).await,
        400
    );
    // Finding 6: an empty one too (it was acted on, with event-GUID "").
    assert_eq!(post(&hook("pull_request", "", &good), body).await, 400);
    // Malformed JSON, correctly signed: 400.
    let junk = b"{not json";
    assert_eq!(post(&hook("push", "d5", &sign(b"hmac-token", junk)), junk).await, 400);
    // Over 25 MiB: 413.
    assert_eq!(
        post(&hook("push", "d6", &good), &vec![b' '; MAX_BODY_BYTES + 1]).await,
        413
    );
    assert_eq!(events().len(), 1, "nothing rejected reached the trigger");
    let (_, metrics) = request(address, "GET", "/metrics", &[], b"").await;
    for line in [
        "prow_operator_webhooks_total{event=\"pull_request\",outcome=\"handled\"} 1",
        "prow_operator_webhooks_total{event=\"pull_request\",outcome=\"duplicate\"} 1",
        "prow_operator_webhooks_total{event=\"pull_request\",outcome=\"unauthorized\"} 2",
        "prow_operator_webhooks_total{event=\"push\",outcome=\"too_large\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in {metrics}");
    }
}

/// A valid `pull_request` payload of `acme/app`.
const PULL_REQUEST: &str = r#"{"action":"opened","number":1,"pull_request":{"number":1,"user":{"login":"alice"},"head":{"ref":"f","sha":"abc"},"base":{"ref":"main","sha":"def","repo":{"full_name":"acme/app","name":"app","owner":{"login":"acme"}}}},"repository":{"full_name":"acme/app","name":"app","owner":{"login":"acme"}}}"#;

/// A valid `push` payload of `acme/app`.
const PUSH: &str = r#"{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"acme/app","name":"app","owner":{"login":"acme"}}}"#;

async fn post_push(address: std::net::SocketAddr, delivery: &str) -> (u16, String) {
    let body = PUSH.as_bytes();
    let signature = sign(b"hmac-token", body);
    let headers = [
        ("X-GitHub-Event", "push"),
        ("X-GitHub-Delivery", delivery),
        ("X-Hub-Signature-256", signature.as_str()),
    ];
    request(address, "POST", "/hook", &headers, body).await
}

#[tokio::test]
async fn a_delivery_not_acted_on_is_not_acknowledged_and_is_acted_on_when_redelivered() {
    let (address, _state, recorder) = start().await;
    *recorder.answer.lock().unwrap() = Some(NotHandled::Unavailable("GitHub is down".into()));
    let (status, body) = post_push(address, "r1").await;
    assert_eq!(status, 503);
    assert!(body.contains("GitHub is down"), "{body}");
    *recorder.answer.lock().unwrap() = None;
    assert_eq!(post_push(address, "r1").await.0, 200, "the redelivery is acted on");
    assert_eq!(post_push(address, "r1").await.0, 200);
    assert_eq!(
        recorder.events.lock().unwrap().len(),
        2,
        "the failed attempt and the redelivery, not the duplicate"
    );
    *recorder.answer.lock().unwrap() = Some(NotHandled::Invalid("not a push event".into()));
    assert_eq!(post_push(address, "r2").await.0, 400);
}

#[tokio::test]
async fn webhooks_are_refused_until_the_trigger_is_ready() {
    let (address, _state) = start_with(None).await;
    let (status, body) = post_push(address, "s1").await;
    assert_eq!(status, 503);
    assert!(body.contains("starting"), "{body}");
}

fn signed_headers(event: &str, delivery: &str, body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("X-GitHub-Event".into(), event.into()),
        ("X-GitHub-Delivery".into(), delivery.into()),
        ("X-Hub-Signature-256".into(), sign(b"hmac-token", body)),
    ]
}

async fn post_signed(address: std::net::SocketAddr, event: &str, delivery: &str, body: &[u8]) -> (u16, String) {
    let headers = signed_headers(event, delivery, body);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    request(address, "POST", "/hook", &headers, body).await
}

/// Reads from `stream` until it closes or `within` passes; the bytes read.
async fn read_for(stream: &mut TcpStream, within: std::time::Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let closed = tokio::time::timeout(within, stream.read_to_end(&mut got)).await.is_ok();
    (got, closed)
}

/// Finding 2: the `event` label is one of a closed set, whatever unsigned requests say.
#[tokio::test]
async fn unsigned_event_names_never_become_metric_labels() {
    let (address, _state, recorder) = start().await;
    // A head over 16 KiB is refused by the HTTP layer itself (431).
    let huge = "e".repeat(60_000);
    let headers = [("X-GitHub-Event", huge.as_str()), ("X-GitHub-Delivery", "h")];
    assert_eq!(request(address, "POST", "/hook", &headers, b"{}").await.0, 431);
    let long = "e".repeat(10_000);
    for n in 0..300 {
        let delivery = format!("u{n}");
        let headers = [
            ("X-GitHub-Event", long.as_str()),
            ("X-GitHub-Delivery", delivery.as_str()),
            ("X-Hub-Signature-256", "sha256=00"),
        ];
        assert_eq!(request(address, "POST", "/hook", &headers, b"{}").await.0, 401);
    }
    let (_, metrics) = request(address, "GET", "/metrics", &[], b"").await;
    assert!(!metrics.contains("eeee"), "an attacker's string became a label");
    assert!(metrics.len() < 4_000, "metrics grew to {} bytes", metrics.len());
    assert!(
        metrics.contains("prow_operator_webhooks_total{event=\"other\",outcome=\"unauthorized\"} 300"),
        "{metrics}"
    );
    assert!(recorder.events.lock().unwrap().is_empty());
}

/// Finding 3: a declared length over the limit is refused before a byte of the body is read, and
/// no `100 Continue` invites the body.
#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_at_once_without_100_continue() {
    let (address, _state, _recorder) = start().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let started = std::time::Instant::now();
    stream
        .write_all(
            b"POST /hook HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: big\r\n\
              X-Hub-Signature-256: sha256=00\r\nExpect: 100-continue\r\nContent-Length: 1073741824\r\n\r\n",
        )
        .await
        .unwrap();
    let (got, closed) = read_for(&mut stream, std::time::Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
    assert!(closed, "the connection is closed after the refusal");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

/// Finding 3: all bodies in flight together stay within the budget; past it, 503 before reading.
#[tokio::test]
async fn bodies_in_flight_share_a_bounded_budget() {
    let limits = Limits {
        body_budget_bytes: 1024 * 1024,
        ..Limits::HOOK
    };
    let recorder: Arc<dyn Consumer> = Arc::new(Recorder::default());
    let (address, _state) = start_limited(Some(recorder), limits).await;
    let slow_head = |length: usize| {
        format!(
            "POST /hook HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: slow\r\n\
             X-Hub-Signature-256: sha256=00\r\nContent-Length: {length}\r\n\r\n0123456789"
        )
    };
    // A takes 800 KiB of the budget and sends its body slowly.
    let mut first = TcpStream::connect(address).await.unwrap();
    first.write_all(slow_head(800 * 1024).as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // B would pass the budget: 503 at once, its body unread.
    let mut second = TcpStream::connect(address).await.unwrap();
    second.write_all(slow_head(800 * 1024).as_bytes()).await.unwrap();
    let (got, _) = read_for(&mut second, std::time::Duration::from_secs(2)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    // The same, with a chunked body that grows past it.
    let mut chunked = TcpStream::connect(address).await.unwrap();
    chunked
        .write_all(
            b"POST /hook HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: c\r\n\
              X-Hub-Signature-256: sha256=00\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..6 {
        let _ = chunked.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await;
        let _ = chunked.write_all(&chunk).await;
        let _ = chunked.write_all(b"\r\n").await;
    }
    let (got, _) = read_for(&mut chunked, std::time::Duration::from_secs(2)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    // A small delivery still fits beside A.
    assert_eq!(post_push(address, "fits").await.0, 200);
    // When A goes away its share is given back.
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(address).await.unwrap();
    third.write_all(slow_head(900 * 1024).as_bytes()).await.unwrap();
    let (got, _) = read_for(&mut third, std::time::Duration::from_millis(500)).await;
    assert!(
        got.is_empty(),
        "accepted and being read: {}",
        String::from_utf8_lossy(&got)
    );
}

/// Finding 3: the body is read with a deadline.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_cut_off() {
    let limits = Limits {
        body_read_timeout: std::time::Duration::from_millis(300),
        ..Limits::HOOK
    };
    let (address, _state) = start_limited(None, limits).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /hook HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: push\r\nContent-Length: 100\r\n\r\n0123")
        .await
        .unwrap();
    let (got, closed) = read_for(&mut stream, std::time::Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("the body did not arrive in time"), "{text}");
    assert!(closed);
}

/// Finding 4: half-open connections are closed after the header timeout, kept-alive idle ones
/// too, connections past the cap are closed on arrival, and the probes, on their own listener,
/// answer throughout.
#[tokio::test]
async fn half_open_and_excess_connections_are_closed_and_probes_still_answer() {
    let limits = Limits {
        header_read_timeout: std::time::Duration::from_millis(400),
        max_connections: 20,
        ..Limits::HOOK
    };
    let state = Arc::new(State::new(
        Tokens::parse("hmac-token"),
        100,
        Arc::new(Metrics::default()),
    ));
    let _ = state.consumer.set(Arc::new(Recorder::default()) as Arc<dyn Consumer>);
    let (hook, _h) = serve_with("127.0.0.1:0".parse().unwrap(), state.clone(), Routes::HOOK, limits)
        .await
        .unwrap();
    let (health, _p) = serve_with(
        "127.0.0.1:0".parse().unwrap(),
        state.clone(),
        Routes::HEALTH,
        Limits::PROBES,
    )
    .await
    .unwrap();
    let mut open = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(hook).await.unwrap();
        let _ = stream.write_all(b"POST /hook HTTP/1.1\r\nHost: t\r\n").await;
        open.push(stream);
    }
    let started = std::time::Instant::now();
    assert_eq!(request(health, "GET", "/healthz", &[], b"").await.0, 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // Past the cap, closed on arrival.
    let mut closed_at_once = 0;
    for stream in open.iter_mut().skip(20) {
        if read_for(stream, std::time::Duration::from_millis(10)).await.1 {
            closed_at_once += 1;
        }
    }
    assert!(closed_at_once >= 170, "{closed_at_once} of 180 closed on arrival");
    // The others after the header timeout.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    for stream in &mut open {
        let (_, closed) = read_for(stream, std::time::Duration::from_millis(500)).await;
        assert!(closed, "a half-open connection is still open");
    }
    assert_eq!(post_push(hook, "after").await.0, 200, "served again");
    // A kept-alive connection left idle is closed too.
    let mut idle = TcpStream::connect(hook).await.unwrap();
    idle.write_all(b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let (got, closed) = read_for(&mut idle, std::time::Duration::from_secs(3)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 404"));
    assert!(closed, "an idle kept-alive connection is closed");
}

/// Finding 5: wrong shapes are 400 and not remembered as delivered.
#[tokio::test]
async fn wrong_shapes_are_refused_and_not_remembered() {
    let (address, _state, recorder) = start().await;
    for (event, body) in [
        ("pull_request", "{}"),
        ("push", "[]"),
        ("pull_request", PUSH),
        ("push", PULL_REQUEST),
        ("issue_comment", PULL_REQUEST),
    ] {
        let (status, answer) = post_signed(address, event, "w1", body.as_bytes()).await;
        assert_eq!(status, 400, "{event} {body}: {answer}");
    }
    assert!(recorder.events.lock().unwrap().is_empty());
    let (status, answer) = post_signed(address, "pull_request", "w1", PULL_REQUEST.as_bytes()).await;
    assert_eq!((status, answer.as_str()), (200, "handled"), "w1 was not remembered");
}

/// A consumer that takes its time, counting its calls.
struct Slow {
    calls: std::sync::atomic::AtomicUsize,
    fail_first: bool,
}

impl Consumer for Slow {
    fn consume(&self, _event: Event) -> BoxFuture<'static, Result<(), NotHandled>> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = self.fail_first && call == 0;
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if fail {
                Err(NotHandled::Unavailable("GitHub is down".into()))
            } else {
                Ok(())
            }
        })
    }
}

/// Finding 7: ten copies of one delivery at once are acted on once; each copy gets the answer
/// of the one acted on.
#[tokio::test]
async fn concurrent_copies_of_a_delivery_are_acted_on_once() {
    for fail_first in [false, true] {
        let slow = Arc::new(Slow {
            calls: 0.into(),
            fail_first,
        });
        let (address, state) = start_with(Some(slow.clone() as Arc<dyn Consumer>)).await;
        let copies: Vec<_> = (0..10)
            .map(|_| {
                tokio::spawn(async move { post_signed(address, "pull_request", "same", PULL_REQUEST.as_bytes()).await })
            })
            .collect();
        let mut answers = Vec::new();
        for copy in copies {
            answers.push(copy.await.unwrap().0);
        }
        assert_eq!(slow.calls.load(Ordering::SeqCst), 1, "acted on once");
        let expected = if fail_first { 503 } else { 200 };
        assert!(answers.iter().all(|a| *a == expected), "{answers:?}");
        assert_eq!(state.in_flight(), 0);
        let (status, answer) = post_signed(address, "pull_request", "same", PULL_REQUEST.as_bytes()).await;
        if fail_first {
            assert_eq!(
                (status, answer.as_str()),
                (200, "handled"),
                "the redelivery is acted on"
            );
            assert_eq!(slow.calls.load(Ordering::SeqCst), 2);
        } else {
            assert_eq!((status, answer.as_str()), (200, "duplicate"));
        }
    }
}
