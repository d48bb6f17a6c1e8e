//! Helpers shared by the operator's tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use prow_operator::import::{self, ImportOptions, Imported};
use prow_operator::input::{Inputs, Source, Sourced};

pub mod configs;
pub mod github;
pub mod oracle;
pub mod plugins;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/corpus`, beside the workspace.
pub fn corpus() -> PathBuf {
    let corpus = workspace().join("../shared/corpus");
    assert!(
        corpus.is_dir(),
        "{} not found: the tests read ../shared beside the checkout",
        corpus.display()
    );
    corpus
}

/// One real Prow instance of the corpus: where its upstream files are.
pub struct CorpusInstance {
    /// The folder's name.
    pub name: &'static str,
    /// config.yaml.
    pub config: &'static str,
    /// The job-config directory.
    pub jobs: &'static str,
    /// plugins.yaml.
    pub plugins: &'static str,
    /// labels.yaml, when there is one.
    pub labels: Option<&'static str>,
}

/// The four corpus instances.
pub const CORPUS: [CorpusInstance; 4] = [
    CorpusInstance {
        name: "gardener__ci-infra",
        config: "config/prow/config.yaml",
        jobs: "config/jobs",
        plugins: "config/prow/plugins.yaml",
        labels: Some("config/prow/labels.yaml"),
    },
    CorpusInstance {
        name: "knative__infra",
        config: "prow/config.yaml",
        jobs: "prow/jobs",
        plugins: "prow/plugins.yaml",
        labels: None,
    },
    CorpusInstance {
        name: "kubernetes-sigs__prow",
        config: "test/integration/config/prow/config.yaml",
        jobs: "test/integration/config/prow/jobs",
        plugins: "test/integration/config/prow/plugins.yaml",
        labels: None,
    },
    CorpusInstance {
        name: "metal3-io__project-infra",
        config: "prow/config/config.yaml",
        jobs: "prow/config/jobs",
        plugins: "prow/config/plugins.yaml",
        labels: Some("prow/config/labels.yaml"),
    },
];

impl CorpusInstance {
    /// The instance's folder.
    pub fn root(&self) -> PathBuf {
        corpus().join(self.name)
    }

    /// The upstream files, read.
    pub fn files(&self) -> import::UpstreamFiles {
        let root = self.root();
        let labels = self.labels.map(|l| root.join(l));
        import::read_files(
            &root.join(self.config),
            Some(&root.join(self.jobs)),
            Some(&root.join(self.plugins)),
            labels.as_deref(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// The instance imported with the default options.
    pub fn import(&self) -> Imported {
        let options = ImportOptions {
            namespace: "prow".into(),
            name: "prow".into(),
            version: None,
            org: None,
        };
        import::import(&self.files(), &options).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

/// Imported objects as pipeline inputs, each with a made-up source.
pub fn inputs(imported: &Imported) -> Inputs {
    let source = |name: String| Source::File {
        file: PathBuf::from(name),
        document: 0,
    };
    let mut inputs = Inputs::default();
    inputs.instances.push(Sourced {
        source: source("prowinstance.yaml".into()),
        object: imported.instance.clone(),
    });
    for config in &imported.job_configs {
        let name = config.metadata.name.clone().unwrap_or_default();
        inputs.job_configs.push(Sourced {
            source: source(format!("jobconfigs/{name}.yaml")),
            object: config.clone(),
        });
    }
    if let Some(plugins) = &imported.plugin_config {
        inputs.plugin_configs.push(Sourced {
            source: source("pluginconfig.yaml".into()),
            object: plugins.clone(),
        });
    }
    if let Some(labels) = &imported.label_set {
        inputs.label_sets.push(Sourced {
            source: source("labelset.yaml".into()),
            object: labels.clone(),
        });
    }
    inputs
}
