//! Whose fault a failure is. A submission's own failure (it does not compile, it panics, it
//! runs past its limits) costs it points; the grader's (no toolchain, a full disk, a dataset
//! missing, a build stopped from outside) must never be scored as the student's: the
//! submission is reported as not graded and the run exits non-zero.

/// Why a step produced no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The submission's doing: the reason is for the student.
    Submission(String),
    /// The grader's: the reason is for the instructor, and the submission is not scored.
    Grader(String),
}

impl Failure {
    /// An I/O error of the grader's own files: disk full, permissions, a vanished folder.
    pub fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> Failure {
        let hint = match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => {
                ": the disk is full; free space and grade again"
            }
            Some(libc::EACCES) | Some(libc::EROFS) => {
                ": the grader cannot write there; give it a writable folder"
            }
            _ => "",
        };
        Failure::Grader(format!(
            "grader could not {what} {}: {e}{hint}",
            path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_the_graders_fault_and_says_so() {
        let e = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let f = Failure::io("write", std::path::Path::new("/tmp/petri-grade-1/run-1"), e);
        let Failure::Grader(why) = f else {
            panic!("a full disk was blamed on the submission")
        };
        assert!(
            why.contains("/tmp/petri-grade-1/run-1") && why.contains("the disk is full"),
            "{why}"
        );
    }
}
