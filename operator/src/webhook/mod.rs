//! `POST /hook`: GitHub webhooks in. This module decides what a request is; the HTTP server
//! around it only reads the request and writes the response.

pub mod deliveries;
pub mod payload;
pub mod signature;

use self::payload::{HookNotice, Kind, Parsed, ShapeError};
use self::signature::Tokens;

/// The largest body accepted: 25 MiB, GitHub's own cap on webhook payloads.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// The longest `X-GitHub-Delivery` accepted (GitHub's are 36-character UUIDs); it becomes a log
/// field, a ProwJob label and a key of bounded maps, so it is bounded too.
pub const MAX_DELIVERY_BYTES: usize = 128;

/// The events the native trigger acts on.
pub const HANDLED_EVENTS: [&str; 5] = [
    "pull_request",
    "push",
    "issue_comment",
    "pull_request_review",
    "pull_request_review_comment",
];

/// What a webhook request is.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// A signed, parseable event of a handled type, about a repository its signing token serves.
    Accept {
        /// The event type.
        kind: Kind,
        /// `X-GitHub-Delivery`.
        delivery: String,
        /// The body, read as its event type: the repository it is about and its typed form.
        parsed: Parsed,
    },
    /// A `ping` or `meta` delivery about a webhook of a target its signing token serves:
    /// acknowledged and noted (it counts for `lastDelivery`; a deletion makes the managed-webhook
    /// loop look at the target again), not acted on otherwise.
    Noted(HookNotice),
    /// Signed and valid, but nothing to do (an event type the trigger ignores, or a `ping` of a
    /// GitHub App's webhook, which names no repository or org).
    Ignore,
    /// A delivery already acted on: acknowledged, not acted on again.
    Duplicate,
    /// `X-GitHub-Event` or `X-GitHub-Delivery` is missing, empty, or (the delivery) not a short
    /// printable id.
    MissingHeader(&'static str),
    /// The signature is missing or wrong, or its token does not serve the payload's repository.
    Unauthorized,
    /// The body is over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The body is not JSON.
    Malformed(String),
    /// The body is JSON but not a valid event of its type.
    Invalid(ShapeError),
}

impl Verdict {
    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        match self {
            Verdict::Accept { .. } | Verdict::Noted(_) | Verdict::Ignore | Verdict::Duplicate => 200,
            Verdict::MissingHeader(_) | Verdict::Malformed(_) | Verdict::Invalid(_) => 400,
            Verdict::Unauthorized => 401,
            Verdict::TooLarge => 413,
        }
    }

    /// The `outcome` label of the webhook metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            Verdict::Accept { .. } => "accepted",
            Verdict::Noted(_) => "noted",
            Verdict::Ignore => "ignored",
            Verdict::Duplicate => "duplicate",
            Verdict::MissingHeader(_) => "missing_header",
            Verdict::Unauthorized => "unauthorized",
            Verdict::TooLarge => "too_large",
            Verdict::Malformed(_) => "malformed",
            Verdict::Invalid(_) => "invalid",
        }
    }
}

/// The headers that matter.
#[derive(Debug, Default, Clone, Copy)]
pub struct Headers<'a> {
    /// `X-GitHub-Event`.
    pub event: Option<&'a str>,
    /// `X-GitHub-Delivery`.
    pub delivery: Option<&'a str>,
    /// `X-Hub-Signature-256`.
    pub signature: Option<&'a str>,
}

/// Whether `delivery` is an id we keep: 1 to [`MAX_DELIVERY_BYTES`] visible ASCII characters.
pub fn valid_delivery(delivery: &str) -> bool {
    !delivery.is_empty() && delivery.len() <= MAX_DELIVERY_BYTES && delivery.bytes().all(|b| b.is_ascii_graphic())
}

