//! Counters, gauges and histograms in Prometheus' text format, for `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// A series' identity: its name and its label pairs.
type Series = (&'static str, Vec<(&'static str, String)>);

/// The upper bounds of histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// One histogram series: counts per bucket, the sum and the count.
#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Families {
    counters: BTreeMap<Series, u64>,
    gauges: BTreeMap<Series, f64>,
    histograms: BTreeMap<Series, Histogram>,
    help: BTreeMap<&'static str, &'static str>,
}

/// Counters, gauges and histograms by name and label values, rendered in Prometheus' text
/// exposition format.
#[derive(Debug, Default)]
pub struct Metrics {
    families: Mutex<Families>,
}

fn series(name: &'static str, labels: &[(&'static str, &str)]) -> Series {
    (name, labels.iter().map(|(k, v)| (*k, v.to_string())).collect())
}

impl Metrics {
    fn with<T>(&self, name: &'static str, help: &'static str, update: impl FnOnce(&mut Families) -> T) -> T {
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        families.help.insert(name, help);
        update(&mut families)
    }

    /// Adds one to the counter `name` with `labels`, described by `help`.
    pub fn increment(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)]) {
        self.with(name, help, |f| {
            *f.counters.entry(series(name, labels)).or_default() += 1
        });
    }

    /// Sets the gauge `name` with `labels` to `value`.
    pub fn set(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.with(name, help, |f| f.gauges.insert(series(name, labels), value));
    }

    /// Records `seconds` in the histogram `name` with `labels`.
    pub fn observe(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)], seconds: f64) {
        self.with(name, help, |f| {
            let histogram = f.histograms.entry(series(name, labels)).or_default();
            for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            histogram.sum += seconds;
            histogram.count += 1;
        });
    }

    /// The value of a counter, for tests and status.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> u64 {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        families
            .counters
            .get(&series(name, labels))
            .copied()
            .unwrap_or_default()
    }

    /// The text exposition of every series.
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = String::new();
        let header = |text: &mut String, name: &str, kind: &str, last: &mut String| {
            if name != last {
                let help = families.help.get(name).copied().unwrap_or_default();
                let _ = writeln!(text, "# HELP {name} {help}");
                let _ = writeln!(text, "# TYPE {name} {kind}");
                *last = name.to_string();
            }
        };
        let mut last = String::new();
        for ((name, labels), value) in &families.counters {
            header(&mut text, name, "counter", &mut last);
            let _ = writeln!(text, "{name}{{{}}} {value}", label_text(labels, None));
        }
        for ((name, labels), value) in &families.gauges {
            header(&mut text, name, "gauge", &mut last);
            let _ = writeln!(text, "{name}{{{}}} {value}", label_text(labels, None));
        }
        for ((name, labels), histogram) in &families.histograms {
            header(&mut text, name, "histogram", &mut last);
            for (count, bound) in histogram.buckets.iter().zip(BUCKETS) {
                let le = bound.to_string();
                let _ = writeln!(text, "{name}_bucket{{{}}} {count}", label_text(labels, Some(&le)));
            }
            let all = label_text(labels, Some("+Inf"));
            let _ = writeln!(text, "{name}_bucket{{{all}}} {}", histogram.count);
            let plain = label_text(labels, None);
            let _ = writeln!(text, "{name}_sum{{{plain}}} {}", histogram.sum);
            let _ = writeln!(text, "{name}_count{{{plain}}} {}", histogram.count);
        }
        text
    }
}

fn label_text(labels: &[(&'static str, String)], le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    parts.join(",")
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
        assert_eq!(
            metrics.counter("webhooks_total", &[("event", "push"), ("outcome", "accepted")]),
            2
        );
    }

    #[test]
    fn renders_gauges_and_histograms() {
        let metrics = Metrics::default();
        metrics.set("queue_depth", "Pending reconciles.", &[], 3.0);
        metrics.observe("apply_seconds", "Apply latency.", &[("kind", "ConfigMap")], 0.004);
        metrics.observe("apply_seconds", "Apply latency.", &[("kind", "ConfigMap")], 0.2);
        let text = metrics.render();
        assert!(text.contains("# TYPE queue_depth gauge\nqueue_depth{} 3\n"));
        assert!(text.contains("# TYPE apply_seconds histogram\n"));
        assert!(text.contains("apply_seconds_bucket{kind=\"ConfigMap\",le=\"0.0025\"} 0\n"));
        assert!(text.contains("apply_seconds_bucket{kind=\"ConfigMap\",le=\"0.005\"} 1\n"));
        assert!(text.contains("apply_seconds_bucket{kind=\"ConfigMap\",le=\"+Inf\"} 2\n"));
        assert!(text.contains("apply_seconds_count{kind=\"ConfigMap\"} 2\n"));
    }
}
