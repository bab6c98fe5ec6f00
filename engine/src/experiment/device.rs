//! Choosing where training runs. The CPU (burn's flex backend) is always there; GPU backends
//! exist only when the binary was built with the matching cargo feature.

use crate::{Error, Result};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// The best this binary can open where the run executes (`best_available`), chosen when
    /// the run starts: a run the tutor hands to a job is resolved in the job.
    Auto,
    #[default]
    Cpu,
    Cuda,
    Vulkan,
}

impl DeviceChoice {
    pub const ALL: [DeviceChoice; 4] = [
        DeviceChoice::Auto,
        DeviceChoice::Cpu,
        DeviceChoice::Cuda,
        DeviceChoice::Vulkan,
    ];

    /// The devices themselves (all but `Auto`).
    pub const DEVICES: [DeviceChoice; 3] =
        [DeviceChoice::Cpu, DeviceChoice::Cuda, DeviceChoice::Vulkan];

    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda),
            "vulkan" | "wgpu" => Ok(DeviceChoice::Vulkan),
            _ => Err(Error::invalid(format!(
                "unknown device '{s}': choose auto, cpu, cuda or vulkan"
            ))),
        }
    }

    /// As typed and recorded: `auto`, `cpu`, `cuda`, `vulkan`.
    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Vulkan => "vulkan",
        }
    }

    /// The device itself: `Auto` becomes `best_available` (probing the GPUs once), any other
    /// choice stays.
    pub fn resolve(self) -> DeviceChoice {
        match self {
            DeviceChoice::Auto => DeviceChoice::best_available(),
            device => device,
        }
    }

    /// Whether this binary was built with the backend for this device.
    pub fn compiled(self) -> bool {
        match self {
            DeviceChoice::Auto | DeviceChoice::Cpu => true,
            DeviceChoice::Cuda => cfg!(feature = "cuda"),
            DeviceChoice::Vulkan => cfg!(feature = "wgpu"),
        }
    }

    /// The device a run gets when the user does not name one: the first of CUDA, Vulkan and
    /// the CPU that this binary has and that opens here. CUDA comes before Vulkan because on
    /// NVIDIA GPUs it is the vendor's own path (bench/README.md has the measured speeds of
    /// each). Probed once per process: opening a GPU takes a second or more.
    pub fn best_available() -> DeviceChoice {
        static BEST: std::sync::OnceLock<DeviceChoice> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            [DeviceChoice::Cuda, DeviceChoice::Vulkan]
                .into_iter()
                .filter(|d| d.compiled())
                .find(|d| d.training_device().is_ok())
                .unwrap_or(DeviceChoice::Cpu)
        })
    }

    /// The autodiff device for training.
    pub fn training_device(self) -> Result<Device> {
        Ok(self.plain_device()?.autodiff())
    }

    fn plain_device(self) -> Result<Device> {
        match self {
            DeviceChoice::Auto => DeviceChoice::best_available().plain_device(),
            DeviceChoice::Cpu => Ok(Device::flex()),
            DeviceChoice::Cuda => cuda(),
            DeviceChoice::Vulkan => vulkan(),
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Device> {
    let device = gpu_guard("CUDA", || Device::cuda(0))?;
    super::gpu_cache::on_cuda_opened();
    Ok(device)
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device> {
    let here = match nvidia_driver() {
        Some(v) => format!("this machine has an NVIDIA GPU (driver {v}), but "),
        None => String::new(),
    };
    Err(Error::invalid(format!(
        "{here}this petri was built without CUDA: build it with `cargo build --release --features cuda` \
         (downloads LLVM while building) or, where only package registries are reachable, `scripts/build-cuda` \
         (LLVM from PyPI); see the README's GPU section"
    )))
}

/// The loaded NVIDIA kernel driver's version, when there is one (Linux).
pub fn nvidia_driver() -> Option<String> {
    let text = std::fs::read_to_string("/proc/driver/nvidia/version").ok()?;
    let line = text.lines().next()?;
    // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024"
    let version = line
        .split_once("Kernel Module")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or(line);
    Some(version.to_string())
}

/// CUDA's math library for kernels (`nvvm/libdevice/libdevice.10.bc`), where the CUDA backend
/// looks for it: `$CUDA_PATH`, then /usr/local/cuda, /opt/cuda, /usr/lib/cuda, /usr. Kernels
/// that call math functions fail to compile without it.
pub fn cuda_libdevice() -> Option<std::path::PathBuf> {
    let file = std::path::Path::new("nvvm/libdevice/libdevice.10.bc");
    match std::env::var_os("CUDA_PATH") {
        Some(root) => Some(std::path::PathBuf::from(root).join(file)),
        None => ["/usr/local/cuda", "/opt/cuda", "/usr/lib/cuda", "/usr"]
            .iter()
            .map(|r| std::path::Path::new(r).join(file))
            .find(|p| p.is_file()),
    }
    .filter(|p| p.is_file())
}

#[cfg(feature = "wgpu")]
fn vulkan() -> Result<Device> {
    gpu_guard("Vulkan", || {
        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)
    })
}

#[cfg(not(feature = "wgpu"))]
fn vulkan() -> Result<Device> {
    Err(Error::invalid(
        "this petri was built without Vulkan: rebuild with `cargo build --release --features wgpu`",
    ))
}

/// Opens a GPU device and runs one tiny operation on it, turning a missing driver or GPU (which
/// the backends report by panicking) into an error the user can act on.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn gpu_guard(name: &str, open: impl FnOnce() -> Device + std::panic::UnwindSafe) -> Result<Device> {
    keep_gpu_cache_in_user_cache_dir();
    // A missing driver panics (cudarc: "Unable to dynamically load libcuda.so", with a
    // backtrace, on the backend's own thread): keep that off the user's terminal while probing;
    // the error below says what to do.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let probe = std::panic::catch_unwind(|| {
        let device = open();
        let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &device);
        let _ = t.sum().into_scalar::<f32>();
        device
    });
    std::panic::set_hook(hook);
    probe.map_err(|_| {
        Error::invalid(format!(
            "no usable {name} GPU was found (is the driver installed?); use --device cpu"
        ))
    })
}

/// Puts CubeCL's on-disk cache (autotune results, compiled kernels) in the user's cache
/// directory (`~/.cache/cubecl` on Linux), so a student's second run skips the minutes of kernel
/// tuning the first one paid. CubeCL's default is the `target/` of the nearest cargo project
/// above the working directory, which would give one cache per directory petri is started
/// from. A `cubecl.toml` (or `burn.toml`) that names another place is obeyed.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn keep_gpu_cache_in_user_cache_dir() {
    use burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, cache::CacheConfig};
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    if matches!(config.environment.path, CacheConfig::Target) {
        config.environment.path = CacheConfig::Global;
    }
    // Already set or read (a second device in one process): keep what is in force.
    let _ = CubeClRuntimeConfig::try_set(config);
}
