//! The `prow-operator` binary: one program for the controller and the offline tools.

use std::process::ExitCode;

use clap::Parser;
use prow_operator::cli::{Cli, Outcome, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
