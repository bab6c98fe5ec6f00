//! Resumable, checksummed downloads. Bytes go to `NAME.part` beside the target; an interrupted
//! download resumes from there with an HTTP range request; the finished file is verified and
//! then renamed into place, so a half-downloaded dataset is never mistaken for a whole one.
//!
//! A stalled connection is detected per read (no byte for `READ_TIMEOUT`), never by a budget
//! for the whole body, so a large file completes on a slow link. Connection failures, server
//! errors (5xx, 429) and cut-off bodies are retried a few times with back-off, each retry
//! resuming where the last stopped.
//!
//! `$PETRI_MIRROR` (a base URL) sends every request to `MIRROR/HOST/PATH` instead of
//! `https://HOST/PATH`: for institutions that mirror the course's files, and for the tests,
//! whose local server plays each host.

use crate::{Error, Result};
use md5::Digest as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The checksum a file must have, when one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    Md5(String),
    Sha256(String),
    /// The SHA-256 begins with these hex digits: torchvision names its weights files so
    /// (`resnet18-f37072fd.pth`) and checks them this way; the full digest is recorded.
    Sha256Prefix(String),
    Unknown,
}

impl Checksum {
    fn matches(&self, md5: &str, sha256: &str) -> bool {
        match self {
            Checksum::Md5(want) => want.eq_ignore_ascii_case(md5),
            Checksum::Sha256(want) => want.eq_ignore_ascii_case(sha256),
            Checksum::Sha256Prefix(p) => sha256
                .get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p)),
            Checksum::Unknown => true,
        }
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Checksum::Md5(h) => write!(f, "md5 {h}"),
            Checksum::Sha256(h) => write!(f, "sha256 {h}"),
            Checksum::Sha256Prefix(p) => write!(f, "sha256 {p}..."),
            Checksum::Unknown => f.write_str("no known checksum"),
        }
    }
}

/// No byte for this long: the connection is taken for stalled.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per file (the first and the retries).
const ATTEMPTS: u32 = 4;

/// `url` as it is fetched: through `$PETRI_MIRROR` when that is set.
pub fn mirrored(url: &str) -> String {
    match std::env::var("PETRI_MIRROR") {
        Ok(base) if !base.is_empty() => {
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            format!("{}/{rest}", base.trim_end_matches('/'))
        }
        _ => url.to_string(),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(READ_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Why a status code failed, in words a student can act on.
fn status_problem(status: u16, url: &str) -> String {
    match status {
        403 => format!(
            "the server refused access (HTTP 403 Forbidden): the file may have been made private or              moved. Check {url} in a browser; if it is gone, tell your instructor"
        ),
        404 => format!(
            "the server has no such file (HTTP 404 Not Found): its address has changed. Check {url}              in a browser, and update Petri if a newer version knows the new address"
        ),
        s if s >= 500 || s == 429 => {
            format!("the server had a problem (HTTP {s}); it was retried, try again later")
        }
        s => format!("the server answered HTTP {s}"),
    }
}

fn retryable_status(status: u16) -> bool {
    status >= 500 || status == 429
}

/// GETs a JSON document (a listing), with the same mirror, timeouts and retries as files.
pub fn get_json(url: &str) -> Result<serde_json::Value> {
    let fail = |problem: String| Error::Download {
        url: url.to_string(),
        problem,
    };
    let target = mirrored(url);
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(backoff(attempt));
        }
        match agent().get(&target).call() {
            Ok(r) if r.status().as_u16() == 200 => {
                let text = r
                    .into_body()
                    .read_to_string()
                    .map_err(|e| fail(format!("the listing was cut off ({e})")))?;
                return serde_json::from_str(&text)
                    .map_err(|e| fail(format!("the listing is not the JSON expected ({e})")));
            }
            Ok(r) if retryable_status(r.status().as_u16()) => {
                last = status_problem(r.status().as_u16(), url)
            }
            Ok(r) => return Err(fail(status_problem(r.status().as_u16(), url))),
            Err(e) => last = unreachable(url, &e),
        }
    }
    Err(fail(last))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 << attempt.min(5))
}

fn unreachable(url: &str, e: &ureq::Error) -> String {
    format!(
        "cannot reach {} ({e}). Petri needs the internet for this download: connect and run the same \
         command again",
        host_of(url)
    )
}

