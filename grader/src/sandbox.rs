//! Runs an untrusted command with limits, using only what an unprivileged Linux kernel offers:
//! rlimits (CPU, address space, file size, open files, processes), Landlock (file-system access
//! and TCP, plus signal scoping), a fresh network namespace when user namespaces are allowed,
//! and a wall clock enforced from outside. Every protection that the host cannot provide is
//! listed in [`Protections::missing`], so reports can say so instead of pretending.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Resource limits for one sandboxed command.
#[derive(Debug, Clone)]
pub struct Limits {
    pub wall: Duration,
    pub cpu_seconds: u64,
    pub memory_bytes: u64,
    /// Largest file the command may write.
    pub file_bytes: u64,
    /// Processes (threads included) the sandbox user may own at once.
    pub processes: u64,
    /// Bytes of stdout and of stderr kept; the rest is counted and dropped.
    pub output_bytes: usize,
}

/// What the command may touch. Paths that do not exist are skipped.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
}

impl Access {
    /// System directories any dynamically linked program needs to start.
    pub fn system() -> Access {
        let read = [
            "/lib",
            "/lib64",
            "/usr/lib",
            "/usr/lib64",
            "/etc/ld.so.cache",
            "/dev/null",
            "/dev/urandom",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        Access {
            read,
            write: Vec::new(),
        }
    }
}

/// How the command ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    /// It could not be started at all (the reason says why).
    NotStarted(String),
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub ending: Ending,
    pub stdout: String,
    pub stderr: String,
    /// Output beyond `Limits::output_bytes`, dropped.
    pub dropped_bytes: u64,
    pub wall: Duration,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.ending == Ending::Exited(0)
    }

    /// One line saying why a run failed, for a student to read.
    /// What a run that did not succeed cost the submission (`reason` says it in words).
    pub fn lost(&self) -> crate::result::Lost {
        use crate::result::Lost;
        match &self.ending {
            Ending::TimedOut => Lost::TimedOut,
            Ending::Signalled(libc::SIGXCPU) => Lost::TimedOut,
            Ending::Signalled(libc::SIGXFSZ) => Lost::OverLimit,
            Ending::Exited(_) | Ending::Signalled(_) | Ending::NotStarted(_) => Lost::Crashed,
        }
    }

    pub fn reason(&self, limits: &Limits) -> String {
        match &self.ending {
            Ending::Exited(0) => "finished".into(),
            Ending::Exited(code) => {
                let panic = self
                    .stderr
                    .lines()
                    .find(|l| l.contains("panicked at"))
                    .map(|l| {
                        let msg: Vec<&str> = self
                            .stderr
                            .lines()
                            .skip_while(|x| *x != l)
                            .take(2)
                            .collect();
                        msg.join(" ")
                    });
                match panic {
                    Some(p) => format!("your code panicked: {}", p.trim()),
                    None => format!("exited with status {code}"),
                }
            }
            Ending::Signalled(sig) => match *sig {
                libc::SIGXCPU => format!("used more than {} s of CPU time", limits.cpu_seconds),
                libc::SIGXFSZ => format!(
                    "tried to write a file larger than {} KB",
                    limits.file_bytes / 1024
                ),
                libc::SIGSEGV | libc::SIGABRT => format!(
                    "crashed (signal {sig}); running out of memory (limit {} MB) or a stack overflow does this",
                    limits.memory_bytes >> 20
                ),
                s => format!("killed by signal {s}"),
            },
            Ending::TimedOut => format!(
                "did not finish within {} s (an endless loop, or too much work for the limit)",
                limits.wall.as_secs()
            ),
            Ending::NotStarted(why) => format!("could not be started: {why}"),
        }
    }
}

/// The protections this host can enforce, probed once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Protections {
    pub landlock_abi: i32,
    pub network_namespace: bool,
    /// The sandbox runs under a separate user id (the grader runs as root).
    pub separate_user: bool,
}