/// Judges a request, in this order: size and headers (free), the signature against every token
/// in force (the first thing that costs), then the JSON, the fields its event type requires and
/// its one repository, and last whether the signing token serves that repository. Judging
/// changes nothing; whether the delivery was seen already is the caller's to check.
pub fn judge(headers: Headers<'_>, body: &[u8], tokens: &Tokens) -> Verdict {
    if body.len() > MAX_BODY_BYTES {
        return Verdict::TooLarge;
    }
    let Some(event) = headers.event.filter(|e| !e.is_empty()) else {
        return Verdict::MissingHeader("X-GitHub-Event");
    };
    let Some(delivery) = headers.delivery.filter(|d| valid_delivery(d)) else {
        return Verdict::MissingHeader("X-GitHub-Delivery");
    };
    let Some(signature) = headers.signature else {
        return Verdict::Unauthorized;
    };
    // Any token in force may sign; the repository is only known after parsing, and parsing
    // waits for a valid signature.
    if !tokens.verify(signature, body, None) {
        return Verdict::Unauthorized;
    }
    let payload: serde_json::Value = match serde_json::from_slice(body) {
        Ok(payload) => payload,
        Err(error) => return Verdict::Malformed(error.to_string()),
    };
    let kind = Kind::of(event);
    if kind.about_the_hook() {
        // A ping of a GitHub App's webhook names no target: nothing to note.
        return match payload::read_hook_notice(kind, &payload) {
            Ok(notice) if tokens.verify(signature, body, Some(&notice.source.scope())) => Verdict::Noted(notice),
            Ok(_) => Verdict::Unauthorized,
            Err(_) => Verdict::Ignore,
        };
    }
    if !kind.handled() {
        return Verdict::Ignore;
    }
    let parsed = match payload::read(kind, &payload) {
        Ok(parsed) => parsed,
        Err(error) => return Verdict::Invalid(error),
    };
    // The token must be one in force for that repository: each instance's tokens sign only its
    // own org's events.
    if !tokens.verify(signature, body, Some(&parsed.repo.full_name())) {
        return Verdict::Unauthorized;
    }
    Verdict::Accept {
        kind,
        delivery: delivery.to_string(),
        parsed,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::payload::RepoName;
    use super::signature::sign;
    use super::*;

    fn headers<'a>(event: &'a str, delivery: &'a str, signature: &'a str) -> Headers<'a> {
        Headers {
            event: Some(event),
            delivery: Some(delivery),
            signature: Some(signature),
        }
    }

    fn repository(full_name: &str, owner: &str) -> Value {
        let name = full_name.split('/').nth(1).unwrap_or_default();
        json!({"full_name": full_name, "name": name, "owner": {"login": owner}})
    }

    fn pull_request(top: Option<Value>, base: Value) -> Value {
        let mut body = json!({
            "action": "opened", "number": 7,
            "pull_request": {"number": 7, "user": {"login": "mallory"},
                "head": {"ref": "f", "sha": "abc"},
                "base": {"ref": "main", "sha": "def", "repo": base}},
        });
        if let Some(top) = top {
            body["repository"] = top;
        }
        body
    }

    /// Two tenants: acme signs with `alpha`, globex with `beta` (the org spelled in another case
    /// in its instance).
    fn two_tenants() -> Tokens {
        let mut tokens = Tokens::parse("alpha").scoped_to("acme");
        tokens.merge(Tokens::parse("beta").scoped_to("GlobEx"));
        tokens
    }

    fn verdict_of(kind: &str, body: &Value, token: &[u8], tokens: &Tokens) -> Verdict {
        let bytes = serde_json::to_vec(body).unwrap();
        judge(headers(kind, "d1", &sign(token, &bytes)), &bytes, tokens)
    }

    /// Finding 1: every way a token of globex (`beta`) made acme's events act, refused.
    #[test]
    fn a_token_never_acts_on_another_tenants_repository() {
        let tokens = two_tenants();
        let acme = repository("acme/app", "acme");
        let globex = repository("globex/app", "globex");
        // repository names globex, pull_request.base.repo names acme: 400.
        let mixed = pull_request(Some(globex.clone()), acme.clone());
        assert_eq!(verdict_of("pull_request", &mixed, b"beta", &tokens).status(), 400);
        // No repository key at all: 400.
        let bare = pull_request(None, acme.clone());
        assert_eq!(verdict_of("pull_request", &bare, b"beta", &tokens).status(), 400);
        // A push whose full_name is globex's but whose owner is acme: 400.
        let push = json!({"ref": "refs/heads/main", "after": "abc",
            "repository": repository("globex/app", "acme")});
        assert_eq!(verdict_of("push", &push, b"beta", &tokens).status(), 400);
        // /test all on acme's pull request, signed by globex's token: 401.
        let comment = json!({"action": "created", "issue": {"number": 7, "state": "open", "pull_request": {}},
            "comment": {"body": "/test all", "user": {"login": "mallory"}}, "repository": acme});
        assert_eq!(
            verdict_of("issue_comment", &comment, b"beta", &tokens),
            Verdict::Unauthorized
        );
        assert!(matches!(
            verdict_of("issue_comment", &comment, b"alpha", &tokens),
            Verdict::Accept { .. }
        ));
        // Org names compare case-insensitively, in token scoping too.
        let shouting = pull_request(Some(repository("GLOBEX/app", "globex")), globex.clone());
        assert!(matches!(
            verdict_of("pull_request", &shouting, b"beta", &tokens),
            Verdict::Accept { .. }
        ));
        assert_eq!(
            verdict_of("pull_request", &shouting, b"alpha", &tokens),
            Verdict::Unauthorized
        );
    }

    /// Finding 5: wrong shapes are 400.
    #[test]
    fn wrong_shapes_are_refused() {
        let tokens = Tokens::parse("token");
        let acme = repository("acme/app", "acme");
        let push = json!({"ref": "refs/heads/main", "after": "abc", "repository": acme});
        let pr = pull_request(Some(acme.clone()), acme.clone());
        for (kind, body) in [
            ("pull_request", json!({})),
            ("push", json!([])),
            ("pull_request", push.clone()),
            ("push", pr.clone()),
            ("issue_comment", pr.clone()),
        ] {
            let verdict = verdict_of(kind, &body, b"token", &tokens);
            assert!(matches!(verdict, Verdict::Invalid(_)), "{kind} {body}: {verdict:?}");
            assert_eq!(verdict.status(), 400);
        }
        assert!(matches!(
            verdict_of("push", &push, b"token", &tokens),
            Verdict::Accept { .. }
        ));
        assert!(matches!(
            verdict_of("pull_request", &pr, b"token", &tokens),
            Verdict::Accept { .. }
        ));
    }

    #[test]
    fn every_row_of_the_response_table() {
        let tokens = Tokens::parse("token");
        let body = br#"{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"a/b","name":"b","owner":{"login":"a"}}}"#;
        let good = sign(b"token", body);
        assert!(matches!(
            judge(headers("push", "d1", &good), body, &tokens),
            Verdict::Accept { .. }
        ));
        assert_eq!(judge(headers("ping", "d2", &good), body, &tokens), Verdict::Ignore);
        assert_eq!(judge(headers("member", "d2", &good), body, &tokens), Verdict::Ignore);
        let bad = sign(b"wrong", body);
        assert_eq!(judge(headers("push", "d3", &bad), body, &tokens).status(), 401);
        let missing = Headers {
            signature: None,
            ..headers("push", "d4", &good)
        };
        assert_eq!(judge(missing, body, &tokens).status(), 401);
        let no_delivery = Headers {
            delivery: None,
            ..headers("push", "x", &good)
        };
        assert_eq!(judge(no_delivery, body, &tokens).status(), 400);
        // Finding 6: an empty delivery id, or one that is not a short printable id.
        for delivery in ["", " ", "a b", &"d".repeat(MAX_DELIVERY_BYTES + 1)] {
            assert_eq!(
                judge(headers("push", delivery, &good), body, &tokens),
                Verdict::MissingHeader("X-GitHub-Delivery"),
                "{delivery:?}"
            );
        }
        assert_eq!(judge(headers("", "d1", &good), body, &tokens).status(), 400);
        let junk = b"{not json";
        assert_eq!(
            judge(headers("push", "d5", &sign(b"token", junk)), junk, &tokens).status(),
            400
        );
        let huge = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(judge(headers("push", "d6", &good), &huge, &tokens).status(), 413);
    }

    /// A `ping` or `meta` is noted for the target its hook lives on, only when signed by a token
    /// of that target's org.
    #[test]
    fn hook_deliveries_are_noted_for_their_own_tenant_only() {
        use super::payload::HookSource;
        let tokens = two_tenants();
        let meta = json!({"action": "deleted", "hook_id": 9, "hook": {"type": "Repository", "id": 9},
            "repository": repository("acme/app", "acme")});
        assert_eq!(
            verdict_of("meta", &meta, b"alpha", &tokens),
            Verdict::Noted(HookNotice {
                source: HookSource::Repo(RepoName::parse("acme/app").unwrap()),
                deleted: true,
            })
        );
        assert_eq!(verdict_of("meta", &meta, b"beta", &tokens), Verdict::Unauthorized);
        let org_ping = json!({"zen": "z", "hook_id": 3, "hook": {"type": "Organization", "id": 3},
            "organization": {"login": "GLOBEX"}});
        assert_eq!(
            verdict_of("ping", &org_ping, b"beta", &tokens),
            Verdict::Noted(HookNotice {
                source: HookSource::Org("GLOBEX".into()),
                deleted: false,
            })
        );
        assert_eq!(verdict_of("ping", &org_ping, b"alpha", &tokens), Verdict::Unauthorized);
        // A GitHub App's ping names no target: acknowledged, nothing noted.
        let app_ping = json!({"zen": "z", "hook_id": 4, "hook": {"type": "App", "id": 4}});
        assert_eq!(verdict_of("ping", &app_ping, b"alpha", &tokens), Verdict::Ignore);
    }

    #[test]
    fn nothing_is_parsed_before_the_signature() {
        // Unsigned junk is 401, not 400: the body was never read as JSON.
        let tokens = Tokens::parse("token");
        assert_eq!(
            judge(headers("push", "d1", "sha256=00"), b"{not json", &tokens),
            Verdict::Unauthorized
        );
    }
}
