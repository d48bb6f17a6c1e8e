//! The HTTP endpoints over loopback: health, readiness, metrics, and `POST /hook` with every row
//! of the response table; accepted events reach the trigger's queue exactly once.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use prow_operator::http::{Routes, State, metrics::Metrics, serve};
use prow_operator::webhook::MAX_BODY_BYTES;
use prow_operator::webhook::deliveries::Deliveries;
use prow_operator::webhook::signature::{Tokens, sign};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

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

async fn start(
    queue: usize,
) -> (
    std::net::SocketAddr,
    Arc<State>,
    mpsc::Receiver<prow_operator::http::Event>,
) {
    let (sender, receiver) = mpsc::channel(queue);
    let state = Arc::new(State {
        tokens: RwLock::new(Tokens::parse("hmac-token")),
        deliveries: Mutex::new(Deliveries::new(1000)),
        events: sender,
        metrics: Arc::new(Metrics::default()),
        ready: false.into(),
    });
    let (address, _task) = serve("127.0.0.1:0".parse().unwrap(), state.clone(), Routes::ALL)
        .await
        .unwrap();
    (address, state, receiver)
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (address, state, _events) = start(8).await;
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
    let (address, _state, mut events) = start(8).await;
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
    let event = events.recv().await.unwrap();
    assert_eq!((event.event.as_str(), event.delivery.as_str()), ("pull_request", "d1"));
    // A redelivery is acknowledged, not queued again.
    assert_eq!(post(&hook("pull_request", "d1", &good), body).await, 200);
    assert!(events.try_recv().is_err());
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
    assert!(events.try_recv().is_err(), "nothing rejected reached the queue");
    let (_, metrics) = request(address, "GET", "/metrics", &[], b"").await;
    for line in [
        "prow_operator_webhooks_total{event=\"pull_request\",outcome=\"accepted\"} 1",
        "prow_operator_webhooks_total{event=\"pull_request\",outcome=\"duplicate\"} 1",
        "prow_operator_webhooks_total{event=\"pull_request\",outcome=\"unauthorized\"} 2",
        "prow_operator_webhooks_total{event=\"push\",outcome=\"too_large\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in {metrics}");
    }
}

#[tokio::test]
async fn a_full_queue_is_not_acknowledged() {
    let (address, _state, _events) = start(1).await;
    for (index, expected) in [(1, 200), (2, 503)] {
        let body = format!(r#"{{"n":{index}}}"#);
        let signature = sign(b"hmac-token", body.as_bytes());
        let delivery = format!("q{index}");
        let headers = [
            ("X-GitHub-Event", "push"),
            ("X-GitHub-Delivery", delivery.as_str()),
            ("X-Hub-Signature-256", signature.as_str()),
        ];
        assert_eq!(
            request(address, "POST", "/hook", &headers, body.as_bytes()).await.0,
            expected
        );
    }
}
