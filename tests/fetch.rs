//! `petri data fetch|list|verify` against a local HTTP server that plays each host the course
//! downloads from (Zenodo, Cloud Storage's JSON API and media links, download.pytorch.org),
//! reached through `$PETRI_MIRROR`, the same base-URL override mirrors use: the product's own
//! download code runs unchanged. Faults are scripted per path: a 500 before success, a cut-off
//! body, a 403, a wrong checksum, a server slower than a minute.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How one path answers, request by request (the last behaviour repeats).
#[derive(Clone)]
enum Answer {
    /// The file, honouring `Range`; `cut` closes the connection after that many bytes.
    File {
        body: Vec<u8>,
        cut: Option<usize>,
    },
    /// The body sent `chunk` bytes at a time, `pause` apart.
    Slow {
        body: Vec<u8>,
        chunk: usize,
        pause: Duration,
    },
    Json(String),
    Redirect(String),
    Status(u16),
}

#[derive(Default)]
struct Hosts {
    routes: HashMap<String, Vec<Answer>>,
    /// Every request: path and its Range start.
    log: Vec<(String, u64)>,
}

struct Server {
    base: String,
    hosts: Arc<Mutex<Hosts>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hosts = Arc::new(Mutex::new(Hosts::default()));
        let h = hosts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let h = h.clone();
                std::thread::spawn(move || serve(stream, &h));
            }
        });
        Server { base, hosts }
    }

    /// `url` is the real address (`https://host/path?query`); it is served at `/host/path?query`.
    fn route(&self, url: &str, answers: Vec<Answer>) {
        let key = format!("/{}", url.split_once("://").unwrap().1);
        self.hosts.lock().unwrap().routes.insert(key, answers);
    }

    fn requests(&self, path_start: &str) -> Vec<u64> {
        self.hosts
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|(p, _)| p.starts_with(path_start))
            .map(|(_, r)| *r)
            .collect()
    }
}

fn serve(stream: TcpStream, hosts: &Mutex<Hosts>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = 0u64;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
            range = v.trim().trim_end_matches('-').parse().unwrap_or(0);
        }
    }
    let answer = {
        let mut hosts = hosts.lock().unwrap();
        hosts.log.push((path.clone(), range));
        match hosts.routes.get_mut(&path) {
            Some(list) if list.len() > 1 => Some(list.remove(0)),
            Some(list) => list.first().cloned(),
            None => None,
        }
    };
    let mut out = stream;
    let head = |status: &str, len: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\n{extra}Connection: close\r\n\r\n")
    };
    match answer {
        None | Some(Answer::Status(404)) => {
            let _ = out.write_all(head("404 Not Found", 0, "").as_bytes());
        }
        Some(Answer::Status(code)) => {
            let _ = out.write_all(head(&format!("{code} Error"), 0, "").as_bytes());
        }
        Some(Answer::Redirect(to)) => {
            let to = format!("/{}", to.split_once("://").unwrap().1);
            let _ = out.write_all(head("302 Found", 0, &format!("Location: {to}\r\n")).as_bytes());
        }
        Some(Answer::Json(text)) => {
            let _ = out.write_all(
                head("200 OK", text.len(), "Content-Type: application/json\r\n").as_bytes(),
            );
            let _ = out.write_all(text.as_bytes());
        }
        Some(Answer::File { body, cut }) => {
            let slice = &body[range as usize..];
            let status = if range > 0 {
                "206 Partial Content"
            } else {
                "200 OK"
            };
            let _ = out.write_all(head(status, slice.len(), "").as_bytes());
            let _ = out.write_all(&slice[..cut.unwrap_or(slice.len()).min(slice.len())]);
        }
        Some(Answer::Slow { body, chunk, pause }) => {
            let _ = out.write_all(head("200 OK", body.len(), "").as_bytes());
            for c in body.chunks(chunk) {
                if out.write_all(c).is_err() {
                    return;
                }
                let _ = out.flush();
                std::thread::sleep(pause);
            }
        }
    }
}