impl Protections {
    pub fn probe() -> &'static Protections {
        static P: OnceLock<Protections> = OnceLock::new();
        P.get_or_init(|| Protections {
            landlock_abi: landlock_abi(),
            network_namespace: probe_netns(),
            separate_user: unsafe { libc::geteuid() } == 0,
        })
    }

    /// Protections the issue asks for that this host cannot give, in words.
    pub fn missing(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.landlock_abi < 1 {
            out.push(
                "Landlock is unavailable (kernel < 5.13 or disabled): file-system access is NOT restricted"
                    .to_string(),
            );
        } else if self.landlock_abi < 4 && !self.network_namespace {
            out.push("neither Landlock network rules (kernel 6.7+) nor network namespaces are available: network is NOT blocked".to_string());
        }
        if self.landlock_abi >= 1 && self.landlock_abi < 6 {
            out.push("Landlock signal scoping needs kernel 6.12+: a submission could signal other processes of its user".to_string());
        }
        if !self.network_namespace && self.landlock_abi >= 4 {
            out.push("no network namespace: TCP is blocked by Landlock, UDP is not".to_string());
        }
        if !self.separate_user {
            out.push("the grader is not root, so submissions run as its own user: the process limit is counted on top of that user's processes, and a fork bomb's escaped children are killed by process group only".to_string());
        }
        out
    }
}

fn landlock_abi() -> i32 {
    // LANDLOCK_CREATE_RULESET_VERSION
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    if r < 0 { 0 } else { r as i32 }
}

