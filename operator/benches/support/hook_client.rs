//! A client of `POST /hook` for the benches: signed requests written out before the clock
//! starts (making and signing a payload is GitHub's work, not the hook's), sent over keep-alive
//! connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use prow_operator::webhook::signature::sign;
use sha1::Sha1;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Concurrent connections to the hook.
pub const CONNECTIONS: usize = 32;

/// The HMAC token the requests are signed with: the value of the sample `hmac-token` Secret
/// (`tests/e2e/sample-secrets.yaml`).
pub const HMAC: &[u8] = b"not-a-real-secret";

/// A `POST /hook` request of `event` as bytes on the wire, signed both ways: upstream's pinned
/// hook reads `X-Hub-Signature` (SHA-1), ours `X-Hub-Signature-256`.
pub fn signed(event: &str, delivery: &str, body: &[u8]) -> Vec<u8> {
    let mut sha1 = <Hmac<Sha1> as KeyInit>::new_from_slice(HMAC).expect("HMAC key");
    sha1.update(body);
    let mut request = format!(
        "POST /hook HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nX-GitHub-Event: {event}\r\nX-GitHub-Delivery: {delivery}\r\nX-Hub-Signature: sha1={}\r\nX-Hub-Signature-256: {}\r\nContent-Length: {}\r\n\r\n",
        hex::encode(sha1.finalize().into_bytes()),
        sign(HMAC, body),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// `total` signed requests made by `event` (the event type, the delivery and the body of each).
pub fn prepare(total: usize, event: impl Fn(usize) -> (&'static str, String, Vec<u8>)) -> Vec<Vec<u8>> {
    (0..total)
        .map(|index| {
            let (kind, delivery, body) = event(index);
            signed(kind, &delivery, &body)
        })
        .collect()
}

/// One keep-alive connection to a `/hook`.
pub struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to `address`.
    pub async fn open(address: &str) -> Connection {
        let stream = TcpStream::connect(address).await.expect("connect to /hook");
        stream.set_nodelay(true).expect("nodelay");
        Connection {
            stream: BufReader::new(stream),
        }
    }

    /// Sends one [`signed`] request; returns the status code once the whole answer is read.
    pub async fn deliver(&mut self, request: &[u8]) -> u16 {
        self.stream.get_mut().write_all(request).await.expect("write");
        let (mut status, mut length, mut line) = (0, 0, String::new());
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("read");
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some(code) = trimmed.strip_prefix("HTTP/1.1 ") {
                status = code.split_whitespace().next().and_then(|c| c.parse().ok()).unwrap_or(0);
            } else if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.expect("read body");
        status
    }
}

/// Sends `requests` ([`prepare`]) over [`CONNECTIONS`] connections; returns the wall time and
/// each request's latency in ms. Panics on any answer but 200.
pub async fn drive(address: &str, requests: Vec<Vec<u8>>) -> (Duration, Vec<f64>) {
    let next = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(requests);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let (next, requests, address) = (next.clone(), requests.clone(), address.to_string());
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&address).await;
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(index) else {
                    return latencies;
                };
                let sent = Instant::now();
                let status = connection.deliver(request).await;
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                assert_eq!(status, 200, "request {index}");
            }
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    (started.elapsed(), latencies)
}
