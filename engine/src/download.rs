//! Resumable, checksummed downloads. Bytes go to `NAME.part` beside the target; an interrupted
//! download resumes from there with an HTTP range request; the finished file is verified and
//! then renamed into place, so a half-downloaded dataset is never mistaken for a whole one.

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
    Unknown,
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a file against its checksum; `Ok(false)` on a mismatch.
pub fn verify(path: &Path, expected: &Checksum) -> Result<bool> {
    let (md5, sha) = digests(path)?;
    Ok(match expected {
        Checksum::Md5(want) => want.eq_ignore_ascii_case(&md5),
        Checksum::Sha256(want) => want.eq_ignore_ascii_case(&sha),
        Checksum::Unknown => true,
    })
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
    let fail = |problem: String| Error::Download {
        url: url.to_string(),
        problem,
    };
    if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let part = part_path(dest);
    let offset = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(url);
    if offset > 0 {
        request = request.header("Range", format!("bytes={offset}-"));
    }
    let response = request.call().map_err(|e| match e {
        ureq::Error::Io(_) | ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => fail(format!(
            "cannot reach {} ({e}). Petri needs the internet for this one download: connect and run the same command \
             again, or download the file on another machine and put it at {}",
            host_of(url),
            dest.display()
        )),
        other => fail(other.to_string()),
    })?;
    let status = response.status().as_u16();
    let resumed = status == 206 && offset > 0;
    if !(status == 200 || status == 206) {
        return Err(fail(format!("the server answered HTTP {status}")));
    }
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
        .open(&part)
        .map_err(|e| Error::io(&part, e))?;
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
                return Err(fail(format!(
                    "interrupted after {done} bytes ({e}); run the same command again to resume from there"
                )));
            }
        };
        file.write_all(&buf[..n]).map_err(|e| Error::io(&part, e))?;
        done += n as u64;
        progress(done, total);
    }
    file.sync_all().map_err(|e| Error::io(&part, e))?;
    drop(file);
    if let Some(total) = total.filter(|&t| done < t) {
        return Err(fail(format!(
            "the connection closed after {done} of {total} bytes; run the same command again to resume"
        )));
    }

    let (md5, sha256) = digests(&part)?;
    let ok = match expected {
        Checksum::Md5(want) => want.eq_ignore_ascii_case(&md5).then_some(()).ok_or(want),
        Checksum::Sha256(want) => want.eq_ignore_ascii_case(&sha256).then_some(()).ok_or(want),
        Checksum::Unknown => Ok(()),
    };
    if let Err(want) = ok {
        let _ = std::fs::remove_file(&part);
        return Err(fail(format!(
            "checksum mismatch (expected {want}, got md5 {md5} / sha256 {sha256}): the file was corrupted or changed on \
             the way; the partial file was removed, run the same command again"
        )));
    }
    std::fs::rename(&part, dest).map_err(|e| Error::io(dest, e))?;
    Ok(Fetched {
        path: dest.to_path_buf(),
        bytes: done,
        md5,
        sha256,
        resumed,
    })
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
    fn truncated_download_resumes_with_a_range_request() {
        let data = body();
        let (base, log) = serve(data.clone(), 2);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("y.npz");
        let url = format!("{base}/truncated");
        let sum = Checksum::Sha256(hex(&sha2::Sha256::digest(&data)));
        let err = fetch(&url, &dest, &sum, &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("resume"), "{err}");
        assert!(!dest.exists() && part_path(&dest).exists());
        let got = fetch(&url, &dest, &sum, &mut |_, _| {}).unwrap();
        assert!(got.resumed);
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        assert_eq!(log.lock().unwrap()[1], "/truncated range=100000");
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
            msg.contains("cannot reach 127.0.0.1:9") && msg.contains("z.npz"),
            "{msg}"
        );
    }
}
