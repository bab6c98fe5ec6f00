//! `petri`: the terminal tutor (no arguments) and the command line. Parses arguments and
//! dispatches to the library half of this crate.

use petri::{app, cli, course, lessons, paths};

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
    /// Let the tutor use the mouse (the wheel scrolls); off by default
    #[arg(long, global = true)]
    mouse: bool,
    /// Read lessons from this folder instead of the copy built into petri [env: PETRI_LESSONS]
    #[arg(long, global = true, value_name = "DIR")]
    lessons: Option<PathBuf>,
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
    /// Print a lesson (e.g. `petri lesson classification`)
    Lesson { part: String },
    /// Answer a lesson's knowledge check line by line; the score is saved
    Quiz {
        /// The part: its number (1), name (classification) or lesson id (01-classification)
        part: String,
        /// Start a fresh attempt: answers cleared, options in a new order (otherwise the saved
        /// attempt's order is kept)
        #[arg(long)]
        fresh: bool,
    },
    /// Identify the task of your own data and propose a training plan
    Identify(cli::identify::IdentifyArgs),
    /// Train on your own data with a plan from `petri identify`
    Train(cli::identify::TrainArgs),
    /// Challenges: list, start one, check your work, get a hint
    Challenge {
        #[command(subcommand)]
        command: cli::challenge::ChallengeCommand,
    },
    /// Grade submissions of a challenge (instructors, CI): reports for Gradescope, JUnit, CSV
    Grade(cli::grade::GradeArgs),
    /// Combine the reports of `petri grade --shard` runs into one set
    GradeMerge(cli::grade::MergeArgs),
    /// Runs a config challenge inside the grader's sandbox (used by `petri grade`)
    #[command(hide = true)]
    GradeWorker { task: String, dir: PathBuf },
    /// What will work here: each part's data and weights, free space, the state dir, the GPU
    /// backends in this binary and whether each device opens (exit 1 when a part cannot run)
    Doctor,
    /// Check the course content
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
}

#[derive(Subcommand)]
enum ContentCommand {
    /// Parse every lesson and knowledge check; report problems with file and line
    Check,
}

/// Whether a `petri ...` line from a lesson is a valid command line.
fn command_ok(line: &str) -> Result<(), String> {
    Cli::try_parse_from(line.split_whitespace())
        .map(|_| ())
        .map_err(|e| e.kind().to_string())
}

fn main() -> ExitCode {
    petri_engine::allocator::tune_for_training();
    let cli = Cli::parse();
    let data_dir = paths::data_dir(cli.data_dir.as_deref());
    let lessons_dir = lessons::source(cli.lessons.as_deref());
    let state_dir = paths::state_dir(&data_dir);
    let result = match cli.command {
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
            lessons::load_ok(lessons_dir.as_deref()).and_then(|l| {
                app::run(
                    app::Options {
                        data_dir,
                        state_dir,
                        ascii: cli.ascii,
                        mouse: cli.mouse,
                        petri: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("petri")),
                    },
                    l,
                )
            })
        }
        None => lessons::load_ok(lessons_dir.as_deref()).map(|l| {
            print!("{}", course::plain_overview(&data_dir, &l));
        }),
        Some(Command::Data { command }) => cli::data::run(command, &data_dir),
        Some(Command::Run(args)) => cli::run::run(args, &data_dir),
        Some(Command::Lesson { part }) => {
            cli::content::lesson(lessons_dir.as_deref(), &part, &state_dir)
        }
        Some(Command::Quiz { part, fresh }) => {
            cli::content::quiz(lessons_dir.as_deref(), &part, &state_dir, fresh)
        }
        Some(Command::Identify(args)) => cli::identify::identify(args),
        Some(Command::Train(args)) => cli::identify::train(args, &data_dir),
        Some(Command::Challenge { command }) => {
            cli::challenge::run(command, &data_dir, &state_dir, lessons_dir.as_deref())
        }
        Some(Command::Grade(args)) => cli::grade::grade(args, &data_dir, &state_dir),
        Some(Command::GradeMerge(args)) => cli::grade::merge(args),
        Some(Command::GradeWorker { task, dir }) => cli::challenge::worker(&task, &dir),
        Some(Command::Content {
            command: ContentCommand::Check,
        }) => cli::content::check(lessons_dir.as_deref(), &command_ok),
        Some(Command::Doctor) => {
            let lessons = lessons::load_ok(lessons_dir.as_deref()).unwrap_or_default();
            let (text, ok) = petri::doctor::report(&data_dir, &state_dir, &lessons);
            print!("{text}");
            if ok {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "a part of the course cannot run on this machine yet"
                ))
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<cli::grade::Ungraded>().is_some() => {
            eprintln!("error: {e}");
            ExitCode::from(3)
        }
        Err(e)
            if e.downcast_ref::<cli::run::Interrupted>().is_some()
                || e.downcast_ref::<cli::grade::Stopped>().is_some() =>
        {
            // After a hang-up stderr may be gone: the record is saved, the status says the rest.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
