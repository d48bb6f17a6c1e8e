//! Fault injection.

use std::sync::Arc;
use std::time::Duration;

use crate::audit::Verb;
use crate::server::Shared;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FaultAction {
    Status { code: u16, retry_after: Option<u64> },
    Delay(Duration),
}

/// A fault for the next `times` requests matching a verb and/or a resource.
///
/// ```ignore
/// tk.faults().inject(Fault::status(500).verb(Verb::Create).resource("configmaps"));
/// tk.faults().inject(Fault::too_many_requests(1).times(2));
/// tk.faults().inject(Fault::delay(Duration::from_millis(300)).resource("pods/status"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub(crate) verb: Option<Verb>,
    pub(crate) resource: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) remaining: usize,
    pub(crate) action: FaultAction,
}

impl Fault {
    fn with(action: FaultAction) -> Self {
        Fault {
            verb: None,
            resource: None,
            namespace: None,
            remaining: 1,
            action,
        }
    }

    /// Answer with this HTTP status (and a matching `Status` body).
    pub fn status(code: u16) -> Self {
        Self::with(FaultAction::Status {
            code,
            retry_after: None,
        })
    }

    /// Answer 429 with a `Retry-After` header.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::with(FaultAction::Status {
            code: 429,
            retry_after: Some(retry_after_secs),
        })
    }

    /// Delay the request, then serve it normally.
    pub fn delay(d: Duration) -> Self {
        Self::with(FaultAction::Delay(d))
    }

    /// Only requests with this verb.
    pub fn verb(mut self, verb: Verb) -> Self {
        self.verb = Some(verb);
        self
    }

    /// Only this resource: `configmaps` (any subresource) or `pods/status`.
    pub fn resource(mut self, resource: &str) -> Self {
        self.resource = Some(resource.to_string());
        self
    }

    /// Only requests in this namespace.
    pub fn namespace(mut self, ns: &str) -> Self {
        self.namespace = Some(ns.to_string());
        self
    }

    /// Apply to the next `n` matching requests (default 1).
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = n;
        self
    }

    fn matches(&self, verb: Verb, resource: &str, sub: Option<&str>, ns: Option<&str>) -> bool {
        self.verb.is_none_or(|v| v == verb)
            && self.namespace.as_deref().is_none_or(|n| Some(n) == ns)
            && self.resource.as_deref().is_none_or(|r| match r.split_once('/') {
                Some((res, s)) => res == resource && Some(s) == sub,
                None => r == resource,
            })
    }
}

/// A handle on the fake's fault injection.
#[derive(Clone)]
pub struct Faults {
    pub(crate) shared: Arc<Shared>,
}

impl Faults {
    pub fn inject(&self, fault: Fault) {
        if fault.remaining > 0 {
            self.shared.faults.lock().expect("faults lock").push(fault);
        }
    }

    /// Removes every pending fault.
    pub fn clear(&self) {
        self.shared.faults.lock().expect("faults lock").clear();
    }

    /// How many injected requests are still pending.
    pub fn pending(&self) -> usize {
        self.shared
            .faults
            .lock()
            .expect("faults lock")
            .iter()
            .map(|f| f.remaining)
            .sum()
    }

    /// Ends every open watch stream (cleanly); clients must re-watch.
    pub fn drop_watches(&self) {
        self.shared.drop_watches.send_modify(|n| *n += 1);
    }
}

/// Takes the first pending fault matching a request.
pub(crate) fn take(
    shared: &Shared,
    verb: Verb,
    resource: &str,
    sub: Option<&str>,
    ns: Option<&str>,
) -> Option<FaultAction> {
    let mut faults = shared.faults.lock().expect("faults lock");
    let idx = faults.iter().position(|f| f.matches(verb, resource, sub, ns))?;
    let f = &mut faults[idx];
    f.remaining -= 1;
    let action = f.action.clone();
    if f.remaining == 0 {
        faults.remove(idx);
    }
    Some(action)
}
