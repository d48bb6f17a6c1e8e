//! Upstream Prow's own files: `config.yaml` ([`config`]) and which keys upstream accepts in it and
//! in `plugins.yaml` ([`documented`]). `plugins.yaml` and `labels.yaml` are the specs of
//! [`crate::PluginConfig`] and [`crate::LabelSet`].

pub mod config;
pub mod documented;