fn probe_netns() -> bool {
    let mut cmd = Command::new("/bin/true");
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

// Landlock UAPI (linux/landlock.h).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

const FS_EXECUTE: u64 = 1 << 0;
const FS_WRITE_FILE: u64 = 1 << 1;
const FS_READ_FILE: u64 = 1 << 2;
const FS_READ_DIR: u64 = 1 << 3;
const FS_ALL_V1: u64 = (1 << 13) - 1;
const FS_REFER: u64 = 1 << 13;
const FS_TRUNCATE: u64 = 1 << 14;
const FS_IOCTL_DEV: u64 = 1 << 15;
const NET_BIND_TCP: u64 = 1;
const NET_CONNECT_TCP: u64 = 2;
const SCOPE_ABSTRACT_UNIX: u64 = 1;
const SCOPE_SIGNAL: u64 = 2;

/// Builds a Landlock ruleset for `access`; `None` when Landlock is unavailable.
fn build_ruleset(access: &Access, abi: i32) -> std::io::Result<Option<OwnedFd>> {
    if abi < 1 {
        return Ok(None);
    }
    let mut fs = FS_ALL_V1;
    if abi >= 2 {
        fs |= FS_REFER;
    }
    if abi >= 3 {
        fs |= FS_TRUNCATE;
    }
    if abi >= 5 {
        fs |= FS_IOCTL_DEV;
    }
    let attr = RulesetAttr {
        handled_access_fs: fs,
        handled_access_net: if abi >= 4 {
            NET_BIND_TCP | NET_CONNECT_TCP
        } else {
            0
        },
        scoped: if abi >= 6 {
            SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL
        } else {
            0
        },
    };
    let size = match abi {
        1..=3 => 8,
        4..=5 => 16,
        _ => 24,
    };
    let fd = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            size as usize,
            0u32,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let ruleset = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR;
    let rules = access
        .read
        .iter()
        .map(|p| (p, read))
        .chain(access.write.iter().map(|p| (p, fs)));
    for (path, allowed) in rules {
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            continue;
        };
        let pfd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        if pfd < 0 {
            continue; // a path that does not exist grants nothing
        }
        let parent = unsafe { OwnedFd::from_raw_fd(pfd) };
        let is_dir = path.is_dir();
        // Directory-only rights on a file are rejected by the kernel.
        let file_rights = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV;
        let allowed = if is_dir {
            allowed
        } else {
            allowed & file_rights
        } & fs;
        let rule = PathBeneathAttr {
            allowed_access: allowed,
            parent_fd: parent.as_raw_fd(),
        };
        let r = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset.as_raw_fd(),
                1u32, // LANDLOCK_RULE_PATH_BENEATH
                &rule as *const PathBeneathAttr,
                0u32,
            )
        };
        if r < 0 {
            return Err(std::io::Error::other(format!(
                "Landlock rule for {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            )));
        }
    }
    Ok(Some(ruleset))
}

/// How the sandboxed process is started.
#[derive(Debug, Clone)]
pub struct Spec {
    pub limits: Limits,
    pub access: Access,
    /// When the grader runs as root: the user id the command runs as (its process limit is
    /// counted per user, so each concurrent job gets its own id).
    pub uid: Option<u32>,
    /// Skip the process-count limit (cargo and rustc run many threads; they are trusted).
    pub trusted_tools: bool,
}

/// Runs `cmd` (stdin closed, output captured) inside the sandbox and waits for it.
pub fn run(mut cmd: Command, spec: &Spec) -> Finished {
    let start = Instant::now();
    let prot = Protections::probe();
    let not_started = |why: String| Finished {
        ending: Ending::NotStarted(why),
        stdout: String::new(),
        stderr: String::new(),
        dropped_bytes: 0,
        wall: start.elapsed(),
    };
    let ruleset = match build_ruleset(&spec.access, prot.landlock_abi) {
        Ok(r) => r,
        Err(e) => return not_started(format!("Landlock: {e}")),
    };
    let uid = if prot.separate_user { spec.uid } else { None };
    let limits = limits_for(spec, uid);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    confine(
        &mut cmd,
        Confinement {
            uid,
            netns: prot.network_namespace,
            cpu_seconds: limits.cpu_seconds,
            memory_bytes: limits.memory_bytes,
            file_bytes: limits.file_bytes,
            processes: (!spec.trusted_tools).then_some(limits.processes),
            ruleset_fd: ruleset.as_ref().map(|f| f.as_raw_fd()),
        },
    );
    let mut child = match spawn(&mut cmd) {
        Ok(c) => c,
        Err(e) => return not_started(e.to_string()),
    };
    drop(ruleset);
    let pgid = child.id() as i32;
    let readers = read_output(&mut child, limits.output_bytes);
    let ending = wait_within(&mut child, start, limits.wall, pgid, uid);
    // Whatever the command left behind (background children) goes too.
    kill_all(pgid, uid);
    let mut outs = readers.into_iter().map(|h| h.join().unwrap_or_default());
    let (stdout, d1) = outs.next().unwrap_or_default();
    let (stderr, d2) = outs.next().unwrap_or_default();
    Finished {
        ending,
        stdout,
        stderr,
        dropped_bytes: d1 + d2,
        wall: start.elapsed(),
    }
}

/// `spec`'s limits as applied to a command running as `uid` (`None`: the grader's own user).
fn limits_for(spec: &Spec, uid: Option<u32>) -> Limits {
    let mut l = spec.limits.clone();
    // RLIMIT_NPROC counts every process of the user: without a user id of its own, the
    // sandbox gets its allowance on top of what the grader's user already runs.
    if uid.is_none() {
        l.processes += user_processes(unsafe { libc::getuid() }) as u64;
    }
    l
}

/// What the child applies to itself between fork and exec, as plain values (nothing to
/// allocate there).
#[derive(Clone, Copy)]
struct Confinement {
    /// The user id to switch to.
    uid: Option<u32>,
    /// Enter a fresh network namespace.
    netns: bool,
    cpu_seconds: u64,
    memory_bytes: u64,
    file_bytes: u64,
    /// `None` for trusted tools: no process-count limit.
    processes: Option<u64>,
    /// The Landlock ruleset to restrict itself with.
    ruleset_fd: Option<i32>,
}

/// Makes `cmd`'s child confine itself (user id, network namespace, rlimits, Landlock) before
/// it runs the command.
fn confine(cmd: &mut Command, c: Confinement) {
    // Everything in pre_exec is a raw system call: no allocation between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            if let Some(id) = c.uid
                && (libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(id) != 0
                    || libc::setuid(id) != 0)
            {
                return fail();
            }
            if c.netns && libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return fail();
            }
            let set = |res, v: u64| {
                let lim = libc::rlimit {
                    rlim_cur: v,
                    rlim_max: v,
                };
                libc::setrlimit(res, &lim)
            };
            let mut ok = set(libc::RLIMIT_CPU, c.cpu_seconds) == 0
                && set(libc::RLIMIT_AS, c.memory_bytes) == 0
                && set(libc::RLIMIT_FSIZE, c.file_bytes) == 0
                && set(libc::RLIMIT_CORE, 0) == 0
                && set(libc::RLIMIT_NOFILE, 256) == 0;
            if let Some(processes) = c.processes {
                ok = ok && set(libc::RLIMIT_NPROC, processes) == 0;
            }
            if !ok {
                return fail();
            }
            if let Some(fd) = c.ruleset_fd
                && (libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::syscall(libc::SYS_landlock_restrict_self, fd, 0u32) != 0)
            {
                return fail();
            }
            Ok(())
        });
    }
}

