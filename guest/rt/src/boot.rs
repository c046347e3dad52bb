//! What happens between the platform entry point and the application: the
//! command line, the banner, memory layout and heap, the manifest, and the
//! call of the application's entry function.

use core::ops::Range;

use crate::platform::{self, BootFacts};
use crate::{cmdline, heap, log, manifest, mem};

/// Where things are in guest memory (addresses are guest addresses; on spt
/// they are also host addresses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryMap {
    /// Bytes of guest memory.
    pub mem_size: u64,
    /// The code of the image.
    pub text: Range<u64>,
    /// Constants and the Solo5 notes.
    pub rodata: Range<u64>,
    /// Initialised and zeroed data, and the TLS template.
    pub data: Range<u64>,
    /// The global allocator's region.
    pub heap: Range<u64>,
    /// The region set aside for the stack, which starts at its top. Nothing
    /// stops the stack from growing below it, into the heap.
    pub stack: Range<u64>,
}

/// What the application's entry function receives.
#[derive(Debug)]
pub struct Start {
    cmdline: &'static [u8],
    memory: MemoryMap,
}

impl Start {
    /// The application's command line: what follows the kernel on the
    /// tender's command line, joined by single spaces, with leading
    /// `--solo5:` runtime options removed. Bytes that are not UTF-8 end it.
    pub fn cmdline(&self) -> &'static str {
        match core::str::from_utf8(self.cmdline) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(self.cmdline.get(..e.valid_up_to()).unwrap_or_default())
                .unwrap_or_default(),
        }
    }

    /// The application's command line as bytes.
    pub fn cmdline_bytes(&self) -> &'static [u8] {
        self.cmdline
    }

    /// The whitespace-separated words of [`Start::cmdline`].
    pub fn args(&self) -> impl Iterator<Item = &'static str> {
        cmdline::words(self.cmdline())
    }

    /// The memory layout.
    pub fn memory(&self) -> &MemoryMap {
        &self.memory
    }
}

/// The NUL-terminated string at `addr`, at most `max` bytes.
///
/// # Safety
/// `addr` must be 0 or the address of `max` readable bytes that stay
/// unchanged for the rest of the run (the tender's command line area).
unsafe fn read_cmdline(addr: u64, max: usize) -> &'static [u8] {
    if addr == 0 {
        return &[];
    }
    // SAFETY: guaranteed by the caller.
    let area = unsafe { core::slice::from_raw_parts(addr as usize as *const u8, max) };
    let len = area.iter().position(|&b| b == 0).unwrap_or(max);
    area.get(..len).unwrap_or_default()
}

#[cfg(not(test))]
extern "Rust" {
    /// Defined by the application with [`crate::entry!`].
    fn __corten_app_main(start: &Start) -> i32;
}

#[cfg(not(test))]
extern "C" {
    /// Defined by the application with [`crate::manifest!`]. Referenced so
    /// that forgetting the manifest is a link error ("undefined symbol:
    /// __corten_mft1_note") rather than a unikernel the tender refuses.
    static __corten_mft1_note: u8;
}

const TARGET: &str = if cfg!(feature = "hvt") { "hvt" } else { "spt" };

fn kib(r: &Range<u64>) -> u64 {
    (r.end - r.start) >> 10
}

