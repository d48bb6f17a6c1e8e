//! Failed API requests in words: what was done to which object, and what the API server said,
//! in one bounded sentence without Rust debug output. Every status message, Event note, webhook
//! answer and log line that carries a `kube::Error` goes through here. Pure.

use std::error::Error as _;

/// The longest description of one failure, in bytes; longer server messages are cut.
pub const MAX_CAUSE_BYTES: usize = 400;

/// What went wrong with a request, in words: the API server's message (or its reason, or the
/// HTTP code when it sent neither) and the field paths it named that the message does not
/// mention; for a failure before or outside the API server, the error and its causes. Cut to
/// [`MAX_CAUSE_BYTES`].
pub fn cause(error: &kube::Error) -> String {
    let text = match error {
        kube::Error::Api(status) => {
            let mut text = match (status.message.trim(), status.reason.trim()) {
                ("", "") => format!("the API server answered HTTP {}", status.code),
                ("", reason) => format!("the API server answered {reason} (HTTP {})", status.code),
                (message, _) => message.to_string(),
            };
            let mut fields: Vec<&str> = status
                .details
                .iter()
                .flat_map(|d| &d.causes)
                .map(|c| c.field.trim())
                .filter(|f| !f.is_empty() && !text.contains(f))
                .collect();
            fields.dedup();
            if !fields.is_empty() {
                text.push_str(&format!(" (field {})", fields.join(", ")));
            }
            text
        }
        other => {
            let mut text = other.to_string();
            let mut source = other.source();
            while let Some(inner) = source {
                let said = inner.to_string();
                if !text.contains(&said) {
                    text.push_str(": ");
                    text.push_str(&said);
                }
                source = inner.source();
            }
            text
        }
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    super::status::truncate(&one_line, MAX_CAUSE_BYTES)
}

/// What went wrong with a watch, in words (as [`cause`]).
pub fn watch_cause(error: &kube::runtime::watcher::Error) -> String {
    use kube::runtime::watcher::Error;
    match error {
        Error::InitialListFailed(inner) => format!("listing: {}", cause(inner)),
        Error::WatchStartFailed(inner) => format!("starting the watch: {}", cause(inner)),
        Error::WatchFailed(inner) => format!("watching: {}", cause(inner)),
        Error::WatchError(status) => format!("watching: {}", cause(&kube::Error::Api(status.clone()))),
        Error::NoResourceVersion => error.to_string(),
    }
}

/// One sentence for a failed request: `verb` (`applying`, `reading`...) the `object` (`Kind
/// namespace/name`, or a description) and what the API server said.
pub fn describe(verb: &str, object: &str, error: &kube::Error) -> String {
    format!("{verb} {object}: {}", cause(error))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kube::core::Status;
    use kube::core::response::{StatusCause, StatusDetails};

    /// A 404 as kube-apiserver sends it for an object in a namespace that does not exist.
    pub(crate) fn not_found() -> kube::Error {
        let status: Status = serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "namespaces \"test-pods\" not found", "reason": "NotFound",
            "details": {"name": "test-pods", "kind": "namespaces"}, "code": 404
        }))
        .unwrap();
        kube::Error::Api(status.boxed())
    }

    #[test]
    fn an_api_error_is_the_servers_message_without_debug_output() {
        let error = not_found();
        // What kube's own Display says (the ~2 KB dumps seen in conditions and Events).
        assert!(error.to_string().contains("Status {"), "{error}");
        let text = describe("applying", "Role test-pods/prow-crier", &error);
        assert_eq!(
            text,
            "applying Role test-pods/prow-crier: namespaces \"test-pods\" not found"
        );
    }

    #[test]
    fn field_paths_the_message_does_not_name_are_added() {
        let mut status = Status::failure("Deployment.apps \"prow-deck\" is invalid", "Invalid").with_code(422);
        status.details = Some(StatusDetails {
            name: "prow-deck".into(),
            group: "apps".into(),
            kind: "Deployment".into(),
            uid: String::new(),
            causes: vec![
                StatusCause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value".into(),
                    field: "spec.template.spec.containers[0].image".into(),
                },
                StatusCause {
                    reason: "FieldValueInvalid".into(),
                    message: "Invalid value".into(),
                    field: "spec.replicas".into(),
                },
            ],
            retry_after_seconds: 0,
        });
        let text = cause(&kube::Error::Api(status.boxed()));
        assert_eq!(
            text,
            "Deployment.apps \"prow-deck\" is invalid (field spec.template.spec.containers[0].image, spec.replicas)"
        );
    }

    #[test]
    fn a_status_without_a_message_says_its_reason_or_code() {
        let bare = Status::failure("", "").with_code(503);
        assert_eq!(
            cause(&kube::Error::Api(bare.boxed())),
            "the API server answered HTTP 503"
        );
        let reasoned = Status::failure("", "TooManyRequests").with_code(429);
        assert_eq!(
            cause(&kube::Error::Api(reasoned.boxed())),
            "the API server answered TooManyRequests (HTTP 429)"
        );
    }

    #[test]
    fn long_messages_are_cut_and_kept_on_one_line() {
        let status = Status::failure(&format!("admission webhook denied:\n{}", "x".repeat(5000)), "Invalid");
        let text = cause(&kube::Error::Api(status.with_code(400).boxed()));
        assert!(text.len() <= MAX_CAUSE_BYTES, "{}", text.len());
        assert!(!text.contains('\n'));
        assert!(text.ends_with("..."));
    }

    #[test]
    fn a_failed_watch_says_what_the_api_server_said() {
        let Err(kube::Error::Api(status)) = Err::<(), _>(not_found()) else {
            unreachable!()
        };
        let error = kube::runtime::watcher::Error::WatchError(status);
        assert_eq!(watch_cause(&error), "watching: namespaces \"test-pods\" not found");
    }

    #[test]
    fn other_failures_name_their_causes() {
        let error = kube::Error::Service("the operator does not apply Pod objects".into());
        assert_eq!(cause(&error), "ServiceError: the operator does not apply Pod objects");
    }
}
