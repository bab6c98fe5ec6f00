//! What Petri fetches for the course, where each item goes, how it is checked, and whether it
//! is there: MedMNIST files (Zenodo, MD5 from the registry), torchvision's ImageNet ResNet-18
//! weights (SHA-256 prefix in the file name, as torchvision checks it) and the skin
//! autofluorescence set (every object under a prefix of a public Cloud Storage bucket, listed
//! through the JSON API, each checked against the listing's MD5).
//!
//! `petri data list|fetch|verify`, the tutor's `f` and `petri doctor` all go through here.

use super::layout;
use super::registry::{self, MedMnistInfo};
use crate::download::{self, Checksum};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const RESNET18_URL: &str = "https://download.pytorch.org/models/resnet18-f37072fd.pth";
pub const SKIN_BUCKET: &str = "nigms-sandbox";
pub const SKIN_PREFIX: &str = "nosi-uams-alml/segmentation_data_small/";
/// The manifest written once every file of a listed set has arrived and been checked.
pub const MANIFEST: &str = ".petri-manifest.json";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fetchable {
    MedMnist {
        info: &'static MedMnistInfo,
        size: u32,
    },
    /// torchvision's ImageNet ResNet-18 (for part 1's frozen and fine-tuning runs).
    Resnet18Weights,
    /// The course's segmentation set (part 3).
    SkinAutofluorescence,
}

/// Whether an item is where Petri looks for it, and in what state.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Present,
    /// There, but not the official bytes (a re-saved or edited copy): usable, and runs record
    /// its own checksum.
    NotOfficial {
        why: String,
    },
    /// Not where Petri looks, but found at `found`: move it to `expected`.
    Misplaced {
        found: PathBuf,
        expected: PathBuf,
    },
    /// An interrupted download: fetching again resumes it.
    Partial {
        bytes: u64,
    },
    Missing,
}

impl Status {
    pub fn is_usable(&self) -> bool {
        matches!(self, Status::Present | Status::NotOfficial { .. })
    }

    /// One word for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::NotOfficial { .. } => "unofficial",
            Status::Misplaced { .. } => "misplaced",
            Status::Partial { .. } => "partial",
            Status::Missing => "missing",
        }
    }
}

/// One file of a listed set, as the listing describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedFile {
    /// Path relative to the set's folder (`training/images/a.tif`).
    pub path: String,
    pub size: u64,
    /// MD5 in lower-case hex.
    pub md5: String,
    pub url: String,
}

/// What a fetch did, for the message and the run records.
#[derive(Debug, Clone)]
pub struct FetchReport {
    pub path: PathBuf,
    pub files: usize,
    pub bytes: u64,
    /// SHA-256 of a single file (recorded by runs that use it).
    pub sha256: Option<String>,
    pub already_present: bool,
}

impl Fetchable {
    /// Everything `petri data list` shows: the 28 px MedMNIST files, the weights, the skin set.
    pub fn all() -> Vec<Fetchable> {
        let mut v: Vec<Fetchable> = registry::MEDMNIST
            .iter()
            .map(|info| Fetchable::MedMnist { info, size: 28 })
            .collect();
        v.push(Fetchable::Resnet18Weights);
        v.push(Fetchable::SkinAutofluorescence);
        v
    }

    /// The item `petri data fetch NAME` means.
    pub fn named(name: &str, size: u32) -> Result<Fetchable> {
        match name.to_ascii_lowercase().as_str() {
            "resnet18" | "resnet18-imagenet" | "imagenet-resnet18" | "weights" => {
                return Ok(Fetchable::Resnet18Weights);
            }
            "skin-autofluorescence" | "skin" => return Ok(Fetchable::SkinAutofluorescence),
            _ => {}
        }
        let Some(info) = registry::medmnist(name) else {
            let mut names: Vec<String> = Fetchable::all().iter().map(|f| f.name()).collect();
            names.push("breast-cancer-wisconsin (embedded)".into());
            return Err(Error::invalid(format!(
                "unknown dataset '{name}'; known: {}",
                names.join(", ")
            )));
        };
        if !registry::MEDMNIST_SIZES.contains(&size) {
            return Err(Error::invalid(format!(
                "--size {size} is not published; MedMNIST comes in 28, 64, 128 and 224 px"
            )));
        }
        Ok(Fetchable::MedMnist { info, size })
    }

