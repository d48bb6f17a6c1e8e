//! The real production Prow configurations of `tests/oracle/configs.tsv`: the four of
//! `../shared/corpus` (always present; CI uses them) and those `tests/oracle/configs.sh` extracts
//! into the ignored `tests/oracle/configs/` from local mirrors of their repositories (used when
//! present).

use std::path::PathBuf;

use prow_operator::import::{self, ImportOptions, Imported};

/// One configuration of the manifest.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// Its folder's name.
    pub name: String,
    /// The repository it comes from, `owner/name`.
    pub repository: String,
    /// The folder holding its files.
    pub root: PathBuf,
    /// config.yaml, relative to `root`.
    pub config: String,
    /// plugins.yaml.
    pub plugins: String,
    /// labels.yaml, when there is one.
    pub labels: Option<String>,
    /// The job-config directory.
    pub jobs: String,
    /// The flags the project's own checkconfig job passes besides the three paths.
    pub checkconfig_flags: Vec<String>,
}

impl Configuration {
    /// The upstream files, read.
    pub fn files(&self) -> Result<import::UpstreamFiles, String> {
        let labels = self.labels.as_ref().map(|l| self.root.join(l));
        import::read_files(
            &self.root.join(&self.config),
            Some(&self.root.join(&self.jobs)),
            Some(&self.root.join(&self.plugins)),
            labels.as_deref(),
        )
        .map_err(|e| e.to_string())
    }

    /// The configuration imported, for the upstream `version` when given.
    pub fn import(&self, version: Option<&str>) -> Result<Imported, String> {
        let options = ImportOptions {
            namespace: "prow".into(),
            name: "prow".into(),
            version: version.map(str::to_string),
            org: None,
        };
        import::import(&self.files()?, &options).map_err(|e| e.to_string())
    }
}

/// Where `tests/oracle/configs.sh` puts a path of the manifest: a file from another repository
/// (`owner/name@commit:path`) and a flattened job tree (`flat:dir`) at their plain path.
fn extracted_path(column: &str) -> String {
    let path = column.strip_prefix("flat:").unwrap_or(column);
    match path.split_once('@') {
        Some((_, rest)) => rest.split_once(':').map_or(rest, |(_, path)| path).to_string(),
        None => path.to_string(),
    }
}

/// The configurations of the manifest whose files are here: the corpus ones always (a missing
/// one panics), the extracted ones when `tests/oracle/configs.sh` has run; only those named in
/// `ORACLE_CONFIGS` (comma-separated) when it is set.
pub fn configurations() -> Vec<Configuration> {
    let only = std::env::var("ORACLE_CONFIGS").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|only| only.split(',').any(|n| n.trim() == name))
    };
    let manifest = super::workspace().join("tests/oracle/configs.tsv");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let corpus = super::corpus();
    let extracted = super::workspace().join("tests/oracle/configs");
    let mut found = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let columns: Vec<&str> = line.split('\t').collect();
        let [name, repository, _commit, config, plugins, labels, jobs, flags] = columns[..] else {
            panic!("{}: not 8 tab-separated columns: {line}", manifest.display());
        };
        if !wanted(name) {
            continue;
        }
        let root = if corpus.join(name).is_dir() {
            corpus.join(name)
        } else if extracted.join(name).is_dir() {
            extracted.join(name)
        } else {
            continue;
        };
        found.push(Configuration {
            name: name.to_string(),
            repository: repository.to_string(),
            root,
            config: extracted_path(config),
            plugins: extracted_path(plugins),
            labels: (labels != "-").then(|| extracted_path(labels)),
            jobs: extracted_path(jobs),
            checkconfig_flags: flags
                .split_whitespace()
                .filter(|f| *f != "-")
                .map(str::to_string)
                .collect(),
        });
    }
    found
}
