//! `POST /hook`: GitHub webhooks in. This module decides what a request is; the HTTP server
//! around it only reads the request and writes the response.

pub mod deliveries;
pub mod signature;

use self::deliveries::Deliveries;
use self::signature::Tokens;

/// The largest body accepted: 25 MiB, GitHub's own cap on webhook payloads.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

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
    /// A signed, new, parseable event the trigger acts on.
    Accept {
        /// `X-GitHub-Event`.
        event: String,
        /// `X-GitHub-Delivery`.
        delivery: String,
        /// The parsed body.
        payload: serde_json::Value,
    },
    /// Signed and valid, but nothing to do (an event type the trigger ignores, such as `ping`).
    Ignore,
    /// A delivery already acted on: acknowledged, not acted on again.
    Duplicate,
    /// `X-GitHub-Event` or `X-GitHub-Delivery` is missing.
    MissingHeader(&'static str),
    /// The signature is missing or wrong.
    Unauthorized,
    /// The body is over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The body is not JSON.
    Malformed(String),
}

impl Verdict {
    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        match self {
            Verdict::Accept { .. } | Verdict::Ignore | Verdict::Duplicate => 200,
            Verdict::MissingHeader(_) | Verdict::Malformed(_) => 400,
            Verdict::Unauthorized => 401,
            Verdict::TooLarge => 413,
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

/// Judges a request. The signature is checked before anything is parsed; a delivery already in
/// `deliveries` is a duplicate. Judging changes nothing: the caller records a delivery once its
/// event was acted on.
pub fn judge(headers: Headers<'_>, body: &[u8], tokens: &Tokens, deliveries: &Deliveries) -> Verdict {
    if body.len() > MAX_BODY_BYTES {
        return Verdict::TooLarge;
    }
    let Some(event) = headers.event else {
        return Verdict::MissingHeader("X-GitHub-Event");
    };
    let Some(delivery) = headers.delivery else {
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
    // Now that the repository is known, the token must be one in force for it (each instance's
    // tokens sign only its own org's events).
    let repository = payload["repository"]["full_name"].as_str();
    if repository.is_some() && !tokens.verify(signature, body, repository) {
        return Verdict::Unauthorized;
    }
    if !HANDLED_EVENTS.contains(&event) {
        return Verdict::Ignore;
    }
    if deliveries.contains(delivery) {
        return Verdict::Duplicate;
    }
    Verdict::Accept {
        event: event.to_string(),
        delivery: delivery.to_string(),
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::signature::sign;
    use super::*;

    fn headers<'a>(event: &'a str, delivery: &'a str, signature: &'a str) -> Headers<'a> {
        Headers {
            event: Some(event),
            delivery: Some(delivery),
            signature: Some(signature),
        }
    }

    #[test]
    fn a_token_of_one_org_does_not_sign_another_orgs_events() {
        let mut tokens = Tokens::parse("alpha").scoped_to("acme");
        tokens.merge(Tokens::parse("beta").scoped_to("globex"));
        let deliveries = Deliveries::new(100);
        let body = br#"{"repository":{"full_name":"globex/app"}}"#;
        let forged = sign(b"alpha", body);
        assert_eq!(
            judge(headers("push", "d1", &forged), body, &tokens, &deliveries),
            Verdict::Unauthorized
        );
        let genuine = sign(b"beta", body);
        assert!(matches!(
            judge(headers("push", "d2", &genuine), body, &tokens, &deliveries),
            Verdict::Accept { .. }
        ));
    }

    #[test]
    fn every_row_of_the_response_table() {
        let tokens = Tokens::parse("token");
        let mut deliveries = Deliveries::new(100);
        let body = br#"{"action":"opened"}"#;
        let good = sign(b"token", body);
        let accepted = judge(headers("pull_request", "d1", &good), body, &tokens, &deliveries);
        assert!(matches!(accepted, Verdict::Accept { .. }));
        assert!(
            matches!(
                judge(headers("pull_request", "d1", &good), body, &tokens, &deliveries),
                Verdict::Accept { .. }
            ),
            "a delivery not yet acted on is accepted again"
        );
        deliveries.record("d1");
        assert_eq!(
            judge(headers("pull_request", "d1", &good), body, &tokens, &deliveries),
            Verdict::Duplicate
        );
        assert_eq!(
            judge(headers("ping", "d2", &good), body, &tokens, &deliveries),
            Verdict::Ignore
        );
        let bad = sign(b"wrong", body);
        assert_eq!(
            judge(headers("pull_request", "d3", &bad), body, &tokens, &deliveries).status(),
            401
        );
        let missing = Headers {
            signature: None,
            ..headers("pull_request", "d4", &good)
        };
        assert_eq!(judge(missing, body, &tokens, &deliveries).status(), 401);
        let no_delivery = Headers {
            delivery: None,
            ..headers("pull_request", "x", &good)
        };
        assert_eq!(judge(no_delivery, body, &tokens, &deliveries).status(), 400);
        let junk = b"{not json";
        assert_eq!(
            judge(headers("push", "d5", &sign(b"token", junk)), junk, &tokens, &deliveries).status(),
            400
        );
        let huge = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            judge(headers("push", "d6", &good), &huge, &tokens, &deliveries).status(),
            413
        );
        // Rejected requests were not remembered: d3 is new once correctly signed.
        assert!(matches!(
            judge(headers("pull_request", "d3", &good), body, &tokens, &deliveries),
            Verdict::Accept { .. }
        ));
    }
}
