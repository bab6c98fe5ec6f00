//! `petri`'s command line: parses the arguments once into typed values and dispatches to the
//! tutor or a command. In the library, not in `main.rs`, so that `petri-bench` can be `petri`
//! too when invoked under that name (one binary for the GPU check, see bench/src/main.rs).

use crate::{app, cli, course, lessons, paths};

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "petri",
    version = env!("PETRI_VERSION"),
    about = "Learn to identify and train deep networks on biomedical data",
    after_help = "\
With no command, petri opens the tutor (on a terminal) or prints the course overview.

Examples:
  petri                                  the tutor: lessons, checks, runs, challenges
  petri doctor                           what will work on this machine
  petri data fetch breastmnist           download a course dataset
  petri run regression --seed 1          a part's experiments, headless
  petri identify my-images/ --plan p.toml && petri train my-images/ --plan p.toml
  petri completions bash > ~/.local/share/bash-completion/completions/petri

Exit status: 0 success; 1 failure; 2 usage (a bad flag or value); 3 some submissions could not
be graded (`petri grade`); 130 stopped by Ctrl-C, SIGTERM or a hang-up (what finished is saved)."
)]
struct Cli {
    /// Where datasets are kept [default: $PETRI_DATA, else your data dir + /petri]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The tutor: plain ASCII instead of Braille and block glyphs (also when TERM=dumb or linux)
    #[arg(long)]
    ascii: bool,
    /// The tutor: let it use the mouse (the wheel scrolls); off by default
    #[arg(long)]
    mouse: bool,
    /// The tutor: read lessons from this folder instead of the copy built into petri [env:
    /// PETRI_LESSONS]
    #[arg(long, value_name = "DIR")]
    lessons: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// `--lessons`, on the commands that read lessons (and their subcommands).
#[derive(clap::Args, Default)]
struct LessonsDir {
    /// Read lessons from this folder instead of the copy built into petri [env: PETRI_LESSONS]
    // Its own id: a global arg shares its id with the subcommands' (`check DIR` is `dir`).
    #[arg(
        long = "lessons",
        id = "lessons_folder",
        global = true,
        value_name = "DIR"
    )]
    lessons_folder: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// List, fetch, inspect and verify datasets
    #[command(
        after_help = "Examples:\n  petri data list\n  petri data fetch pathmnist --size 64\n  petri data info ~/scans/ --json\n  petri data verify"
    )]
    Data {
        #[command(subcommand)]
        command: cli::data::DataCommand,
    },
    /// Run a course experiment headless: progress, a run record, final metrics
    #[command(
        after_help = "Examples:\n  petri run regression\n  petri run classification --experiment finetune --device cuda --seed 3\n  petri run segmentation --loss ce+dice --class-weights balanced\n  petri run augmentation --data ~/medmnist/chestmnist.npz --epochs 5\n  petri run classification --resume        # after Ctrl-C or a dropped connection"
    )]
    Run(cli::run::RunArgs),
    /// Print a lesson (e.g. `petri lesson classification`)
    #[command(after_help = "Examples:\n  petri lesson 1\n  petri lesson segmentation | less")]
    Lesson {
        /// The part: its number (1), name (classification) or lesson id (01-classification)
        part: String,
        #[command(flatten)]
        lessons: LessonsDir,
    },
    /// Answer a lesson's knowledge check line by line; the score is saved
    #[command(after_help = "Examples:\n  petri quiz classification\n  petri quiz 3 --fresh")]
    Quiz {
        /// The part: its number (1), name (classification) or lesson id (01-classification)
        part: String,
        /// Start a fresh attempt: answers cleared, options in a new order (otherwise the saved
        /// attempt's order is kept)
        #[arg(long)]
        fresh: bool,
        #[command(flatten)]
        lessons: LessonsDir,
    },
    /// Save a run record's figures for a report: curves (PNG, SVG, CSV), the test metric per
    /// run as bars, the confusion matrix
    #[command(
        after_help = "Examples:\n  petri figures ~/.local/share/petri/runs/augmentation-1796141683-seed0.json\n  petri figures run.json --out figures/"
    )]
    Figures {
        /// A run record (`petri run` prints where it saved it)
        record: PathBuf,
        /// Where the figures go [default: beside the record, in RECORD-figures/]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run what a run record asked for again, from the record alone, and compare the metrics
    #[command(
        after_help = "Examples:\n  petri rerun ~/.local/share/petri/runs/regression-1796141683-seed0.json\n  petri rerun run.json --check --out /tmp/again    # exit 1 unless every metric is reproduced"
    )]
    Rerun(cli::rerun::RerunArgs),
    /// Identify the task of your own data and propose a training plan
    #[command(
        after_help = "Examples:\n  petri identify my-images/\n  petri identify cohort.csv --target survival_months --plan plan.toml\n  petri identify scans.npz --json"
    )]
    Identify(cli::identify::IdentifyArgs),
    /// Train on your own data with a plan from `petri identify`
    #[command(
        after_help = "Examples:\n  petri train my-images/ --plan plan.toml\n  petri train cohort.csv --plan plan.toml --device cuda"
    )]
    Train(cli::identify::TrainArgs),
    /// Challenges: list, start one, check your work, get a hint
    #[command(
        after_help = "Examples:\n  petri challenge list\n  petri challenge start dice && cd petri-dice\n  petri challenge check        # exit 1 while a visible check fails\n  petri challenge hint"
    )]
    Challenge {
        #[command(subcommand)]
        command: cli::challenge::ChallengeCommand,
        #[command(flatten)]
        lessons: LessonsDir,
    },
    /// Grade submissions of a challenge (instructors, CI): reports for Gradescope, JUnit, CSV
    Grade(cli::grade::GradeArgs),
    /// Combine the reports of `petri grade --shard` runs into one set
    GradeMerge(cli::grade::MergeArgs),
    /// Runs a config challenge inside the grader's sandbox (used by `petri grade`)
    #[command(hide = true)]
    GradeWorker { task: String, dir: PathBuf },
    /// Runs the course run the tutor wrote to DIR/request.json, reporting to DIR
    #[command(hide = true)]
    Job { dir: PathBuf },
    /// What will work here: each part's data and weights, free space, the state dir, the GPU
    /// backends in this binary and whether each device opens (exit 1 when a part cannot run)
    #[command(after_help = "Example:\n  petri doctor && petri run classification")]
    Doctor {
        #[command(flatten)]
        lessons: LessonsDir,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Examples:\n  petri completions bash > ~/.local/share/bash-completion/completions/petri\n  petri completions zsh > ~/.zfunc/_petri\n  petri completions fish > ~/.config/fish/completions/petri.fish"
    )]
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout
    #[command(after_help = "Example:\n  petri man > ~/.local/share/man/man1/petri.1 && man petri")]
    Man,
    /// Check the course content
    #[command(after_help = "Example:\n  petri content check --lessons lessons/")]
    Content {
        #[command(subcommand)]
        command: ContentCommand,
        #[command(flatten)]
        lessons: LessonsDir,
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

/// Runs `petri` with the process's arguments.
pub fn main() -> ExitCode {
    petri_engine::allocator::tune_for_training();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` print through the same checked writes as every command.
        Err(e) if !e.use_stderr() => {
            return exit_code(crate::out!("{}", e.render()).map_err(anyhow::Error::from));
        }
        Err(e) => e.exit(),
    };
    let data_dir = paths::data_dir(cli.data_dir.as_deref());
    // `--lessons` of the command that reads lessons, else the tutor's.
    let flag = match &cli.command {
        Some(
            Command::Lesson { lessons, .. }
            | Command::Quiz { lessons, .. }
            | Command::Challenge { lessons, .. }
            | Command::Doctor { lessons }
            | Command::Content { lessons, .. },
        ) => lessons.lessons_folder.clone(),
        _ => cli.lessons.clone(),
    };
    let lessons_dir = lessons::source(flag.as_deref());
    let state_dir = paths::state_dir(&data_dir);
    let result = match cli.command {
        None if crate::term::interactive(
            std::io::stdout().is_terminal() && std::io::stdin().is_terminal(),
        ) =>
        {
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
        None => lessons::load_ok(lessons_dir.as_deref())
            .and_then(|l| Ok(crate::out!("{}", course::plain_overview(&data_dir, &l))?)),
        Some(Command::Data { command }) => cli::data::run(command, &data_dir),
        Some(Command::Run(args)) => cli::run::run(args, &data_dir),
        Some(Command::Lesson { part, .. }) => {
            cli::content::lesson(lessons_dir.as_deref(), &part, &state_dir)
        }
        Some(Command::Quiz { part, fresh, .. }) => {
            cli::content::quiz(lessons_dir.as_deref(), &part, &state_dir, fresh)
        }
        Some(Command::Rerun(args)) => cli::rerun::rerun(args, &data_dir),
        Some(Command::Identify(args)) => cli::identify::identify(args),
        Some(Command::Train(args)) => cli::identify::train(args, &data_dir),
        Some(Command::Challenge { command, .. }) => {
            cli::challenge::run(command, &data_dir, &state_dir, lessons_dir.as_deref())
        }
        Some(Command::Grade(args)) => cli::grade::grade(args, &data_dir, &state_dir),
        Some(Command::GradeMerge(args)) => cli::grade::merge(args),
        Some(Command::GradeWorker { task, dir }) => cli::challenge::worker(&task, &dir),
        Some(Command::Job { dir }) => cli::run::job(&dir),
        Some(Command::Content {
            command: ContentCommand::Check,
            ..
        }) => cli::content::check(lessons_dir.as_deref(), &command_ok),
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let script = cli::completions::render(Cli::command(), shell);
            crate::out::write_bytes(&script).map_err(anyhow::Error::from)
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            cli::man::render(Cli::command())
                .map_err(anyhow::Error::from)
                .and_then(|page| Ok(crate::out::write_bytes(&page)?))
        }
        Some(Command::Figures { record, out }) => {
            let out = out.unwrap_or_else(|| crate::figures::default_dir(&record));
            petri_engine::experiment::ExperimentRecord::load(&record)
                .and_then(|r| {
                    let sheet = petri_engine::experiment::record::SampleSheet::load(&record)?;
                    Ok((r, sheet))
                })
                .map_err(anyhow::Error::from)
                .and_then(|(r, sheet)| crate::figures::write_all(&r, sheet.as_ref(), &out))
                .and_then(|files| {
                    for f in files {
                        crate::outln!("{}", f.display())?;
                    }
                    Ok(())
                })
        }
        Some(Command::Doctor { .. }) => {
            let lessons = lessons::load_ok(lessons_dir.as_deref()).unwrap_or_default();
            let (text, ok) = crate::doctor::report(&data_dir, &state_dir, &lessons);
            // Its exit status is its verdict, also when the reader stopped early.
            if let Err(e) = crate::out!("{text}").and_then(|()| crate::out::flush())
                && !e.is_closed_pipe()
            {
                Err(e.into())
            } else if ok {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "a part of the course cannot run on this machine yet"
                ))
            }
        }
    };
    exit_code(result)
}

/// The exit status of a command's result, its error printed (see `--help`'s "Exit status").
fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    // Text printed without a final newline is still buffered: its write error counts too.
    let result = result.and_then(|()| Ok(crate::out::flush()?));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `petri lesson 1 | head`: the reader has what it wanted.
        Err(e) if crate::out::stdout_error(&e).is_some_and(|w| w.is_closed_pipe()) => {
            ExitCode::SUCCESS
        }
        Err(e) if e.downcast_ref::<crate::run_spec::Usage>().is_some() => {
            eprintln!("error: {e}\n\nFor more information, try '--help'.");
            ExitCode::from(2)
        }
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
