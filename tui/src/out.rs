//! Standard output for the commands. `println!` panics when a write fails (a reader that stops
//! early, `| head`; a full disk), so the commands print through `outln!` and `out!`, which
//! return the failure as a `StdoutError` for `?`. `main` ends a closed pipe quietly with exit 0,
//! as ripgrep does, and reports any other write error with exit 1.

use std::fmt;
use std::io::{self, Write};

/// Writing to standard output failed.
#[derive(Debug)]
pub struct StdoutError(pub io::Error);

impl StdoutError {
    /// The reader went away (`| head`, `| true`): not an error of ours.
    pub fn is_closed_pipe(&self) -> bool {
        self.0.kind() == io::ErrorKind::BrokenPipe
    }
}

impl fmt::Display for StdoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not write to standard output ({}); check the disk or file it goes to",
            self.0
        )
    }
}

// No `source()`: the message already names the cause, and `{:#}` would repeat it.
impl std::error::Error for StdoutError {}

/// Writes formatted text to standard output (`out!`, `outln!`).
pub fn write(args: fmt::Arguments<'_>) -> Result<(), StdoutError> {
    io::stdout().lock().write_fmt(args).map_err(StdoutError)
}

/// Writes bytes to standard output.
pub fn write_bytes(bytes: &[u8]) -> Result<(), StdoutError> {
    io::stdout().lock().write_all(bytes).map_err(StdoutError)
}

/// Flushes standard output: text without a final newline is still buffered until this, and
/// its write error would otherwise be lost at exit.
pub fn flush() -> Result<(), StdoutError> {
    io::stdout().lock().flush().map_err(StdoutError)
}

/// `print!` that returns the write error instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

/// `println!` that returns the write error instead of panicking.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// The write error in an error's chain, if writing to standard output is what failed.
pub fn stdout_error(e: &anyhow::Error) -> Option<&StdoutError> {
    e.chain().find_map(|c| c.downcast_ref::<StdoutError>())
}
