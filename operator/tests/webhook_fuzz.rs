//! The whole request → answer path of `POST /hook` under arbitrary input: arbitrary bytes,
//! headers and mutations of valid payloads, signed and unsigned, through [`Hook::answer`] and
//! over a real connection. It never panics, answers only 200, 400, 401, 413, 431 or 503, and
//! nothing reaches the trigger or is remembered unless the answer is 200.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::Full;
use hyper::Request;
use proptest::prelude::*;
use prow_operator::http::{Consumer, Event, Hook, Limits, NotHandled, Routes, State, metrics::Metrics, serve};
use prow_operator::webhook::signature::{Tokens, sign};
use serde_json::{Value, json};

const ANSWERS: [u16; 6] = [200, 400, 401, 413, 431, 503];

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Consumer for Recorder {
    fn consume(&self, event: Event) -> BoxFuture<'static, Result<(), NotHandled>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
        Box::pin(async { Ok(()) })
    }
}

fn valid_payloads() -> Vec<(&'static str, Value)> {
    let repository = json!({"full_name": "acme/app", "name": "app", "owner": {"login": "acme"}});
    vec![
        (
            "pull_request",
            json!({"action": "opened", "number": 1,
                "pull_request": {"number": 1, "user": {"login": "alice"},
                    "head": {"ref": "f", "sha": "abc"},
                    "base": {"ref": "main", "sha": "def", "repo": repository.clone()}},
                "repository": repository.clone()}),
        ),
        (
            "push",
            json!({"ref": "refs/heads/main", "after": "abc", "commits": [], "repository": repository.clone()}),
        ),
        (
            "issue_comment",
            json!({"action": "created", "issue": {"number": 1, "state": "open", "pull_request": {}},
                "comment": {"body": "/test all", "user": {"login": "bob"}}, "repository": repository}),
        ),
    ]
}

/// Every JSON pointer of `value`'s nodes.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| pointers(v, format!("{at}/{k}"), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// A mutation of a payload: replace the node at a pointer (picked by index) with another value,
/// or remove it.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(Value::String),
        Just(json!("globex/app")),
        Just(json!("ACME/App")),
        Just(json!({})),
        Just(json!([])),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), json_leaf()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn mutate(mut payload: Value, mutations: &[Mutation]) -> Value {
    for mutation in mutations {
        let mut all = Vec::new();
        pointers(&payload, String::new(), &mut all);
        let pick = |i: usize| all[i % all.len()].clone();
        match mutation {
            Mutation::Replace(i, v) => {
                let at = pick(*i);
                if at.is_empty() {
                    payload = v.clone();
                } else if let Some(node) = payload.pointer_mut(&at) {
                    *node = v.clone();
                }
            }
            Mutation::Remove(i) => {
                let at = pick(*i);
                if let Some((parent, key)) = at.rsplit_once('/')
                    && let Some(Value::Object(map)) = payload.pointer_mut(parent)
                {
                    map.remove(key);
                }
            }
        }
    }
    payload
}

/// How the body is made.
#[derive(Debug, Clone)]
enum BodyCase {
    Bytes(Vec<u8>),
    Mutated(usize, Vec<Mutation>),
}

/// How the request is signed.
#[derive(Debug, Clone)]
enum Signing {
    Right,
    OtherTenant,
    Garbage(String),
    None,
}

#[derive(Debug, Clone)]
struct Case {
    event: Option<String>,
    delivery: Option<String>,
    signing: Signing,
    body: BodyCase,
    extra: Vec<(String, String)>,
}

fn case() -> impl Strategy<Value = Case> {
    let event = prop_oneof![
        Just(Some("pull_request".to_string())),
        Just(Some("push".to_string())),
        Just(Some("issue_comment".to_string())),
        Just(Some("ping".to_string())),
        Just(None),
        "[ -~]{0,40}".prop_map(Some),
    ];
    let delivery = prop_oneof![
        "[a-f0-9-]{1,36}".prop_map(Some),
        Just(Some(String::new())),
        Just(None),
        "[ -~]{0,200}".prop_map(Some),
    ];
    let signing = prop_oneof![
        Just(Signing::Right),
        Just(Signing::OtherTenant),
        Just(Signing::None),
        "[ -~]{0,80}".prop_map(Signing::Garbage),
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512).prop_map(BodyCase::Bytes),
        (0usize..3, proptest::collection::vec(mutation(), 0..4)).prop_map(|(i, m)| BodyCase::Mutated(i, m)),
    ];
    let extra = proptest::collection::vec(
        (
            prop_oneof![
                Just("Content-Type".to_string()),
                Just("Expect".to_string()),
                "[a-zA-Z-]{1,20}".prop_map(|s| s)
            ],
            "[ -~]{0,60}",
        ),
        0..3,
    );
    (event, delivery, signing, body, extra).prop_map(|(event, delivery, signing, body, extra)| Case {
        event,
        delivery,
        signing,
        body,
        extra,
    })
}