fn petri(args: &[&str], data_dir: &Path, mirror: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("PETRI_MIRROR", mirror)
        .env_remove("PETRI_DATA")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn md5_base64(data: &[u8]) -> String {
    use md5::Digest;
    let d = md5::Md5::digest(data);
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in d.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn png(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

const GCS: &str = "https://storage.googleapis.com";
const PREFIX: &str = "nosi-uams-alml/segmentation_data_small/";

fn listing_url(page: Option<&str>) -> String {
    let mut u = format!(
        "{GCS}/storage/v1/b/nigms-sandbox/o?prefix=nosi-uams-alml%2Fsegmentation_data_small%2F"
    );
    if let Some(p) = page {
        u += &format!("&pageToken={p}");
    }
    u
}

fn media_url(name: &str) -> String {
    format!(
        "{GCS}/download/storage/v1/b/nigms-sandbox/o/{}?alt=media",
        name.replace('/', "%2F")
    )
}

/// A bucket with image/mask pairs in training/ and validation/, listed over two pages.
fn skin_bucket(server: &Server, cut_first: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for split in ["training", "validation"] {
        for i in 0..2u32 {
            let name = format!("{split}/images/s{i}.png");
            files.push((name, png(40, 30, |x, y| ((x * 5 + y * 3 + i) % 256) as u8)));
            let name = format!("{split}/masks/s{i}.png");
            files.push((name, png(40, 30, |x, _| if x < 20 { 36 } else { 216 })));
        }
    }
    let item = |(name, body): &(String, Vec<u8>)| {
        let full = format!("{PREFIX}{name}");
        serde_json::json!({
            "kind": "storage#object",
            "name": full,
            "size": body.len().to_string(),
            "md5Hash": md5_base64(body),
            "mediaLink": media_url(&full),
        })
    };
    let (first, second) = files.split_at(3);
    let mut page1: Vec<serde_json::Value> = first.iter().map(item).collect();
    // A folder placeholder, as the console creates them.
    page1.push(
        serde_json::json!({"name": format!("{PREFIX}training/"), "size": "0",
        "md5Hash": "1B2M2Y8AsgTpgAmY7PhCfg==", "mediaLink": media_url("x")}),
    );
    server.route(
        &listing_url(None),
        vec![Answer::Json(
            serde_json::json!({"kind": "storage#objects", "items": page1, "nextPageToken": "p2"})
                .to_string(),
        )],
    );
    let page2: Vec<serde_json::Value> = second.iter().map(item).collect();
    server.route(
        &listing_url(Some("p2")),
        vec![Answer::Json(
            serde_json::json!({"kind": "storage#objects", "items": page2}).to_string(),
        )],
    );
    for (name, body) in &files {
        let full = format!("{PREFIX}{name}");
        let answers = if name == cut_first {
            // Every attempt of the first fetch is cut off a quarter of the way in.
            let cut = Answer::File {
                body: body.clone(),
                cut: Some(body.len() / 4),
            };
            vec![
                cut.clone(),
                cut.clone(),
                cut.clone(),
                cut,
                Answer::File {
                    body: body.clone(),
                    cut: None,
                },
            ]
        } else {
            vec![Answer::File {
                body: body.clone(),
                cut: None,
            }]
        };
        server.route(&media_url(&full), answers);
    }
    files
}

#[test]
fn the_skin_set_is_listed_in_pages_checked_and_resumed_after_a_lost_connection() {
    let server = Server::start();
    let cut = "training/masks/s1.png";
    let files = skin_bucket(&server, cut);
    let tmp = tempfile::tempdir().unwrap();
    // Every attempt is cut: the fetch fails, keeping what arrived.
    let o = petri(
        &["data", "fetch", "skin-autofluorescence"],
        tmp.path(),
        &server.base,
    );
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("tried 4 times") && out.contains("resumes"),
        "{out}"
    );
    let cut_requests = server.requests(&format!(
        "/storage.googleapis.com/download/storage/v1/b/nigms-sandbox/o/{}",
        format!("{PREFIX}{cut}").replace('/', "%2F")
    ));
    assert_eq!(cut_requests.len(), 4);
    assert!(cut_requests[1] > 0, "each retry resumes: {cut_requests:?}");
    // The next fetch resumes the partial file and completes.
    let o = petri(
        &["data", "fetch", "skin-autofluorescence"],
        tmp.path(),
        &server.base,
    );
    assert!(o.status.success(), "{}", text(&o));
    let cut_requests = server.requests(&format!(
        "/storage.googleapis.com/download/storage/v1/b/nigms-sandbox/o/{}",
        format!("{PREFIX}{cut}").replace('/', "%2F")
    ));
    assert!(*cut_requests.last().unwrap() > 0, "{cut_requests:?}");
    let skin = tmp.path().join("skin-autofluorescence");
    for (name, body) in &files {
        assert_eq!(&std::fs::read(skin.join(name)).unwrap(), body, "{name}");
    }
    // Laid out where the segmentation runner and `data info` look.
    let o = petri(
        &["data", "info", skin.to_str().unwrap()],
        tmp.path(),
        &server.base,
    );
    assert!(
        o.status.success() && text(&o).contains("train: 2 pairs"),
        "{}",
        text(&o)
    );
    let o = petri(&["data", "verify"], tmp.path(), &server.base);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("skin-autofluorescence      present"),
        "{}",
        text(&o)
    );
    // A file changed afterwards is caught by verify.
    std::fs::write(skin.join("validation/images/s0.png"), b"changed").unwrap();
    let o = petri(&["data", "verify"], tmp.path(), &server.base);
    assert!(
        !o.status.success() && text(&o).contains("validation/images/s0.png"),
        "{}",
        text(&o)
    );
}

#[test]
fn listing_faults_say_what_happened() {
    let server = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    server.route(&listing_url(None), vec![Answer::Status(403)]);
    let o = petri(&["data", "fetch", "skin"], tmp.path(), &server.base);
    assert!(
        !o.status.success() && text(&o).contains("HTTP 403"),
        "{}",
        text(&o)
    );
    server.route(&listing_url(None), vec![Answer::Status(404)]);
    let o = petri(&["data", "fetch", "skin"], tmp.path(), &server.base);
    assert!(
        text(&o).contains("HTTP 404") && text(&o).contains("address has changed"),
        "{}",
        text(&o)
    );
    server.route(
        &listing_url(None),
        vec![Answer::Json(r#"{"kind": "storage#objects"}"#.into())],
    );
    let o = petri(&["data", "fetch", "skin"], tmp.path(), &server.base);
    assert!(text(&o).contains("listing is empty"), "{}", text(&o));
    server.route(
        &listing_url(None),
        vec![Answer::Json(format!(
            r#"{{"items": [{{"name": "{PREFIX}a.tif"}}]}}"#
        ))],
    );
    let o = petri(&["data", "fetch", "skin"], tmp.path(), &server.base);
    assert!(text(&o).contains("listing has changed"), "{}", text(&o));
}

fn npz() -> Option<Vec<u8>> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/medmnist/breastmnist.npz");
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("skipped: {} is absent", p.display());
            None
        }
    }
}

