//! `petri`: the terminal tutor (no arguments) and the command line for data, runs and grading.
//! This crate draws and prints; everything it computes comes from `petri-engine`.

mod app;
mod cli;
mod course;
mod paths;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "petri",
    version,
    about = "Learn to identify and train deep networks on biomedical data"
)]
struct Cli {
    /// Where datasets are kept [default: $PETRI_DATA, else your data dir + /petri]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Use plain ASCII instead of Braille and block glyphs
    #[arg(long, global = true)]
    ascii: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List, fetch, inspect and verify datasets
    Data {
        #[command(subcommand)]
        command: cli::data::DataCommand,
    },
    /// Run a course experiment headless: progress, a run record, final metrics
    Run(cli::run::RunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data_dir = paths::data_dir(cli.data_dir.as_deref());
    let result = match cli.command {
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
            app::run(app::Options {
                data_dir,
                ascii: cli.ascii,
            })
        }
        None => {
            print!("{}", course::plain_overview(&data_dir));
            Ok(())
        }
        Some(Command::Data { command }) => cli::data::run(command, &data_dir),
        Some(Command::Run(args)) => cli::run::run(args, &data_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
