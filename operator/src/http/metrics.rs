//! Counters in Prometheus' text format, for `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// A counter's identity: its name and its label pairs.
type Series = (&'static str, Vec<(&'static str, String)>);

/// Counters by name and label values, rendered in Prometheus' text exposition format.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<Series, u64>>,
    help: Mutex<BTreeMap<&'static str, &'static str>>,
}

impl Metrics {
    /// Adds one to the counter `name` with `labels`, described by `help`.
    pub fn increment(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)]) {
        let key = (name, labels.iter().map(|(k, v)| (*k, v.to_string())).collect());
        *self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += 1;
        self.help.lock().unwrap_or_else(|p| p.into_inner()).insert(name, help);
    }

    /// The text exposition of every counter.
    pub fn render(&self) -> String {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let help = self.help.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = String::new();
        let mut last = "";
        for ((name, labels), value) in counters.iter() {
            if *name != last {
                let _ = writeln!(text, "# HELP {name} {}", help.get(name).copied().unwrap_or_default());
                let _ = writeln!(text, "# TYPE {name} counter");
                last = name;
            }
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            let _ = writeln!(text, "{name}{{{}}} {value}", labels.join(","));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.increment(
            "webhooks_total",
            "Webhook requests.",
            &[("event", "push"), ("outcome", "accepted")],
        );
        metrics.increment(
            "webhooks_total",
            "Webhook requests.",
            &[("event", "push"), ("outcome", "accepted")],
        );
        metrics.increment(
            "webhooks_total",
            "Webhook requests.",
            &[("event", "ping"), ("outcome", "ignored")],
        );
        let text = metrics.render();
        assert!(text.starts_with("# HELP webhooks_total Webhook requests.\n# TYPE webhooks_total counter\n"));
        assert!(text.contains("webhooks_total{event=\"push\",outcome=\"accepted\"} 2\n"));
        assert!(text.contains("webhooks_total{event=\"ping\",outcome=\"ignored\"} 1\n"));
    }
}
