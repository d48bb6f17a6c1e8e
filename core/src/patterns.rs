//! Regular expressions from configuration, compiled once per pattern.
//!
//! A real configuration repeats the same few branch and file patterns across thousands of jobs
//! (`^main$`, `^release-.*`), and compiling a regex costs far more than matching one, so every
//! user-written pattern goes through this cache. The cache hands out the same `Arc<Regex>` each
//! time: a cloned `Regex` would start with empty matching caches, and building those again on
//! every match costs more than the match.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;

/// A regex from a pattern written in this source (not from configuration). Each one sits in a
/// `LazyLock` that the unit tests of its module force, so a pattern that does not compile fails
/// the tests, never a running operator.
#[allow(clippy::expect_used, reason = "a literal pattern, compiled by the tests")]
pub fn literal(pattern: &'static str) -> Regex {
    Regex::new(pattern).expect("a literal pattern compiles")
}

/// A compiled pattern, or why it does not compile.
type Compiled = Result<Arc<Regex>, String>;

static CACHE: LazyLock<Mutex<HashMap<String, Compiled>>> = LazyLock::new(Default::default);

/// Compiles `pattern` (RE2 syntax, as upstream Prow's Go regexps), or returns why it does not
/// compile.
pub fn compile(pattern: &str) -> Compiled {
    let mut cache = CACHE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(compiled) = cache.get(pattern) {
        return compiled.clone();
    }
    let compiled = Regex::new(pattern).map(Arc::new).map_err(|error| error.to_string());
    cache.insert(pattern.to_string(), compiled.clone());
    compiled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_once_and_reports_errors() {
        let first = compile("^main$").unwrap();
        assert!(first.is_match("main") && !first.is_match("maintenance"));
        assert!(
            Arc::ptr_eq(&first, &compile("^main$").unwrap()),
            "compiled once, shared"
        );
        assert!(compile("(unclosed").is_err());
    }
}
