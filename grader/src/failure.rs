//! Whose fault a failure is. A submission's own failure (it does not compile, it panics, it
//! runs past its limits) costs it points; the grader's (no toolchain, a full disk, a dataset
//! missing, a build stopped from outside) must never be scored as the student's: the
//! submission is reported as not graded and the run exits non-zero.

use crate::result::Refusal;

/// Why a step produced no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The submission's doing: what it lost points for, and the reason for the student.
    Submission(Refusal),
    /// The grader's: the reason is for the instructor, and the submission is not scored.
    Grader(String),
}

impl Failure {
    /// The reason, whoever's fault it is.
    pub fn reason(self) -> String {
        match self {
            Failure::Submission(r) => r.why,
            Failure::Grader(s) => s,
        }
    }

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

/// Below this much free space, a failed build or run is blamed on the disk: a linker on a full
/// disk dies of SIGBUS (measured: lld on a full tmpfs) rather than saying "no space".
const LOW_SPACE: u64 = 64 << 20;

/// The grader's fault when the file system holding `dir` is (nearly) full.
pub fn disk_full(dir: &std::path::Path) -> Option<Failure> {
    let free = free_bytes(dir)?;
    (free < LOW_SPACE).then(|| {
        Failure::Grader(format!(
            "the disk holding {} is full ({} KB free): free space and grade again",
            dir.display(),
            free / 1024
        ))
    })
}

/// Bytes free for this user on the file system holding `dir`.
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct it is given; the path is a valid C string.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut s) == 0).then(|| s.f_bavail as u64 * s.f_frsize as u64)
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