    pub fn name(&self) -> String {
        match self {
            Fetchable::MedMnist { info, size: 28 } => info.flag.to_string(),
            Fetchable::MedMnist { info, size } => format!("{}_{size}", info.flag),
            Fetchable::Resnet18Weights => "resnet18".into(),
            Fetchable::SkinAutofluorescence => layout::SKIN_FOLDER.into(),
        }
    }

    /// The command that fetches it.
    pub fn fetch_command(&self) -> String {
        match self {
            Fetchable::MedMnist { info, size: 28 } => format!("petri data fetch {}", info.flag),
            Fetchable::MedMnist { info, size } => {
                format!("petri data fetch {} --size {size}", info.flag)
            }
            other => format!("petri data fetch {}", other.name()),
        }
    }

    pub fn task(&self) -> String {
        match self {
            Fetchable::MedMnist { info, .. } => info.task.to_string(),
            Fetchable::Resnet18Weights => "pretrained weights".into(),
            Fetchable::SkinAutofluorescence => registry::Task::Segmentation.to_string(),
        }
    }

    pub fn licence(&self) -> &'static str {
        match self {
            Fetchable::MedMnist { info, .. } => info.licence,
            Fetchable::Resnet18Weights => "BSD-3-Clause",
            Fetchable::SkinAutofluorescence => "CC BY-NC-SA 4.0",
        }
    }

    /// Roughly how big it is, for listings (never used to verify).
    pub fn approx_bytes(&self) -> Option<u64> {
        match self {
            Fetchable::MedMnist { info, size: 28 } => Some(info.approx_bytes_28),
            Fetchable::MedMnist { .. } => None,
            Fetchable::Resnet18Weights => Some(46_830_571),
            Fetchable::SkinAutofluorescence => None,
        }
    }

    /// Where Petri looks for it.
    pub fn dest(&self, data_dir: &Path) -> PathBuf {
        match self {
            Fetchable::MedMnist { info, size } => {
                layout::medmnist_file(data_dir, &info.file_name(*size))
            }
            Fetchable::Resnet18Weights => layout::resnet18_weights(data_dir),
            Fetchable::SkinAutofluorescence => layout::skin_dir(data_dir),
        }
    }

    fn checksum(&self) -> Checksum {
        match self {
            Fetchable::MedMnist { info, size: 28 } => info
                .md5_28
                .map_or(Checksum::Unknown, |m| Checksum::Md5(m.to_string())),
            Fetchable::MedMnist { .. } => Checksum::Unknown,
            Fetchable::Resnet18Weights => Checksum::Sha256Prefix("f37072fd".into()),
            Fetchable::SkinAutofluorescence => Checksum::Unknown,
        }
    }

    fn url(&self) -> String {
        match self {
            Fetchable::MedMnist { info, size } => info.url(*size),
            Fetchable::Resnet18Weights => RESNET18_URL.into(),
            Fetchable::SkinAutofluorescence => listing_url(SKIN_BUCKET, SKIN_PREFIX, None),
        }
    }

    /// Where it stands in `data_dir`. With `check`, files are read and their checksums compared
    /// (a present file whose bytes differ is `NotOfficial`); without, presence is enough.
    pub fn status(&self, data_dir: &Path, check: bool) -> Status {
        let dest = self.dest(data_dir);
        if *self == Fetchable::SkinAutofluorescence {
            return skin_status(&dest, check);
        }
        if dest.is_file() {
            if let Fetchable::MedMnist { info, size } = self {
                return match (check, info.provenance(&dest, *size)) {
                    (true, registry::Provenance::NotOfficial { why }) => {
                        Status::NotOfficial { why }
                    }
                    _ => Status::Present,
                };
            }
            let checksum = self.checksum();
            if !check || checksum == Checksum::Unknown {
                return Status::Present;
            }
            return match download::verify(&dest, &checksum) {
                Ok(true) => Status::Present,
                Ok(false) => Status::NotOfficial {
                    why: format!("its checksum differs from the official file's ({checksum})"),
                },
                Err(e) => Status::NotOfficial {
                    why: format!("it cannot be read: {e}"),
                },
            };
        }
        if let Ok(m) = std::fs::metadata(download::part_path(&dest)) {
            return Status::Partial { bytes: m.len() };
        }
        // The timm copy of the weights is as good as torchvision's.
        if *self == Fetchable::Resnet18Weights
            && layout::weights_dir(data_dir)
                .join(layout::RESNET18_TIMM_FILE)
                .is_file()
        {
            return Status::Present;
        }
        match layout::misplaced(data_dir, &dest) {
            Some(found) => Status::Misplaced {
                found,
                expected: dest,
            },
            None => Status::Missing,
        }
    }

    /// Downloads it into `data_dir` (resuming what an earlier fetch left), checked, renamed
    /// into place. `progress(done, total)` reports bytes.
    pub fn fetch(
        &self,
        data_dir: &Path,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<FetchReport> {
        let dest = self.dest(data_dir);
        if let Status::Misplaced { found, expected } = self.status(data_dir, false) {
            return Err(Error::invalid(format!(
                "{} is at {}, but Petri looks for it at {}: move it there (`mv {} {}`) instead of \
                 downloading it again",
                self.name(),
                found.display(),
                expected.display(),
                found.display(),
                expected.display()
            )));
        }
        if *self == Fetchable::SkinAutofluorescence {
            return fetch_listed(SKIN_BUCKET, SKIN_PREFIX, &dest, progress);
        }
        let checksum = self.checksum();
        if dest.is_file() {
            if download::verify(&dest, &checksum)? {
                let (_, sha) = download::digests(&dest)?;
                return Ok(FetchReport {
                    path: dest.clone(),
                    files: 1,
                    bytes: std::fs::metadata(&dest).map_or(0, |m| m.len()),
                    sha256: Some(sha),
                    already_present: true,
                });
            }
            return Err(Error::invalid(format!(
                "{} exists but is not the official file ({checksum} expected): delete it to fetch \
                 the official one, or keep using it (runs record its own checksum)",
                dest.display()
            )));
        }
        let got = download::fetch(&self.url(), &dest, &checksum, progress)?;
        Ok(FetchReport {
            path: got.path,
            files: 1,
            bytes: got.bytes,
            sha256: Some(got.sha256),
            already_present: false,
        })
    }
}