/// What was downloaded: both digests, so the run record can name the exact bytes used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    pub bytes: u64,
    pub md5: String,
    pub sha256: String,
    /// `true` when part of the file came from an earlier, interrupted download.
    pub resumed: bool,
}

pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// MD5 and SHA-256 of a file, in lower-case hex.
pub fn digests(path: &Path) -> Result<(String, String)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut md5 = md5::Md5::new();
    let mut sha = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha2::Digest::update(&mut sha, &buf[..n]);
    }
    Ok((hex(&md5.finalize()), hex(&sha2::Digest::finalize(sha))))
}

/// SHA-256 of bytes in memory, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Digest::finalize(
        <sha2::Sha256 as sha2::Digest>::new_with_prefix(bytes),
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a file against its checksum; `Ok(false)` on a mismatch.
pub fn verify(path: &Path, expected: &Checksum) -> Result<bool> {
    if *expected == Checksum::Unknown {
        return Ok(true);
    }
    let (md5, sha) = digests(path)?;
    Ok(expected.matches(&md5, &sha))
}

fn host_of(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or(url)
}

/// Downloads `url` to `dest`, resuming a `.part` file if one is there. `progress(done, total)`
/// is called as bytes arrive. On a checksum mismatch the partial file is removed.
pub fn fetch(
    url: &str,
    dest: &Path,
    expected: &Checksum,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Fetched> {
    if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let part = part_path(dest);
    let had_part = part.exists();
    let mut last = String::new();
    let mut done = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(backoff(attempt));
        }
        match attempt_once(url, &part, progress) {
            Ok(n) => {
                done = Some(n);
                break;
            }
            Err(Attempt::Retry(why)) => last = why,
            Err(Attempt::Fatal(why)) => return Err(download_error(url, why)),
        }
    }
    let Some(done) = done else {
        let kept = std::fs::metadata(&part).map_or(0, |m| m.len());
        return Err(download_error(
            url,
            format!(
                "{last} (tried {ATTEMPTS} times; {kept} bytes are kept in {} and the same command \
                 resumes from there)",
                part.display()
            ),
        ));
    };
    let (md5, sha256) = digests(&part)?;
    if !expected.matches(&md5, &sha256) {
        let _ = std::fs::remove_file(&part);
        return Err(download_error(
            url,
            format!(
                "checksum mismatch (expected {expected}, got md5 {md5} / sha256 {sha256}): the file was \
                 corrupted or changed on the way; the partial file was removed, run the same command again"
            ),
        ));
    }
    std::fs::rename(&part, dest).map_err(|e| Error::io(dest, e))?;
    Ok(Fetched {
        path: dest.to_path_buf(),
        bytes: done,
        md5,
        sha256,
        resumed: had_part,
    })
}

fn download_error(url: &str, problem: String) -> Error {
    Error::Download {
        url: url.to_string(),
        problem,
    }
}

enum Attempt {
    Retry(String),
    Fatal(String),
}

/// One request: appends to `part` from its current length; returns the file's full length.
fn attempt_once(
    url: &str,
    part: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> std::result::Result<u64, Attempt> {
    let offset = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut request = agent().get(mirrored(url));
    if offset > 0 {
        request = request.header("Range", format!("bytes={offset}-"));
    }
    let response = request.call().map_err(|e| match e {
        ureq::Error::Io(_)
        | ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Timeout(_) => Attempt::Retry(unreachable(url, &e)),
        other => Attempt::Fatal(other.to_string()),
    })?;
    let status = response.status().as_u16();
    if status == 416 && offset > 0 {
        // The part file already holds the whole body (a crash between the last byte and the
        // rename): verify it as it is.
        return Ok(offset);
    }
    if !(status == 200 || status == 206) {
        let why = status_problem(status, url);
        return Err(if retryable_status(status) {
            Attempt::Retry(why)
        } else {
            Attempt::Fatal(why)
        });
    }
    let resumed = status == 206 && offset > 0;
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let total = length.map(|l| if resumed { l + offset } else { l });
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(part)
        .map_err(|e| Attempt::Fatal(format!("cannot write {}: {e}", part.display())))?;
    let mut done = if resumed { offset } else { 0 };
    progress(done, total);
    let mut reader = response.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = file.sync_all();
                return Err(Attempt::Retry(format!(
                    "the connection broke after {done} bytes ({e})"
                )));
            }
        };
        file.write_all(&buf[..n])
            .map_err(|e| Attempt::Fatal(format!("cannot write {}: {e}", part.display())))?;
        done += n as u64;
        progress(done, total);
    }
    file.sync_all()
        .map_err(|e| Attempt::Fatal(format!("cannot write {}: {e}", part.display())))?;
    if let Some(total) = total.filter(|&t| done < t) {
        return Err(Attempt::Retry(format!(
            "the connection closed after {done} of {total} bytes"
        )));
    }
    Ok(done)
}

