//! `petri`: the terminal tutor (no arguments) and the command line; see `cli::entry`.

fn main() -> std::process::ExitCode {
    petri::cli::entry::main()
}
