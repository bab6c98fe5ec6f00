//! What the binary needs from Petri's source tree at run time (the challenges, `petri-core`'s
//! source and `Cargo.lock` for the grader's kit), so that an installed `petri` works from
//! anywhere. The checkout it was built from is used while it exists (developers see their
//! edits); otherwise the copy embedded at build time is unpacked once into the cache dir.

use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_tree.rs"));
}

/// The checkout this binary was built from, unless it has moved or `$PETRI_NO_CHECKOUT` asks
/// to behave as an installed binary (tests do).
fn checkout() -> Option<PathBuf> {
    if std::env::var_os("PETRI_NO_CHECKOUT").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join("Cargo.toml").is_file().then_some(root)
}

/// A folder holding `files`, written once (atomically, by renaming a complete copy) under the
/// cache dir in a folder named by a digest of the contents.
fn unpacked(
    name: &str,
    files: &[(&str, &[u8])],
    extra: &[(&str, &[u8])],
) -> std::io::Result<PathBuf> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (path, bytes) in files.iter().chain(extra) {
        h.update(path.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    let digest: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let base = dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("petri");
    let dest = base.join(format!("{name}-{digest}"));
    if dest.is_dir() {
        return Ok(dest);
    }
    let tmp = base.join(format!(".{name}-{digest}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for (path, bytes) in files.iter().chain(extra) {
        let p = tmp.join(path);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(p, bytes)?;
    }
    match std::fs::rename(&tmp, &dest) {
        Ok(()) => Ok(dest),
        // Another petri unpacked the same copy first.
        Err(_) if dest.is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dest)
        }
        Err(e) => Err(e),
    }
}

/// The challenges: the checkout's, else the embedded copy (statements, starters, checks).
pub fn challenges() -> PathBuf {
    if let Some(root) = checkout() {
        return root.join("challenges");
    }
    unpacked("challenges", embedded::CHALLENGES, &[]).unwrap_or_else(|e| {
        eprintln!("petri: cannot unpack the challenges into the cache dir: {e}");
        std::env::temp_dir().join("petri-challenges-unavailable")
    })
}

/// Every challenge's id (`segmentation/dice`) and, where unique, its short name (`dice`): what
/// `petri challenge start` accepts, for completion scripts.
pub fn challenge_ids() -> Vec<String> {
    let full: Vec<String> = embedded::CHALLENGES
        .iter()
        .filter_map(|(path, _)| path.strip_suffix("/challenge.toml"))
        .map(|id| id.replace('\\', "/"))
        .collect();
    let short = |id: &str| id.rsplit('/').next().unwrap_or(id).to_string();
    let mut ids = full.clone();
    for id in &full {
        let s = short(id);
        if full.iter().filter(|o| short(o) == s).count() == 1 {
            ids.push(s);
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// The source a Gradescope autograder builds Petri from (tracked files, no references), as
/// embedded at build time: a bundle is the same from an installed binary and from a checkout.
pub fn workspace_source() -> &'static [(&'static str, &'static [u8])] {
    embedded::SOURCE
}

/// `petri-core`'s source folder and the lock file, for the grader's kit.
pub fn kit_sources() -> (PathBuf, Option<PathBuf>) {
    if let Some(root) = checkout() {
        let lock = root.join("Cargo.lock");
        return (root.join("core"), lock.is_file().then_some(lock));
    }
    let src: Vec<(String, &[u8])> = embedded::CORE_SRC
        .iter()
        .map(|(p, b)| (format!("src/{p}"), *b))
        .collect();
    let src: Vec<(&str, &[u8])> = src.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    let extra: [(&str, &[u8]); 2] = [
        ("Cargo.toml", embedded::CORE_MANIFEST.as_bytes()),
        ("Cargo.lock", embedded::LOCK.as_bytes()),
    ];
    match unpacked("core", &src, &extra) {
        Ok(dir) => {
            let lock = dir.join("Cargo.lock");
            (dir, Some(lock))
        }
        Err(e) => {
            eprintln!("petri: cannot unpack petri-core into the cache dir: {e}");
            (std::env::temp_dir().join("petri-core-unavailable"), None)
        }
    }
}