/// Prints the banner and memory map in one console write (one VM exit on
/// hvt).
fn print_banner(mem_size: u64, l: &mem::Layout) {
    use core::fmt::Write;
    let mut c = crate::console::Console::new();
    let _ = writeln!(
        c,
        "Solo5: Corten {} guest runtime (Rust) on {TARGET}, Solo5 ABI 2",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(c, "Solo5: memory: {} MiB", mem_size >> 20);
    for (name, r) in [
        ("text  ", &l.text),
        ("rodata", &l.rodata),
        ("data  ", &l.data),
        ("heap  ", &l.heap),
        ("stack ", &l.stack),
    ] {
        let _ = writeln!(
            c,
            "Solo5:   {name} {:#010x}..{:#010x} ({} KiB)",
            r.start,
            r.end,
            kib(r)
        );
    }
}

/// Common boot path, called by the platform's `_start`.
#[cfg(not(test))]
pub(crate) fn run(f: BootFacts) -> ! {
    // SAFETY: the tender placed the command line at f.cmdline, in an area
    // of f.cmdline_max bytes below the image that nothing writes to.
    let raw = unsafe { read_cmdline(f.cmdline, f.cmdline_max) };
    let parsed = cmdline::parse(raw);
    if let Some(level) = parsed.level {
        log::set_level(level);
    }

    let (text, rodata_end, image_end) = mem::image();
    let layout = match mem::plan(f.mem_size, text, rodata_end, image_end.max(f.kernel_end)) {
        Ok(l) => l,
        Err(free) => {
            log::error!(
                "ABORT: not enough memory: {} KiB above the kernel image, at least {} KiB needed; \
                 give the tender more memory (--mem)\n",
                free >> 10,
                mem::MIN_FREE >> 10
            );
            platform::halt(crate::EXIT_ABORT, 0)
        }
    };
    if log::enabled(log::Level::Info) {
        print_banner(f.mem_size, &layout);
    }
    // SAFETY: the heap region lies between the image and the stack and is
    // used by nothing else; this is the only init.
    unsafe {
        heap::allocator().init(layout.heap.start as usize, layout.heap.end as usize);
    }

    // SAFETY: the tender placed the manifest at f.mft, below the image,
    // and nothing writes to it.
    let m = match unsafe { manifest::Manifest::from_boot(f.mft) } {
        Ok(m) => m,
        Err(why) => crate::panic::fatal(why),
    };
    manifest::install(m);
    platform::devices_ready(&m, parsed.net_ring);
    for d in m.devices() {
        log::debug!(
            "device {}: {:?} '{}'{}\n",
            d.handle(),
            d.kind(),
            core::str::from_utf8(d.name()).unwrap_or("?"),
            if d.attached() { "" } else { " (not attached)" }
        );
    }
    crate::notes::keep();
    // Only the symbol's address is taken (which is safe).
    core::hint::black_box(core::ptr::addr_of!(__corten_mft1_note));

    let start = Start {
        cmdline: parsed.app,
        memory: MemoryMap {
            mem_size: f.mem_size,
            text: layout.text,
            rodata: layout.rodata,
            data: layout.data,
            heap: layout.heap,
            stack: layout.stack,
        },
    };
    #[cfg(feature = "libc")]
    crate::libc::init();
    // SAFETY: the application defines this function with `entry!`, whose
    // signature matches the declaration.
    let status = unsafe { __corten_app_main(&start) };
    crate::exit(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_is_bounded_and_utf8_checked() {
        let area = b"Hello_Solo5\0garbage".to_vec().leak();
        // SAFETY: the leaked area is `len` bytes and never changes.
        let s = unsafe { read_cmdline(area.as_ptr() as u64, area.len()) };
        assert_eq!(s, b"Hello_Solo5");
        let area = b"no terminator".to_vec().leak();
        // SAFETY: as above.
        let s = unsafe { read_cmdline(area.as_ptr() as u64, 5) };
        assert_eq!(s, b"no te");
        // SAFETY: 0 is never read.
        assert!(unsafe { read_cmdline(0, 10) }.is_empty());
        let bad: &'static [u8] = b"ab\xffcd";
        let st = Start {
            cmdline: bad,
            memory: MemoryMap {
                mem_size: 0,
                text: 0..0,
                rodata: 0..0,
                data: 0..0,
                heap: 0..0,
                stack: 0..0,
            },
        };
        assert_eq!(st.cmdline(), "ab");
        assert_eq!(kib(&(0..4096)), 4);
        assert_eq!(TARGET.len(), 3);
    }
}
