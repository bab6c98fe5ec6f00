//! What will work on this machine, before a student starts: per course part, its data and
//! weights (and the command that fetches what is missing); for the machine, free space in the
//! data dir, whether the state dir is writable, the training backends compiled into this binary
//! and whether each device opens. `petri doctor` prints it; the home screen shows a part's line.

use crate::content::Lesson;
use crate::course::{Part, part_items};
use petri_engine::data::fetchable::{Fetchable, Status};
use petri_engine::experiment::DeviceChoice;
use std::path::Path;

/// One thing a part needs, and where it stands.
pub struct Need {
    pub item: Fetchable,
    pub status: Status,
    /// Without it the part cannot run at all (part 1's weights only drop two of its runs).
    pub required: bool,
}

pub struct PartReport {
    pub index: usize,
    pub title: String,
    pub needs: Vec<Need>,
}

impl PartReport {
    pub fn can_run(&self) -> bool {
        self.needs
            .iter()
            .all(|n| !n.required || n.status.is_usable())
    }

    /// One line: "ready", or what is missing and how to get it.
    pub fn summary(&self) -> String {
        let missing: Vec<String> = self
            .needs
            .iter()
            .filter(|n| !n.status.is_usable())
            .map(|n| {
                let what = match n.item {
                    Fetchable::Resnet18Weights => "ImageNet weights (for frozen and finetune)",
                    _ => "data",
                };
                format!(
                    "{what} {} {}: `{}`",
                    n.item.name(),
                    n.status.label(),
                    n.item.fetch_command()
                )
            })
            .collect();
        match (self.can_run(), missing.is_empty()) {
            (true, true) => "ready".into(),
            (true, false) => format!("ready; {}", missing.join("; ")),
            (false, _) => format!("cannot run: {}", missing.join("; ")),
        }
    }
}

pub fn part(index: usize, p: &Part, data_dir: &Path) -> PartReport {
    PartReport {
        index,
        title: p.short_title.clone(),
        needs: part_items(p)
            .into_iter()
            .map(|item| Need {
                status: item.status(data_dir, false),
                required: item != Fetchable::Resnet18Weights,
                item,
            })
            .collect(),
    }
}

pub fn parts(data_dir: &Path, lessons: &[Lesson]) -> Vec<PartReport> {
    lessons
        .iter()
        .map(|l| &l.part)
        .enumerate()
        .map(|(i, p)| part(i, p, data_dir))
        .collect()
}

/// Bytes free for this user on the file system holding `dir` (or its nearest existing parent).
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|d| d.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs fills the struct it is given; the path is a valid C string.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut s) == 0).then(|| s.f_bavail as u64 * s.f_frsize as u64)
    }
}

/// Whether files can be written in `dir` (created if missing), found by writing one.
pub fn writable(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let probe = dir.join(format!(".petri-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Each training device: whether this binary has its backend, and whether it opens here.
pub fn devices() -> Vec<(DeviceChoice, Result<(), String>)> {
    DeviceChoice::DEVICES
        .into_iter()
        .map(|d| {
            (
                d,
                d.training_device().map(|_| ()).map_err(|e| e.to_string()),
            )
        })
        .collect()
}

/// The whole report as text, and whether every part can run.
pub fn report(data_dir: &Path, state_dir: &Path, lessons: &[Lesson]) -> (String, bool) {
    let mut out = format!(
        "Petri {} (data dir {}, state dir {})\n\nCourse parts\n",
        env!("CARGO_PKG_VERSION"),
        data_dir.display(),
        state_dir.display()
    );
    let parts = parts(data_dir, lessons);
    for p in &parts {
        out += &format!("  {} {:<15} {}\n", p.index, p.title, p.summary());
    }
    out += "\nThis machine\n";
    out += &format!(
        "  free space in the data dir: {}\n",
        free_bytes(data_dir).map_or("unknown".into(), petri_engine::download::human_bytes)
    );
    let state_ok = writable(state_dir);
    out += &format!(
        "  state dir: {}\n",
        match &state_ok {
            Ok(()) => "writable".to_string(),
            Err(e) => format!("NOT writable ({e}): progress cannot be saved; set $PETRI_STATE"),
        }
    );
    for (d, opened) in devices() {
        out += &format!(
            "  {:<7} {}\n",
            d.name(),
            match opened {
                Ok(()) => "opens: `--device ".to_string() + d.name() + "` trains on it",
                Err(e) => e,
            }
        );
        if d == DeviceChoice::Cuda && cfg!(feature = "cuda") {
            out += &format!(
                "          libdevice: {}\n",
                match petri_engine::experiment::device::cuda_libdevice() {
                    Some(p) => p.display().to_string(),
                    None => "not found: kernels with math functions need nvvm/libdevice/libdevice.10.bc; \
                             install the CUDA toolkit or `pip install nvidia-cuda-nvcc-cu12` and set CUDA_PATH \
                             to the folder holding nvvm/"
                        .to_string(),
                }
            );
            if let Some(gpu) = petri_engine::experiment::gpu_cache::opened_cuda_gpu() {
                out += &format!("          GPU: {} ({})\n", gpu.name, gpu.fingerprint);
                out += &format!("          kernel tuning: {}\n", kernel_tuning(gpu));
            }
        }
    }
    out += &format!(
        "  runs train on: {} (`--device auto`, the default, picks the first of cuda, vulkan, cpu that opens)\n",
        DeviceChoice::best_available().name()
    );
    out += &format!(
        "  Python answers to code challenges: {}\n",
        python_answers()
    );
    let ok = parts.iter().all(PartReport::can_run) && state_ok.is_ok();
    if !ok {
        out += "\nSome parts cannot run yet: the commands above fetch what they need.\n";
    }
    (out, ok)
}

/// What the first run on this GPU will cost in kernel tuning.
fn kernel_tuning(gpu: &petri_engine::experiment::gpu_cache::CudaGpu) -> String {
    use petri_engine::experiment::gpu_cache::Tuning;
    match &gpu.tuning {
        Tuning::Imported(i) => format!(
            "shipped for {}: {} results added to the cache (~/.cache/cubecl), {} already there{}",
            i.kind,
            i.imported,
            i.skipped,
            if i.failed > 0 {
                format!(
                    ", {} could not be stored (is the cache folder writable?)",
                    i.failed
                )
            } else {
                String::new()
            }
        ),
        Tuning::Failed(why) => why.clone(),
        Tuning::NoneShipped => {
            "none shipped for this kind of GPU: the first run chooses kernels for a \
                         few minutes (133 s on an H200), later runs reuse the choices \
                         (~/.cache/cubecl)"
                .to_string()
        }
    }
}

/// Whether Python answers can be checked here: the interpreter (`PETRI_PYTHON`, else python3)
/// with numpy, tried inside the grading sandbox as answers will be run.
pub fn python_answers() -> String {
    match petri_grader::python::Python::usable(&std::env::temp_dir()) {
        Ok(python) => format!("can run, on {}", python.describe()),
        Err(why) => format!("cannot run here: {why}"),
    }
}
