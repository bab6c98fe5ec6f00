//! Ctrl-C, SIGTERM and SIGHUP (a dropped SSH connection) as a request to stop, for the
//! commands that work for a long time (`petri run`, `petri grade`).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that Ctrl-C (and SIGTERM, SIGHUP) sets, saying `message` on stderr, so the work
/// stops at its next good place; a second one quits at once with status 130. Install it once
/// per process (a second handler is refused, and the first one's flag stays in charge).
pub fn stop_on_signal(message: &'static str) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // ctrlc's `termination` feature routes SIGTERM and SIGHUP here too.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            // After a hang-up the terminal is gone: a failed write must not stop the stopping.
            let _ = writeln!(std::io::stderr(), "{message}");
        });
    }
    stop
}
