//! The languages a code challenge is answered in. Rust answers are compiled into a harness
//! (`harness`), Python answers are imported by one (`python`); both harnesses answer the same
//! requests, so a task scores them the same way.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Rust, Language::Python];

    /// As typed on the command line and stored: `rust`, `python`.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
        }
    }

    /// As written in prose: `Rust`, `Python`.
    pub fn title(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
        }
    }

    /// The extension of an answer file, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Language::Rust => "rs",
            Language::Python => "py",
        }
    }

    /// The language of a file name, from its extension.
    pub fn of_file(name: &str) -> Option<Language> {
        let ext = name.rsplit_once('.')?.1;
        Language::ALL.into_iter().find(|l| l.extension() == ext)
    }

    /// `name` with this language's extension instead of its own (`dice.rs` -> `dice.py`).
    pub fn file_name(self, name: &str) -> String {
        let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        format!("{stem}.{}", self.extension())
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Language, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rust" | "rs" => Ok(Language::Rust),
            "python" | "py" => Ok(Language::Python),
            other => Err(format!(
                "unknown language '{other}': code challenges are answered in rust or python"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_the_language() {
        assert_eq!(Language::Python.file_name("dice.rs"), "dice.py");
        assert_eq!(Language::Rust.file_name("dice.py"), "dice.rs");
        assert_eq!(Language::of_file("crop.py"), Some(Language::Python));
        assert_eq!(Language::of_file("experiment.toml"), None);
        assert_eq!("Python".parse::<Language>(), Ok(Language::Python));
        assert!("julia".parse::<Language>().unwrap_err().contains("julia"));
    }
}
