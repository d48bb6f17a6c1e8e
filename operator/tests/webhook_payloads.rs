//! Every shared webhook payload, signed here, is judged as GitHub's delivery should be: accepted
//! (or, for events the trigger does not act on, acknowledged), read as its event type with its
//! required fields and its one repository, and refused once tampered with.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics"
)]

use std::path::{Path, PathBuf};

use prow_operator::webhook::payload::Typed;
use prow_operator::webhook::signature::{Tokens, sign};
use prow_operator::webhook::{HANDLED_EVENTS, Headers, Verdict, judge};

fn payloads() -> Vec<(String, PathBuf)> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    let mut payloads = Vec::new();
    for dir in std::fs::read_dir(shared.join("webhooks"))
        .unwrap()
        .flatten()
        .filter(|d| d.path().is_dir())
    {
        let event = dir.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            payloads.push((event.clone(), file.path()));
        }
    }
    let phony = shared.join("corpus/kubernetes-sigs__prow/cmd/phony/examples");
    for (name, event) in [
        ("opened_pr.json", "pull_request"),
        ("reopened_pr.json", "pull_request"),
        ("push.json", "push"),
        ("test_comment.json", "issue_comment"),
        ("lgtm_comment.json", "issue_comment"),
        ("review_approve_submitted.json", "pull_request_review"),
        ("review_changes_submitted.json", "pull_request_review"),
        ("review_comment_submitted.json", "pull_request_review"),
    ] {
        payloads.push((event.to_string(), phony.join(name)));
    }
    payloads
}

#[test]
fn signed_payloads_are_accepted_and_tampered_ones_refused() {
    let tokens = Tokens::parse("webhook-token");
    let all = payloads();
    assert!(all.len() > 20, "only {} payloads", all.len());
    for (index, (event, path)) in all.iter().enumerate() {
        let body = std::fs::read(path).unwrap();
        let signature = sign(b"webhook-token", &body);
        let delivery = format!("delivery-{index}");
        let headers = Headers {
            event: Some(event),
            delivery: Some(&delivery),
            signature: Some(&signature),
        };
        let verdict = judge(headers, &body, &tokens);
        assert_eq!(verdict.status(), 200, "{}", path.display());
        if HANDLED_EVENTS.contains(&event.as_str()) {
            let Verdict::Accept { parsed, .. } = &verdict else {
                panic!("{}: {verdict:?}", path.display());
            };
            // The trigger gets each event it acts on read as its type.
            let typed = matches!(
                (event.as_str(), &parsed.event),
                ("push", Typed::Push(_))
                    | ("pull_request", Typed::PullRequest(_))
                    | ("issue_comment", Typed::IssueComment(_))
                    | ("pull_request_review" | "pull_request_review_comment", Typed::Review)
            );
            assert!(typed, "{}: {:?}", path.display(), parsed.event);
        } else if event == "ping" {
            // Each of GitHub's pings names the repository or org of its webhook.
            assert!(matches!(verdict, Verdict::Noted(_)), "{}: {verdict:?}", path.display());
        } else {
            assert_eq!(verdict, Verdict::Ignore, "{}", path.display());
        }
        let mut tampered = body.clone();
        tampered.push(b' ');
        let again = format!("tampered-{index}");
        let headers = Headers {
            event: Some(event),
            delivery: Some(&again),
            signature: Some(&signature),
        };
        assert_eq!(
            judge(headers, &tampered, &tokens),
            Verdict::Unauthorized,
            "{}",
            path.display()
        );
    }
}
