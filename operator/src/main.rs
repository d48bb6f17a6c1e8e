//! The `prow-operator` binary: one program for the controller and the offline tools.

use std::process::ExitCode;

use clap::Parser;
use prow_operator::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
