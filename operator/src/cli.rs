//! The command line: one subcommand per job of the binary.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::crds;
use crate::logging::{self, LogFormat};

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
    /// Print every CustomResourceDefinition, or write one file per CRD into a directory.
    Crds {
        /// Write `<group>_<plural>.yaml` files and a `kustomization.yaml` here instead of printing.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// An error of the command line layer.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The CRDs could not be generated or written.
    #[error(transparent)]
    Crds(#[from] crds::CrdsError),
    /// Standard output could not be written.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    logging::init(cli.log_format, &cli.log_level);
    match cli.command {
        Command::Crds { dir: Some(dir) } => Ok(crds::write_dir(&dir)?),
        Command::Crds { dir: None } => {
            let text = crds::render_all()?;
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(CliError::Stdout)
        }
    }
}