fn tokens() -> Tokens {
    let mut tokens = Tokens::parse("alpha").scoped_to("acme");
    tokens.merge(Tokens::parse("beta").scoped_to("globex"));
    tokens
}

fn build(case: &Case) -> (Vec<(String, String)>, Vec<u8>) {
    let body = match &case.body {
        BodyCase::Bytes(bytes) => bytes.clone(),
        BodyCase::Mutated(i, mutations) => {
            let payloads = valid_payloads();
            let (_, payload) = &payloads[*i % payloads.len()];
            serde_json::to_vec(&mutate(payload.clone(), mutations)).unwrap_or_default()
        }
    };
    let mut headers = Vec::new();
    if let Some(event) = &case.event {
        headers.push(("X-GitHub-Event".to_string(), event.clone()));
    }
    if let Some(delivery) = &case.delivery {
        headers.push(("X-GitHub-Delivery".to_string(), delivery.clone()));
    }
    match &case.signing {
        Signing::Right => headers.push(("X-Hub-Signature-256".into(), sign(b"alpha", &body))),
        Signing::OtherTenant => headers.push(("X-Hub-Signature-256".into(), sign(b"beta", &body))),
        Signing::Garbage(text) => headers.push(("X-Hub-Signature-256".into(), text.clone())),
        Signing::None => {}
    }
    headers.extend(case.extra.iter().cloned());
    (headers, body)
}

fn new_state() -> (Arc<State>, Arc<Recorder>) {
    let state = Arc::new(State::new(tokens(), 1000, Arc::new(Metrics::default())));
    let recorder = Arc::new(Recorder::default());
    let _ = state.consumer.set(recorder.clone() as Arc<dyn Consumer>);
    (state, recorder)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_request_gets_an_answer_of_the_table_and_only_200_acts(case in case()) {
        let (headers, body) = build(&case);
        let (state, recorder) = new_state();
        let hook = Hook::new(state.clone(), Limits::HOOK);
        let mut request = Request::post("/hook");
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        // A header the http crate refuses never reaches the server either.
        let Ok(request) = request.body(Full::new(Bytes::from(body.clone()))) else {
            return Ok(());
        };
        let response = runtime().block_on(hook.answer(request));
        let status = response.status().as_u16();
        prop_assert!(ANSWERS.contains(&status), "answered {status}");
        let acted = recorder.events.lock().unwrap_or_else(|p| p.into_inner()).len();
        let remembered = state.deliveries.lock().unwrap_or_else(|p| p.into_inner()).len();
        if status == 200 {
            prop_assert!(acted <= 1 && remembered == acted);
        } else {
            prop_assert_eq!(acted, 0, "a {} reached the trigger", status);
            prop_assert_eq!(remembered, 0, "a {} was remembered", status);
        }
        if matches!(case.signing, Signing::OtherTenant) {
            prop_assert_eq!(acted, 0, "another tenant's token acted");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary bytes in the request head, over a real connection.
    #[test]
    fn arbitrary_bytes_on_the_wire_get_an_answer_of_the_table_or_none(
        head in proptest::collection::vec(any::<u8>(), 0..300),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        runtime().block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (state, recorder) = new_state();
            let (address, task) = serve("127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")), state, Routes::HOOK)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap_or_else(|e| panic!("{e}"));
            let mut request = b"POST /hook HTTP/1.1\r\nHost: t\r\n".to_vec();
            request.extend_from_slice(&head);
            request.extend_from_slice(format!("\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes());
            request.extend_from_slice(&body);
            let _ = stream.write_all(&request).await;
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
            task.abort();
            let text = String::from_utf8_lossy(&answer);
            if let Some(status) = text.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok()) {
                assert!(ANSWERS.contains(&status), "answered {status}: {text}");
            }
            assert!(recorder.events.lock().unwrap_or_else(|p| p.into_inner()).is_empty());
        });
    }
}
