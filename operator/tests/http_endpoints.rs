//! The HTTP endpoints over loopback: health, readiness, metrics, and `POST /hook` with every row
//! of the response table; accepted events reach the trigger once, and are acknowledged only when
//! it acted on them.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use futures::future::BoxFuture;
use prow_operator::http::{Consumer, Event, NotHandled, Routes, State, metrics::Metrics, serve};
use prow_operator::webhook::MAX_BODY_BYTES;
use prow_operator::webhook::deliveries::Deliveries;
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

async fn start_with(consumer: Option<Arc<Recorder>>) -> (std::net::SocketAddr, Arc<State>) {
    let state = Arc::new(State {
        tokens: RwLock::new(Tokens::parse("hmac-token")),
        deliveries: Mutex::new(Deliveries::new(1000)),
        consumer: OnceLock::new(),
        metrics: Arc::new(Metrics::default()),
        ready: false.into(),
    });
    if let Some(consumer) = consumer {
        let _ = state.consumer.set(consumer);
    }
    let (address, _task) = serve("127.0.0.1:0".parse().unwrap(), state.clone(), Routes::ALL)
        .await
        .unwrap();
    (address, state)
}

async fn start() -> (std::net::SocketAddr, Arc<State>, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let (address, state) = start_with(Some(recorder.clone())).await;
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
    let body = br#"{"action":"opened","number":1}"#;
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
        (handled[0].event.as_str(), handled[0].delivery.as_str()),
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

async fn post_push(address: std::net::SocketAddr, delivery: &str) -> (u16, String) {
    let body = br#"{"ref":"refs/heads/main"}"#;
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
