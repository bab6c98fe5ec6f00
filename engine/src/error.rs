//! One error type for the engine. Every variant that concerns a file names it, and says what
//! the user can do, because these messages reach students and instructors unchanged.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read at all.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but its contents are not what its kind requires.
    #[error("{}: {problem}", path.display())]
    Format { path: PathBuf, problem: String },
    /// A value given by the user (a name, a number, an option) is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A download failed; the message says whether it can be retried.
    #[error("download of {url} failed: {problem}")]
    Download { url: String, problem: String },
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub fn format(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            problem: problem.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }
}
