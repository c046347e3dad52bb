//! Runtime log messages (banner, memory map, exit and abort notices), all
//! prefixed `Solo5: ` like upstream's so log scrapers and the `quiet` test
//! work the same. The level comes from `--solo5:LEVEL` on the command line.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

/// How much the runtime prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Only errors (`--solo5:quiet` or `--solo5:error`).
    Error = 0,
    /// Errors and warnings.
    Warn = 1,
    /// The default: also the banner, memory map and exit notice.
    Info = 2,
    /// Everything, including clock calibration details.
    Debug = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// The current log level.
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Error,
        1 => Level::Warn,
        2 => Level::Info,
        _ => Level::Debug,
    }
}

/// Changes the log level.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether messages of `level` are printed.
pub fn enabled(level: Level) -> bool {
    level <= self::level()
}

/// Prints `Solo5: ` and the formatted message if `level` is enabled.
pub fn log(level: Level, args: fmt::Arguments<'_>) {
    if enabled(level) {
        crate::console::print_fmt(format_args!("Solo5: {args}"));
    }
}

macro_rules! info {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Info, format_args!($($arg)*)) };
}
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Debug, format_args!($($arg)*)) };
}
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Error, format_args!($($arg)*)) };
}
pub(crate) use {debug, error, info};
