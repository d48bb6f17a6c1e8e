//! API errors, rendered as `meta/v1` `Status` objects.

use serde_json::{Value, json};

use crate::resources::ResourceDef;

#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Box<Value>>,
    pub retry_after: Option<u64>,
}

/// The `Status.reason` the API server uses for an HTTP status code.
pub(crate) fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

fn details(def: &ResourceDef, name: &str) -> Value {
    json!({"name": name, "group": def.group, "kind": def.plural})
}

impl ApiError {
    pub(crate) fn new(code: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: reason_for(code),
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub(crate) fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub(crate) fn resource_not_found() -> Self {
        Self::new(404, "the server could not find the requested resource")
    }

    pub(crate) fn not_found(def: &ResourceDef, name: &str) -> Self {
        let mut e = Self::new(404, format!("{} \"{name}\" not found", def.qualified()));
        e.details = Some(Box::new(details(def, name)));
        e
    }

    pub(crate) fn already_exists(def: &ResourceDef, name: &str) -> Self {
        let mut e =
            Self::new(409, format!("{} \"{name}\" already exists", def.qualified())).with_reason("AlreadyExists");
        e.details = Some(Box::new(details(def, name)));
        e
    }

    pub(crate) fn conflict(def: &ResourceDef, name: &str) -> Self {
        let mut e = Self::new(
            409,
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                def.qualified()
            ),
        );
        e.details = Some(Box::new(details(def, name)));
        e
    }

    pub(crate) fn invalid(def: &ResourceDef, name: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(422, format!("{} \"{name}\" is invalid: {}", def.kind, message.into()));
        e.details = Some(Box::new(details(def, name)));
        e
    }

    pub(crate) fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        let mut details = self.details.as_deref().cloned();
        if let Some(secs) = self.retry_after {
            let d = details.get_or_insert_with(|| json!({}));
            d["retryAfterSeconds"] = json!(secs);
        }
        if let Some(d) = details {
            s["details"] = d;
        }
        s
    }
}
