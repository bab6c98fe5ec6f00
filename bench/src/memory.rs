//! Peak memory of one row. On the CPU: the process's peak resident set, reset before each row
//! (Linux: writing 5 to /proc/self/clear_refs resets VmHWM); PyTorch's script reads it the same
//! way. On a GPU: the most bytes the device allocator held, sampled after each step.

use petri_engine::burn::tensor::Device;

/// Resets the kernel's record of peak resident memory. Does nothing where that is not possible.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory since the last reset, in bytes (None off Linux).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes the device's allocator holds now; None on the CPU backend, which does not report it.
pub fn device_reserved(device: &Device) -> Option<u64> {
    device.memory_pool_usage().map(|u| u.bytes_reserved)
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_rss_grows_with_a_large_allocation() {
        super::reset_peak_rss();
        let before = super::peak_rss().unwrap();
        let v = vec![1u8; 64 << 20];
        std::hint::black_box(&v);
        let after = super::peak_rss().unwrap();
        assert!(after >= before + (60 << 20), "{before} -> {after}");
    }
}
