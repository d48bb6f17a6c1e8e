//! The request log tests read with [`crate::Testkit::audit`].

use std::fmt;

/// A Kubernetes API verb, as RBAC names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One resource request the fake served (or refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub verb: Verb,
    /// API group, `""` for core.
    pub group: String,
    pub version: String,
    /// The plural resource name, e.g. `configmaps`.
    pub resource: String,
    /// e.g. `Some("status")`.
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The `fieldManager` query parameter, if any.
    pub field_manager: Option<String>,
    /// The patch content type for `patch` requests.
    pub patch_type: Option<String>,
    /// The `User-Agent` header, which tells clients apart.
    pub user_agent: Option<String>,
    /// The HTTP status code of the response.
    pub code: u16,
}

impl Request {
    /// The resource as an RBAC rule names it: `pods` or `pods/status`.
    pub fn rbac_resource(&self) -> String {
        match &self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.clone(),
        }
    }
}
