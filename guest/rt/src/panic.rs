//! Exit, abort, and the panic handler.

use crate::{log, platform, EXIT_ABORT};

/// Ends the unikernel with exit status `status` (the tender exits with its
/// low 8 bits).
pub fn exit(status: i32) -> ! {
    #[cfg(all(feature = "libc", not(test)))]
    crate::libc::at_exit();
    log::info!("exit({status})\n");
    platform::halt(status, 0)
}

/// Ends the unikernel with exit status 255 (`SOLO5_EXIT_ABORT`).
pub fn abort() -> ! {
    log::error!("ABORT: the application called abort()\n");
    platform::halt(EXIT_ABORT, 0)
}

/// A condition the runtime cannot continue from: prints `msg` and aborts.
pub(crate) fn fatal(msg: &str) -> ! {
    log::error!("ABORT: {msg}\n");
    platform::halt(EXIT_ABORT, 0)
}

#[cfg(not(test))]
mod handler {
    use core::sync::atomic::{AtomicBool, Ordering};

    use crate::{log, platform, EXIT_ABORT};

    static PANICKING: AtomicBool = AtomicBool::new(false);

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        if PANICKING.swap(true, Ordering::Relaxed) {
            // Panicked while printing a panic: just stop.
            platform::halt(EXIT_ABORT, 0);
        }
        match info.location() {
            Some(l) => log::error!(
                "ABORT: panicked at {}:{}:{}: {}\n",
                l.file(),
                l.line(),
                l.column(),
                info.message()
            ),
            None => log::error!("ABORT: panicked: {}\n", info.message()),
        }
        platform::halt(EXIT_ABORT, 0)
    }
}