/// The Cloud Storage JSON API's object listing of `bucket` under `prefix`.
pub fn listing_url(bucket: &str, prefix: &str, page: Option<&str>) -> String {
    let mut url = format!(
        "https://storage.googleapis.com/storage/v1/b/{bucket}/o?prefix={}",
        query_escape(prefix)
    );
    if let Some(p) = page {
        url += &format!("&pageToken={}", query_escape(p));
    }
    url
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Every object under `prefix`, following `nextPageToken` to the end.
pub fn list_objects(bucket: &str, prefix: &str) -> Result<Vec<ListedFile>> {
    let mut files = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let url = listing_url(bucket, prefix, page.as_deref());
        let doc = download::get_json(&url)?;
        let changed = |what: &str| Error::Download {
            url: url.clone(),
            problem: format!(
                "the listing has changed ({what}); Petri cannot tell which files to fetch. \
                 Update Petri, or tell your instructor the bucket's layout changed"
            ),
        };
        for item in doc["items"].as_array().map_or(&[][..], |v| v.as_slice()) {
            let name = item["name"]
                .as_str()
                .ok_or_else(|| changed("an item has no name"))?;
            let Some(rel) = name.strip_prefix(prefix) else {
                continue;
            };
            if rel.is_empty() || rel.ends_with('/') {
                continue; // folder placeholders
            }
            if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                return Err(changed(&format!("an odd object name '{name}'")));
            }
            // The JSON API gives sizes as strings.
            let size = item["size"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| item["size"].as_u64())
                .ok_or_else(|| changed(&format!("'{name}' has no size")))?;
            let md5 = item["md5Hash"]
                .as_str()
                .and_then(base64_to_hex)
                .ok_or_else(|| changed(&format!("'{name}' has no MD5")))?;
            let url = item["mediaLink"]
                .as_str()
                .ok_or_else(|| changed(&format!("'{name}' has no mediaLink")))?;
            files.push(ListedFile {
                path: rel.to_string(),
                size,
                md5,
                url: url.to_string(),
            });
        }
        match doc["nextPageToken"].as_str() {
            Some(t) => page = Some(t.to_string()),
            None => break,
        }
    }
    if files.is_empty() {
        return Err(Error::Download {
            url: listing_url(bucket, prefix, None),
            problem:
                "the listing is empty: the files have moved or been removed. Update Petri, or \
                      tell your instructor"
                    .into(),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Downloads every listed file into `dest` (each checked against its MD5; files already there
/// with the right size and MD5 are kept), then writes the manifest.
fn fetch_listed(
    bucket: &str,
    prefix: &str,
    dest: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<FetchReport> {
    let files = list_objects(bucket, prefix)?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    let mut done_before = 0u64;
    let mut fetched_any = false;
    for f in &files {
        let path = dest.join(&f.path);
        let checksum = Checksum::Md5(f.md5.clone());
        let have = std::fs::metadata(&path).is_ok_and(|m| m.len() == f.size)
            && download::verify(&path, &checksum)?;
        if !have {
            let _ = std::fs::remove_file(&path);
            download::fetch(&f.url, &path, &checksum, &mut |d, _| {
                progress(done_before + d, Some(total))
            })?;
            fetched_any = true;
        }
        done_before += f.size;
        progress(done_before, Some(total));
    }
    crate::atomic::write_json_atomic(&dest.join(MANIFEST), &files)?;
    Ok(FetchReport {
        path: dest.to_path_buf(),
        files: files.len(),
        bytes: total,
        sha256: None,
        already_present: !fetched_any,
    })
}

fn skin_status(dir: &Path, check: bool) -> Status {
    let manifest = dir.join(MANIFEST);
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        if dir.is_dir() {
            // Copied by hand, or an interrupted fetch: usable if it holds image/mask pairs.
            return match super::segmentation::find_pairs(dir) {
                Ok(l) if !l.splits.is_empty() => Status::NotOfficial {
                    why: "it was not fetched by Petri, so its files are not checked".into(),
                },
                _ => Status::Partial {
                    bytes: folder_bytes(dir),
                },
            };
        }
        return Status::Missing;
    };
    let Ok(files) = serde_json::from_str::<Vec<ListedFile>>(&text) else {
        return Status::NotOfficial {
            why: format!("{} is damaged", manifest.display()),
        };
    };
    for f in &files {
        let path = dir.join(&f.path);
        let ok = std::fs::metadata(&path).is_ok_and(|m| m.len() == f.size)
            && (!check || download::verify(&path, &Checksum::Md5(f.md5.clone())).unwrap_or(false));
        if !ok {
            return Status::NotOfficial {
                why: format!("{} differs from the listing (missing or changed)", f.path),
            };
        }
    }
    Status::Present
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                folder_bytes(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

/// Decodes standard base64 (the JSON API's `md5Hash`) into lower-case hex.
fn base64_to_hex(s: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out += &format!("{:02x}", (bits >> n) & 0xFF);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_md5_decodes_to_hex() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e, as the JSON API writes it.
        assert_eq!(
            base64_to_hex("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert!(base64_to_hex("not*base64").is_none());
    }

    #[test]
    fn names_and_places() {
        let d = Path::new("/d");
        assert_eq!(
            Fetchable::named("breast", 28).unwrap().dest(d),
            Path::new("/d/medmnist/breastmnist.npz")
        );
        assert_eq!(
            Fetchable::named("resnet18", 28).unwrap().dest(d),
            Path::new("/d/weights/resnet18-f37072fd.pth")
        );
        assert_eq!(
            Fetchable::named("skin", 28).unwrap().fetch_command(),
            "petri data fetch skin-autofluorescence"
        );
        assert!(Fetchable::named("nope", 28).is_err());
        assert!(
            listing_url(SKIN_BUCKET, SKIN_PREFIX, Some("t 1"))
                .ends_with("o?prefix=nosi-uams-alml%2Fsegmentation_data_small%2F&pageToken=t%201")
        );
    }

    #[test]
    fn a_file_in_the_wrong_place_is_named_with_the_right_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("breastmnist.npz"), b"x").unwrap();
        let item = Fetchable::named("breastmnist", 28).unwrap();
        match item.status(dir.path(), false) {
            Status::Misplaced { found, expected } => {
                assert_eq!(found, dir.path().join("breastmnist.npz"));
                assert_eq!(expected, dir.path().join("medmnist/breastmnist.npz"));
            }
            other => panic!("{other:?}"),
        }
        let err = item
            .fetch(dir.path(), &mut |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("medmnist/breastmnist.npz") && err.contains("mv "),
            "{err}"
        );
        // In place but not the official bytes.
        std::fs::create_dir_all(dir.path().join("medmnist")).unwrap();
        std::fs::rename(
            dir.path().join("breastmnist.npz"),
            dir.path().join("medmnist/breastmnist.npz"),
        )
        .unwrap();
        assert!(matches!(
            item.status(dir.path(), true),
            Status::NotOfficial { .. }
        ));
        assert_eq!(item.status(dir.path(), false), Status::Present);
    }
}