#[test]
fn zenodo_redirects_500s_and_wrong_checksums() {
    let Some(body) = npz() else { return };
    let server = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    // PneumoniaMNIST has no MD5 in the registry: a 500, then Zenodo's redirect to the content.
    let file = "https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1";
    let content = "https://zenodo.org/api/records/10519652/files/pneumoniamnist.npz/content";
    server.route(
        file,
        vec![Answer::Status(500), Answer::Redirect(content.into())],
    );
    server.route(
        content,
        vec![
            Answer::File {
                body: body.clone(),
                cut: Some(body.len() / 2),
            },
            Answer::File {
                body: body.clone(),
                cut: None,
            },
        ],
    );
    let o = petri(
        &["data", "fetch", "pneumoniamnist"],
        tmp.path(),
        &server.base,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(tmp.path().join("medmnist/pneumoniamnist.npz")).unwrap(),
        body
    );
    let ranges = server.requests("/zenodo.org/api/");
    assert_eq!(ranges.len(), 2, "cut once, resumed once: {ranges:?}");
    assert_eq!(ranges[1], (body.len() / 2) as u64);
    // BreastMNIST's official MD5 differs from this re-saved copy: removed, with a clear error.
    let url = "https://zenodo.org/records/10519652/files/breastmnist.npz?download=1";
    server.route(
        url,
        vec![Answer::File {
            body: body.clone(),
            cut: None,
        }],
    );
    let o = petri(&["data", "fetch", "breastmnist"], tmp.path(), &server.base);
    assert!(
        !o.status.success() && text(&o).contains("checksum mismatch"),
        "{}",
        text(&o)
    );
    let dest = tmp.path().join("medmnist/breastmnist.npz");
    assert!(!dest.exists() && !tmp.path().join("medmnist/breastmnist.npz.part").exists());
    // The same copy put there by hand: usable, but `verify` says it is not the official file.
    std::fs::write(&dest, &body).unwrap();
    let o = petri(&["data", "verify"], tmp.path(), &server.base);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("not the official file"), "{}", text(&o));
    // In the wrong folder: `list` names the exact place Petri reads.
    std::fs::rename(&dest, tmp.path().join("breastmnist.npz")).unwrap();
    let o = petri(&["data", "list"], tmp.path(), &server.base);
    let out = text(&o);
    assert!(
        out.contains("misplaced") && out.contains(&dest.display().to_string()),
        "{out}"
    );
    assert!(out.contains("~546 KB"), "sizes below 1 MB in KB: {out}");
}

