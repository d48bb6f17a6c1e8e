//! Regular expressions from configuration, compiled once per pattern.
//!
//! A real configuration repeats the same few branch and file patterns across thousands of jobs
//! (`^main$`, `^release-.*`), and compiling a regex costs far more than matching one, so every
//! user-written pattern goes through this cache. Compiled regexes share their program, so clones
//! are cheap.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

static CACHE: LazyLock<Mutex<HashMap<String, Result<Regex, String>>>> = LazyLock::new(Default::default);

/// Compiles `pattern` (RE2 syntax, as upstream Prow's Go regexps), or returns why it does not
/// compile.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let mut cache = CACHE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(compiled) = cache.get(pattern) {
        return compiled.clone();
    }
    let compiled = Regex::new(pattern).map_err(|error| error.to_string());
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
        assert!(compile("^main$").unwrap().is_match("main"));
        assert!(compile("(unclosed").is_err());
    }
}
