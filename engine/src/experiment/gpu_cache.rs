//! The kernel tuning Petri ships for the GPU kinds it was measured on.
//!
//! CubeCL chooses each convolution's and matrix product's kernel by timing the candidates the
//! first time a shape is seen, and keeps the choice in `~/.cache/cubecl`. On a fresh NVIDIA
//! H200 that cost the first course run 133 s of its 148 s (the second run, with the cache,
//! took 12.7 s; bench/README.md). So the binary carries the tuning results made on a GPU of
//! each kind we could run on (`scripts/gpu-check run` saves them, `scripts/gpu-cache-bundle`
//! packs them as CubeCL's flat bundle), and imports them into the user's cache when a GPU of
//! that kind opens.
//!
//! A kind is CubeCL's compilation fingerprint (`ptx_sm90`: what the kernels are compiled for),
//! because the tuning results themselves are keyed only by the device's index: imported on
//! another kind they could pick a kernel that kind cannot run. Importing never overwrites a
//! result the user's machine measured, and an entry CubeCL finds stale is tuned again.

/// Tuning results made on one kind of GPU, packed by `scripts/gpu-cache-bundle`.
pub struct ShippedTuning {
    /// The GPUs it serves, as a person names them.
    pub kind: &'static str,
    /// CubeCL's compilation fingerprint of those GPUs (`ptx_sm90`).
    pub fingerprint: &'static str,
    /// `bundle.ccb` (CubeCL's flat bundle format), deflated in a zip: 137 KB instead of 2.6 MB.
    zip: &'static [u8],
}

/// Every kind Petri ships tuning for. H100 and H200 share the architecture (sm_90) and the
/// candidate kernels; the results were measured on an H200 (2026-12-04).
pub const SHIPPED: &[ShippedTuning] = &[ShippedTuning {
    kind: "NVIDIA H100/H200 (sm_90)",
    fingerprint: "ptx_sm90",
    zip: include_bytes!("../../gpu-cache/cuda-sm90.zip"),
}];

/// What importing a shipped bundle did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub kind: &'static str,
    /// Results copied into the user's cache.
    pub imported: usize,
    /// Results the cache already had (an earlier import or the machine's own tuning).
    pub skipped: usize,
    /// Results the cache could not store (a full disk, an unwritable cache folder).
    pub failed: usize,
}

/// The shipped tuning for a GPU with this CubeCL fingerprint (`ptx_sm90`, or with CubeCL's
/// compiler suffix, `ptx_sm90-llvm-...`), if any.
pub fn for_fingerprint(fingerprint: &str) -> Option<&'static ShippedTuning> {
    SHIPPED.iter().find(|s| {
        fingerprint == s.fingerprint
            || fingerprint
                .strip_prefix(s.fingerprint)
                .is_some_and(|rest| rest.starts_with('-'))
    })
}

impl ShippedTuning {
    /// The flat bundle, unzipped.
    pub fn bundle(&self) -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut zip =
            zip::ZipArchive::new(std::io::Cursor::new(self.zip)).map_err(std::io::Error::other)?;
        let mut entry = zip.by_name("bundle.ccb").map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// The GPU CUDA device 0 is, and the shipped tuning imported for it when it opened.
#[derive(Debug, Clone)]
pub struct CudaGpu {
    /// As the GPU names itself: `NVIDIA H200`.
    pub name: String,
    /// CubeCL's compilation fingerprint: `ptx_sm90-llvm`.
    pub fingerprint: String,
    pub tuning: Tuning,
}

/// What happened to the shipped tuning when the GPU opened.
#[derive(Debug, Clone)]
pub enum Tuning {
    Imported(Imported),
    /// Petri ships no tuning for this kind of GPU.
    NoneShipped,
    /// It could not be imported, and why.
    Failed(String),
}

#[cfg(feature = "cuda")]
static OPENED: std::sync::OnceLock<CudaGpu> = std::sync::OnceLock::new();

/// The CUDA GPU opened in this process, once `--device cuda` (or auto) has opened it.
pub fn opened_cuda_gpu() -> Option<&'static CudaGpu> {
    #[cfg(feature = "cuda")]
    return OPENED.get();
    #[cfg(not(feature = "cuda"))]
    None
}