/// A size for people: `1.5 GB`, `12.0 MB`, `40 KB`, `512 B` (binary units).
pub fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A tiny HTTP/1.1 server on 127.0.0.1 for a fixed number of requests. `/good` serves the body
    /// (honouring Range), `/corrupt` serves altered bytes, `/truncated` announces the full length
    /// but closes halfway on its first request and then serves ranges normally.
    fn serve(body: Vec<u8>, requests: usize) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut truncated_once = false;
            for stream in listener.incoming().take(requests) {
                let mut stream = stream.unwrap();
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let mut range = 0usize;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        range = v.trim().trim_end_matches('-').parse().unwrap();
                    }
                }
                log2.lock().unwrap().push(format!("{path} range={range}"));
                let mut data = body.clone();
                if path == "/corrupt" {
                    data[0] ^= 0xFF;
                }
                let slice = &data[range..];
                let status = if range > 0 {
                    "206 Partial Content"
                } else {
                    "200 OK"
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    slice.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                if path == "/truncated" && !truncated_once {
                    truncated_once = true;
                    let _ = stream.write_all(&slice[..slice.len() / 2]);
                } else {
                    let _ = stream.write_all(slice);
                }
            }
        });
        (base, log)
    }

    fn body() -> Vec<u8> {
        (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn md5_of(data: &[u8]) -> String {
        hex(&md5::Md5::digest(data))
    }

    #[test]
    fn downloads_verifies_and_renames_atomically() {
        let data = body();
        let (base, _) = serve(data.clone(), 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("breastmnist.npz");
        let mut calls = 0;
        let got = fetch(
            &format!("{base}/good"),
            &dest,
            &Checksum::Md5(md5_of(&data)),
            &mut |_, t| {
                calls += 1;
                assert_eq!(t, Some(200_000));
            },
        )
        .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        assert!(!part_path(&dest).exists());
        assert!(calls > 1 && !got.resumed && got.bytes == 200_000);
    }

    #[test]
    fn corrupted_download_is_rejected_and_removed() {
        let data = body();
        let (base, _) = serve(data.clone(), 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.npz");
        let err = fetch(
            &format!("{base}/corrupt"),
            &dest,
            &Checksum::Md5(md5_of(&data)),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
        assert!(!dest.exists() && !part_path(&dest).exists());
    }

    #[test]
    fn a_cut_connection_is_retried_from_where_it_stopped() {
        let data = body();
        let (base, log) = serve(data.clone(), 2);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("y.npz");
        let url = format!("{base}/truncated");
        let sum = Checksum::Sha256(hex(&sha2::Sha256::digest(&data)));
        let got = fetch(&url, &dest, &sum, &mut |_, _| {}).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        assert_eq!(got.bytes, 200_000);
        assert_eq!(log.lock().unwrap()[1], "/truncated range=100000");
    }

    #[test]
    fn a_sha256_prefix_checks_torchvision_style_names() {
        let data = body();
        let sha = hex(&sha2::Sha256::digest(&data));
        let (base, _) = serve(data.clone(), 2);
        let dir = tempfile::tempdir().unwrap();
        let ok = Checksum::Sha256Prefix(sha[..8].to_string());
        let got = fetch(
            &format!("{base}/good"),
            &dir.path().join("w.pth"),
            &ok,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(
            got.sha256, sha,
            "the full digest is returned for the record"
        );
        let bad = Checksum::Sha256Prefix("00000000".into());
        let err = fetch(
            &format!("{base}/good"),
            &dir.path().join("v.pth"),
            &bad,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("sha256 00000000..."), "{err}");
    }

    #[test]
    fn offline_error_says_what_to_do() {
        // Port 9 on loopback: nothing listens, so the connection is refused at once.
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("z.npz");
        let err = fetch(
            "http://127.0.0.1:9/z.npz",
            &dest,
            &Checksum::Unknown,
            &mut |_, _| {},
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("cannot reach 127.0.0.1:9") && msg.contains("z.npz.part"),
            "{msg}"
        );
    }
}