/// Starts `cmd`. A concurrent job's fork can briefly hold our freshly copied binary open for
/// writing (ETXTBSY on exec); that clears within milliseconds, so it tries again a few times.
fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    let mut attempt = 0;
    loop {
        match cmd.spawn() {
            Ok(c) => return Ok(c),
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempt < 20 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Threads reading the child's stdout and stderr (in that order), each keeping `cap` bytes.
fn read_output(child: &mut Child, cap: usize) -> Vec<JoinHandle<(String, u64)>> {
    [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .map(|r| std::thread::spawn(move || r.map(|r| read_capped(r, cap)).unwrap_or_default()))
    .collect()
}

/// Waits for the child; past `wall` (counted from `start`) kills it and everything of its group
/// (and of `uid`).
fn wait_within(
    child: &mut Child,
    start: Instant,
    wall: Duration,
    pgid: i32,
    uid: Option<u32>,
) -> Ending {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return match (status.code(), status.signal()) {
                    (Some(c), _) => Ending::Exited(c),
                    (_, Some(s)) => Ending::Signalled(s),
                    _ => Ending::Exited(-1),
                };
            }
            Ok(None) if start.elapsed() > wall => {
                kill_all(pgid, uid);
                let _ = child.wait();
                return Ending::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Ending::NotStarted(e.to_string()),
        }
    }
}

/// Processes and threads owned by `uid` now (from /proc).
fn user_processes(uid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter_map(|s| {
            let field = |name: &str| {
                s.lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<usize>().ok())
            };
            (field("Uid:")? == uid as usize).then(|| field("Threads:").unwrap_or(1))
        })
        .sum()
}

/// Kills the process group and, under a separate user id, every process of that user (a fork
/// bomb's children may have left the group).
fn kill_all(pgid: i32, uid: Option<u32>) {
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    if let Some(id) = uid {
        let mut cmd = Command::new("/bin/true");
        unsafe {
            cmd.pre_exec(move || {
                if libc::setgid(id) != 0 || libc::setuid(id) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // As that user, -1 reaches exactly that user's processes.
                for _ in 0..3 {
                    libc::kill(-1, libc::SIGKILL);
                }
                Ok(())
            });
        }
        let _ = cmd.status();
    }
}

fn read_capped(mut r: Box<dyn Read + Send>, cap: usize) -> (String, u64) {
    let mut kept = Vec::new();
    let mut dropped = 0u64;
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                dropped += n.saturating_sub(room) as u64;
            }
        }
    }
    (String::from_utf8_lossy(&kept).into_owned(), dropped)
}

/// A sandbox user id held by this process: no other `petri grade` on the machine uses it until
/// this is dropped. Each run ends by killing every process of its user id, so two graders
/// (a Slurm array on one node, parallel tests, two instructors) that picked the same id killed
/// each other's submissions (measured: "killed by signal 9" in a concurrent test).
pub struct SandboxUser {
    pub uid: u32,
    _lock: std::fs::File,
}

/// First user id used for sandboxes when the grader runs as root.
pub const SANDBOX_UID_BASE: u32 = 61_000;

/// Sandbox user ids: `base..base + count`.
const UID_COUNT: u32 = 4096;

impl SandboxUser {
    /// Claims a free id from `base`, starting at a place that differs between processes, by
    /// an exclusive lock on a file in the system's temporary folder (released when the process
    /// exits, however it exits). `None` when every id is taken or no lock file can be made.
    pub fn claim(base: u32, hint: u32) -> Option<SandboxUser> {
        use std::os::unix::io::AsRawFd;
        let start = (std::process::id().wrapping_mul(97)).wrapping_add(hint) % UID_COUNT;
        (0..UID_COUNT).find_map(|i| {
            let uid = base + (start + i) % UID_COUNT;
            let path = std::env::temp_dir().join(format!("petri-sandbox-uid-{uid}.lock"));
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .ok()?;
            // SAFETY: flock on a descriptor this function owns.
            let locked =
                unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            locked.then_some(SandboxUser { uid, _lock: file })
        })
    }
}

/// Gives `path` (recursively) to `uid` so a sandbox running under that id can use it.
pub fn hand_over(path: &Path, uid: Option<u32>) -> std::io::Result<()> {
    let Some(id) = uid.filter(|_| Protections::probe().separate_user) else {
        return Ok(());
    };
    std::os::unix::fs::lchown(path, Some(id), Some(id))?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            hand_over(&entry?.path(), Some(id))?;
        }
    }
    Ok(())
}