/// Reads what CUDA device 0 is and imports the shipped tuning for its kind into the user's
/// cache. Called once, after the device opened (experiment/device.rs), before any run tunes.
#[cfg(feature = "cuda")]
pub(crate) fn on_cuda_opened() {
    OPENED.get_or_init(|| {
        // The device burn opened: CubeCL keeps one client per device.
        let identity = match burn::cubecl::Device::cuda(0) {
            Ok(device) => device.client().properties().identity.clone(),
            Err(e) => {
                return CudaGpu {
                    name: "unknown".into(),
                    fingerprint: String::new(),
                    tuning: Tuning::Failed(format!("CubeCL could not name CUDA device 0: {e:?}")),
                };
            }
        };
        let tuning = match for_fingerprint(&identity.fingerprint).map(import) {
            Some(Ok(imported)) => Tuning::Imported(imported),
            Some(Err(why)) => Tuning::Failed(why),
            None => Tuning::NoneShipped,
        };
        CudaGpu {
            name: identity.name,
            fingerprint: identity.fingerprint,
            tuning,
        }
    });
}

#[cfg(feature = "cuda")]
fn import(shipped: &ShippedTuning) -> std::result::Result<Imported, String> {
    use burn::cubecl::bundle::{self, EmbeddedBundle};
    let bytes = shipped
        .bundle()
        .map_err(|e| format!("the shipped tuning for {} is unreadable: {e}", shipped.kind))?;
    let bundle = EmbeddedBundle::open(burn::cubecl::bytes::Bytes::from_bytes_vec(bytes))
        .map_err(|e| format!("the shipped tuning for {} is unreadable: {e}", shipped.kind))?;
    let report = bundle::import(&bundle);
    Ok(Imported {
        kind: shipped.kind,
        imported: report.imported,
        skipped: report.skipped,
        failed: report.failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_finds_its_kind_and_no_other() {
        assert_eq!(for_fingerprint("ptx_sm90").unwrap().kind, SHIPPED[0].kind);
        assert_eq!(
            for_fingerprint("ptx_sm90-llvm-8.8").unwrap().kind,
            SHIPPED[0].kind
        );
        assert!(for_fingerprint("ptx_sm90a").is_none());
        assert!(for_fingerprint("ptx_sm80-llvm").is_none());
        assert!(for_fingerprint("ptx_sm9").is_none());
    }

    fn u32_at(b: &[u8], at: usize) -> usize {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
    }

    /// Each shipped bundle is CubeCL's flat format 1 for the CubeCL in Cargo.lock, holds only
    /// tuning results of that version, and its index is sorted as CubeCL checks on load. A
    /// CubeCL upgrade fails here until the bundles are made again on the GPUs.
    #[test]
    fn the_shipped_tuning_is_a_flat_bundle_for_this_cubecl() {
        let lock = include_str!("../../../Cargo.lock");
        let cubecl = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"cubecl-environment\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
            .map(|v| v.trim_matches('"').to_string())
            .expect("cubecl-environment in Cargo.lock");
        for shipped in SHIPPED {
            let b = shipped.bundle().unwrap();
            assert_eq!(&b[..8], b"CUBECLB\x01", "{}", shipped.kind);
            assert_eq!(u32_at(&b, 8), 1, "flat format version");
            let meta_len = u32_at(&b, 12);
            let manifest: serde_json::Value =
                serde_json::from_slice(&b[16..16 + meta_len]).unwrap();
            assert_eq!(manifest["schema"], 1);
            assert_eq!(
                manifest["cubecl_version"],
                cubecl.as_str(),
                "{}",
                shipped.kind
            );
            let mut at = 16 + meta_len;
            let mut namespaces = Vec::new();
            let count = u32_at(&b, at);
            at += 4;
            for _ in 0..count {
                let len = u32_at(&b, at);
                namespaces.push(std::str::from_utf8(&b[at + 4..at + 4 + len]).unwrap());
                at += 4 + len;
            }
            assert!(!namespaces.is_empty());
            for ns in &namespaces {
                assert!(
                    ns.starts_with(&format!("autotune/{cubecl}/")),
                    "{}: {ns} is not tuning of cubecl {cubecl}",
                    shipped.kind
                );
            }
            let entries = u32_at(&b, at);
            at += 4;
            let data = at + entries * 20;
            let entry = |i: usize| {
                let e = at + i * 20;
                let (ns, key, len) = (u32_at(&b, e), u32_at(&b, e + 4), u32_at(&b, e + 8));
                let (value, value_len) = (u32_at(&b, e + 12), u32_at(&b, e + 16));
                assert!(ns < namespaces.len());
                assert!(data + value + value_len <= b.len());
                (ns, &b[data + key..data + key + len])
            };
            assert!(entries > 100, "{}: {entries} tuning results", shipped.kind);
            for i in 1..entries {
                assert!(entry(i - 1) < entry(i), "index sorted at {i}");
            }
        }
    }
}
