//! The command line: one subcommand per job of the binary.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use prow_api::status::Severity;

use crate::crds;
use crate::import::{self, ImportOptions};
use crate::input::{self, Inputs};
use crate::logging::{self, LogFormat};
use crate::mkpj;
use crate::mkpod;
use crate::pipeline;
use crate::render::OperatorWebhook;
use crate::trigger::preview;

/// Runs Prow declaratively: renders, checks and reconciles Prow installations.
#[derive(Debug, Parser)]
#[command(name = "prow-operator", version, about)]
pub struct Cli {
    /// The format of log lines on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The least severe log level shown (`RUST_LOG` overrides it).
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller: reconcile ProwInstances and what they select, in the cluster.
    ///
    /// Uses `--kubeconfig` when given, in-cluster configuration (or `$KUBECONFIG`) otherwise. Only
    /// the replica holding the `prow-operator` Lease reconciles; SIGTERM drains and exits.
    Run {
        /// A kubeconfig file to reach the cluster with.
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// The namespace the operator runs in (its Lease and webhook Service are there).
        #[arg(long, env = "POD_NAMESPACE", default_value = "prow-operator-system")]
        namespace: String,
        /// Where `/healthz` and `/readyz` are served.
        #[arg(long, default_value = "0.0.0.0:8081")]
        health_address: std::net::SocketAddr,
        /// Where Prometheus `/metrics` are served.
        #[arg(long, default_value = "0.0.0.0:9090")]
        metrics_address: std::net::SocketAddr,
        /// Where GitHub webhooks (`POST /hook`, the native trigger) are served.
        #[arg(long, default_value = "0.0.0.0:8888")]
        hook_address: std::net::SocketAddr,
        /// How many webhook deliveries are remembered, to acknowledge a redelivery without acting
        /// on it again (memory stays bounded: the oldest are forgotten first).
        #[arg(long, default_value_t = 100_000)]
        remembered_deliveries: usize,
        /// How long the Lease lasts without renewal, in seconds.
        #[arg(long, default_value_t = 15)]
        lease_duration_seconds: u64,
        /// How often the leader renews the Lease, in seconds (under half the duration).
        #[arg(long, default_value_t = 5)]
        lease_renew_seconds: u64,
        /// How often label sync visits every repository (one listing each) to repair labels
        /// changed on GitHub; between full passes only changed or failed repositories are visited.
        #[arg(long, default_value = "6h", value_parser = parse_duration)]
        label_sync_full_pass: std::time::Duration,
    },
    /// Print every CustomResourceDefinition, or write one file per CRD into a directory.
    Crds {
        /// Write `<group>_<plural>.yaml` files and a `Kustomization` here instead of printing.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print every Kubernetes object the operator would apply for the ProwInstances in the input.
    ///
    /// Objects with errors are left out (and reported on standard error); the exit status is then
    /// 1.
    Render {
        /// Files or directories of YAML (read recursively).
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// The namespace the operator runs in (its webhook Service is there).
        #[arg(long, default_value = "prow-operator-system")]
        operator_namespace: String,
    },
    /// Check custom resources as upstream's checkconfig would, plus the plugin and label rules.
    ///
    /// Prints every finding with its file, object and field path; exits 1 when any is an error
    /// (with `--strict`, when there is any finding at all).
    Check {
        /// Files or directories of YAML (read recursively).
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// Fail on warnings too, as upstream's `checkconfig --strict` does (unknown keys, long
        /// job names, undecorated jobs…).
        #[arg(long)]
        strict: bool,
    },
    /// Show the ProwJobs a GitHub event would create and what it would abort, applying nothing.
    ///
    /// With `--explain`, says for every job why it was or was not selected (branch, changed
    /// files, trust, draft, mergeability).
    Trigger {
        /// Files or directories of YAML holding the JobConfigs (read recursively).
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// The GitHub event type (`X-GitHub-Event`): `pull_request` or `push`.
        #[arg(long)]
        event_type: String,
        /// The webhook payload (JSON).
        #[arg(long)]
        payload: PathBuf,
        /// A file the pull request changes (repeat the flag for each).
        #[arg(long = "changed-file")]
        changed_files: Vec<String>,
        /// Treat the pull request's author as trusted (an org member).
        #[arg(long)]
        trusted: bool,
        /// Explain, job by job, on standard error.
        #[arg(long)]
        explain: bool,
        /// The namespace of the ProwJobs.
        #[arg(long, default_value = "prow")]
        namespace: String,
    },
    /// Print the ProwJob of one configured job, ready to `kubectl create` (upstream's `mkpj`).
    ///
    /// Periodics need only `--job`; postsubmits also the base ref and SHA; presubmits also the
    /// pull request's number, head SHA and author.
    Mkpj {
        /// Files or directories of YAML holding the JobConfigs (read recursively).
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// The job's name.
        #[arg(long)]
        job: String,
        /// The base branch (also picks among jobs of one name told apart by `branches`).
        #[arg(long)]
        base_ref: Option<String>,
        /// The base commit.
        #[arg(long)]
        base_sha: Option<String>,
        /// The pull request number.
        #[arg(long)]
        pull: Option<i64>,
        /// The pull request's head commit.
        #[arg(long)]
        pull_sha: Option<String>,
        /// The pull request's author.
        #[arg(long)]
        author: Option<String>,
        /// The namespace of the ProwJob.
        #[arg(long, default_value = "prow")]
        namespace: String,
    },
    /// Print the Pod the executor would create for a ProwJob, applying nothing (upstream's
    /// `mkpod`).
    ///
    /// The pod uses the settings of the first ProwInstance in the input: its storage, utility
    /// images, and config.yaml's plank decoration defaults. The job URL is printed as a comment.
    Mkpod {
        /// Files or directories of YAML holding the ProwInstance and JobConfigs (read recursively).
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// The ProwJob (YAML or JSON), such as `mkpj` prints.
        #[arg(long)]
        prowjob: PathBuf,
        /// The build id; the ProwJob's own, else a new one.
        #[arg(long)]
        build_id: Option<String>,
        /// Copy artifacts to this directory on the node instead of uploading them (local mode).
        #[arg(long)]
        local_output: Option<String>,
    },
    /// Native label sync: what it would change on GitHub.
    Labels {
        /// What to do.
        #[command(subcommand)]
        command: LabelsCommand,
    },
    /// Managed webhooks: what they would change on GitHub.
    Webhooks {
        /// What to do.
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// Turn an upstream Prow configuration into custom resources.
    Import {
        /// The upstream config.yaml.
        #[arg(long)]
        config: PathBuf,
        /// The job config: a file or a directory (read recursively).
        #[arg(long)]
        job_config: Option<PathBuf>,
        /// The upstream plugins.yaml.
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// label_sync's labels.yaml.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// The namespace of the objects.
        #[arg(long, default_value = "prow")]
        namespace: String,
        /// The ProwInstance's name.
        #[arg(long, default_value = "prow")]
        name: String,
        /// The upstream image tag of the components (default: the newest upstream image tag the
        /// configuration itself names, else a current upstream version).
        #[arg(long)]
        version: Option<String>,
        /// The GitHub org (the first job's org when unset).
        #[arg(long)]
        org: Option<String>,
        /// The directory to write the custom resources to.
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
}

/// The `labels` subcommands.
#[derive(Debug, Subcommand)]
pub enum LabelsCommand {
    /// Print what a label sync would do, one line per change, without doing it:
    /// `create|update|delete org/repo label`, `rename|migrate org/repo old new`.
    ///
    /// Exits 1, with one sentence per problem on standard error, when GitHub cannot be read (the
    /// other repositories are still shown).
    Diff {
        /// Files or directories of YAML holding the ProwInstance and LabelSets (read recursively).
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// A file holding a GitHub token that can read the repositories' labels.
        #[arg(long)]
        token_file: PathBuf,
        /// The GitHub API endpoint (default: the instance's `github.apiUrl`).
        #[arg(long)]
        api_url: Option<String>,
    },
}

/// The `webhooks` subcommands.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Print what managed webhooks would do, one line per change, without doing it:
    /// `create|update org/repo url` (or `org` for `level: org`).
    ///
    /// Exits 1, with one sentence per problem on standard error, when GitHub cannot be read (the
    /// other targets are still shown).
    Diff {
        /// Files or directories of YAML holding the ProwInstance (read recursively).
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// A file holding a GitHub token that can read the webhooks (scope `admin:repo_hook` or
        /// `admin:org_hook`).
        #[arg(long)]
        token_file: PathBuf,
        /// The GitHub API endpoint (default: the instance's `github.apiUrl`).
        #[arg(long)]
        api_url: Option<String>,
    },
}

/// An error of the command line layer.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The CRDs could not be generated or written.
    #[error(transparent)]
    Crds(#[from] crds::CrdsError),
    /// An input could not be read.
    #[error(transparent)]
    Input(#[from] input::InputError),
    /// The upstream configuration could not be imported.
    #[error(transparent)]
    Import(#[from] import::ImportError),
    /// No ProwJob could be made for the job.
    #[error(transparent)]
    Mkpj(#[from] mkpj::MkpjError),
    /// No Pod could be made for the ProwJob.
    #[error(transparent)]
    Mkpod(#[from] mkpod::MkpodError),
    /// A webhook payload could not be evaluated.
    #[error(transparent)]
    Trigger(#[from] preview::PreviewError),
    /// `labels diff` or `webhooks diff` could not start.
    #[error(transparent)]
    GitHubDiff(#[from] crate::github_diff::GitHubDiffError),
    /// The controller failed.
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    /// The input held no ProwInstance to render.
    #[error("no ProwInstance in the input: render needs one, with the objects it selects")]
    NoInstance,
    /// Output could not be rendered as YAML.
    #[error(transparent)]
    Yaml(#[from] prow_api::yaml::YamlError),
    /// Standard output could not be written.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Whether a command found problems in its input (exit status 1) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was fine.
    Clean,
    /// The command ran, but reported errors in its input.
    Findings,
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<Outcome, CliError> {
    logging::init(cli.log_format, &cli.log_level);
    match cli.command {
        Command::Run {
            kubeconfig,
            namespace,
            health_address,
            metrics_address,
            hook_address,
            remembered_deliveries,
            lease_duration_seconds,
            lease_renew_seconds,
            label_sync_full_pass,
        } => {
            crate::run::run(crate::run::RunOptions {
                kubeconfig,
                namespace,
                health_address,
                metrics_address,
                hook_address,
                remembered_deliveries,
                lease_duration: std::time::Duration::from_secs(lease_duration_seconds),
                lease_renew_period: std::time::Duration::from_secs(lease_renew_seconds),
                label_sync_full_pass,
            })?;
            Ok(Outcome::Clean)
        }
        Command::Crds { dir: Some(dir) } => {
            crds::write_dir(&dir)?;
            Ok(Outcome::Clean)
        }
        Command::Crds { dir: None } => {
            write_stdout(&crds::render_all()?)?;
            Ok(Outcome::Clean)
        }
        Command::Render {
            paths,
            operator_namespace,
        } => render(&paths, &OperatorWebhook::in_namespace(&operator_namespace)),
        Command::Check { paths, strict } => check(&paths, strict),
        Command::Mkpj {
            paths,
            job,
            base_ref,
            base_sha,
            pull,
            pull_sha,
            author,
            namespace,
        } => {
            let inputs = input::load(&paths)?;
            let failed = print_input_problems(&inputs);
            let args = mkpj::RefsArgs {
                base_ref,
                base_sha,
                pull,
                pull_sha,
                author,
            };
            let prowjob = mkpj::make(&inputs, &job, &args, &namespace)?;
            write_stdout(&format!("---\n{}", prow_api::yaml::to_string(&prowjob)?))?;
            Ok(if failed { Outcome::Findings } else { Outcome::Clean })
        }
        Command::Mkpod {
            paths,
            prowjob,
            build_id,
            local_output,
        } => {
            let inputs = input::load(&paths)?;
            let failed = print_input_problems(&inputs);
            let job = mkpod::read_prowjob(&prowjob)?;
            let made = mkpod::make(&inputs, &job, &mkpod::MkpodOptions { build_id, local_output })?;
            let mut out = String::from("---\n");
            if let Some(url) = &made.url {
                out.push_str(&format!("# job URL: {url}\n"));
            }
            out.push_str(&prow_api::yaml::to_string(&made.pod)?);
            write_stdout(&out)?;
            Ok(if failed { Outcome::Findings } else { Outcome::Clean })
        }
        Command::Trigger {
            paths,
            event_type,
            payload,
            changed_files,
            trusted,
            explain,
            namespace,
        } => {
            let inputs = input::load(&paths)?;
            let failed = print_input_problems(&inputs);
            let text = std::fs::read_to_string(&payload).map_err(|source| input::InputError::Read {
                path: payload.clone(),
                source,
            })?;
            let payload: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                CliError::Trigger(preview::PreviewError::Payload {
                    event: event_type.clone(),
                    message: e.to_string(),
                })
            })?;
            let preview = preview::evaluate(&inputs, &event_type, &payload, &changed_files, trusted, &namespace)?;
            if explain {
                for explanation in &preview.explanations {
                    let verdict = if explanation.selected {
                        "runs"
                    } else if explanation.job.is_empty() {
                        "note"
                    } else {
                        "skips"
                    };
                    eprintln!("{verdict:<5} {:<40} {}", explanation.job, explanation.reason);
                }
            }
            let mut out = String::new();
            for abort in &preview.abort {
                out.push_str(&format!("# would abort {abort}\n"));
            }
            for job in &preview.create {
                out.push_str("---\n");
                out.push_str(&prow_api::yaml::to_string(job)?);
            }
            write_stdout(&out)?;
            Ok(if failed { Outcome::Findings } else { Outcome::Clean })
        }
        Command::Labels {
            command:
                LabelsCommand::Diff {
                    paths,
                    token_file,
                    api_url,
                },
        } => {
            let diff = crate::labels_cli::diff(&paths, &token_file, api_url.as_deref())?;
            print_diff(&diff.lines, &diff.errors)
        }
        Command::Webhooks {
            command:
                WebhooksCommand::Diff {
                    paths,
                    token_file,
                    api_url,
                },
        } => {
            let diff = crate::webhooks_cli::diff(&paths, &token_file, api_url.as_deref())?;
            print_diff(&diff.lines, &diff.errors)
        }
        Command::Import {
            config,
            job_config,
            plugins,
            labels,
            namespace,
            name,
            version,
            org,
            output,
        } => {
            let files = import::read_files(&config, job_config.as_deref(), plugins.as_deref(), labels.as_deref())?;
            let imported = import::import(
                &files,
                &ImportOptions {
                    namespace,
                    name,
                    version,
                    org,
                },
            )?;
            for warning in &imported.warnings {
                eprintln!("warning: {warning}");
            }
            for (path, text) in imported.files()? {
                let path = output.join(path);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|source| CliError::Write {
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
                std::fs::write(&path, text).map_err(|source| CliError::Write {
                    path: path.clone(),
                    source,
                })?;
            }
            Ok(Outcome::Clean)
        }
    }
}

/// A Go-style duration (`6h`, `90m`) for a flag.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse(text).map_err(|e| e.to_string())
}

/// A diff's lines on standard output and its problems on standard error; findings when there
/// are problems.
fn print_diff(lines: &[String], errors: &[String]) -> Result<Outcome, CliError> {
    for error in errors {
        eprintln!("error: {error}");
    }
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    write_stdout(&out)?;
    Ok(if errors.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

fn write_stdout(text: &str) -> Result<(), CliError> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(CliError::Stdout)
}

/// Prints the input's problems and warnings; tells whether there were problems.
fn print_input_problems(inputs: &Inputs) -> bool {
    for warning in &inputs.warnings {
        eprintln!("warning: {warning}");
    }
    for problem in &inputs.problems {
        eprintln!("error: {problem}");
    }
    !inputs.problems.is_empty()
}

fn render(paths: &[PathBuf], webhook: &OperatorWebhook) -> Result<Outcome, CliError> {
    let inputs = input::load(paths)?;
    let mut failed = print_input_problems(&inputs);
    if inputs.instances.is_empty() {
        return Err(CliError::NoInstance);
    }
    let mut text = String::new();
    for instance in &inputs.instances {
        let selected = pipeline::select(&inputs, instance);
        let reports = pipeline::validate(&selected);
        for report in &reports {
            eprint!("{report}");
            failed |= report.has_errors();
        }
        match pipeline::build(&selected, &reports, webhook) {
            Ok(rendered) => text.push_str(&rendered.to_yaml()?),
            Err(error) => {
                eprintln!("error: {}: {error}", instance.source);
                failed = true;
            }
        }
    }
    write_stdout(&text)?;
    Ok(if failed { Outcome::Findings } else { Outcome::Clean })
}

fn check(paths: &[PathBuf], strict: bool) -> Result<Outcome, CliError> {
    let inputs = input::load(paths)?;
    let failed = print_input_problems(&inputs);
    let reports = pipeline::check_all(&inputs);

    let mut out = String::new();
    let (mut errors, mut warnings) = (inputs.problems.len(), inputs.warnings.len());
    for report in &reports {
        out.push_str(&report.to_string());
        for finding in &report.findings {
            match finding.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
        }
    }
    out.push_str(&format!(
        "checked {} objects: {errors} errors, {warnings} warnings\n",
        reports.len()
    ));
    write_stdout(&out)?;
    Ok(if failed || errors > 0 || (strict && warnings > 0) {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