#[test]
fn torchvision_weights_are_checked_by_the_prefix_in_their_name() {
    let server = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    // Bytes whose SHA-256 does not begin with f37072fd, as torchvision would reject them.
    server.route(
        "https://download.pytorch.org/models/resnet18-f37072fd.pth",
        vec![Answer::File {
            body: vec![7u8; 5000],
            cut: None,
        }],
    );
    let o = petri(&["data", "fetch", "resnet18"], tmp.path(), &server.base);
    let out = text(&o);
    assert!(
        !o.status.success() && out.contains("sha256 f37072fd..."),
        "{out}"
    );
    assert!(!tmp.path().join("weights/resnet18-f37072fd.pth").exists());
    let o = petri(&["data", "list"], tmp.path(), &server.base);
    assert!(text(&o).contains("resnet18"), "{}", text(&o));
}

/// 130 KB at 2 KB a second: over a minute, which a budget for the whole body (the old 60 s)
/// would have cut off; only a stalled connection may be.
#[test]
fn a_slow_download_of_over_a_minute_completes() {
    let server = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let body: Vec<u8> = (0..130_000u32).map(|i| (i % 251) as u8).collect();
    server.route(
        "https://zenodo.org/records/10519652/files/pneumoniamnist_64.npz?download=1",
        vec![Answer::Slow {
            body: body.clone(),
            chunk: 1000,
            pause: Duration::from_millis(500),
        }],
    );
    let started = std::time::Instant::now();
    let o = petri(
        &["data", "fetch", "pneumoniamnist", "--size", "64"],
        tmp.path(),
        &server.base,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(started.elapsed() > Duration::from_secs(60));
    assert_eq!(
        std::fs::read(tmp.path().join("medmnist/pneumoniamnist_64.npz")).unwrap(),
        body
    );
}
